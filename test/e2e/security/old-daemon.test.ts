import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nixPackageSettings } from '../../../src/nix-cli/package-settings.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { builderUid, plainDerivation } from './support/attack-derivation.js';
import { buildOf, runJob } from './support/attack-job.js';
import { provisionSecurityDaemon, removeSecurityDaemons, type SecurityDaemon } from './support/security-daemon.js';

// nix.conf as nix-runner gave it to every daemon before build users: root builds, through NIX_CONFIG.
const OLD_NIX_CONF = 'allowed-users = *\nbuild-poll-interval = 1\nbuild-users-group =\nsandbox = false\nsubstituters =\ntrusted-users =\n';

// What a daemon container had then: these labels and volumes (no roots volume).
const OLD_LABELS = ['org.nix-runner.managed', 'org.nix-runner.daemon', 'org.nix-runner.nix'];
const OLD_MOUNTS = ['/nix/store', '/nix/var/nix/db', '/nix/var/nix/daemon-socket'];

/**
 * Replaces the daemon container by one as nix-runner created them before build users: the same image,
 * its labels and volumes of that time, builds as root with nix.conf in the environment, a spec hash of its own.
 */
async function downgradeToOldDaemon(d: SecurityDaemon): Promise<void> {
  const engine = requireEngine();
  const current = (await engine.inspectContainer(d.daemon))!;
  await engine.removeContainer(current.id);
  const id = await engine.createContainer({
    name: d.daemon,
    image: current.imageId,
    entrypoint: [`${d.probe.nix}/bin/nix-daemon`],
    cmd: [],
    // The image of that time carried the bundled nix's build hook in its /etc/nix/nix.conf; the base image has none.
    env: [`PATH=${d.probe.nix}/bin:/bin`, `NIX_CONFIG=${OLD_NIX_CONF}${Object.entries(await nixPackageSettings(d.probe.nix)).map(([key, value]) => `${key} = ${value}\n`).join('')}`],
    labels: {
      ...Object.fromEntries(OLD_LABELS.map((label) => [label, current.labels[label] ?? ''])),
      'org.nix-runner.spec-hash': 'e2e0000000000000000000000000000000000000000000000000000000000old',
    },
    mounts: current.mounts.filter((m) => m.name && OLD_MOUNTS.includes(m.destination)).map((m) => ({ volume: m.name!, target: m.destination })),
    restartUnlessStopped: true,
  });
  await engine.startContainer(id);
  for (let i = 0; ; i++) {
    const probe = await engine.exec(id, [`${d.probe.nix}/bin/nix-store`, '--query', '--hash', d.probe.nix], ['NIX_REMOTE=daemon']);
    if (probe.exitCode === 0) break;
    if (i > 200) throw new Error(`the old-style daemon does not answer: ${probe.stderr}`);
    await sleep(50);
  }
}

describe.skipIf(skipE2E)('an old daemon (root builds) is replaced by the next provision', () => {
  let d: SecurityDaemon;

  beforeAll(async () => {
    d = await provisionSecurityDaemon('e2e-sec-old');
    await downgradeToOldDaemon(d);
  });

  afterAll(async () => {
    await removeSecurityDaemons();
  });

  it('keeping the cache, and the new daemon builds as a build user', async () => {
    const old = plainDerivation(d.probe.busybox, 'e2e-old');
    const a = await runJob(d.job, ['e2e_build old "$E2E_OLD"'], { E2E_OLD: old });
    const built = buildOf(a, 'old');
    expect(built, a.stdout).toMatchObject({ exitCode: 0, built: true });
    expect(builderUid(built.content), 'the old-style daemon builds as root, as daemons did before').toBe(0);

    const result = await d.provision('--json');
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.json).toMatchObject({ ok: true, changed: true, daemon: { action: 'replaced' } });
    await d.refresh();
    expect(await d.probe.valid(built.out)).toBe(true);
    const b = await runJob(d.job, ['e2e_build old "$E2E_OLD"', 'e2e_build new "$E2E_NEW"'], { E2E_OLD: old, E2E_NEW: plainDerivation(d.probe.busybox, 'e2e-new') });
    expect(buildOf(b, 'old'), b.stdout).toMatchObject({ exitCode: 0, out: built.out, built: false, content: built.content });
    const fresh = buildOf(b, 'new');
    expect(fresh, b.stdout).toMatchObject({ exitCode: 0, built: true });
    expect(builderUid(fresh.content), 'the new daemon builds as a build user').not.toBe(0);
    const again = await d.provision('--json');
    expect(again.json, again.stdout).toMatchObject({ ok: true, changed: false, daemon: { action: 'unchanged' } });
  });
});
