import type { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo } from '../engine/engine-types.js';
import { UserError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { JOB_IMAGE_PROFILE_PREFIX, LABEL_NIX, daemonVolumes, isDaemonGeneration } from '../names/daemon-names.js';
import { planDelivery, registerStorePaths, sendStorePaths } from './deliver-store-paths.js';

export interface Delivered {
  paths: number;
  bytes: number;
}

/** The running daemon `daemon`, or a one-line error that says what to do. */
export async function runningDaemon(engine: EngineClient, daemon: string): Promise<ContainerInfo & { nix: string }> {
  const info = await engine.inspectContainer(daemon);
  const nix = info?.labels[LABEL_NIX];
  if (!info || !isDaemonGeneration(info.labels, daemon) || !nix) throw new UserError('daemon', `no nix-runner daemon named ${daemon}`, 'provision it first (nix-runner provision), or name it with --daemon');
  if (!info.running) throw new UserError('daemon', `daemon ${daemon} is ${info.status}`, 'start it again with nix-runner provision');
  return { ...info, nix };
}

/**
 * Makes `closure` valid in a running daemon's store: the daemon says which paths it lacks, only those
 * are streamed from this host's store into it and registered (the same delivery as the daemon's own nix).
 */
export async function deliverToDaemon(engine: EngineClient, daemon: ContainerInfo & { nix: string }, closure: string[], logger: Logger = nullLogger): Promise<Delivered> {
  const name = daemon.labels['org.nix-runner.daemon'] ?? daemon.name;
  const volumes = daemonVolumes(name, 'unused');
  const { missing } = await planDelivery(engine, { daemon: name, imageId: daemon.imageId, nixPath: daemon.nix, closure, volumes, probe: { kind: 'exec', containerId: daemon.id, nixPath: daemon.nix } }, logger);
  const bytes = await sendStorePaths(engine, daemon.id, missing);
  await registerStorePaths(engine, daemon.id, daemon.nix, missing);
  const check = await engine.exec(daemon.id, [`${daemon.nix}/bin/nix-store`, '--check-validity', '--print-invalid', ...missing]);
  const invalid = check.stdout.split('\n').filter(Boolean);
  if (check.exitCode !== 0 || invalid.length > 0) throw new UserError('daemon', `the daemon's store did not take ${invalid.join(' ') || 'the delivered paths'}`, 'run the command again: paths not registered are sent again');
  return { paths: missing.length, bytes };
}

/** A job image's profile name: its tag, with what a file name cannot hold replaced. */
export function jobImageProfile(tag: string): string {
  return `${JOB_IMAGE_PROFILE_PREFIX}${tag.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/** Roots `rootsPath` (and so the image's whole closure) in the daemon: no GC, a job's or nix-runner's, removes what the image needs. */
export async function rootJobImage(engine: EngineClient, daemon: ContainerInfo & { nix: string }, tag: string, rootsPath: string): Promise<string> {
  const profile = jobImageProfile(tag);
  const root = await engine.exec(daemon.id, [`${daemon.nix}/bin/nix-env`, '--profile', profile, '--set', rootsPath]);
  if (root.exitCode !== 0) throw new UserError('daemon', `cannot root ${rootsPath} in ${daemon.name}: ${root.stderr.trim().split('\n').at(-1) ?? ''}`, 'check the daemon with nix-runner status');
  return profile;
}
