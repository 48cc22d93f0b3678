import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipE2E } from '../support/engine.js';
import { REFUSED, builderDerivation, parseAttempts, plainDerivation } from './support/attack-derivation.js';
import { buildOf, runJob } from './support/attack-job.js';
import { provisionSecurityDaemon, removeSecurityDaemons, type SecurityDaemon } from './support/security-daemon.js';

// Any client may ask the daemon to collect garbage; what other jobs built must survive it.
describe.skipIf(skipE2E)("a job's GC cannot wipe the shared cache", () => {
  let d: SecurityDaemon;
  let x: { expression: string; out: string; content: string[] };

  beforeAll(async () => {
    d = await provisionSecurityDaemon('e2e-sec-gc');
    const expression = plainDerivation(d.probe.busybox, 'e2e-cached');
    const a = await runJob(d.job, ['e2e_build x "$E2E_X"'], { E2E_X: expression });
    const build = buildOf(a, 'x');
    expect(build, a.stdout).toMatchObject({ exitCode: 0, built: true });
    x = { expression, out: build.out, content: build.content };
  });

  afterAll(async () => {
    await removeSecurityDaemons();
  });

  it("nix-store --gc, nix-collect-garbage -d and nix-store --delete from a job leave another job's output, and the next job gets it without building", async () => {
    // A builder first tries to drop whatever roots the daemon keeps.
    const dropRoots = builderDerivation({
      busybox: d.probe.busybox,
      name: 'e2e-drop-roots',
      script: [
        `try remove-roots 'for r in /nix/var/nix/gcroots/* /nix/var/nix/gcroots/*/* /nix/var/nix/profiles/*; do [ -e "$r" ] || [ -L "$r" ] || continue; rm -rf "$r" || exit 1; done; true'`,
        `try write-roots ': > /nix/var/nix/gcroots/e2e-evil'`,
      ].join('\n'),
    });
    const b = await runJob(d.job, [
      'e2e_build drop "$E2E_DROP"',
      // the job itself, root in its container: the daemon's roots it sees through volumes_from
      'rm -rf /nix/var/nix/gcroots/* 2>&1 | while IFS= read -r l; do echo "e2e-rm-roots $l"; done',
      'for p in /nix/var/nix/gcroots/* /nix/var/nix/gcroots/*/*; do case "$p" in *-link) continue;; esac; [ -L "$p" ] && nix-env --profile "$p" --delete-generations old 2>&1 | while IFS= read -r l; do echo "e2e-generations $l"; done; done; true',
      'nix-store --gc 2>&1 | while IFS= read -r l; do echo "e2e-gc $l"; done',
      'nix-collect-garbage -d 2>&1 | while IFS= read -r l; do echo "e2e-gc $l"; done',
      'nix-store --delete "$E2E_X_OUT" 2>&1 | while IFS= read -r l; do echo "e2e-delete $l"; done',
      'echo e2e-gc-done',
    ], { E2E_DROP: dropRoots, E2E_X_OUT: x.out });
    expect(b.stdout, b.stderr).toContain('e2e-gc-done');
    const drop = buildOf(b, 'drop');
    expect(drop.exitCode, drop.log.join('\n')).toBe(0);
    const attempts = parseAttempts(drop.content);
    expect(attempts.get('write-roots'), drop.content.join('\n')).toMatchObject({ outcome: 'refused', detail: expect.stringMatching(REFUSED) });
    expect(attempts.get('remove-roots')?.outcome, drop.content.join('\n')).toBe('refused');
    // the collections did run
    expect(b.stdout).toMatch(/^e2e-gc \d+ store paths deleted/m);
    expect(b.stdout).toMatch(/^e2e-delete /m);

    expect(await d.probe.valid(x.out)).toBe(true);
    const c = await runJob(d.job, ['e2e_build x "$E2E_X"'], { E2E_X: x.expression });
    expect(buildOf(c, 'x'), c.stdout).toMatchObject({ exitCode: 0, out: x.out, built: false, content: x.content });
    // and the daemon's own nix, which every job runs
    const verify = await d.probe.verify(await d.probe.closure());
    expect(verify.exitCode, verify.stderr).toBe(0);
  });
});
