import { Command } from 'commander';
import { loadSettings } from '../config/load-settings.js';
import { DEFAULT_DAEMON, DEFAULT_RUNNER_CONFIG } from '../config/schema.js';
import { LABEL_DAEMON, LABEL_MANAGED, SOCKET_DIR } from '../daemon/daemon-names.js';
import { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo } from '../engine/engine-types.js';
import { UserError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { removeFromRunnerConfig } from '../runner-config/apply.js';
import { runCommand } from './run-command.js';

interface DeprovisionFlags {
  config?: string;
  runnerConfig?: string;
  daemon?: string;
  dockerHost?: string;
  keepDaemon?: boolean;
  purge?: boolean;
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
  verbose?: boolean;
}

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
  const sockets = containers.flatMap((container) => container.mounts.filter((mount) => mount.destination === SOCKET_DIR && mount.name).map((mount) => mount.name!));
  const jobs = new Set<string>();
  for (const socket of sockets) for (const id of await engine.listContainerIds({ volume: [socket] }, false)) if (!own.has(id)) jobs.add(id);
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

export function renderDeprovision(result: DeprovisionResult): string {
  const would = result.dryRun ? 'would be ' : '';
  const lines = [
    `${would}${result.changed ? 'changed' : 'unchanged'}: daemon ${result.daemon}`,
    `  config  ${result.runnerConfig.path} (${result.runnerConfig.changed ? `${would}updated: nix-runner entries removed` : 'no nix-runner entries'})`,
    `  daemon  ${result.containers.length > 0 ? `${would}removed ${result.containers.map((c) => `${c.name} (${c.id.slice(0, 12)})`).join(', ')}` : 'no container'}`,
  ];
  if (result.volumes.removed.length > 0) lines.push(`  volumes ${would}removed ${result.volumes.removed.join(', ')}`);
  if (result.volumes.kept.length > 0) lines.push(`  volumes kept ${result.volumes.kept.join(', ')}: the store survives; --purge removes them`);
  if (result.dryRun && result.runnerConfig.diff) lines.push(result.runnerConfig.diff.trimEnd());
  return `${lines.join('\n')}\n`;
}

export function deprovisionCommand(): Command {
  return new Command('deprovision')
    .description(
      "Undo provision: remove nix-runner's entries from config.toml (runners it created from declared runners too),\n" +
        'then stop and remove the daemon container(s). The store volumes are kept (a later provision reuses them) unless --purge.',
    )
    .option('--config <file>', 'settings file of provision (its runnerConfig and daemon); flags win')
    .option('--runner-config <path>', `GitLab Runner's config.toml (default ${DEFAULT_RUNNER_CONFIG})`)
    .option('--daemon <name>', `daemon container name (default ${DEFAULT_DAEMON})`)
    .option('--docker-host <url>', 'engine address (default: DOCKER_HOST, else unix:///var/run/docker.sock)')
    .option('--keep-daemon', 'only edit config.toml; leave the daemon container and its volumes')
    .option('--purge', 'also remove the volumes <daemon>-store, <daemon>-db and <daemon>-socket-*: the store is lost')
    .option('--force', 'remove the daemon even while job containers still use it')
    .option('--dry-run', 'say what would be removed (with a diff of config.toml) and change nothing')
    .option('--json', 'print one JSON object on stdout: ok, changed, runnerConfig, containers, volumes {removed,kept}')
    .option('-v, --verbose', 'log each step and engine call')
    .addHelpText('after', '\nExit codes: 0 ok, 2 usage, 3 settings, 4 engine, 6 daemon, 7 config.toml, 1 bug.')
    .action(async (flags: DeprovisionFlags) => {
      process.exitCode = await runCommand(
        flags,
        async (logger) => {
          const settings = await loadSettings({ runnerConfig: flags.runnerConfig, daemon: flags.daemon, dockerHost: flags.dockerHost }, flags.config);
          return deprovision({ ...flags, runnerConfig: settings.runnerConfig, daemon: settings.daemon, dockerHost: settings.dockerHost, logger });
        },
        renderDeprovision,
      );
    });
}
