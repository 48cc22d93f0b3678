import { LABEL_DAEMON, isDaemonGeneration, isDaemonVolume } from '../names/daemon-names.js';
import { generationUsers, socketVolume } from '../daemon/daemon-users.js';
import { removeSocketVolume } from '../daemon/retire-daemon.js';
import { EngineClient } from '../engine/engine-client.js';
import type { EngineTimeouts } from '../engine/engine-timeouts.js';
import type { ContainerInfo } from '../engine/engine-types.js';
import { UserError, errorMessage } from '../errors.js';
import { findLeftovers, removeLeftovers } from '../leftovers/leftovers.js';
import type { Logger } from '../log.js';
import { withProvisionLock } from '../provision/provision-lock.js';
import { removeFromRunnerConfig } from '../runner-config/apply.js';

export interface DeprovisionOptions {
  runnerConfig: string;
  daemon: string;
  dockerHost?: string;
  /** Limits of engine calls; default engineTimeouts(). */
  timeouts?: EngineTimeouts;
  keepDaemon?: boolean;
  purge?: boolean;
  force?: boolean;
  dryRun?: boolean;
  logger: Logger;
}

export interface DeprovisionResult {
  ok: true;
  changed: boolean;
  dryRun: boolean;
  daemon: string;
  runnerConfig: { path: string; changed: boolean; diff: string };
  /** Daemon containers (any generation) removed, or that would be. */
  containers: { name: string; id: string }[];
  /** Containers and volumes that killed nix-runner runs left behind, removed (or that would be). */
  leftovers: string[];
  volumes: { removed: string[]; kept: string[] };
}

/**
 * Undoes `provision`: config.toml first (so that it never points at a daemon that is gone), then the
 * daemon containers. The store volumes stay unless `purge`: a later provision finds the store again.
 * Holds the daemon's provision lock, so no provision starts a generation meanwhile.
 */
export async function deprovision(options: DeprovisionOptions): Promise<DeprovisionResult> {
  const { daemon, dryRun = false, logger } = options;
  // Reach the engine before touching config.toml: a failure then leaves everything as it was.
  const engine = options.keepDaemon ? undefined : await EngineClient.connect(options.dockerHost, logger, options.timeouts);
  if (!engine || dryRun) return deprovisionSteps(engine, options);
  return withProvisionLock(daemon, logger, () => deprovisionSteps(engine, options));
}

async function deprovisionSteps(engine: EngineClient | undefined, options: DeprovisionOptions): Promise<DeprovisionResult> {
  const { daemon, dryRun = false, logger } = options;
  const containers = engine ? await daemonContainers(engine, daemon) : [];
  if (engine && !options.force) await refuseWhileJobsRun(engine, daemon, containers);

  const runnerConfig = await removeFromRunnerConfig({ path: options.runnerConfig, daemon, dryRun, logger });
  const volumes = { removed: [] as string[], kept: [] as string[] };
  if (!engine) return { ok: true, changed: runnerConfig.changed, dryRun, daemon, runnerConfig, containers: [], leftovers: [], volumes };

  const found = dryRun ? await findLeftovers(engine, daemon, { locked: false }) : await removeLeftovers(engine, daemon, logger);
  const leftovers = [...found.containers, ...found.volumes].map((leftover) => leftover.name);
  for (const container of containers) {
    // A generation's socket volume goes with it (never reused); the store, db and roots stay unless purge.
    const socket = socketVolume(container);
    if (socket) volumes.removed.push(socket);
    if (dryRun) continue;
    await engine.stopContainer(container.id);
    await engine.removeContainer(container.id);
    logger.info(`removed daemon container ${container.name}`);
    if (socket && !(await removeSocketVolume(engine, socket, logger))) volumes.removed.pop();
  }
  const names = (await engine.listVolumeNames(`${daemon}-`)).filter((name) => isDaemonVolume(daemon, name) && !volumes.removed.includes(name)).sort();
  for (const name of names) {
    if (!options.purge) {
      volumes.kept.push(name);
      continue;
    }
    if (!dryRun) await removeVolume(engine, name);
    volumes.removed.push(name);
  }
  const changed = runnerConfig.changed || containers.length > 0 || leftovers.length > 0 || volumes.removed.length > 0;
  return { ok: true, changed, dryRun, daemon, runnerConfig, containers: containers.map(({ name, id }) => ({ name, id })), leftovers, volumes };
}

async function daemonContainers(engine: EngineClient, daemon: string): Promise<ContainerInfo[]> {
  const found: ContainerInfo[] = [];
  for (const id of await engine.listContainerIds({ label: [`${LABEL_DAEMON}=${daemon}`] })) {
    const container = await engine.inspectContainer(id);
    if (container && isDaemonGeneration(container.labels, daemon)) found.push(container);
  }
  // A container of that name that nix-runner did not make is never touched.
  const named = await engine.inspectContainer(daemon);
  if (named && isDaemonGeneration(named.labels) && !found.some((container) => container.id === named.id)) found.push(named);
  return found;
}

// Job containers reach the daemon through volumes_from, and one between two stages is stopped but
// starts again: removing the daemon under them breaks their next stage.
async function refuseWhileJobsRun(engine: EngineClient, daemon: string, containers: ContainerInfo[]): Promise<void> {
  const jobs = new Map<string, string>();
  for (const container of containers) for (const user of await generationUsers(engine, container)) jobs.set(user.id, `${user.name} (${user.state})`);
  if (jobs.size === 0) return;
  throw new UserError(
    'daemon',
    `${jobs.size} job container(s) still use daemon ${daemon}: ${[...jobs.values()].join(', ')}`,
    'wait for the jobs to finish (stop gitlab-runner first), remove leftover job containers (docker rm), or pass --force',
  );
}

async function removeVolume(engine: EngineClient, name: string): Promise<void> {
  try {
    await engine.removeVolume(name);
  } catch (error: unknown) {
    throw new UserError('daemon', `cannot remove volume ${name}: ${errorMessage(error)}`, 'remove the containers that use it (docker ps -a --filter volume=' + name + '), then run again', {
      cause: error,
    });
  }
}
