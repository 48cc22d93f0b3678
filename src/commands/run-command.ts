import { ExitCode, isUserError } from '../errors.js';
import { createLogger, nullLogger, type Logger } from '../log.js';

export interface CommandStreams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export interface CommandOptions {
  json?: boolean;
  verbose?: boolean;
}

/**
 * The one place where outcomes become output and exit codes. A UserError prints one line and a hint;
 * anything else is a bug and prints its stack. With --json, stdout carries exactly one JSON object.
 */
export async function runCommand<T extends object>(
  options: CommandOptions,
  action: (logger: Logger) => Promise<T>,
  render: (result: T) => string,
  streams: CommandStreams = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const logger = options.json ? nullLogger : createLogger({ stream: streams.stderr, verbose: options.verbose ?? false });
  try {
    const result = await action(logger);
    streams.stdout.write(options.json ? `${JSON.stringify(result)}\n` : render(result));
    return ExitCode.ok;
  } catch (error: unknown) {
    if (isUserError(error)) {
      if (options.json) {
        streams.stdout.write(`${JSON.stringify({ ok: false, error: { code: error.code, exitCode: error.exitCode, message: error.message, hint: error.hint } })}\n`);
      } else {
        streams.stderr.write(`nix-runner: error: ${error.message}\n${error.hint ? `  hint: ${error.hint}\n` : ''}`);
      }
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    if (options.json) streams.stdout.write(`${JSON.stringify({ ok: false, error: { code: 'bug', exitCode: ExitCode.bug, message } })}\n`);
    streams.stderr.write(`nix-runner: internal error (a bug, please report it):\n${error instanceof Error ? error.stack : message}\n`);
    return ExitCode.bug;
  }
}
