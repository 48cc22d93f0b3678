import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipE2E } from '../support/engine.js';
import { REFUSED, builderDerivation, nonce, parseAttempts, plainDerivation, type Attempt } from './support/attack-derivation.js';
import { buildOf, runJob, type JobRun } from './support/attack-job.js';
import { provisionSecurityDaemon, removeSecurityDaemons, type SecurityDaemon } from './support/security-daemon.js';

function expectAllRefused(attempts: Map<string, Attempt>, names: string[]): void {
  expect([...attempts.keys()]).toEqual(names);
  for (const [name, attempt] of attempts) {
    expect(attempt.outcome, `${name}: ${attempt.detail}`).toBe('refused');
    expect(attempt.detail, name).toMatch(REFUSED);
  }
}

// The daemon serves every job: a build must not be able to change it, outlive itself in it or cut it off.
describe.skipIf(skipE2E)('a job cannot break the daemon', () => {
  let d: SecurityDaemon;
  let closure: string[];
  let before: { expression: string; out: string };

  const build = async (label: string, expression: string): Promise<JobRun> => runJob(d.job, [`e2e_build ${label} "$E2E_EXPR"`], { E2E_EXPR: expression });
  const expectFreshBuild = async () => {
    const job = await build('fresh', plainDerivation(d.probe.busybox, 'e2e-fresh'));
    expect(buildOf(job, 'fresh'), job.stdout).toMatchObject({ exitCode: 0, built: true });
  };

  beforeAll(async () => {
    d = await provisionSecurityDaemon('e2e-sec-daemon');
    closure = await d.probe.closure();
    const expression = plainDerivation(d.probe.busybox, 'e2e-before');
    const job = await build('before', expression);
    expect(buildOf(job, 'before').exitCode, job.stdout).toBe(0);
    before = { expression, out: buildOf(job, 'before').out };
  });

  afterAll(async () => {
    await removeSecurityDaemons();
  });

  it('a builder leaves no process behind in the daemon container', async () => {
    const tag = nonce();
    const script = [
      'setsid sh -c "sleep 300; : e2e-leftover-$e2eTag" </dev/null >/dev/null 2>&1 &',
      'sleep 0.3',
      'for p in /proc/[0-9]*; do case "$(tr "\\0" " " < $p/cmdline 2>/dev/null)" in *"e2e-leftover-$e2eTag"*) echo "e2e-leftover running ${p#/proc/} uid $(id -u)";; esac; done',
    ].join('\n');
    const job = await build('leftover', builderDerivation({ busybox: d.probe.busybox, name: 'e2e-leftover', script, attrs: { e2eTag: tag } }));
    const result = buildOf(job, 'leftover');
    expect(result.exitCode, result.log.join('\n')).toBe(0);
    const started = result.content.map((line) => /^e2e-leftover running \d+ uid (\d+)$/.exec(line)).find(Boolean);
    expect(started, `the builder started its background process:\n${result.content.join('\n')}`).toBeTruthy();
    const uid = Number(started![1]);
    expect(uid, 'the builder runs as a build user').not.toBe(0);

    const left = (await d.probe.processes()).filter((p) => p.command.includes(`e2e-leftover-${tag}`) || p.uid === uid);
    expect(left, 'processes of the build still running after it').toEqual([]);
  });

  it("a builder cannot signal the daemon's processes", async () => {
    const script = [
      `try signal-daemon 'kill -0 1'`,
      // a worker of the daemon (one per connection, root): this build's own, at least
      'for p in /proc/[0-9]*; do [ "${p#/proc/}" = 1 ] && continue; while read -r k v rest; do [ "$k" = Uid: ] && [ "$v" != "$(id -u)" ] && w=${p#/proc/}; done < $p/status 2>/dev/null; done',
      `try signal-worker 'kill -0 "$w"'`,
    ].join('\n');
    const job = await build('signal', builderDerivation({ busybox: d.probe.busybox, name: 'e2e-signal', script }));
    const result = buildOf(job, 'signal');
    expect(result.exitCode, result.log.join('\n')).toBe(0);
    expectAllRefused(parseAttempts(result.content), ['signal-daemon', 'signal-worker']);
  });

  it("a builder cannot change the daemon's nix (the one every job runs), and the daemon's closure still verifies", async () => {
    const lines = [
      'b=$e2eNixBin',
      `try append-nix-build 'echo "echo trojan" >> "$b/nix-build"'`,
      `try overwrite-nix-daemon 'echo "#!/bin/sh" > "$b/nix-daemon"'`,
      `try create-in-bin ': > "$b/e2e-evil"'`,
      `try chmod-bin 'chmod u+w "$b"'`,
      `try rename-nix-store 'mv "$b/nix-store" "$b/nix-store.orig"'`,
      'for p in $e2eClosure; do try "create-in-${p#/nix/store/}" ": > $p/e2e-evil"; done',
    ];
    const attack = builderDerivation({ busybox: d.probe.busybox, name: 'e2e-attack-nix', script: lines.join('\n'), attrs: { e2eNixBin: `${d.probe.nix}/bin`, e2eClosure: closure.join(' ') } });
    const job = await build('attack', attack);
    const result = buildOf(job, 'attack');
    expect(result.exitCode, result.log.join('\n')).toBe(0);
    const names = ['append-nix-build', 'overwrite-nix-daemon', 'create-in-bin', 'chmod-bin', 'rename-nix-store', ...closure.map((p) => `create-in-${p.slice('/nix/store/'.length)}`)];
    expectAllRefused(parseAttempts(result.content), names);

    const verify = await d.probe.verify(closure);
    expect(verify.exitCode, verify.stderr).toBe(0);
    await expectFreshBuild();
    const again = await d.provision('--json');
    expect(again.json, again.stdout).toMatchObject({ ok: true, daemon: { action: 'unchanged' } });
  });

  it('a daemon whose nix was changed anyway (e.g. by a root build of an older daemon) is replaced by the next provision, keeping the store', async () => {
    const tampered = await d.probe.sh(`echo "echo trojan" >> ${d.probe.nix}/bin/nix-build`);
    expect(tampered.exitCode, tampered.stderr).toBe(0);
    expect((await d.probe.verify(closure)).exitCode, 'the tampering shows').not.toBe(0);

    const result = await d.provision('--json');
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.json).toMatchObject({ ok: true, changed: true, daemon: { action: 'replaced' } });
    await d.refresh();
    const verify = await d.probe.verify(await d.probe.closure());
    expect(verify.exitCode, verify.stderr).toBe(0);
    expect(await d.probe.valid(before.out)).toBe(true);
    const job = await build('before', before.expression);
    expect(buildOf(job, 'before'), job.stdout).toMatchObject({ exitCode: 0, out: before.out, built: false });
    expect(job.stdout).not.toMatch(/trojan/);
  });

  // Last: on a daemon that lets it happen, nothing after it can connect.
  it("a builder cannot delete or take over the daemon's socket; the next job still builds", async () => {
    const s = '/nix/var/nix/daemon-socket/socket';
    const script = [
      `try remove-socket 'rm -f ${s} && [ ! -e ${s} ]'`,
      `try rename-socket 'mv ${s} ${s}.old'`,
      `try chmod-socket 'chmod 600 ${s}'`,
      `try chmod-socket-dir 'chmod 700 /nix/var/nix/daemon-socket'`,
      `try squat-socket-dir ': > /nix/var/nix/daemon-socket/e2e-evil'`,
    ].join('\n');
    const job = await build('attack', builderDerivation({ busybox: d.probe.busybox, name: 'e2e-attack-socket', script }));
    const result = buildOf(job, 'attack');
    expect(result.exitCode, result.log.join('\n')).toBe(0);
    expectAllRefused(parseAttempts(result.content), ['remove-socket', 'rename-socket', 'chmod-socket', 'chmod-socket-dir', 'squat-socket-dir']);
    await expectFreshBuild();
  });
});
