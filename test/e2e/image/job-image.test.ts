import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findStoreShell } from '../../../src/smoke/find-store-shell.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { scratchDir } from '../support/scratch.js';
import { plainDerivation } from '../security/support/attack-derivation.js';
import { buildOf, runJob, type JobTarget } from '../security/support/attack-job.js';
import { provisionSecurityDaemon, removeSecurityDaemons, RUNNER, type SecurityDaemon } from '../security/support/security-daemon.js';

interface JobImageJson {
  ok: boolean;
  ref: string;
  id: string;
  action: string;
  imageBytes: number;
  roots: string[];
  closurePaths: number;
  closureBytes: number;
  delivered?: { paths: number; bytes: number };
  profile?: string;
}

// A job image made of symlinks into the shared store: the image holds a few KB, the daemon's store the rest.
describe.skipIf(skipE2E)('job images from the shared store (nix-runner image job)', () => {
  const tag = `nix-runner/e2e-job-${process.pid}:1`;
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let d: SecurityDaemon;
  let tool: string;
  let shell: string;
  let made: JobImageJson;
  let target: JobTarget;

  const imageJob = (...args: string[]) => runCli(['image', 'job', ...args, '--tag', tag, '--load', '--daemon', d.daemon, '--json']);
  const valid = async (path: string) => (await requireEngine().exec(d.daemon, [`${d.probe.nix}/bin/nix-store`, '--check-validity', path])).exitCode === 0;

  beforeAll(async () => {
    scratch = await scratchDir('nix-runner-job-image-');
    d = await provisionSecurityDaemon('e2e-jobimg');
    const found = await findStoreShell(requireEngine(), d.daemon, d.probe.nix);
    shell = found.storePath;
    // a synthetic tool: a store path that is in the host's store only, until the image's closure is delivered
    const dir = join(scratch.dir, `e2e-tool-${process.pid}`);
    await mkdir(join(dir, 'bin'), { recursive: true });
    await writeFile(join(dir, 'bin', 'e2e-tool'), `#!${found.storePath}/${found.program}${found.program.endsWith('busybox') ? ' sh' : ''}\necho e2e-tool-ran-${process.pid}\n`);
    await chmod(join(dir, 'bin', 'e2e-tool'), 0o555);
    tool = (await execa('nix-store', ['--add', dir])).stdout.trim();
    target = { engine: requireEngine(), runnerConfig: d.runnerConfig, runner: RUNNER, image: tag };
  });

  afterAll(async () => {
    await requireEngine().removeImage(tag);
    await removeSecurityDaemons();
    await scratch?.remove();
  });

  it('loads an image of a few KB and sends the closure paths the daemon lacks into its store, rooted', async () => {
    expect(await valid(tool)).toBe(false);
    const result = await imageJob(shell, d.probe.nix, tool);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    made = result.json as unknown as JobImageJson;
    expect(made).toMatchObject({ ok: true, ref: tag, action: 'loaded', roots: [shell, d.probe.nix, tool] });
    // a few KB of image for the nix, shell and tool it stands for: the closure is in the daemon's store
    expect(made.imageBytes).toBeLessThan(32 * 1024);
    expect(made.closureBytes).toBeGreaterThan(1000 * made.imageBytes);
    expect(made.closurePaths).toBeGreaterThanOrEqual(3);
    expect(made.delivered!.paths).toBeGreaterThanOrEqual(2);
    expect(made.profile).toMatch(/^\/nix\/var\/nix\/gcroots\/nix-runner\/job-image-/);
    expect(await valid(tool)).toBe(true);
    expect((await requireEngine().inspectImage(tag))?.id).toBe(made.id);
  });

  it('a job on it runs the tool and nix-build through the daemon', async () => {
    const expression = plainDerivation(d.probe.busybox, 'e2e-jobimg');
    const job = await runJob(target, [`e2e-tool`, 'e2e_build jobimg "$E2E_EXPR"'], { E2E_EXPR: expression });
    expect(job.stdout).toContain(`e2e-tool-ran-${process.pid}`);
    expect(buildOf(job, 'jobimg'), job.stdout + job.stderr).toMatchObject({ exitCode: 0, built: true });
  });

  it('the same paths give the same image: nothing loaded or sent again', async () => {
    const again = await imageJob(shell, d.probe.nix, tool);
    expect(again.json).toMatchObject({ ok: true, action: 'present', id: made.id, delivered: { paths: 0 } });
  });

  it("nix-runner gc and a job's own GC keep the image's closure", async () => {
    const gc = await runCli(['gc', '--daemon', d.daemon, '--max-age', '0', '--json']);
    expect(gc.exitCode, gc.stdout + gc.stderr).toBe(0);
    const jobGc = await runJob(target, ['nix-store --gc >/dev/null 2>&1 || true', 'e2e-tool']);
    expect(jobGc.stdout).toContain(`e2e-tool-ran-${process.pid}`);
    expect(await valid(tool)).toBe(true);
  });
});

