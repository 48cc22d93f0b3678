import { execFileSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readFile, readlink, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { expectOneLineError, runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { copyRunnerFixture } from '../support/fixtures.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

function tryExec(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// config.toml files nix-runner must refuse to write, or write without changing what it must keep.
describe.skipIf(skipE2E)('config.toml where it cannot or must not be replaced: a clear error, nothing lost', () => {
  const daemon = uniqueName('e2e-cfgbad');
  let scratch: Awaited<ReturnType<typeof scratchDir>>;

  const provision = (runnerConfig: string) => runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon]);

  beforeAll(async () => {
    scratch = await scratchDir();
  });

  afterAll(async () => {
    await removeDaemon(requireEngine(), daemon);
    await scratch?.remove();
  });

  it('a read-only directory (chattr +i): exit 7, the file as it was, no daemon started', async ({ skip }) => {
    const dir = join(scratch.dir, 'immutable');
    await mkdir(dir);
    const path = await copyRunnerFixture(dir);
    const text = await readFile(path, 'utf8');
    if (!isRoot || !tryExec('chattr', ['+i', dir])) skip('needs root and a file system with chattr +i');
    try {
      const result = await provision(path);
      expectOneLineError(result, ExitCode.runnerConfig, new RegExp(`cannot write ${path}: E(PERM|ACCES|ROFS)$`));
      expect(await readFile(path, 'utf8')).toBe(text);
      expect(await requireEngine().inspectContainer(daemon)).toBeUndefined();
    } finally {
      execFileSync('chattr', ['-i', dir]);
    }
  });

  it.skipIf(!isRoot)("root writes another user's file: its owner, group and mode stay", async () => {
    const dir = join(scratch.dir, 'other-owner');
    await mkdir(dir);
    const path = await copyRunnerFixture(dir);
    await chown(path, NOBODY, NOBODY);
    await chmod(path, 0o640);
    const result = await provision(path);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await readFile(path, 'utf8')).toContain(`${daemon}:ro`);
    const info = await stat(path);
    expect([info.uid, info.gid, info.mode & 0o7777]).toEqual([NOBODY, NOBODY, 0o640]);
  });

  it.skipIf(!isRoot)("another user runs nix-runner on root's config.toml: exit 7, the file as it was", async ({ skip }) => {
    const dir = join(scratch.dir, 'root-owned');
    await mkdir(dir);
    await chmod(scratch.dir, 0o755);
    await chmod(dir, 0o755);
    const path = await copyRunnerFixture(dir);
    const text = await readFile(path, 'utf8');
    const cli = new URL('../../../dist/cli.js', import.meta.url).pathname;
    let stderr = '';
    let exitCode = 0;
    try {
      execFileSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', process.execPath, cli, 'provision', '--runner-config', path, '--daemon', daemon], {
        stdio: ['ignore', 'ignore', 'pipe'],
        encoding: 'utf8',
      });
    } catch (error: unknown) {
      const failed = error as { status?: number; stderr?: string };
      exitCode = failed.status ?? -1;
      stderr = failed.stderr ?? '';
    }
    if (/Cannot find module|EACCES.*dist/.test(stderr)) skip('the built CLI is not readable by nobody here');
    expectOneLineError({ exitCode, stderr, stdout: '', json: { ok: false } }, ExitCode.runnerConfig, new RegExp(`cannot read ${path}: EACCES$`));
    expect(await readFile(path, 'utf8')).toBe(text);
    expect((await stat(path)).uid).toBe(0);
  });

  it('a symlink into /nix/store (made with nix-store --add): exit 7, the link and the store file as they were', async () => {
    const dir = join(scratch.dir, 'store-link');
    await mkdir(dir);
    const copy = await copyRunnerFixture(dir);
    const inStore = execFileSync('nix-store', ['--add', copy], { encoding: 'utf8' }).trim();
    const path = join(dir, 'linked.toml');
    await symlink(inStore, path);
    const text = await readFile(inStore, 'utf8');
    const result = await provision(path);
    expectOneLineError(result, ExitCode.runnerConfig, /linked\.toml is in the read-only Nix store \(\/nix\/store\/[a-z0-9]{32}-config\.toml\)$/);
    expect((await lstat(path)).isSymbolicLink()).toBe(true);
    expect(await readlink(path)).toBe(inStore);
    expect(await readFile(inStore, 'utf8')).toBe(text);
  });
});
