import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_RUNNER_CONFIG, DEFAULT_STALE_AFTER_MS } from '../config/defaults.js';
import { engineTimeouts } from '../engine/engine-timeouts.js';
import type { DaemonStatus, GenerationStatus } from '../status/daemon-status.js';
import type { StatusResult } from '../status/status.js';
import { engineConnectTimeoutOption, engineTimeoutOption, type EngineTimeoutFlags } from './engine-options.js';
import { runCommand } from './run-command.js';
import { exitCodesHelp } from './exit-codes-help.js';

interface StatusFlags extends EngineTimeoutFlags {
  daemon?: string;
  runnerConfig: string;
  dockerHost?: string;
  check?: boolean;
  staleAfter: number;
  json?: boolean;
  verbose?: boolean;
}

function nonNegative(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new InvalidArgumentError('a whole number, 0 or more');
  return number;
}

function bytes(value: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function renderGeneration(generation: GenerationStatus): string {
  const users = generation.users.length === 0 ? 'no job containers' : `${generation.users.length} job container(s): ${generation.users.map((u) => `${u.name} (${u.state})`).join(', ')}`;
  return `    ${generation.name} (${generation.role}${generation.generation ? ` ${generation.generation}` : ''}, ${generation.state}, nix ${generation.nix ?? '?'}): ${users}`;
}

function renderDaemon(daemon: DaemonStatus): string[] {
  const lines = [`${daemon.name}: ${daemon.state}${daemon.state === 'running' ? (daemon.answers ? ', answers through its socket' : `, does NOT answer: ${daemon.answerError}`) : ''}`];
  if (daemon.id) {
    lines.push(`  generation ${daemon.generation ?? '?'} (${daemon.id.slice(0, 12)}), image ${daemon.image?.replace(/^sha256:/, '').slice(0, 12)}`);
    lines.push(`  nix      ${daemon.nix ?? '?'}`);
    const free = daemon.freeBytes === undefined ? '' : `; ${bytes(daemon.freeBytes)} free`;
    lines.push(`  store    ${daemon.store ? `${daemon.store.paths} paths, ${bytes(daemon.store.narBytes)}` : 'size unknown'}${free}`);
    const limits = daemon.limits ?? {};
    if (daemon.cache) {
      const waiting = daemon.cache.waiting ? `; ${daemon.cache.waiting} builds waiting to be uploaded (the cache refused them or was down; they go with the next build)` : '';
      lines.push(`  cache    ${daemon.cache.url} (${daemon.cache.push ? 'reads and uploads' : 'reads'})${waiting}`);
    }
    lines.push(`  limits   ${limits.pids ? `${limits.pids} processes` : 'no process limit'}, ${limits.memoryBytes ? `${bytes(limits.memoryBytes)} memory` : 'no memory limit'}`);
  }
  if (daemon.generations.length > 0) lines.push('  generations', ...daemon.generations.map(renderGeneration));
  if (daemon.draining.length > 0) lines.push(`  draining ${daemon.draining.join(', ')}: removed by the next provision once their job containers are gone`);
  lines.push(`  runners  ${daemon.runners.map((r) => r.name).join(', ') || 'none in config.toml'}`);
  const gc = daemon.lastGc;
  lines.push(`  last gc  ${gc ? `${gc.at}: ${gc.skipped ? `skipped (${gc.skipped})` : `${gc.deleted} store paths deleted, ${gc.freed} freed`}` : 'none recorded'}`);
  return lines;
}

export function renderStatus(result: StatusResult): string {
  const lines = result.daemons.flatMap(renderDaemon);
  if (!result.runnerConfig.found) lines.push(`(no ${result.runnerConfig.path}: runners not shown)`);
  if (result.problems.length > 0) {
    lines.push(`${result.problems.length} problem(s):`);
    for (const problem of result.problems) lines.push(`  ✗ ${problem.message}`, `    hint: ${problem.hint}`);
  }
  return `${lines.join('\n')}\n`;
}

export function statusCommand(): Command {
  return new Command('status')
    .description(
      'Show each nix-runner daemon: its generation, image, nix, state, whether it answers through its socket, store\n' +
        'size and free space, limits, the job containers of each generation (in any state: a job between two stages\n' +
        'is stopped but still needs its daemon), retired generations waiting for them, attached runners, last gc.\n' +
        'With --check (a doctor), exit non-zero when something is wrong, each problem with a hint.',
    )
    .option('--daemon <name>', 'only this daemon (default: every daemon nix-runner made or config.toml mounts)')
    .option('--runner-config <path>', `GitLab Runner's config.toml (default ${DEFAULT_RUNNER_CONFIG})`, DEFAULT_RUNNER_CONFIG)
    .option('--docker-host <url>', 'engine address (default: DOCKER_HOST, else unix:///var/run/docker.sock)')
    .option('--check', 'exit non-zero when a daemon does not answer, config.toml points at a nix its store lacks, or killed runs left something behind')
    .option('--stale-after <seconds>', 'a job container stopped this long is reported as left behind', nonNegative, DEFAULT_STALE_AFTER_MS / 1000)
    .addOption(engineTimeoutOption())
    .addOption(engineConnectTimeoutOption())
    .option('--json', 'print one JSON object on stdout: ok, daemons [{name, generation, state, answers, store, limits, generations, draining, runners, lastGc, leftovers, problems}], problems')
    .option('-v, --verbose', 'log each engine call')
    .addHelpText('after', exitCodesHelp(['engine', 'daemon', 'runnerConfig'], { ok: 'ok (or problems without --check)', meanings: { daemon: 'a daemon problem', runnerConfig: 'a config.toml problem' } }))
    .action(async (flags: StatusFlags) => {
      process.exitCode = await runCommand(
        flags,
        async (logger) =>
          (await import('../status/status.js')).status({
            ...(flags.daemon ? { daemon: flags.daemon } : {}),
            runnerConfig: flags.runnerConfig,
            ...(flags.dockerHost ? { dockerHost: flags.dockerHost } : {}),
            timeouts: engineTimeouts(flags),
            check: flags.check ?? false,
            staleAfterMs: flags.staleAfter * 1000,
            logger,
          }),
        renderStatus,
      );
    });
}
