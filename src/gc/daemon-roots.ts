import { basename } from 'node:path';
import { BUILDS_PROFILE, DAEMON_PROFILE, ROOTS_DIR } from '../names/daemon-names.js';
import type { EngineClient } from '../engine/engine-client.js';
import { UserError } from '../errors.js';
import { readTar } from '../tar/read-tar.js';
import type { RootGeneration } from './retention.js';

export interface RootsVolume {
  /** Symlinks by their name in the roots volume (a profile, or one of its `<profile>-<n>-link` generations). */
  links: Map<string, { target: string; time: number }>;
  /** Regular files by name, with their text (e.g. the uploader's push-state). */
  files: Map<string, string>;
}

/**
 * What the daemon's roots volume holds, read through the engine (the daemon may have no shell): one
 * archive read for the gc's retention, the cache's upload backlog and the job images' profiles.
 */
export async function readRootsVolume(engine: EngineClient, containerId: string): Promise<RootsVolume> {
  const volume: RootsVolume = { links: new Map(), files: new Map() };
  await readTar(await engine.copyOut(containerId, ROOTS_DIR), (header, content) => {
    const name = header.name.replace(/^[^/]+\//, '');
    if (name.includes('/') || name === '') return;
    if (header.type === 'symlink' && header.linkname) volume.links.set(name, { target: header.linkname, time: (header.mtime ?? new Date(0)).getTime() });
    else if (header.type === 'file') volume.files.set(name, content.toString('utf8'));
  });
  return volume;
}

/** The generations of the daemon's roots profiles (builds, daemon). */
export async function readRootGenerations(engine: EngineClient, containerId: string): Promise<RootGeneration[]> {
  const profiles = [BUILDS_PROFILE, DAEMON_PROFILE].map((profile) => basename(profile));
  const generations: RootGeneration[] = [];
  for (const [name, { target, time }] of (await readRootsVolume(engine, containerId)).links) {
    const match = /^(.+)-(\d+)-link$/.exec(name);
    if (match && profiles.includes(match[1]!)) generations.push({ profile: match[1]!, number: Number(match[2]), target, time });
  }
  return generations;
}

/** Drops generations of a roots profile with nix-env (which keeps the profile's current one). */
export async function dropRootGenerations(engine: EngineClient, containerId: string, nixPath: string, profile: string, numbers: number[]): Promise<void> {
  if (numbers.length === 0) return;
  const result = await engine.exec(containerId, [`${nixPath}/bin/nix-env`, '--profile', profile, '--delete-generations', ...numbers.map(String)]);
  if (result.exitCode !== 0) {
    throw new UserError('daemon', `cannot drop roots of ${profile}: ${result.stderr.trim().split('\n').at(-1) ?? ''}`, 'check the daemon with `nix-runner status`');
  }
}
