import { UserError, errorMessage } from '../errors.js';
import type { EngineKind } from './engine-kind.js';
import { CallTimeout } from './timed-call.js';

/** The HTTP status of an engine answer: on dockerode's error, or on the cause of the engine UserError made of it. */
export function engineStatus(error: unknown): number | undefined {
  const target = error instanceof UserError ? error.cause : error;
  return typeof target === 'object' && target !== null && 'statusCode' in target ? Number(target.statusCode) : undefined;
}

/** The engine answered and refused the request (4xx): about what was asked (an image, a name), not about the engine's health. */
export function engineRefused(error: unknown): boolean {
  const status = engineStatus(error);
  return status !== undefined && status >= 400 && status < 500;
}

// Errors of these kinds come from nix-runner's own code, never from the engine: they stay bugs, with a stack.
const BUGS = [TypeError, RangeError, ReferenceError];

export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

export interface FailureContext {
  /** Where the engine is, for the hint: unix:///var/run/docker.sock */
  address: string;
  /** The flag and settings key that set the limit that ran out. */
  limitSetting: string;
  /** Which engine, so that the hint names its commands: podman info, journalctl -u podman (default docker). */
  kind?: EngineKind;
}

/**
 * A failed engine call as the user sees it: one line that names the call, and a hint. Errors of
 * nix-runner's own code (and UserErrors, already worded) are returned as they are.
 */
export function engineFailure(what: string, error: unknown, { address, limitSetting, kind = 'docker' }: FailureContext): unknown {
  if (error instanceof UserError || BUGS.some((kind) => error instanceof kind)) return error;
  if (error instanceof CallTimeout) {
    const { kind, ms } = error.limit;
    const message =
      kind === 'answer'
        ? `the engine did not answer \`${what}\` within ${seconds(ms)}`
        : kind === 'idle'
          ? `the engine made no progress on \`${what}\` for ${seconds(ms)}`
          : `the engine stopped answering during \`${what}\` (no ping answered for ${seconds(ms)})`;
    return new UserError('engine', message, `the engine at ${address} is stuck or overloaded: check \`${kind} info\` and its log; ${limitSetting} sets the limit`, {
      cause: error,
    });
  }
  const status = engineStatus(error);
  // dockerode words a status as "(HTTP code 500) server error - <the engine's message> "
  const reason = (errorMessage(error).split('\n')[0] ?? '').replace(/^\(HTTP code \d+\)\s*/, '').trim();
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  const detail = status !== undefined ? `HTTP ${status}: ${reason}` : code && !reason.includes(code) ? `${reason} (${code})` : reason;
  return new UserError(
    'engine',
    `the engine failed \`${what}\`: ${detail || 'no reason given'}`,
    status !== undefined && status < 500
      ? `the engine at ${address} refused it: see \`${kind} ps -a\`, \`${kind} volume ls\` and the engine's log`
      : `check the engine at ${address}: \`${kind} info\` and its log (journalctl -u ${kind})`,
    { cause: error },
  );
}