// provision's jobImages: the declared images built, loaded and rooted; one no longer declared released.
describe.skipIf(skipE2E)('job images declared in the settings (jobImages)', () => {
  const tag = `nix-runner/e2e-declared-job-${process.pid}:1`;
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let d: SecurityDaemon;
  let tool: string;
  let roots: string[];

  const provisionWith = async (images: { tag: string; paths: string[] }[]) => {
    const settings = join(scratch.dir, 'settings.json');
    await writeFile(settings, JSON.stringify({ jobImages: images }));
    const result = await d.provision('--config', settings, '--json');
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    return result.json as unknown as { changed: boolean; jobImages: { images: { tag: string; action: string; delivered: { paths: number } }[]; released: string[] } };
  };
  const valid = async (path: string) => (await requireEngine().exec(d.daemon, [`${d.probe.nix}/bin/nix-store`, '--check-validity', path])).exitCode === 0;

  beforeAll(async () => {
    scratch = await scratchDir('nix-runner-declared-job-');
    d = await provisionSecurityDaemon('e2e-jobdecl');
    const found = await findStoreShell(requireEngine(), d.daemon, d.probe.nix);
    const dir = join(scratch.dir, `e2e-declared-tool-${process.pid}`);
    await mkdir(join(dir, 'bin'), { recursive: true });
    await writeFile(join(dir, 'bin', 'e2e-declared-tool'), `#!${found.storePath}/${found.program}${found.program.endsWith('busybox') ? ' sh' : ''}\necho e2e-declared-ran\n`);
    await chmod(join(dir, 'bin', 'e2e-declared-tool'), 0o555);
    tool = (await execa('nix-store', ['--add', dir])).stdout.trim();
    roots = [found.storePath, d.probe.nix, tool];
  });

  afterAll(async () => {
    await requireEngine().removeImage(tag);
    await removeSecurityDaemons();
    await scratch?.remove();
  });

  it('provision loads a declared image and puts its closure into the store; again, it changes nothing', async () => {
    const first = await provisionWith([{ tag, paths: roots }]);
    expect(first.jobImages.images).toMatchObject([{ tag, action: 'loaded' }]);
    expect(await valid(tool)).toBe(true);
    const job = await runJob({ engine: requireEngine(), runnerConfig: d.runnerConfig, runner: RUNNER, image: tag }, ['e2e-declared-tool']);
    expect(job.stdout).toContain('e2e-declared-ran');
    const again = await provisionWith([{ tag, paths: roots }]);
    expect(again).toMatchObject({ changed: false, jobImages: { images: [{ tag, action: 'present', delivered: { paths: 0 } }], released: [] } });
    // the same declaration as a flag
    const flagged = await d.provision('--job-image', `${tag}=${roots.join(',')}`, '--json');
    expect(flagged.json, flagged.stderr).toMatchObject({ changed: false, jobImages: { images: [{ tag, action: 'present' }], released: [] } });
  });

  it("a runner whose default image it is takes the engine's copy before any pull; one that may not is warned about", async () => {
    const text = await readFile(d.runnerConfig, 'utf8');
    await writeFile(d.runnerConfig, text.replace('image = "debian:bookworm"', `image = "${tag}"\n    pull_policy = "always"`));
    await provisionWith([{ tag, paths: roots }]);
    const docker = async () => ((parse(await readFile(d.runnerConfig, 'utf8')).runners as { name: string; docker: Record<string, unknown> }[]).find(({ name }) => name === RUNNER)!.docker);
    expect(await docker()).toMatchObject({ image: tag, pull_policy: ['if-not-present', 'always'] });
    await writeFile(d.runnerConfig, text.replace('image = "debian:bookworm"', `image = "${tag}"\n    pull_policy = "always"\n    allowed_pull_policies = [ "always" ]`));
    const settings = join(scratch.dir, 'settings.json');
    const warned = await d.provision('--config', settings, '--json');
    expect(warned.exitCode, warned.stdout + warned.stderr).toBe(0);
    expect(warned.json.warnings).toContainEqual(expect.stringMatching(/default image .* is a job image, in no registry, but allowed_pull_policies \["always"\] lets neither/));
    // the runner as it was, for the tests below
    await writeFile(d.runnerConfig, text);
  });

  it('an image no longer declared is released: the next gc may remove its closure', async () => {
    const released = await provisionWith([]);
    expect(released.jobImages.released).toEqual([expect.stringMatching(/job-image-nix-runner_e2e-declared-job-/)]);
    const gc = await runCli(['gc', '--daemon', d.daemon, '--max-age', '0', '--json']);
    expect(gc.exitCode, gc.stdout + gc.stderr).toBe(0);
    expect(await valid(tool)).toBe(false);
    expect((await provisionWith([])).jobImages.released).toEqual([]);
  });

  it("says so when a runner's default image is a job image whose closure the daemon's store lacks", async () => {
    // the image is still in the engine, its closure released and collected above
    const text = await readFile(d.runnerConfig, 'utf8');
    await writeFile(d.runnerConfig, text.replace('image = "debian:bookworm"', `image = "${tag}"`));
    const result = await d.provision('--json');
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(result.json.warnings).toContainEqual(expect.stringMatching(new RegExp(`^${RUNNER}: default image ${tag.replace(/[/.]/g, '\\$&')} is a job image whose closure is not in`)));
  });
});
