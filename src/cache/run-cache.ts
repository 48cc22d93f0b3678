import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * What does not change between runs, kept in ~/.cache/nix-runner/<kind>/<key> (XDG_CACHE_HOME too):
 * a lost or unwritable cache costs only the work it saves. Readers check what they read.
 */
export function cacheDir(kind: string, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  return join(env.XDG_CACHE_HOME || join(home, '.cache'), 'nix-runner', kind);
}

/** A key naming a file's identity (path, size, mtime, ctime, inode) with whatever else the value depends on. */
export async function fileIdentityKey(files: string[], extra: unknown): Promise<string> {
  const identities = await Promise.all(
    files.map(async (path) => {
      const info = await stat(path);
      return [path, info.size, info.mtimeMs, info.ctimeMs, info.ino];
    }),
  );
  return createHash('sha256').update(JSON.stringify({ identities, extra })).digest('hex');
}

export async function readCache(dir: string, key: string): Promise<string | undefined> {
  return readFile(join(dir, key), 'utf8').catch(() => undefined);
}

/** Written beside and renamed: a reader never sees half a value. */
export async function writeCache(dir: string, key: string, value: string): Promise<void> {
  const file = join(dir, key);
  const temp = `${file}.${process.pid}.tmp`;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(temp, value);
  await rename(temp, file);
}
