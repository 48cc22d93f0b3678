import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipE2E } from '../support/engine.js';
import { builderDerivation } from './support/attack-derivation.js';
import { buildOf, runJob } from './support/attack-job.js';
import { provisionSecurityDaemon, removeSecurityDaemons, type SecurityDaemon } from './support/security-daemon.js';

// Found while writing these tests: nix 2.8's daemon takes max-silent-time from every client (nix-build
// sends its own, 0 unless given) and `timeout` from any client that asks, trusted or not. Then one job
// can hold build users, and so every other job's builds, for as long as it likes.
describe.skipIf(skipE2E)("a job cannot lift the daemon's build time limits", () => {
  let d: SecurityDaemon;

  beforeAll(async () => {
    d = await provisionSecurityDaemon('e2e-sec-limits', { settings: ['[nixSettings]', 'max-silent-time = 2', 'timeout = 6'] });
  });

  afterAll(async () => {
    await removeSecurityDaemons();
  });

  it('max-silent-time stops a silent build', async () => {
    const silent = builderDerivation({ busybox: d.probe.busybox, name: 'e2e-silent', script: 'sleep 5; echo done > "$out"' });
    const job = await runJob(d.job, ['e2e_build silent "$E2E_EXPR"'], { E2E_EXPR: silent });
    const result = buildOf(job, 'silent');
    expect(result.exitCode, `the silent build ran to its end:\n${result.log.join('\n')}`).not.toBe(0);
    expect(result.log.join('\n')).toMatch(/timed out after 2 seconds of silence/);
  });

  it('timeout stops a build even when the job passes --option timeout 0 --max-silent-time 0', async () => {
    const chatty = builderDerivation({ busybox: d.probe.busybox, name: 'e2e-chatty', script: 'i=0; while [ $i -lt 9 ]; do echo tick >&2; sleep 1; i=$((i+1)); done; echo done > "$out"' });
    const job = await runJob(d.job, ['e2e_build chatty "$E2E_EXPR" --option timeout 0 --max-silent-time 0'], { E2E_EXPR: chatty });
    const result = buildOf(job, 'chatty');
    expect(result.log.join('\n'), 'the build ran').toMatch(/building '/);
    expect(result.exitCode, `the build ran past the daemon's timeout to its end:\n${result.log.join('\n')}`).not.toBe(0);
    expect(result.log.join('\n')).toMatch(/timed out after/);
  });
});
