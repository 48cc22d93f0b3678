import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { declaredRunnerSchema } from '../../../src/config/schema.js';
import { UserError } from '../../../src/errors.js';
import type { Logger } from '../../../src/log.js';
import { readDeclaredRunners, tokenHash } from '../../../src/runner-config/read-declarations.js';
import { withTempDir } from './helpers.js';

function capture(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info: () => {}, warn: (text) => warnings.push(text), debug: () => {}, start: () => 0, stop: () => {} };
}

const settings = (tokenFile: string, extra: Record<string, unknown> = {}) =>
  declaredRunnerSchema.parse({ name: 'nix-a', url: 'https://gitlab.example.com', tokenFile, ...extra });

async function failure(promise: Promise<unknown>): Promise<UserError> {
  const error = await promise.then(() => undefined, (reason: unknown) => reason);
  if (!(error instanceof UserError)) throw new Error(`expected a UserError, got ${String(error)}`);
  return error;
}

async function tokenFile(dir: string, text: string, mode = 0o600): Promise<string> {
  const path = join(dir, 'token');
  await writeFile(path, text);
  await chmod(path, mode);
  return path;
}

describe('readDeclaredRunners: token files', () => {
  it('reads the token (trimmed), its hash, and gives integers TOML integer types', async () => {
    await withTempDir(async (dir) => {
      const file = await tokenFile(dir, 'glrt-abc\n');
      const logger = capture();
      const [runner] = await readDeclaredRunners([settings(file, { limit: 2, docker: { shm_size: 0, cpus: '1.5', memory_swappiness: 0.5, devices: [1, 'a'] } })], { logger });
      expect(runner).toMatchObject({ name: 'nix-a', token: 'glrt-abc', tokenHash: tokenHash('glrt-abc'), limit: 2n });
      expect({ ...runner!.docker }).toEqual({ shm_size: 0n, cpus: '1.5', memory_swappiness: 0.5, devices: [1n, 'a'] });
      expect(logger.warnings).toEqual([]);
    });
  });

  it('a missing file: an error naming the runner, with a hint where the token comes from', async () => {
    await withTempDir(async (dir) => {
      const error = await failure(readDeclaredRunners([settings(join(dir, 'nope'))]));
      expect(error.code).toBe('config');
      expect(error.message).toMatch(/declared runner "nix-a": .*nope: ENOENT$/);
      expect(error.hint).toMatch(/runner authentication token/);
    });
  });

  it('an empty file, or one with several words: an error', async () => {
    await withTempDir(async (dir) => {
      expect((await failure(readDeclaredRunners([settings(await tokenFile(dir, ' \n'))]))).message).toMatch(/is empty/);
      expect((await failure(readDeclaredRunners([settings(await tokenFile(dir, 'glrt-a\nglrt-b\n'))]))).message).toMatch(/more than one word/);
    });
  });

  it('a world-readable file: a warning, the token is used', async () => {
    await withTempDir(async (dir) => {
      const logger = capture();
      const [runner] = await readDeclaredRunners([settings(await tokenFile(dir, 'glrt-abc', 0o644))], { logger });
      expect(runner?.token).toBe('glrt-abc');
      expect(logger.warnings).toEqual([expect.stringMatching(/readable by every user .*mode 644\): chmod 600 it$/)]);
    });
  });

  it('a file in the Nix store, or a link to one: an error with a hint to keep secrets out of the store', async () => {
    await withTempDir(async (dir) => {
      const store = join(dir, 'nix', 'store');
      await mkdir(store, { recursive: true });
      const inStore = join(store, 'abc-token');
      await writeFile(inStore, 'glrt-abc');
      const link = join(dir, 'token-link');
      await symlink(inStore, link);
      for (const file of [inStore, link]) {
        const error = await failure(readDeclaredRunners([settings(file)], { storeDir: store }));
        expect(error.message).toMatch(/token file of declared runner "nix-a" is in the Nix store/);
        expect(error.hint).toMatch(/outside the Nix store .*agenix or sops-nix/);
      }
    });
  });
});

describe('declaredRunnerSchema', () => {
  it('rejects a relative token file, a non-http URL, a negative limit, image twice', () => {
    const parse = (extra: Record<string, unknown>) => declaredRunnerSchema.safeParse({ name: 'a', url: 'https://g.example', tokenFile: '/t', ...extra }).success;
    expect(parse({})).toBe(true);
    expect(parse({ tokenFile: 'token' })).toBe(false);
    expect(parse({ url: 'ftp://g.example' })).toBe(false);
    expect(parse({ limit: -1 })).toBe(false);
    expect(parse({ limit: 1.5 })).toBe(false);
    expect(parse({ image: 'a', docker: { image: 'b' } })).toBe(false);
    expect(parse({ unknown: 1 })).toBe(false);
  });
});
