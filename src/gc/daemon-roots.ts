import { basename } from 'node:path';
import { BUILDS_PROFILE, DAEMON_PROFILE, ROOTS_DIR } from '../names/daemon-names.js';
import type { EngineClient } from '../engine/engine-client.js';
import { UserError } from '../errors.js';
import { readTar } from '../tar/read-tar.js';
import type { RootGeneration } from './retention.js';

/** The generations of the daemon's roots profiles (builds, daemon), read through the engine: the daemon may have no shell. */
export async function readRootGenerations(engine: EngineClient, containerId: string): Promise<RootGeneration[]> {
  const tar = await engine.copyOut(containerId, ROOTS_DIR);
  const profiles = [BUILDS_PROFILE, DAEMON_PROFILE].map((profile) => basename(profile));
  const generations: RootGeneration[] = [];
  await readTar(tar, (header) => {
    const match = /^[^/]+\/([^/]+)-(\d+)-link$/.exec(header.name);
    if (match && header.type === 'symlink' && header.linkname && profiles.includes(match[1]!)) {
      generations.push({ profile: match[1]!, number: Number(match[2]), target: header.linkname, time: (header.mtime ?? new Date(0)).getTime() });
    }
  });
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
