import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipE2E } from '../support/engine.js';
import { builderDerivation, nonce } from './support/attack-derivation.js';
import { buildOf, runJob } from './support/attack-job.js';
import { provisionSecurityDaemon, removeSecurityDaemons, type SecurityDaemon } from './support/security-daemon.js';

// Found while writing these tests: nix 2.8's daemon takes max-silent-time from every client (nix-build
// sends its own, 0 unless given) and `timeout` from any client that asks, trusted or not. So the daemon's
// values are defaults for jobs that set none (README, Security model); what bounds a hostile job is its own
// end: GitLab Runner removes the job container at the job's timeout, and the daemon then stops its builds.
describe.skipIf(skipE2E)('build time limits', () => {
  let d: SecurityDaemon;

  beforeAll(async () => {
    d = await provisionSecurityDaemon('e2e-sec-limits', { settings: ['[nixSettings]', 'timeout = 4'] });
  });

  afterAll(async () => {
    await removeSecurityDaemons();
  });

  it("the daemon's timeout stops the build of a job that sets none", async () => {
    const chatty = builderDerivation({ busybox: d.probe.busybox, name: 'e2e-chatty', script: 'i=0; while [ $i -lt 20 ]; do echo tick >&2; sleep 1; i=$((i+1)); done; echo done > "$out"' });
    const job = await runJob(d.job, ['e2e_build chatty "$E2E_EXPR"'], { E2E_EXPR: chatty });
    const result = buildOf(job, 'chatty');
    expect(result.log.join('\n'), 'the build ran').toMatch(/building '/);
    expect(result.exitCode, `the build ran past the daemon's timeout to its end:\n${result.log.join('\n')}`).not.toBe(0);
    expect(result.log.join('\n')).toMatch(/timed out after 4 seconds/);
  });

  it('a job that is removed (as GitLab Runner does at its timeout) leaves no build running in the daemon, whatever it set', async () => {
    const tag = `e2e-endless-${nonce()}`;
    const endless = builderDerivation({ busybox: d.probe.busybox, name: tag, script: 'echo started >&2; sleep 300; echo done > "$out"' });
    const running = async () => (await d.probe.sh(`grep -l -s "sleep" /proc/[0-9]*/cmdline | wc -l`)).stdout.trim();
    const before = await running();
    const job = runJob(d.job, ['e2e_build endless "$E2E_EXPR" --option timeout 0 --max-silent-time 0'], { E2E_EXPR: endless }).catch((error: unknown) => error);
    let seen = false;
    for (let i = 0; i < 60 && !seen; i++) {
      await sleep(500);
      seen = (await running()) !== before;
    }
    expect(seen, 'the endless build started in the daemon').toBe(true);
    // the job container: it mounts the daemon's store through volumes_from, and is not a daemon generation
    const users = await d.job.engine.listContainers({ volume: [`${d.daemon}-store`] });
    const mine = users.filter((c) => c.labels['org.nix-runner.role'] !== 'daemon');
    expect(mine.length).toBeGreaterThan(0);
    for (const container of mine) await d.job.engine.removeContainer(container.id);
    await job;
    let stopped = false;
    for (let i = 0; i < 40 && !stopped; i++) {
      await sleep(500);
      stopped = (await running()) === before;
    }
    expect(stopped, "the daemon still runs the removed job's build").toBe(true);
  });
});
