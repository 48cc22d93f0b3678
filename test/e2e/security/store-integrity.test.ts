import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipE2E } from '../support/engine.js';
import { REFUSED, builderDerivation, builderUid, nonce, parseAttempts, plainDerivation } from './support/attack-derivation.js';
import { buildOf, runJob } from './support/attack-job.js';
import { unsignedExport } from './support/nix-export.js';
import { provisionSecurityDaemon, removeSecurityDaemons, type SecurityDaemon } from './support/security-daemon.js';

// Many projects' jobs share one store: whatever a job builds, the next job that asks for the same
// derivation gets as a cache hit. No job may change what another job gets, with or without the sandbox.
describe.skipIf(skipE2E).each([
  { mode: 'without the sandbox', args: [] as string[] },
  { mode: 'in the sandbox (--sandbox)', args: ['--sandbox'] },
])('a job cannot change what another job gets from the store, $mode', ({ args }) => {
  const sandbox = args.includes('--sandbox');
  let d: SecurityDaemon;
  // X: built by job A, the victim; every attack below goes after it or after a path like it.
  let x: string;
  let xExpression: string;
  let xContent: string[];

  beforeAll(async () => {
    d = await provisionSecurityDaemon('e2e-sec-store', { args });
    xExpression = plainDerivation(d.probe.busybox, 'e2e-victim');
    const a = await runJob(d.job, ['e2e_build x "$E2E_X"'], { E2E_X: xExpression });
    const build = buildOf(a, 'x');
    expect(build.exitCode, build.log.join('\n')).toBe(0);
    expect(build.built).toBe(true);
    x = build.out;
    xContent = build.content;
  });

  afterAll(async () => {
    await removeSecurityDaemons();
  });

  const expectXIntact = async () => {
    const c = await runJob(d.job, ['e2e_build x "$E2E_X"'], { E2E_X: xExpression });
    expect(buildOf(c, 'x')).toMatchObject({ exitCode: 0, out: x, built: false, content: xContent });
    const verify = await d.probe.verify([x]);
    expect(verify.exitCode, verify.stderr).toBe(0);
  };

  it('builds as a build user, not as root, and a second job gets the output from the cache', async () => {
    const info = (await d.job.engine.inspectContainer(d.daemon))!;
    // the sandbox gives builds a host name of their own
    expect(xContent[0]).toMatch(new RegExp(`^built-on-${sandbox ? 'localhost' : info.hostname} uid-\\d+$`));
    expect(builderUid(xContent)).not.toBe(0);
    await expectXIntact();
  });

  it("a builder cannot append to, overwrite, chmod, rename, replace or remove another job's output", async () => {
    const script = [
      't=$e2eTarget',
      'echo "e2e-uid $(id -u)"',
      `try append 'echo poisoned >> "$t"'`,
      `try overwrite 'echo poisoned > "$t"'`,
      `try chmod 'chmod 666 "$t"'`,
      `try chown 'chown "$(id -u)" "$t"'`,
      `try rename 'mv "$t" "$t.moved"'`,
      `try replace 'echo poisoned > "$TMPDIR/p" && mv -f "$TMPDIR/p" "$t"'`,
      `try remove 'rm -f "$t" && [ ! -e "$t" ]'`,
    ].join('\n');
    const attack = builderDerivation({ busybox: d.probe.busybox, name: 'e2e-attack-output', script, inputs: { e2eTarget: x } });
    const b = await runJob(d.job, ['e2e_build attack "$E2E_ATTACK"'], { E2E_ATTACK: attack });
    const build = buildOf(b, 'attack');
    expect(build.exitCode, build.log.join('\n')).toBe(0);
    const uid = /^e2e-uid (\d+)$/.exec(build.content.find((line) => line.startsWith('e2e-uid ')) ?? '');
    expect(Number(uid?.[1] ?? 0), 'the builder runs as a build user').not.toBe(0);
    const attempts = parseAttempts(build.content);
    expect([...attempts.keys()]).toEqual(['append', 'overwrite', 'chmod', 'chown', 'rename', 'replace', 'remove']);
    for (const [name, attempt] of attempts) {
      expect(attempt.outcome, `${name}: ${attempt.detail}`).toBe('refused');
      expect(attempt.detail, name).toMatch(REFUSED);
    }
    await expectXIntact();
  });

  // What held before and must keep holding: jobs are not trusted users.
  it("a job cannot import an unsigned path at another derivation's output path, even with --option require-sigs false", async () => {
    const expression = plainDerivation(d.probe.busybox, 'e2e-future');
    const a = await runJob(d.job, ['drv=$(nix-instantiate -E "$E2E_Y" 2>/dev/null)', 'echo "e2e-future $(nix-store --query --outputs "$drv")"'], { E2E_Y: expression });
    const future = /^e2e-future (\/nix\/store\/\S+)$/m.exec(a.stdout)?.[1];
    expect(future, a.stdout + a.stderr).toBeDefined();
    const b = await runJob(
      d.job,
      [
        'echo "$E2E_EXPORT" | base64 -d > /tmp/e2e.export',
        'nix-store --import < /tmp/e2e.export > /tmp/e2e-import.log 2>&1 || true',
        'nix-store --import --option require-sigs false < /tmp/e2e.export >> /tmp/e2e-import.log 2>&1 || true',
        'while IFS= read -r l; do echo "e2e-import $l"; done < /tmp/e2e-import.log',
      ],
      { E2E_EXPORT: unsignedExport(future!, 'poisoned\n').toString('base64') },
    );
    expect(b.stdout.match(/^e2e-import error: cannot add path '.*' because it lacks a valid signature$/gm), b.stdout).toHaveLength(2);
    expect(await d.probe.valid(future!)).toBe(false);
    const c = await runJob(d.job, ['e2e_build y "$E2E_Y"'], { E2E_Y: expression });
    expect(buildOf(c, 'y'), c.stdout).toMatchObject({ exitCode: 0, out: future, built: true, content: [expect.stringMatching(/^built-on-/)] });
  });

  // Found while writing these tests: /nix/store is group-writable for the build users (1775 root:nixbld)
  // when builds do not run in the sandbox, and nix 2.8's daemon opens `<output>.lock` following symlinks,
  // then writes "d" into it once the build is done. A builder plants `<next output>.lock -> <victim file>`.
  // Without the sandbox, nix 2.8 leaves the next two attacks open (the build users share write access to
  // /nix/store): those runs check that provision says so instead, every time. The sandbox closes them.
  const closedBySandbox = sandbox ? it : it.skip;

  it.runIf(!sandbox)('provision says what a daemon without the sandbox leaves open: planted .lock files, held fixed-output paths', async () => {
    expect(d.provisioned.json.warnings).toEqual([expect.stringMatching(/without the sandbox: .*\.lock.*fixed-output path held open.*--sandbox/)]);
    const again = await d.provision();
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^warning: builds run without the sandbox: /m);
  });

  closedBySandbox('a builder cannot make the daemon write into another job\'s output through a planted lock file', async () => {
    const victim = builderDerivation({ busybox: d.probe.busybox, name: 'e2e-victim-dir', script: 'mkdir "$out"; : > "$out/empty"; echo code > "$out/main"' });
    const a = await runJob(d.job, ['e2e_build victim "$E2E_VICTIM"'], { E2E_VICTIM: victim });
    const v = buildOf(a, 'victim');
    expect(v.exitCode, v.log.join('\n')).toBe(0);

    const own = builderDerivation({ busybox: d.probe.busybox, name: 'e2e-own', script: 'echo own > "$out"' });
    const plant = builderDerivation({
      busybox: d.probe.busybox,
      name: 'e2e-plant-lock',
      script: [`try plant 'ln -s "$e2eVictim/empty" "$lock"'`, 'ls -l "$lock" || true'].join('\n'),
      inputs: { e2eVictim: v.out },
      inherit: ['lock'],
    });
    const b = await runJob(
      d.job,
      [
        'drv=$(nix-instantiate -E "$E2E_OWN" 2>/tmp/e2e-instantiate.err)',
        'own=$(nix-store --query --outputs "$drv")',
        'echo "e2e-own $own"',
        'e2e_build plant "$E2E_PLANT" --argstr lock "$own.lock"',
        'e2e_build own "$E2E_OWN"',
      ],
      { E2E_OWN: own, E2E_PLANT: plant },
    );
    expect(b.stdout, b.stderr).toMatch(/^e2e-own \/nix\/store\/\S+-e2e-own$/m);
    const planted = buildOf(b, 'plant');
    expect(planted.exitCode, planted.log.join('\n')).toBe(0);
    expect(parseAttempts(planted.content).has('plant'), planted.content.join('\n')).toBe(true);
    expect(buildOf(b, 'own').exitCode, buildOf(b, 'own').log.join('\n')).toBe(0);

    const c = await runJob(d.job, ['e2e_build victim "$E2E_VICTIM"', 'v=; read -r v < "$out/empty" || true; echo "e2e-empty [$v]"'], { E2E_VICTIM: victim });
    expect(buildOf(c, 'victim')).toMatchObject({ exitCode: 0, out: v.out, built: false });
    const empty = /^e2e-empty \[(.*)\]$/m.exec(c.stdout)?.[1];
    expect(empty, `the victim's empty file holds ${JSON.stringify(empty)} now`).toBe('');
    const verify = await d.probe.verify([v.out]);
    expect(verify.exitCode, verify.stderr).toBe(0);
  });

  // Found while writing these tests (the idea of CVE-2024-27297): a fixed-output path is named by its hash
  // only, so any job can build the source tarball every other job will fetch. Its builder makes the output
  // writable for a moment; a second build of the same job, running as another build user, opens it then and
  // writes through that descriptor once nix has checked the hash and registered the path.
  closedBySandbox('a fixed-output path cannot be changed after nix checked its hash', async () => {
    const tag = nonce();
    const name = `e2e-fod-${tag}`;
    const hash = createHash('sha256').update('hello\n').digest('hex');
    const fixed = { outputHashMode: 'flat', outputHashAlgo: 'sha256', outputHash: hash, e2eTag: tag };
    const fod = builderDerivation({
      busybox: d.probe.busybox,
      name,
      attrs: fixed,
      script: [
        'echo hello > "$out"; chmod 666 "$out"',
        'i=0; while [ ! -e "/tmp/e2e-held-$e2eTag" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done',
        'chmod 644 "$out"; : > "/tmp/e2e-fod-done-$e2eTag"',
        'echo "e2e-fod waited $i"',
      ].join('\n'),
    });
    const holder = builderDerivation({
      busybox: d.probe.busybox,
      name: 'e2e-fd-holder',
      attrs: { e2eTag: tag },
      script: [
        'f=; i=0',
        'while [ $i -lt 50 ]; do for p in /nix/store/*-e2e-fod-$e2eTag; do [ -e "$p" ] && f=$p; done; [ -n "$f" ] && [ -w "$f" ] && break; sleep 0.1; i=$((i+1)); done',
        'if [ -n "$f" ] && ( : 1<>"$f" ) 2>"$TMPDIR/e"; then',
        '  exec 3<>"$f"; : > "/tmp/e2e-held-$e2eTag"; echo "e2e-attack hold: done"',
        // once nix has checked the hash and registered the path, owned by root now
        '  i=0; while [ $i -lt 100 ]; do [ -e "/tmp/e2e-fod-done-$e2eTag" ] && set -- $(ls -ln "$f") && [ "$3" = 0 ] && break; sleep 0.1; i=$((i+1)); done',
        '  sleep 1',
        `  try write 'echo poisoned >&3'`,
        'else e=; read -r e < "$TMPDIR/e"; echo "e2e-attack hold: refused: [$f] $e"; fi',
      ].join('\n'),
    });
    const b = await runJob(
      d.job,
      [
        'e2e_build holder "$E2E_HOLDER" > /tmp/e2e-holder.report 2>&1 &',
        'sleep 1',
        'e2e_build fod "$E2E_FOD"',
        'wait',
        'while IFS= read -r l; do echo "$l"; done < /tmp/e2e-holder.report',
      ],
      { E2E_HOLDER: holder, E2E_FOD: fod },
    );
    const fodBuild = buildOf(b, 'fod');
    expect(fodBuild.exitCode, fodBuild.log.join('\n')).toBe(0);
    const held = buildOf(b, 'holder');
    expect(held.exitCode, held.log.join('\n')).toBe(0);
    expect(parseAttempts(held.content).has('hold'), held.content.join('\n')).toBe(true);

    // Another job's fetcher of the same file: another builder, the same name and hash, so the same path.
    const honest = builderDerivation({ busybox: d.probe.busybox, name, attrs: fixed, script: 'echo hello > "$out"' });
    const c = await runJob(d.job, ['e2e_build fod "$E2E_FOD"'], { E2E_FOD: honest });
    expect(buildOf(c, 'fod')).toMatchObject({ exitCode: 0, out: fodBuild.out, built: false, content: ['hello'] });
    const verify = await d.probe.verify([fodBuild.out]);
    expect(verify.exitCode, verify.stderr).toBe(0);
  });
});
