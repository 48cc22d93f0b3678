import { readFile, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunnerConfig } from '../../../src/runner-config/toml/document.js';
import { ensureBusyboxImage } from '../../../src/smoke/busybox-image.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { RUNNER_FIXTURE, copyRunnerFixture } from '../support/fixtures.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

describe.skipIf(skipE2E)('deprovision undoes provision, keeping the store unless --purge', () => {
  const daemon = uniqueName('e2e-deprov');
  const jobImage = 'nix-runner/e2e-busybox:1';
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;

  const cli = (command: string, ...extra: string[]) => runCli([command, '--runner-config', runnerConfig, '--daemon', daemon, '--json', ...extra]);
  const meaning = async () => parseRunnerConfig(await readFile(runnerConfig, 'utf8'), runnerConfig).table;
  const volumes = async () => (await requireEngine().listVolumeNames(`${daemon}-`)).sort();

  beforeAll(async () => {
    scratch = await scratchDir();
    runnerConfig = await copyRunnerFixture(scratch.dir);
    await ensureBusyboxImage(requireEngine(), { ref: jobImage });
    const provisioned = await cli('provision');
    expect(provisioned.exitCode, provisioned.stdout + provisioned.stderr).toBe(0);
  });

  afterAll(async () => {
    await removeDaemon(requireEngine(), daemon);
    await scratch?.remove();
  });

  it('--dry-run: says what it would remove, with a diff, and changes nothing', async () => {
    const text = await readFile(runnerConfig, 'utf8');
    const result = await runCli(['deprovision', '--runner-config', runnerConfig, '--daemon', daemon, '--dry-run']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^would be changed: daemon ${daemon}\n`));
    expect(result.stdout).toContain(`would be removed ${daemon} (`);
    expect(result.stdout).toMatch(/volumes kept .*-store.*: the store survives; --purge removes them/);
    expect(result.stdout).toContain(`-volumes_from = [ "cache-helper:ro", "${daemon}:ro" ]`);
    expect(await readFile(runnerConfig, 'utf8')).toBe(text);
    expect((await requireEngine().inspectContainer(daemon))?.running).toBe(true);
  });

  it('removes the entries from config.toml (the original meaning is back) and the daemon with its socket volume, keeps the store volumes', async () => {
    const before = await volumes();
    const socket = before.filter((name) => name.startsWith(`${daemon}-socket-`));
    const store = before.filter((name) => !socket.includes(name));
    const result = await cli('deprovision');
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.json).toMatchObject({ ok: true, changed: true, runnerConfig: { changed: true }, containers: [{ name: daemon }], volumes: { removed: socket } });
    expect(socket).toHaveLength(1);
    expect((result.json.volumes as { kept: string[] }).kept).toEqual(store);
    expect(store).toEqual(expect.arrayContaining([`${daemon}-store`, `${daemon}-db`]));
    expect(await meaning()).toEqual(parseRunnerConfig(await readFile(RUNNER_FIXTURE, 'utf8'), RUNNER_FIXTURE).table);
    expect(await requireEngine().listContainerIds({ label: [`org.nix-runner.daemon=${daemon}`] })).toEqual([]);
    expect(await volumes()).toEqual(store);
  });

  it('a second deprovision changes nothing and writes nothing', async () => {
    const mtime = (await stat(runnerConfig)).mtimeMs;
    const result = await cli('deprovision');
    expect(result.json).toMatchObject({ ok: true, changed: false, containers: [] });
    expect((await stat(runnerConfig)).mtimeMs).toBe(mtime);
  });

  it('provision again finds the kept store: nothing to seed', async () => {
    const result = await cli('provision');
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.json).toMatchObject({ ok: true, daemon: { action: 'created', seeded: 0 } });
  });

  it('--keep-daemon only edits config.toml', async () => {
    const result = await cli('deprovision', '--keep-daemon');
    expect(result.json).toMatchObject({ ok: true, runnerConfig: { changed: true }, containers: [] });
    expect((await requireEngine().inspectContainer(daemon))?.running).toBe(true);
  });

  // A job container between two stages is stopped, but starts again and needs its daemon then.
  it.each([['running', true], ['created (between stages)', false]] as const)('refuses while a %s job container uses the daemon, and changes nothing', async (state, start) => {
    const engine = requireEngine();
    await cli('provision');
    const text = await readFile(runnerConfig, 'utf8');
    const job = await engine.createContainer({ image: jobImage, cmd: ['/bin/busybox', 'sleep', '60'], volumesFrom: [`${daemon}:ro`] });
    try {
      if (start) await engine.startContainer(job);
      const name = (await engine.inspectContainer(job))!.name;
      const result = await runCli(['deprovision', '--runner-config', runnerConfig, '--daemon', daemon]);
      expect(result.exitCode).toBe(6);
      const shown = `${name} \\(${state.split(' ')[0]}\\)`;
      expect(result.stderr).toMatch(new RegExp(`^nix-runner: error: 1 job container\\(s\\) still use daemon ${daemon}: ${shown}\n  hint: .*--force`));
      expect(await readFile(runnerConfig, 'utf8')).toBe(text);
      expect((await engine.inspectContainer(daemon))?.running).toBe(true);
    } finally {
      await engine.removeContainer(job);
    }
  });

  it('--purge also removes the store volumes', async () => {
    const result = await cli('deprovision', '--purge');
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.json).toMatchObject({ ok: true, containers: [{ name: daemon }], volumes: { kept: [] } });
    expect((result.json.volumes as { removed: string[] }).removed).toEqual(expect.arrayContaining([`${daemon}-store`, `${daemon}-db`]));
    expect(await volumes()).toEqual([]);
  });

  it('never touches a container of that name that nix-runner did not make', async () => {
    const engine = requireEngine();
    const other = uniqueName('e2e-foreign');
    const id = await engine.createContainer({ name: other, image: jobImage, cmd: ['true'] });
    try {
      const result = await runCli(['deprovision', '--runner-config', runnerConfig, '--daemon', other, '--json']);
      expect(result.json).toMatchObject({ ok: true, containers: [] });
      expect(await engine.inspectContainer(id)).toBeDefined();
    } finally {
      await engine.removeContainer(id);
    }
  });
});
