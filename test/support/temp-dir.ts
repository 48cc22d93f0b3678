import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';

/** A fresh directory under the system's temp dir, and how to remove it with everything in it. */
export async function tempDir(prefix = 'nix-runner-test-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs `run` with a fresh directory, removed afterwards whatever happens. */
export async function withTempDir<T>(run: (dir: string) => Promise<T>, prefix?: string): Promise<T> {
  const temp = await tempDir(prefix);
  try {
    return await run(temp.dir);
  } finally {
    await temp.remove();
  }
}

/** A fresh directory for each test of the enclosing describe: `temp.dir`. */
export function useTempDir(prefix?: string): { readonly dir: string } {
  let current: Awaited<ReturnType<typeof tempDir>> | undefined;
  beforeEach(async () => {
    current = await tempDir(prefix);
  });
  afterEach(async () => {
    await current?.remove();
    current = undefined;
  });
  return {
    get dir(): string {
      if (!current) throw new Error('useTempDir: no test is running');
      return current.dir;
    },
  };
}
