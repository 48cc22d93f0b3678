import { chmod, mkdir, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHostNix } from '../../../src/nix-cli/bundle-host-nix.js';
import { findOnPath } from '../../../src/nix-cli/host-nix.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { scratchDir } from '../support/scratch.js';
import { builderDerivation, parseAttempts } from './support/attack-derivation.js';
import { buildOf, runJob } from './support/attack-job.js';
import { provisionSecurityDaemon, removeSecurityDaemons, RUNNER, type SecurityDaemon } from './support/security-daemon.js';

// Without the sandbox, build users may create entries in /nix/store (1775 root:nixbld). A store path
// that is about to be delivered into the daemon's store is predictable (a nix update, a job image's
// packages): a builder that makes its directory first, with files of its own in it, must keep nothing
// of it once the path arrives, whichever way it arrives.
describe.skipIf(skipE2E)('a build user cannot plant files in a store path before it is delivered', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let d: SecurityDaemon;

  beforeAll(async () => {
    scratch = await scratchDir('nix-runner-planted-');
    d = await provisionSecurityDaemon('e2e-sec-plant');
  });

  afterAll(async () => {
    await removeSecurityDaemons();
    await scratch?.remove();
  });

  /** A job whose builder makes `target` a directory of its own: a world-writable lib/ with a file, and a shadow of `shadow`. */
  const plant = async (target: string, shadow: string) => {
    const script = [
      't=$e2eTarget',
      `try mkdir 'mkdir -p "$t/lib" "$t/bin"'`,
      `try plant 'echo planted > "$t/lib/planted" && chmod 777 "$t/lib" "$t/lib/planted"'`,
      `try shadow 'echo "echo shadowed" > "$t/$e2eShadow" && chmod 777 "$t/$e2eShadow"'`,
      'echo done > "$out"',
    ].join('\n');
    const job = await runJob(d.job, ['e2e_build plant "$E2E_X"'], { E2E_X: builderDerivation({ busybox: d.probe.busybox, name: 'e2e-plant', script, attrs: { e2eTarget: target, e2eShadow: shadow } }) });
    const attempts = parseAttempts(buildOf(job, 'plant').log);
    // the attack's premise holds: without the sandbox the builder can make the directory
    expect(attempts.get('mkdir'), job.stdout).toMatchObject({ outcome: 'done' });
    expect(attempts.get('plant')).toMatchObject({ outcome: 'done' });
    expect(await requireEngine().pathExists(d.daemon, `${target}/lib/planted`)).toBe(true);
  };

  const expectClean = async (path: string) => {
    expect(await requireEngine().pathExists(d.daemon, `${path}/lib/planted`)).toBe(false);
    const verify = await d.probe.verify([path]);
    expect(verify.exitCode, verify.stderr).toBe(0);
    const owner = await requireEngine().exec(d.daemon, [`${d.probe.busybox}/bin/busybox`, 'stat', '-c', '%u %a', path]);
    expect(owner.stdout.trim()).toMatch(/^0 5\d\d$/);
  };

  it("a job image's closure: the planted directory is gone once image job --load delivers the path", async () => {
    const dir = join(scratch.dir, `e2e-plant-tool-${process.pid}`);
    await mkdir(join(dir, 'bin'), { recursive: true });
    await writeFile(join(dir, 'bin', 'e2e-plant-tool'), `#!${d.probe.busybox}/bin/busybox sh\necho the-real-tool\n`);
    await chmod(join(dir, 'bin', 'e2e-plant-tool'), 0o555);
    const tool = (await execa('nix-store', ['--add', dir])).stdout.trim();
    await plant(tool, 'bin/e2e-plant-tool');

    const tag = `nix-runner/e2e-plant-${process.pid}:1`;
    const loaded = await runCli(['image', 'job', d.probe.busybox, tool, '--tag', tag, '--load', '--daemon', d.daemon, '--json']);
    expect(loaded.exitCode, loaded.stdout + loaded.stderr).toBe(0);
    try {
      await expectClean(tool);
      const job = await runJob({ engine: requireEngine(), runnerConfig: d.runnerConfig, runner: RUNNER, image: tag }, ['e2e-plant-tool']);
      expect(job.stdout, job.stderr).toContain('the-real-tool');
      expect(job.stdout).not.toContain('shadowed');
    } finally {
      await requireEngine().removeImage(tag);
    }
  });

  it("the daemon's own nix: a nix update whose new path a builder made first arrives whole, and the daemon runs it", async () => {
    const nixBinary = await realpath((await findOnPath('nix-store'))!);
    const next = await bundleHostNix({ nixBinary, variant: `e2e-plant-${process.pid}` });
    await plant(next, 'bin/nix-daemon');

    const updated = await d.provision('--image-store-path', next, '--json');
    expect(updated.exitCode, updated.stdout + updated.stderr).toBe(0);
    expect(updated.json).toMatchObject({ daemon: { action: 'replaced', nix: next } });
    await d.refresh();
    await expectClean(next);
  });

  it('with no daemon running to import it (removed by hand), the path is sent, found modified and restored', async () => {
    const nixBinary = await realpath((await findOnPath('nix-store'))!);
    const next = await bundleHostNix({ nixBinary, variant: `e2e-plant-cold-${process.pid}` });
    await plant(next, 'bin/nix-daemon');
    await requireEngine().removeContainer(d.daemon);

    const provisioned = await d.provision('--image-store-path', next, '--json');
    expect(provisioned.exitCode, provisioned.stdout + provisioned.stderr).toBe(0);
    expect(provisioned.json).toMatchObject({ daemon: { nix: next, repaired: [next] } });
    await d.refresh();
    await expectClean(next);
  });
});
