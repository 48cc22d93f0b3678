import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_DAEMON } from '../config/schema.js';
import { EngineClient } from '../engine/engine-client.js';
import { collectGarbage, type GcResult } from '../gc/collect-garbage.js';
import { runCommand } from './run-command.js';

function nonNegative(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new InvalidArgumentError('a whole number, 0 or more');
  return number;
}

function renderGc(result: GcResult): string {
  return result.skipped ? `skipped: ${result.skipped}\n` : `${result.daemon}: ${result.deleted} store paths deleted, ${result.freed} freed\n`;
}

export function gcCommand(): Command {
  return new Command('gc')
    .description(
      "Collect garbage in the shared store, once no job uses the daemon: a running job's fresh output is not\n" +
        "rooted where the daemon can see it. The daemon's own nix is rooted first. When jobs still run after the\n" +
        'drain timeout, nothing is collected and the run says so (exit 0).',
    )
    .option('--daemon <name>', `daemon container (default ${DEFAULT_DAEMON})`, DEFAULT_DAEMON)
    .option('--max-freed <bytes>', 'stop after freeing this many bytes', nonNegative)
    .option('--drain-timeout <seconds>', 'how long to wait for running jobs to end', nonNegative, 300)
    .option('--docker-host <url>', 'engine address (default: DOCKER_HOST, else unix:///var/run/docker.sock)')
    .option('--json', 'print one JSON object on stdout: ok, daemon, deleted, freed, skipped')
    .option('-v, --verbose', 'log each step')
    .action(async (flags: { daemon: string; maxFreed?: number; drainTimeout: number; dockerHost?: string; json?: boolean; verbose?: boolean }) => {
      process.exitCode = await runCommand(
        flags,
        async (logger) =>
          collectGarbage(await EngineClient.connect(flags.dockerHost, logger), {
            daemon: flags.daemon,
            ...(flags.maxFreed === undefined ? {} : { maxFreed: flags.maxFreed }),
            drainTimeoutMs: flags.drainTimeout * 1000,
            logger,
          }),
        renderGc,
      );
    });
}
