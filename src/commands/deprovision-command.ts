import { Command } from 'commander';
import { DEFAULT_DAEMON, DEFAULT_RUNNER_CONFIG } from '../config/defaults.js';
import type { DeprovisionResult } from '../deprovision/deprovision.js';
import { engineTimeouts } from '../engine/engine-timeouts.js';
import { engineConnectTimeoutOption, engineTimeoutOption, type EngineTimeoutFlags } from './engine-options.js';
import { runCommand } from './run-command.js';
import { exitCodesHelp } from './exit-codes-help.js';

interface DeprovisionFlags extends EngineTimeoutFlags {
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

export function renderDeprovision(result: DeprovisionResult): string {
  const would = result.dryRun ? 'would be ' : '';
  const lines = [
    `${would}${result.changed ? 'changed' : 'unchanged'}: daemon ${result.daemon}`,
    `  config  ${result.runnerConfig.path} (${result.runnerConfig.changed ? `${would}updated: nix-runner entries removed` : 'no nix-runner entries'})`,
    `  daemon  ${result.containers.length > 0 ? `${would}removed ${result.containers.map((c) => `${c.name} (${c.id.slice(0, 12)})`).join(', ')}` : 'no container'}`,
  ];
  if (result.leftovers.length > 0) lines.push(`  leftovers of killed runs ${would}removed: ${result.leftovers.join(', ')}`);
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
    .addOption(engineTimeoutOption())
    .addOption(engineConnectTimeoutOption())
    .option('--keep-daemon', 'only edit config.toml; leave the daemon container and its volumes')
    .option('--purge', "also remove the volumes <daemon>-store, <daemon>-db and <daemon>-roots: the store is lost (a generation's\nsocket volume always goes with its container)")
    .option('--force', 'remove the daemon even while job containers still use it')
    .option('--dry-run', 'say what would be removed (with a diff of config.toml) and change nothing')
    .option('--json', 'print one JSON object on stdout: ok, changed, runnerConfig, containers, volumes {removed,kept}')
    .option('-v, --verbose', 'log each step and engine call')
    .addHelpText('after', exitCodesHelp(['config', 'engine', 'daemon', 'runnerConfig']))
    .action(async (flags: DeprovisionFlags) => {
      process.exitCode = await runCommand(
        flags,
        async (logger) => {
          const [{ loadSettings }, { deprovision }] = await Promise.all([import('../config/load-settings.js'), import('../deprovision/deprovision.js')]);
          const settings = await loadSettings(
            { runnerConfig: flags.runnerConfig, daemon: flags.daemon, dockerHost: flags.dockerHost, engineTimeout: flags.engineTimeout, engineConnectTimeout: flags.engineConnectTimeout },
            flags.config,
          );
          return deprovision({ ...flags, runnerConfig: settings.runnerConfig, daemon: settings.daemon, dockerHost: settings.dockerHost, timeouts: engineTimeouts(settings), logger });
        },
        renderDeprovision,
      );
    });
}
