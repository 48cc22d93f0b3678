import { Command } from 'commander';
import { DEFAULT_RUNNER_CONFIG } from '../config/defaults.js';
import type { SmokeResult } from '../smoke/smoke.js';
import { engineConnectTimeoutOption, engineTimeoutOption, type EngineTimeoutFlags } from './engine-options.js';
import { runCommand } from './run-command.js';
import { engineTimeouts } from '../engine/engine-timeouts.js';
import { exitCodesHelp } from './exit-codes-help.js';

export function renderSmoke(result: SmokeResult): string {
  return [
    `ok: runner ${result.runner}, job image ${result.image}`,
    `  job 1 built ${result.outPath} in daemon ${result.daemon.name} (${(result.jobs.first / 1000).toFixed(2)}s); nix works in after_script`,
    `  job 2 got it from the shared store, no rebuild (${(result.jobs.second / 1000).toFixed(2)}s)`,
    '',
  ].join('\n');
}

export function smokeCommand(): Command {
  return new Command('smoke')
    .description(
      'Run two jobs the way GitLab Runner\'s docker executor would for a runner (volumes_from, environment,\n' +
        'pre_build_script + script in one shell, after_script in a second one): the first builds a tiny derivation,\n' +
        'the second must get it from the shared store without a rebuild.',
    )
    .option('--runner-config <path>', `GitLab Runner's config.toml (default ${DEFAULT_RUNNER_CONFIG})`, DEFAULT_RUNNER_CONFIG)
    .option('--runner <name>', 'runner to emulate (default: the first one attached by nix-runner)')
    .option('--image <ref>', "job image (default: the runner's image if present in the engine, else a busybox image built here)")
    .option('--docker-host <url>', 'engine address (default: DOCKER_HOST, else unix:///var/run/docker.sock)')
    .addOption(engineTimeoutOption())
    .addOption(engineConnectTimeoutOption())
    .option('--json', 'print one JSON object on stdout')
    .option('-v, --verbose', 'log each step')
    .addHelpText('after', exitCodesHelp(['engine', 'daemon', 'runnerConfig', 'smoke']))
    .action(async (flags: { runnerConfig: string; runner?: string; image?: string; dockerHost?: string; json?: boolean; verbose?: boolean } & EngineTimeoutFlags) => {
      process.exitCode = await runCommand(flags, async (logger) => (await import('../smoke/smoke.js')).smoke({ ...flags, timeouts: engineTimeouts(flags), logger }), renderSmoke);
    });
}
