import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { expectOneLineError, runCli, type CliResult } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { copyRunnerFixture } from '../support/fixtures.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

// The fixture's runner tokens, and cache credentials added to it here.
const SECRETS = ['glrt-abcdefghijklmnopqrst', 'glrt-second', 'glrt-shell', 'AKIAE2EACCESSKEY0001', 'e2e/s3+secret=key0001', 'E2EAZUREACCOUNTKEY==='];
const CACHE = `  [runners.cache]
    Type = "s3"
    [runners.cache.s3]
      AccessKey = "AKIAE2EACCESSKEY0001"
      SecretKey = "e2e/s3+secret=key0001"
      BucketName = "cache"
    [runners.cache.azure]
      AccountKey = "E2EAZUREACCOUNTKEY==="
`;

function expectNoSecret(result: CliResult): void {
  for (const secret of SECRETS) {
    expect(result.stdout, `stdout shows ${secret}`).not.toContain(secret);
    expect(result.stderr, `stderr shows ${secret}`).not.toContain(secret);
  }
}

describe.skipIf(skipE2E)('no runner token or other secret of config.toml in any output', () => {
  const daemon = uniqueName('e2e-secrets');
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    runnerConfig = await copyRunnerFixture(scratch.dir);
    const text = await readFile(runnerConfig, 'utf8');
    // docker-second's own cache section: the fixture gives it none.
    await writeFile(runnerConfig, text.replace('  executor = "docker"\n  [runners.docker]\n    image = "debian:bookworm"', `  executor = "docker"\n${CACHE}  [runners.docker]\n    image = "debian:bookworm"`));
    expect(await readFile(runnerConfig, 'utf8')).toContain('SecretKey');
  });

  afterAll(async () => {
    await removeDaemon(requireEngine(), daemon);
    await scratch?.remove();
  });

  it('provision --dry-run: the diff shows each token as [redacted]', async () => {
    const result = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--dry-run', '-v']);
    expect(result.exitCode, result.stderr).toBe(0);
    expectNoSecret(result);
    expect(result.stdout).toContain('-  token = "[redacted]"\n');
    expect(result.stdout).toContain('+token = "[redacted]"\n');
    expect(result.stdout).toContain('+SecretKey = "[redacted]"\n');
    expect(result.stdout).toContain(`+volumes_from = [ "${daemon}:ro" ]`);
  });

  it('provision --dry-run --json: the diff in the JSON too', async () => {
    const result = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--dry-run', '--json']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expectNoSecret(result);
    const diff = (result.json as { runnerConfig?: { diff?: string } }).runnerConfig?.diff ?? '';
    expect(diff).toContain('+token = "[redacted]"');
    expect(diff).toContain('+AccountKey = "[redacted]"');
  });

  it('provision, then deprovision --dry-run and --dry-run --json: no secret in logs or diffs', async () => {
    const provisioned = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '-v']);
    expect(provisioned.exitCode, provisioned.stderr).toBe(0);
    expectNoSecret(provisioned);
    expect(await readFile(runnerConfig, 'utf8')).toContain('token = "glrt-abcdefghijklmnopqrst"');

    const text = await runCli(['deprovision', '--runner-config', runnerConfig, '--daemon', daemon, '--keep-daemon', '--dry-run', '-v']);
    expect(text.exitCode, text.stderr).toBe(0);
    expectNoSecret(text);
    expect(text.stdout).toContain(`-volumes_from = [ "${daemon}:ro" ]`);
    const json = await runCli(['deprovision', '--runner-config', runnerConfig, '--daemon', daemon, '--keep-daemon', '--dry-run', '--json']);
    expect(json.json).toMatchObject({ ok: true, runnerConfig: { changed: true } });
    expectNoSecret(json);
  });

  it('a TOML error on a line holding a token: exit 7, the line quoted redacted, as text and as --json', async () => {
    const broken = join(scratch.dir, 'broken.toml');
    const text = await readFile(runnerConfig, 'utf8');
    await writeFile(broken, text.replace('token = "glrt-abcdefghijklmnopqrst"', 'token = "glrt-abcdefghijklmnopqrst" trailing'), { mode: 0o600 });
    const plain = await runCli(['provision', '--runner-config', broken, '--daemon', daemon]);
    expectOneLineError(plain, ExitCode.runnerConfig, /broken\.toml:\d+:\d+: each key-value declaration must be followed by an end-of-line: token = "\[redacted\]" trailing$/);
    expectNoSecret(plain);

    const json = await runCli(['provision', '--runner-config', broken, '--daemon', daemon, '--json']);
    expect(json.exitCode).toBe(ExitCode.runnerConfig);
    expect(json.json).toMatchObject({ ok: false, error: { code: 'runnerConfig', message: expect.stringContaining('token = "[redacted]" trailing') } });
    expectNoSecret(json);

    const removed = await runCli(['deprovision', '--runner-config', broken, '--daemon', daemon, '--keep-daemon']);
    expectOneLineError(removed, ExitCode.runnerConfig, /token = "\[redacted\]" trailing$/);
    expectNoSecret(removed);
  });

  it('a bare token (not even a string) on a broken line: redacted as well', async () => {
    const broken = join(scratch.dir, 'bare.toml');
    await writeFile(broken, '[[runners]]\nname = "x"\ntoken = glrt-abcdefghijklmnopqrst\n', { mode: 0o600 });
    const result = await runCli(['provision', '--runner-config', broken, '--daemon', daemon, '--json']);
    expect(result.exitCode).toBe(ExitCode.runnerConfig);
    expect(result.json).toMatchObject({ ok: false, error: { message: expect.stringMatching(/bare\.toml:3:9: invalid value: token = \[redacted\]$/) } });
    expectNoSecret(result);
  });
});
