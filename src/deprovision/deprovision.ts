import { LABEL_DAEMON, LABEL_MANAGED } from '../daemon/daemon-names.js';
import { daemonUsers } from '../daemon/daemon-users.js';
import { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo } from '../engine/engine-types.js';
import { UserError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { removeFromRunnerConfig } from '../runner-config/apply.js';

export interface DeprovisionOptions {
  runnerConfig: string;
  daemon: string;
  dockerHost?: string;
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
  volumes: { removed: string[]; kept: string[] };
}

/** The volumes nix-runner made for `daemon`: <daemon>-store, <daemon>-db, <daemon>-socket-<hash>. */
export function isDaemonVolume(daemon: string, name: string): boolean {
  if (!name.startsWith(`${daemon}-`)) return false;
  const rest = name.slice(daemon.length + 1);
  return rest === 'store' || rest === 'db' || /^socket-[0-9a-f]{12}$/.test(rest);
}

/**
 * Undoes `provision`: config.toml first (so that it never points at a daemon that is gone), then the
 * daemon containers. The store volumes stay unless `purge`: a later provision finds the store again.
 */
export async function deprovision(options: DeprovisionOptions): Promise<DeprovisionResult> {
  const { daemon, dryRun = false, logger } = options;
  // Reach the engine before touching config.toml: a failure then leaves everything as it was.
  const engine = options.keepDaemon ? undefined : await EngineClient.connect(options.dockerHost, logger);
  const containers = engine ? await daemonContainers(engine, daemon) : [];
  if (engine && !options.force) await refuseWhileJobsRun(engine, daemon, containers);

  const runnerConfig = await removeFromRunnerConfig({ path: options.runnerConfig, daemon, dryRun, logger });
  const volumes = { removed: [] as string[], kept: [] as string[] };
  if (!engine) return { ok: true, changed: runnerConfig.changed, dryRun, daemon, runnerConfig, containers: [], volumes };

  for (const container of containers) {
    if (dryRun) continue;
    await engine.stopContainer(container.id);
    await engine.removeContainer(container.id);
    logger.info(`removed daemon container ${container.name}`);
  }
  const names = (await engine.listVolumeNames(`${daemon}-`)).filter((name) => isDaemonVolume(daemon, name)).sort();
  for (const name of names) {
    if (!options.purge) {
      volumes.kept.push(name);
      continue;
    }
    if (!dryRun) await removeVolume(engine, name);
    volumes.removed.push(name);
  }
  const changed = runnerConfig.changed || containers.length > 0 || volumes.removed.length > 0;
  return { ok: true, changed, dryRun, daemon, runnerConfig, containers: containers.map(({ name, id }) => ({ name, id })), volumes };
}

async function daemonContainers(engine: EngineClient, daemon: string): Promise<ContainerInfo[]> {
  const found: ContainerInfo[] = [];
  for (const id of await engine.listContainerIds({ label: [`${LABEL_DAEMON}=${daemon}`] })) {
    const container = await engine.inspectContainer(id);
    if (container?.labels[LABEL_MANAGED] === 'true') found.push(container);
  }
  // A container of that name that nix-runner did not make is never touched.
  const named = await engine.inspectContainer(daemon);
  if (named?.labels[LABEL_MANAGED] === 'true' && !found.some((container) => container.id === named.id)) found.push(named);
  return found;
}

// Job containers reach the daemon through volumes_from: removing it under them breaks their builds.
async function refuseWhileJobsRun(engine: EngineClient, daemon: string, containers: ContainerInfo[]): Promise<void> {
  const own = new Set(containers.map((container) => container.id));
  const jobs = new Set<string>();
  for (const container of containers) for (const id of await daemonUsers(engine, container)) if (!own.has(id)) jobs.add(id);
  if (jobs.size === 0) return;
  throw new UserError(
    'daemon',
    `${jobs.size} running container(s) still use daemon ${daemon}: ${[...jobs].map((id) => id.slice(0, 12)).join(', ')}`,
    'wait for the jobs to finish (stop gitlab-runner first), or pass --force to remove the daemon under them',
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
