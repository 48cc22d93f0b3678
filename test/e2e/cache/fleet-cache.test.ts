import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootBuildOptions } from '../../../src/nix-cli/nix-tool.js';
import { skipE2E } from '../support/engine.js';
import { scratchDir } from '../support/scratch.js';
import { builderDerivation, parseAttempts, plainDerivation } from '../security/support/attack-derivation.js';
import { buildOf, runJob } from '../security/support/attack-job.js';
import { inspectJson } from '../security/support/daemon-probe.js';
import { provisionSecurityDaemon, removeSecurityDaemons, type SecurityDaemon } from '../security/support/security-daemon.js';

/** The narinfo of a store path in a file:// cache, once it is there. */
async function narinfo(cache: string, path: string, timeoutMs = 60_000): Promise<string> {
  const file = join(cache, `${path.slice('/nix/store/'.length, '/nix/store/'.length + 32)}.narinfo`);
  for (const deadline = Date.now() + timeoutMs; ; ) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) return text;
    if (Date.now() > deadline) throw new Error(`${path} did not reach the cache ${cache} in ${timeoutMs / 1000}s (cache holds: ${(await readdir(cache).catch(() => [])).join(' ')})`);
    await sleep(250);
  }
}

// Two runner hosts (two daemons: their own store volumes, their own config.toml) and one binary cache:
// a file:// cache in a directory both mount. Host A signs and uploads what it builds; host B only reads.
describe.skipIf(skipE2E)('a fleet sharing one signed binary cache (file://)', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let cache: string;
  let secretKey: string;
  let publicKey: string;
  let a: SecurityDaemon;
  let b: SecurityDaemon;

  beforeAll(async () => {
    scratch = await scratchDir('nix-runner-fleet-');
    cache = join(scratch.dir, 'cache');
    secretKey = join(scratch.dir, 'fleet.sk');
    await execa('nix-store', ['--generate-binary-cache-key', 'e2e-fleet-1', secretKey, join(scratch.dir, 'fleet.pk')]);
    publicKey = (await readFile(join(scratch.dir, 'fleet.pk'), 'utf8')).trim();
    const common = ['--cache-url', `file://${cache}`, '--cache-public-key', publicKey];
    a = await provisionSecurityDaemon('e2e-fleet-a', { args: [...common, '--cache-secret-key-file', secretKey, '--cache-push'] });
    b = await provisionSecurityDaemon('e2e-fleet-b', { args: common });
  });

  afterAll(async () => {
    await removeSecurityDaemons();
    await scratch?.remove();
  });

  it("a job on host A builds; host B's job gets the output from the cache without building, signed by A's key", async () => {
    const expression = plainDerivation(a.probe.busybox, 'e2e-fleet');
    const first = buildOf(await runJob(a.job, ['e2e_build fleet "$E2E_EXPR"'], { E2E_EXPR: expression }), 'fleet');
    expect(first, first.log.join('\n')).toMatchObject({ exitCode: 0, built: true });
    const info = await narinfo(cache, first.out);
    expect(info).toMatch(/^Sig: e2e-fleet-1:/m);

    expect(await b.probe.valid(first.out)).toBe(false);
    const second = buildOf(await runJob(b.job, ['e2e_build fleet "$E2E_EXPR"'], { E2E_EXPR: expression }), 'fleet');
    expect(second, second.log.join('\n')).toMatchObject({ exitCode: 0, out: first.out, built: false, content: first.content });
    expect(await b.probe.valid(first.out)).toBe(true);
  });

  it('host B refuses a path in the cache that is unsigned or signed by an unknown key: it builds it itself', async () => {
    const other = join(scratch.dir, 'other.sk');
    await execa('nix-store', ['--generate-binary-cache-key', 'e2e-unknown-1', other, join(scratch.dir, 'other.pk')]);
    for (const [label, sign] of [
      ['unsigned', undefined],
      ['forged', other],
    ] as const) {
      // built on this host and put into the cache by hand, as a job with write access to it would
      const expression = plainDerivation(b.probe.busybox, `e2e-${label}`);
      const out = (await execa('nix-build', [...rootBuildOptions(), '--no-out-link', '-E', expression])).stdout.trim();
      if (sign) await execa('nix', ['--extra-experimental-features', 'nix-command', 'store', 'sign', '--key-file', sign, out]);
      await execa('nix', ['--extra-experimental-features', 'nix-command', 'copy', '--to', `file://${cache}`, out]);
      expect(await narinfo(cache, out)).toBeTruthy();
      const job = buildOf(await runJob(b.job, [`e2e_build ${label} "$E2E_EXPR"`], { E2E_EXPR: expression }), label);
      expect(job, job.log.join('\n')).toMatchObject({ exitCode: 0, out, built: true });
      expect(job.content[0]).toMatch(/^built-on-/);
      expect(job.content[0]).not.toContain(`uid-0`);
    }
  });

  it('a path a job added (nix-store --add) is not uploaded; what the daemon builds next is', async () => {
    const added = await runJob(a.job, ['echo e2e-added-$RANDOM$RANDOM > /tmp/e2e-added', 'echo "e2e-added-path $(nix-store --add /tmp/e2e-added)"']);
    const path = /^e2e-added-path (\/nix\/store\/\S+)$/m.exec(added.stdout)?.[1];
    expect(path, added.stdout + added.stderr).toBeTruthy();
    const next = buildOf(await runJob(a.job, ['e2e_build after-add "$E2E_EXPR"'], { E2E_EXPR: plainDerivation(a.probe.busybox, 'e2e-after-add') }), 'after-add');
    expect(next.exitCode, next.log.join('\n')).toBe(0);
    await narinfo(cache, next.out);
    await expect(readFile(join(cache, `${path!.slice(11, 43)}.narinfo`))).rejects.toThrow();
  });

  it("a job cannot upload: the cache is read-only in its container, and it cannot read the daemon's secret key", async () => {
    const script = [
      `try read-key 'cat /etc/nix-runner/cache-secret-key'`,
      `try write-cache ': > ${cache}/e2e-evil'`,
    ].join('\n');
    // from a builder (in the daemon, as a build user) and from the job container itself
    const builder = buildOf(await runJob(a.job, ['e2e_build secret "$E2E_EXPR"'], { E2E_EXPR: builderDerivation({ busybox: a.probe.busybox, name: 'e2e-secret', script }) }), 'secret');
    expect(builder.exitCode, builder.log.join('\n')).toBe(0);
    const attempts = parseAttempts(builder.content);
    expect(attempts.get('read-key')?.outcome, attempts.get('read-key')?.detail).toBe('refused');
    expect(attempts.get('write-cache')?.outcome, attempts.get('write-cache')?.detail).toBe('refused');

    const job = await runJob(a.job, [`if cat /etc/nix-runner/cache-secret-key 2>/dev/null; then echo e2e-key-read; fi`, `if : > ${cache}/e2e-evil 2>/dev/null; then echo e2e-cache-written; fi`]);
    expect(job.stdout).not.toMatch(/e2e-key-read|e2e-cache-written/);
    await expect(access(join(cache, 'e2e-evil'))).rejects.toThrow();
  });

  it("nothing secret in docker inspect of the daemon, in its image or in provision's output", async () => {
    const key = (await readFile(secretKey, 'utf8')).trim();
    const secret = key.slice(key.indexOf(':') + 1);
    const inspect = (await inspectJson('container', a.daemon))!;
    expect(inspect).not.toContain(secret);
    expect(inspect).not.toContain(secretKey);
    const container = JSON.parse(inspect) as { Image: string; Config: { Env: string[] } };
    expect(container.Config.Env.join(' ')).not.toMatch(/KEY|SECRET|AWS/);
    expect((await inspectJson('image', container.Image))!).not.toContain(secret);
    const again = await a.provision('--json', '-v');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.json).toMatchObject({ ok: true, changed: false, daemon: { action: 'unchanged' } });
    expect(again.stdout + again.stderr).not.toContain(secret);
  });
});
