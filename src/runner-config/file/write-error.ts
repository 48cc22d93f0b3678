import { UserError } from '../../errors.js';

const USER_FIXABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT']);

/** Turns an fs error the user can fix (permissions, read-only or full file system) into a UserError. */
export function writeError(error: unknown, path: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined || !USER_FIXABLE.has(code)) return error;
  return new UserError(
    'runnerConfig',
    `cannot write ${path}: ${code}`,
    code === 'ENOSPC' || code === 'EDQUOT' ? 'free some space and run again' : 'run nix-runner as the user that owns the file (usually root), on a writable file system',
    { cause: error },
  );
}
