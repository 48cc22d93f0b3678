// Stable exit codes: scripts and the NixOS module may branch on them.
export const ExitCode = {
  ok: 0,
  bug: 1,
  usage: 2,
  config: 3,
  engine: 4,
  image: 5,
  daemon: 6,
  runnerConfig: 7,
  nix: 8,
  smoke: 9,
} as const;

export type ErrorCode = Exclude<keyof typeof ExitCode, 'ok'>;

/** A failure the user can act on: printed as one line plus a hint, never with a stack. */
export class UserError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UserError';
  }

  get exitCode(): number {
    return ExitCode[this.code];
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
