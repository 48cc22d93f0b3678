import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { expectOneLineError, runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { copyRunnerFixture } from '../support/fixtures.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

const BROKEN_NIX = '/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nix-9.9-broken';

/** An image that claims a nix whose daemon cannot run: its nix-store says every path is valid, its nix-daemon exits. */
async function importBrokenImage(ref: string): Promise<void> {
  const busybox = await readFile('/bin/busybox');
  const tar = pack();
  const script = (body: string) => Buffer.from(`#!/bin/sh\n${body}\n`);
  tar.entry({ name: 'bin/busybox', mode: 0o755 }, busybox);
  tar.entry({ name: 'bin/sh', type: 'symlink', linkname: 'busybox' });
  tar.entry({ name: `${BROKEN_NIX.slice(1)}/bin/nix-daemon`, mode: 0o755 }, script('echo "nix-daemon: broken on purpose" >&2; exit 1'));
  tar.entry({ name: `${BROKEN_NIX.slice(1)}/bin/nix-store`, mode: 0o755 }, script('exit 0'));
  tar.entry({ name: 'nix-runner/registration' }, `${BROKEN_NIX}\nsha256:0000000000000000000000000000000000000000000000000000\n0\n\n0\n`);
  tar.finalize();
  await requireEngine().importImage(tar.pipe(new PassThrough()), ref, [`LABEL org.nix-runner.nix=${BROKEN_NIX}`]);
}

describe.skipIf(skipE2E)('bad input: a clear error, a non-zero exit, nothing changed', () => {
  const daemon = uniqueName('e2e-bad');
  const brokenImage = `nix-runner/e2e-broken:${process.pid}`;
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;

  const provision = (...extra: string[]) => runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, ...extra]);

  beforeAll(async () => {
    scratch = await scratchDir();
    runnerConfig = await copyRunnerFixture(scratch.dir);
  });

  afterAll(async () => {
    const engine = requireEngine();
    await removeDaemon(engine, daemon);
    await engine.removeImage(brokenImage);
    await scratch?.remove();
  });

  it('malformed config.toml: names the line, touches nothing', async () => {
    const broken = join(scratch.dir, 'broken.toml');
    await writeFile(broken, '[[runners]]\n  name = "a"\n  executor = "docker"\n  token = "unterminated\n', { mode: 0o600 });
    const result = await runCli(['provision', '--runner-config', broken, '--daemon', daemon]);
    expectOneLineError(result, ExitCode.runnerConfig, /broken\.toml:4:\d+: /);
    expect(await requireEngine().inspectContainer(daemon)).toBeUndefined();
  });

  it('unknown --runner: lists the runners there', async () => {
    const result = await provision('--runner', 'nope');
    expectOneLineError(result, ExitCode.usage, /no runner named "nope"/);
    expect(result.stderr).toMatch(/docker-main, docker-second, shell-runner/);
  });

  it('no engine at the socket', async () => {
    const result = await provision('--docker-host', `unix://${join(scratch.dir, 'no-engine.sock')}`);
    expectOneLineError(result, ExitCode.engine, /no container engine answers at unix:\/\/.*no-engine\.sock/);
  });

  it('an archive that is not an image', async () => {
    const file = join(scratch.dir, 'not-an-image.tar');
    await writeFile(file, 'this is not a tar archive\n'.repeat(100));
    const result = await provision('--image-archive', file, '--json');
    expect(result.exitCode).toBe(ExitCode.image);
    expect(result.json).toMatchObject({ ok: false, error: { code: 'image' } });
    expect(String((result.json.error as { message: string }).message)).toMatch(/not a docker image archive/);
  });

  it('a daemon image that cannot start: the old daemon keeps running, config.toml stays as it was', async () => {
    const first = await provision('--json');
    expect(first.exitCode, first.stdout).toBe(0);
    const engine = requireEngine();
    const before = (await engine.inspectContainer(daemon))!;
    const text = await readFile(runnerConfig, 'utf8');
    const mtime = (await stat(runnerConfig)).mtimeMs;
    await importBrokenImage(brokenImage);

    const result = await provision('--image-ref', brokenImage);
    expectOneLineError(result, ExitCode.daemon, /nix-daemon/);
    const after = await engine.inspectContainer(daemon);
    expect(after).toMatchObject({ id: before.id, running: true });
    expect(await engine.inspectContainer(`${daemon}-next`)).toBeUndefined();
    expect(await readFile(runnerConfig, 'utf8')).toBe(text);
    expect((await stat(runnerConfig)).mtimeMs).toBe(mtime);
  });
});
