import { execFileSync } from 'node:child_process';
import { mkdir, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { applyRunnerConfig, removeFromRunnerConfig } from '../../../src/runner-config/apply.js';
import { MAX_CONFIG_BYTES } from '../../../src/runner-config/file/config-target.js';
import { managedSettings, withTempDir } from './helpers.js';

async function rejection(promise: Promise<unknown>): Promise<UserError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof UserError)) throw new Error(`expected a UserError, got ${error instanceof Error ? error.stack : String(error)}`);
  return error;
}

const declared = [{ name: 'decl', url: 'https://gitlab.example.com', token: 'glrt-declared-token', tokenHash: 'sha256:x', docker: {} }];

// Each is refused with one line and a hint, exit 7, for attach (with and without declared runners), detach and dry runs.
// Started one at a time: a promise made before the previous one is awaited rejects unhandled.
const attempts = (path: string) => [
  () => applyRunnerConfig({ path, runners: [], managed: managedSettings() }),
  () => applyRunnerConfig({ path, runners: [], managed: managedSettings(), dryRun: true }),
  () => applyRunnerConfig({ path, runners: [], managed: managedSettings(), declared }),
  () => removeFromRunnerConfig({ path }),
];

async function expectRefused(path: string, message: RegExp): Promise<void> {
  for (const attempt of attempts(path)) {
    const error = await rejection(attempt());
    expect(error.code).toBe('runnerConfig');
    expect(error.exitCode).toBe(7);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('\n');
    expect(error.hint).toMatch(/\S/);
  }
}

describe('config.toml that is not a regular file, or far too large', () => {
  it('a directory', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await mkdir(path);
      await expectRefused(path, /config\.toml is a directory, not a config\.toml$/);
      expect(await readdir(path)).toEqual([]);
    });
  });

  it('a character device (/dev/null): refused, never replaced', async () => {
    await expectRefused('/dev/null', /^\/dev\/null is a character device, not a regular file$/);
    expect(execFileSync('stat', ['-c', '%F', '/dev/null'], { encoding: 'utf8' }).trim()).toBe('character special file');
  });

  it('a fifo: refused at once, not waited on', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      execFileSync('mkfifo', [path]);
      const started = Date.now();
      await expectRefused(path, /config\.toml is a fifo, not a regular file$/);
      expect(Date.now() - started).toBeLessThan(5_000);
    });
  });

  it(`larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB (a sparse file)`, async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      const handle = await open(path, 'w');
      await handle.truncate(MAX_CONFIG_BYTES + 1024 * 1024);
      await handle.close();
      await expectRefused(path, /config\.toml is 65\.0 MiB, more than the 64\.0 MiB nix-runner reads$/);
    });
  });
});
