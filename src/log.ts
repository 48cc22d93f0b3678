export type LogLevel = 'debug' | 'info' | 'warn';

export interface Logger {
  info(text: string): void;
  warn(text: string): void;
  debug(text: string): void;
  /** Starts a timed span; `stop` logs its text with the elapsed time. */
  start(text: string): number;
  stop(text: string, started: number): void;
}

export interface StreamLoggerOptions {
  stream?: NodeJS.WritableStream;
  verbose?: boolean;
  now?: () => number;
}

// Logs go to stderr so that stdout stays free for --json and for the data a command prints.
export function createLogger({ stream = process.stderr, verbose = false, now = Date.now }: StreamLoggerOptions = {}): Logger {
  const write = (line: string) => stream.write(`${line}\n`);
  return {
    info: (text) => write(text),
    warn: (text) => write(`warning: ${text}`),
    debug: (text) => {
      if (verbose) write(`debug: ${text}`);
    },
    start: (text) => {
      if (verbose) write(`debug: ${text}…`);
      return now();
    },
    stop: (text, started) => write(`${text} (${formatSeconds(now() - started)})`),
  };
}

export const nullLogger: Logger = {
  info: () => {},
  warn: () => {},
  debug: () => {},
  start: () => 0,
  stop: () => {},
};

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)}s`;
}
