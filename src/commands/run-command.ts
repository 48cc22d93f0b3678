import { ExitCode, isUserError } from '../errors.js';
import { createLogger, nullLogger, type Logger } from '../log.js';
import { redactSecrets } from '../runner-config/file/redact-secrets.js';

export interface CommandStreams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface CommandOptions {
  json?: boolean;
  verbose?: boolean;
}

// Last resort: a log line or an error that quotes config.toml never shows a runner token or other secret.
function redactingLogger(logger: Logger): Logger {
  return {
    info: (text) => logger.info(redactSecrets(text)),
    warn: (text) => logger.warn(redactSecrets(text)),
    debug: (text) => logger.debug(redactSecrets(text)),
    start: (text) => logger.start(redactSecrets(text)),
    stop: (text, started) => logger.stop(redactSecrets(text), started),
  };
}

/**
 * The one place where outcomes become output and exit codes. A UserError prints one line and a hint;
 * anything else is a bug and prints its stack. With --json, stdout carries exactly one JSON object.
 * A result with `ok: false` and an `exitCode` (a check that found problems) is printed, then exits so.
 */
function failedCheck(result: object): number | undefined {
  const { ok, exitCode } = result as { ok?: unknown; exitCode?: unknown };
  return ok === false && typeof exitCode === 'number' ? exitCode : undefined;
}

export async function runCommand<T extends object>(
  options: CommandOptions,
  action: (logger: Logger) => Promise<T>,
  render: (result: T) => string,
  streams: CommandStreams = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const logger = options.json ? nullLogger : redactingLogger(createLogger({ stream: streams.stderr, verbose: options.verbose ?? false }));
  try {
    const result = await action(logger);
    streams.stdout.write(options.json ? `${JSON.stringify(result)}\n` : render(result));
    return failedCheck(result) ?? ExitCode.ok;
  } catch (error: unknown) {
    if (isUserError(error)) {
      const message = redactSecrets(error.message);
      const hint = error.hint === undefined ? undefined : redactSecrets(error.hint);
      if (options.json) {
        streams.stdout.write(`${JSON.stringify({ ok: false, error: { code: error.code, exitCode: error.exitCode, message, hint } })}\n`);
      } else {
        streams.stderr.write(`nix-runner: error: ${message}\n${hint ? `  hint: ${hint}\n` : ''}`);
      }
      return error.exitCode;
    }
    const message = redactSecrets(error instanceof Error ? error.message : String(error));
    if (options.json) streams.stdout.write(`${JSON.stringify({ ok: false, error: { code: 'bug', exitCode: ExitCode.bug, message } })}\n`);
    streams.stderr.write(`nix-runner: internal error (a bug, please report it):\n${error instanceof Error && error.stack ? redactSecrets(error.stack) : message}\n`);
    return ExitCode.bug;
  }
}
