import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_DAEMON, DEFAULT_MAX_AGE_DAYS, parseByteSize } from '../config/defaults.js';
import { engineTimeouts } from '../engine/engine-timeouts.js';
import type { GcResult } from '../gc/collect-garbage.js';
import { recordGc } from '../gc/gc-record.js';
import { errorMessage } from '../errors.js';
import { engineConnectTimeoutOption, engineTimeoutOption, type EngineTimeoutFlags } from './engine-options.js';
import { runCommand } from './run-command.js';
import { exitCodesHelp } from './exit-codes-help.js';

function nonNegative(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new InvalidArgumentError('a whole number, 0 or more');
  return number;
}

function size(value: string): number {
  const bytes = parseByteSize(value);
  if (bytes === undefined) throw new InvalidArgumentError('a size: bytes, or a number with k, m, g or t');
  return bytes;
}

function renderGc(result: GcResult): string {
  const stale = result.stale ? `not waited for (stopped for long, leftovers?): ${result.stale.join(', ')}\n` : '';
  return stale + (result.skipped ? `skipped: ${result.skipped}\n` : `${result.daemon}: ${result.deleted} store paths deleted, ${result.freed} freed\n`);
}

export function gcCommand(): Command {
  return new Command('gc')
    .description(
      'Apply the retention policy to the roots the daemon keeps for every build (by age, then by total size,\n' +
        'oldest first), then collect garbage in the shared store, once no job uses the daemon. When jobs still run\n' +
        "after the drain timeout, nothing is collected and the run says so (exit 0). A job's own GC removes only\n" +
        'what no root holds: paths it added or that were substituted, never what the daemon built.',
    )
    .option('--daemon <name>', `daemon container (default ${DEFAULT_DAEMON})`, DEFAULT_DAEMON)
    .option('--max-age <days>', `drop the roots of builds older than this (default ${DEFAULT_MAX_AGE_DAYS})`, nonNegative, DEFAULT_MAX_AGE_DAYS)
    .option('--max-size <size>', 'then drop the oldest build roots until what the others hold weighs at most this, e.g. 50g', size)
    .option('--max-freed <bytes>', 'stop after freeing this many bytes', nonNegative)
    .option('--drain-timeout <seconds>', 'how long to wait for job containers (running or between stages) to go', nonNegative, 300)
    .option(
      '--stale-after <seconds>',
      'a job container stopped (or never started) for this long is a leftover, not waited for: GitLab Runner\nremoves its build containers when a job ends',
      nonNegative,
      3600,
    )
    .option('--docker-host <url>', 'engine address (default: DOCKER_HOST, else unix:///var/run/docker.sock)')
    .addOption(engineTimeoutOption())
    .addOption(engineConnectTimeoutOption())
    .option('--json', 'print one JSON object on stdout: ok, daemon, deleted, freed, skipped')
    .option('-v, --verbose', 'log each step')
    .addHelpText('after', exitCodesHelp(['engine', 'daemon']))
    .action(async (flags: { daemon: string; maxAge: number; maxSize?: number; maxFreed?: number; drainTimeout: number; staleAfter: number; dockerHost?: string; json?: boolean; verbose?: boolean } & EngineTimeoutFlags) => {
      process.exitCode = await runCommand(
        flags,
        async (logger) => {
          const [{ EngineClient }, { collectGarbage }] = await Promise.all([import('../engine/engine-client.js'), import('../gc/collect-garbage.js')]);
          const result = await collectGarbage(await EngineClient.connect(flags.dockerHost, logger, engineTimeouts(flags)), {
            daemon: flags.daemon,
            ...(flags.maxFreed === undefined ? {} : { maxFreed: flags.maxFreed }),
            maxAgeMs: flags.maxAge * 24 * 3600 * 1000,
            ...(flags.maxSize === undefined ? {} : { maxSizeBytes: flags.maxSize }),
            drainTimeoutMs: flags.drainTimeout * 1000,
            staleAfterMs: flags.staleAfter * 1000,
            logger,
          });
          // For `nix-runner status`; not being able to record it does not fail the collection.
          const record = { at: new Date().toISOString(), ...(result.skipped ? { skipped: result.skipped } : {}), deleted: result.deleted, freed: result.freed };
          await recordGc(flags.daemon, record).catch((error: unknown) => logger.debug(`last gc not recorded: ${errorMessage(error)}`));
          return result;
        },
        renderGc,
      );
    });
}
