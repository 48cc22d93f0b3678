import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeError } from './write-error.js';

export interface AtomicWriteOptions {
  /** Runs after the temp file is complete and before the rename; throwing aborts the write. */
  beforeRename?: () => Promise<void>;
}

const NEW_FILE_MODE = 0o600;

/**
 * Replaces `path` with `text` so that a reader sees the old or the new file, never a mix: temp file
 * in the same directory, fsync, rename, fsync of the directory. Keeps mode and owner (0600 when new).
 */
export async function atomicWrite(path: string, text: string, { beforeRename }: AtomicWriteOptions = {}): Promise<void> {
  const existing = await stat(path).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw writeError(error, path);
  });
  const mode = existing ? existing.mode & 0o7777 : NEW_FILE_MODE;
  const temp = join(dirname(path), `.${basename(path)}.nix-runner-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.chmod(mode); // the umask applied to open's mode
      const own = await handle.stat();
      if (existing && (own.uid !== existing.uid || own.gid !== existing.gid)) await handle.chown(existing.uid, existing.gid);
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await beforeRename?.();
    await rename(temp, path);
    renamed = true;
  } catch (error: unknown) {
    throw writeError(error, path);
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
  await syncDirectory(dirname(path));
}

// Makes the rename itself durable; some file systems refuse fsync on a directory, which is then moot.
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // EINVAL/EISDIR on file systems without directory fsync: nothing more to make durable.
  } finally {
    await handle.close();
  }
}
