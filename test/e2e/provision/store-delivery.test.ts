import { realpath } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseImageArchive } from '../../../src/image/base-image.js';
import { queryClosure } from '../../../src/nix-cli/closure.js';
import { bundleHostNix } from '../../../src/nix-cli/bundle-host-nix.js';
import { findOnPath } from '../../../src/nix-cli/host-nix.js';
import { ensureBusyboxImage } from '../../../src/smoke/busybox-image.js';
import { findStoreShell } from '../../../src/smoke/find-store-shell.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { copyRunnerFixture } from '../support/fixtures.js';
import { hostnameDerivation, runRunnerJob } from '../support/job.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

interface Delivered {
  daemon: { action: string; id: string; nix: string; seeded: number; delivered?: { paths: number; bytes: number } };
  image: { ref: string; id: string; action: string };
}

// A nix from this host's store reaches the daemon path by path: the image is a constant base image, and
// each provision streams only the store paths the store volume lacks.
describe.skipIf(skipE2E)('store-path daemons: only the missing store paths travel', () => {
  const daemon = uniqueName('e2e-deliver');
  const jobImage = 'nix-runner/e2e-busybox:1';
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;
  // two nix packages that share all but their top store path, as a nix update that changes one path does
  let nixA: string;
  let nixB: string;
  let closureA: string[];
  let closureB: string[];
  let firstBytes: number;
  let expression: string;
  let firstOut: string;

  const provision = async (nix: string) => {
    const result = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--runner', 'docker-second', '--image-store-path', nix, '--json']);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    return result.json as unknown as Delivered;
  };
  // script, then after_script in a second shell, as GitLab Runner runs them
  const job = () => runRunnerJob(requireEngine(), runnerConfig, 'docker-second', jobImage, expression);

  beforeAll(async () => {
    scratch = await scratchDir();
    runnerConfig = await copyRunnerFixture(scratch.dir);
    await ensureBusyboxImage(requireEngine(), { ref: jobImage });
    const nixBinary = await realpath((await findOnPath('nix-store'))!);
    nixA = await bundleHostNix({ nixBinary, variant: 'e2e-deliver-a' });
    nixB = await bundleHostNix({ nixBinary, variant: 'e2e-deliver-b' });
    closureA = await queryClosure([nixA]);
    closureB = await queryClosure([nixB]);
  });

  afterAll(async () => {
    await removeDaemon(requireEngine(), daemon);
    await scratch?.remove();
  });

  it('a first provision delivers the whole closure into new volumes, and runs the constant base image', async () => {
    const result = await provision(nixA);
    expect(result.daemon).toMatchObject({ action: 'created', nix: nixA, seeded: closureA.length, delivered: { paths: closureA.length } });
    firstBytes = result.daemon.delivered!.bytes;
    expect(firstBytes).toBeGreaterThan(1e6);
    const base = await baseImageArchive();
    expect(result.image).toMatchObject({ ref: base.tag, id: base.imageId });
    // a few kilobytes: users, /tmp and nix's state dirs, no store content
    expect(base.bytes.length).toBeLessThan(64 * 1024);
    const info = (await requireEngine().inspectContainer(daemon))!;
    expect(info.imageId).toBe(base.imageId);
  });

  it('a job builds through the delivered nix', async () => {
    const engine = requireEngine();
    const info = (await engine.inspectContainer(daemon))!;
    const shell = await findStoreShell(engine, info.id, nixA);
    expression = hostnameDerivation(shell.storePath, randomBytes(6).toString('hex'));
    const first = await job();
    expect(first.script.exitCode, first.script.stderr).toBe(0);
    expect(first.build).toMatchObject({ built: true });
    firstOut = first.build!.out;
  });

  it('a new nix sends only the store paths the volume lacks; the image stays and the cache survives', async () => {
    const lacking = closureB.filter((path) => !closureA.includes(path));
    expect(lacking.length).toBeGreaterThan(0);
    expect(lacking.length).toBeLessThan(closureB.length);
    const result = await provision(nixB);
    expect(result.daemon).toMatchObject({ action: 'replaced', nix: nixB, seeded: lacking.length, delivered: { paths: lacking.length } });
    expect(result.daemon.delivered!.bytes).toBeLessThan(firstBytes / 4);
    expect(result.image.action).toBe('present');
    const again = await job();
    expect(again.script.exitCode, again.script.stderr).toBe(0);
    expect(again.build).toMatchObject({ out: firstOut, built: false });
    expect(again.after).toMatchObject({ out: firstOut, built: false });
  });

  it('going back to the earlier nix sends nothing: its paths are still valid in the store', async () => {
    const result = await provision(nixA);
    expect(result.daemon).toMatchObject({ action: 'replaced', nix: nixA, seeded: 0, delivered: { paths: 0, bytes: 0 } });
    expect((await job()).build).toMatchObject({ out: firstOut, built: false });
  });

  it('a no-op sends nothing and starts nothing', async () => {
    const before = (await requireEngine().inspectContainer(daemon))!.id;
    const result = await provision(nixA);
    expect(result.daemon).toMatchObject({ action: 'unchanged', id: before, seeded: 0 });
    expect(result.daemon.delivered).toBeUndefined();
  });

  it('with the daemon removed by hand, the store volume is asked through its own nix: nothing is sent again', async () => {
    const engine = requireEngine();
    await engine.removeContainer((await engine.inspectContainer(daemon))!.id);
    const result = await provision(nixB);
    expect(result.daemon).toMatchObject({ action: 'created', nix: nixB, delivered: { paths: 0 } });
    expect((await job()).build).toMatchObject({ out: firstOut, built: false });
  });
});
