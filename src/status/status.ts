import { ExitCode } from '../errors.js';
import { EngineClient } from '../engine/engine-client.js';
import type { EngineTimeouts } from '../engine/engine-timeouts.js';
import { nullLogger, type Logger } from '../log.js';
import { readAttachedRunners } from './attached-runners.js';
import { daemonStatus, knownDaemons, type DaemonStatus } from './daemon-status.js';
import { statusProblems, type Problem } from './status-problems.js';
import { DEFAULT_STALE_AFTER_MS } from '../config/defaults.js';

export interface StatusOptions {
  /** Only this daemon; default: every daemon nix-runner made or config.toml's runners mount. */
  daemon?: string;
  runnerConfig: string;
  dockerHost?: string;
  timeouts?: EngineTimeouts;
  /** Exit non-zero when a problem is found (doctor). */
  check?: boolean;
  staleAfterMs?: number;
  logger?: Logger;
}

export interface StatusResult {
  /** false only with `check` when a problem was found; then `exitCode` is the first problem's. */
  ok: boolean;
  exitCode?: number;
  runnerConfig: { path: string; found: boolean };
  daemons: (DaemonStatus & { problems: Problem[] })[];
  problems: Problem[];
}


/** What each daemon is doing and whether anything is wrong; changes nothing. */
export async function status({ daemon, runnerConfig, dockerHost, timeouts, check = false, staleAfterMs = DEFAULT_STALE_AFTER_MS, logger = nullLogger }: StatusOptions): Promise<StatusResult> {
  const runners = await readAttachedRunners(runnerConfig);
  const engine = await EngineClient.connect(dockerHost, logger, timeouts);
  const names = daemon ? [daemon] : await knownDaemons(engine, runners ?? []);
  const daemons: StatusResult['daemons'] = [];
  for (const name of names) {
    const found = await daemonStatus(engine, name, { runners: runners ?? [], staleAfterMs });
    daemons.push({ ...found, problems: statusProblems(found, staleAfterMs) });
  }
  const problems = daemons.flatMap((found) => found.problems);
  if (names.length === 0) problems.push({ daemon: '', code: 'daemon', message: 'no nix-runner daemon found', hint: 'run `nix-runner provision`' });
  const failed = check && problems.length > 0;
  return {
    ok: !failed,
    ...(failed ? { exitCode: ExitCode[problems[0]!.code] } : {}),
    runnerConfig: { path: runnerConfig, found: runners !== undefined },
    daemons,
    problems,
  };
}
