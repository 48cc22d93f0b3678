import { realpath } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleHostNix } from '../../../src/nix-cli/bundle-host-nix.js';
import { findOnPath } from '../../../src/nix-cli/host-nix.js';
import { ensureBusyboxImage } from '../../../src/smoke/busybox-image.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { copyRunnerFixture } from '../support/fixtures.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

// A job that runs while the daemon is replaced keeps its daemon until it ends.
describe.skipIf(skipE2E)('replacing a daemon that running jobs use', () => {
  const daemon = uniqueName('e2e-drain');
  const jobImage = 'nix-runner/e2e-busybox:1';
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;
  let job: string;
  let oldId: string;
  let oldNix: string;
  let upgraded: string;

  const provision = (...extra: string[]) => runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--runner', 'docker-second', '--json', ...extra]);

  beforeAll(async () => {
    const engine = requireEngine();
    scratch = await scratchDir();
    runnerConfig = await copyRunnerFixture(scratch.dir);
    await ensureBusyboxImage(engine, { ref: jobImage });
    const first = await provision();
    expect(first.exitCode, first.stdout).toBe(0);
    ({ id: oldId, nix: oldNix } = first.json.daemon as { id: string; nix: string });
    job = await engine.createContainer({ image: jobImage, cmd: ['sh', '-c', 'sleep 120'], env: ['NIX_REMOTE=daemon'], volumesFrom: [`${daemon}:ro`] });
    await engine.startContainer(job);
  });

  afterAll(async () => {
    const engine = requireEngine();
    await engine.removeContainer(job);
    await removeDaemon(engine, daemon);
    await scratch?.remove();
  });

  it('keeps the old daemon serving the running job, under a retired name', async () => {
    const engine = requireEngine();
    const nixBinary = await realpath((await findOnPath('nix-store'))!);
    upgraded = await bundleHostNix({ nixBinary, variant: 'e2e-drain' });
    const result = await provision('--image-store-path', upgraded);
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.json).toMatchObject({ daemon: { action: 'replaced', nix: upgraded } });

    const old = await engine.inspectContainer(oldId);
    expect(old).toMatchObject({ running: true, name: `${daemon}-retired-${old!.labels['org.nix-runner.generation']}` });
    const probe = await engine.exec(job, [`${oldNix}/bin/nix-store`, '--query', '--hash', oldNix], ['NIX_REMOTE=daemon']);
    expect(probe.exitCode, probe.stderr).toBe(0);
  });

  it('removes it, with its socket volume, on a later run once the job has ended', async () => {
    const engine = requireEngine();
    const socket = (await engine.inspectContainer(oldId))!.mounts.find((mount) => mount.destination === '/nix/var/nix/daemon-socket')!.name!;
    await engine.removeContainer(job);
    const result = await provision('--image-store-path', upgraded);
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.json).toMatchObject({ daemon: { action: 'unchanged' } });
    expect(await engine.inspectContainer(oldId)).toBeUndefined();
    expect(await engine.volumeExists(socket)).toBe(false);
  });
});
