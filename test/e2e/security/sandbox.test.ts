import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { skipE2E } from '../support/engine.js';
import { builderDerivation } from './support/attack-derivation.js';
import { buildOf, runJob } from './support/attack-job.js';
import { RUNNER, provisionSecurityDaemon, removeSecurityDaemons, type SecurityDaemon } from './support/security-daemon.js';

const SANDBOX_ROOT = ['build', 'dev', 'etc', 'nix', 'proc', 'tmp'];

// What the builder reports: the entries of / and its uid.
const VIEW = ['for f in $(ls -A /); do echo "e2e-root $f"; done', 'echo "e2e-uid $(id -u)"'].join('\n');

// Opt-in: the daemon container gets the privileges nix's sandbox needs. When the engine refuses them,
// provision fails and so does this file (under NIX_RUNNER_E2E=1 nothing here is skipped).
describe.skipIf(skipE2E)('the opt-in build sandbox (--sandbox)', () => {
  let d: SecurityDaemon;

  beforeAll(async () => {
    d = await provisionSecurityDaemon('e2e-sec-sandbox', { args: ['--sandbox'] });
  });

  afterAll(async () => {
    await removeSecurityDaemons();
  });

  const view = (content: string[]) => ({
    root: content.filter((line) => line.startsWith('e2e-root ')).map((line) => line.slice('e2e-root '.length)).sort(),
    uid: Number(/^e2e-uid (\d+)$/m.exec(content.join('\n'))?.[1] ?? 0),
  });

  it('a builder sees only /build /dev /etc /nix /proc /tmp at its root, as a build user', async () => {
    const job = await runJob(d.job, ['e2e_build view "$E2E_EXPR"'], { E2E_EXPR: builderDerivation({ busybox: d.probe.busybox, name: 'e2e-view', script: VIEW }) });
    const result = buildOf(job, 'view');
    expect(result.exitCode, result.log.join('\n')).toBe(0);
    expect(view(result.content).root).toEqual(SANDBOX_ROOT);
    expect(view(result.content).uid, 'the builder uid').not.toBe(0);
  });

  it('a job cannot turn it off: --option sandbox false, __noChroot', async () => {
    const noChroot = builderDerivation({ busybox: d.probe.busybox, name: 'e2e-nochroot', script: VIEW }).replace(/\n}$/, '\n  __noChroot = true;\n}');
    const job = await runJob(
      d.job,
      ['e2e_build off "$E2E_OFF" --option sandbox false --option sandbox-fallback true', 'e2e_build nochroot "$E2E_NOCHROOT" --option sandbox relaxed'],
      { E2E_OFF: builderDerivation({ busybox: d.probe.busybox, name: 'e2e-sandbox-off', script: VIEW }), E2E_NOCHROOT: noChroot },
    );
    const off = buildOf(job, 'off');
    expect(off.exitCode, off.log.join('\n')).toBe(0);
    expect(view(off.content).root).toEqual(SANDBOX_ROOT);
    // __noChroot is refused outright, or built in the sandbox all the same
    const nochroot = buildOf(job, 'nochroot');
    if (nochroot.exitCode === 0) expect(view(nochroot.content).root).toEqual(SANDBOX_ROOT);
    else expect(nochroot.log.join('\n')).toMatch(/__noChroot|sandbox/);
  });

  it('`sandbox = true` in the settings file means the same daemon as --sandbox', async () => {
    const file = join(d.dir, 'sandbox.toml');
    await writeFile(file, 'sandbox = true\n');
    const result = await runCli(['provision', '--runner-config', d.runnerConfig, '--daemon', d.daemon, '--runner', RUNNER, '--config', file, '--dry-run', '--json']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.json).toMatchObject({ ok: true, daemon: { action: 'unchanged' } });
  });
});
