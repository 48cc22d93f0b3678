import { execFileSync } from 'node:child_process';
import { mkdir, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { expectOneLineError, runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { scratchDir, uniqueName } from '../support/scratch.js';

// --runner-config naming something that is not GitLab Runner's config.toml: one line and a hint, exit 7,
// before the engine is touched, from provision (dry run too) and deprovision alike.
describe.skipIf(skipE2E)('config.toml that is a directory, a device, a fifo or far too large', () => {
  const daemon = uniqueName('e2e-special');
  let scratch: Awaited<ReturnType<typeof scratchDir>>;

  const commands = (path: string) => [
    ['provision', '--runner-config', path, '--daemon', daemon],
    ['provision', '--runner-config', path, '--daemon', daemon, '--dry-run'],
    ['deprovision', '--runner-config', path, '--daemon', daemon, '--keep-daemon'],
  ];

  async function expectRefused(path: string, message: RegExp): Promise<void> {
    for (const args of commands(path)) {
      const result = await runCli(args);
      expectOneLineError(result, ExitCode.runnerConfig, message);
      const json = await runCli([...args, '--json']);
      expect(json.json).toMatchObject({ ok: false, error: { code: 'runnerConfig', exitCode: ExitCode.runnerConfig } });
      expect(json.stderr).toBe('');
    }
    expect(await requireEngine().inspectContainer(daemon)).toBeUndefined();
  }

  beforeAll(async () => {
    scratch = await scratchDir();
  });

  afterAll(async () => {
    await scratch?.remove();
  });

  it('a directory', async () => {
    const path = join(scratch.dir, 'config.toml');
    await mkdir(path);
    await expectRefused(path, /config\.toml is a directory, not a config\.toml$/);
    expect(await readdir(path)).toEqual([]);
  });

  it('/dev/null: refused, and still the device afterwards', async () => {
    await expectRefused('/dev/null', /^nix-runner: error: \/dev\/null is a character device, not a regular file$/);
    expect(execFileSync('stat', ['-c', '%F', '/dev/null'], { encoding: 'utf8' }).trim()).toBe('character special file');
  });

  it('a fifo: refused at once, nobody writes to it', async () => {
    const path = join(scratch.dir, 'fifo.toml');
    execFileSync('mkfifo', [path]);
    await expectRefused(path, /fifo\.toml is a fifo, not a regular file$/);
  });

  it('a 100 MiB file (sparse): refused as too large', async () => {
    const path = join(scratch.dir, 'huge.toml');
    const handle = await open(path, 'w');
    await handle.truncate(100 * 1024 * 1024);
    await handle.close();
    await expectRefused(path, /huge\.toml is 100\.0 MiB, more than the 64\.0 MiB nix-runner reads$/);
  });
});
