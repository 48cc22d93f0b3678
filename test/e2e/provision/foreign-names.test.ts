import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBusyboxImage } from '../../../src/smoke/busybox-image.js';
import { expectOneLineError, runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { copyRunnerFixture } from '../support/fixtures.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

// Names nix-runner did not create are never removed: a container that happens to hold the daemon's
// name, or the name a new generation starts under, stops provision with a one-line error.
describe.skipIf(skipE2E)('containers nix-runner did not create, under the names it uses', () => {
  const daemon = uniqueName('e2e-foreign');
  const jobImage = 'nix-runner/e2e-busybox:1';
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;
  let foreign: string | undefined;

  const provision = () => runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--runner', 'docker-second']);
  const createForeign = async (name: string) => {
    foreign = await requireEngine().createContainer({ name, image: jobImage, cmd: ['sh', '-c', 'sleep 60'] });
    await requireEngine().startContainer(foreign);
  };

  beforeAll(async () => {
    scratch = await scratchDir();
    runnerConfig = await copyRunnerFixture(scratch.dir);
    await ensureBusyboxImage(requireEngine(), { ref: jobImage });
  });

  afterEach(async () => {
    if (foreign) await requireEngine().removeContainer(foreign);
    foreign = undefined;
  });

  afterAll(async () => {
    await removeDaemon(requireEngine(), daemon);
    await scratch?.remove();
  });

  it.each([
    ['the name a new generation starts under', '-next'],
    ["the daemon's own name", ''],
  ])('leaves a foreign container under %s alone and says so (exit 6)', async (_what, suffix) => {
    const engine = requireEngine();
    const name = `${daemon}${suffix}`;
    await createForeign(name);
    const before = await readFile(runnerConfig, 'utf8');

    const result = await provision();
    expectOneLineError(result, 6, new RegExp(`a container named ${name} exists and was not made by nix-runner`));
    expect(result.stderr).toMatch(/hint: nix-runner never removes what it did not create/);
    expect(await engine.inspectContainer(name)).toMatchObject({ id: foreign, running: true });
    expect(await readFile(runnerConfig, 'utf8')).toBe(before);
    if (suffix) expect(await engine.inspectContainer(daemon)).toBeUndefined();
  });

  it('replaces nothing either when a daemon runs and a foreign -next appears before a swap', async () => {
    const engine = requireEngine();
    const first = await provision();
    expect(first.exitCode, first.stderr).toBe(0);
    const current = (await engine.inspectContainer(daemon))!;
    await createForeign(`${daemon}-next`);
    const swap = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--runner', 'docker-second', '--nix-setting', 'max-jobs=3']);
    expectOneLineError(swap, 6, /-next exists and was not made by nix-runner/);
    expect(await engine.inspectContainer(daemon)).toMatchObject({ id: current.id, running: true });
    expect(await engine.inspectContainer(`${daemon}-next`)).toMatchObject({ id: foreign });
  });
});
