import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { scratchDir } from '../support/scratch.js';
import { createStagedJob, type StagedJob } from '../support/staged-job.js';
import { nonce, plainDerivation } from '../security/support/attack-derivation.js';
import { buildOf, runJob } from '../security/support/attack-job.js';
import { provisionSecurityDaemon, removeSecurityDaemons, RUNNER, type SecurityDaemon } from '../security/support/security-daemon.js';
import { setAMessage, writeJobImageFlake } from './job-image-flake.js';

interface ProvisionJson {
  changed: boolean;
  jobImages: {
    images: { tag: string; id: string; action: string; previous?: string; imageBytes: number; closurePaths: number; delivered: { paths: number } }[];
    delivered: { paths: number; bytes: number };
    released: string[];
    dropped: number;
    removedImages: string[];
  };
}

// A chain of job images declared as flake installables: B's closure holds A's, C is unrelated. nix decides
// what a change rebuilds; provision loads exactly the images whose content changed.
describe.skipIf(skipE2E)('a chain of job images (jobImages from a flake)', () => {
  const tags = { a: `nix-runner/e2e-chain-a-${process.pid}:1`, b: `nix-runner/e2e-chain-b-${process.pid}:1`, c: `nix-runner/e2e-chain-c-${process.pid}:1` };
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let flakeDir: string;
  let flake: string;
  let d: SecurityDaemon;
  let first: ProvisionJson;
  let staged: StagedJob | undefined;
  let oldToolA: string;

  const declared = (which: ('a' | 'b' | 'c')[] = ['a', 'b', 'c']) => which.map((name) => ({ tag: tags[name], paths: [`${flake}#shell`, `${flake}#tool-${name}`] }));
  const provisionWith = async (images: { tag: string; paths: string[] }[]) => {
    const settings = join(scratch.dir, 'settings.json');
    await writeFile(settings, JSON.stringify({ jobImages: images }));
    const result = await d.provision('--config', settings, '--json');
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    return result.json as unknown as ProvisionJson;
  };
  const image = (json: ProvisionJson, tag: string) => json.jobImages.images.find((found) => found.tag === tag)!;
  const valid = async (path: string) => (await requireEngine().exec(d.daemon, [`${d.probe.nix}/bin/nix-store`, '--check-validity', path])).exitCode === 0;
  const label = async (tag: string, key: string) => (await requireEngine().inspectImage(tag))!.labels[`org.nix-runner.${key}`]!;
  const job = (tag: string, script: string[], variables: Record<string, string> = {}) => runJob({ engine: requireEngine(), runnerConfig: d.runnerConfig, runner: RUNNER, image: tag }, script, variables);

  beforeAll(async () => {
    scratch = await scratchDir('nix-runner-job-chain-');
    flakeDir = join(scratch.dir, 'flake');
    flake = await writeJobImageFlake(flakeDir, { aMessage: 'one', nonce: nonce() });
    d = await provisionSecurityDaemon('e2e-jobchain');
  });

  afterAll(async () => {
    await staged?.remove().catch(() => {});
    for (const tag of Object.values(tags)) await requireEngine().removeImage(tag);
    await removeSecurityDaemons();
    await scratch?.remove();
  });

  it('builds every image from the flake, loads each (a few KB), and a job on B runs the chain and nix-build', async () => {
    first = await provisionWith(declared());
    expect(first.jobImages.images.map(({ tag, action }) => ({ tag, action }))).toEqual(Object.values(tags).map((tag) => ({ tag, action: 'loaded' })));
    expect(first.jobImages.delivered.paths).toBeGreaterThanOrEqual(4);
    // B's closure holds A's tool: the chain nix orders the builds by
    const rootsB = (await label(tags.b, 'job-image.roots')).split(' ');
    const [, toolA] = (await label(tags.a, 'job-image.roots')).split(' ');
    oldToolA = toolA!;
    const closureB = (await execa('nix-store', ['--query', '--requisites', ...rootsB])).stdout.split('\n');
    expect(closureB).toContain(toolA);
    for (const { imageBytes } of first.jobImages.images) expect(imageBytes).toBeLessThan(16 * 1024);
    const run = await job(tags.b, ['tool-b', 'e2e_build chain "$E2E_EXPR"'], { E2E_EXPR: plainDerivation(d.probe.busybox, 'e2e-chain') });
    expect(run.stdout, run.stderr).toContain('b-then-a-one');
    expect(buildOf(run, 'chain'), run.stdout + run.stderr).toMatchObject({ exitCode: 0, built: true });
  });

  it('the same flake again: nothing loaded, sent or changed', async () => {
    const again = await provisionWith(declared());
    expect(again.changed).toBe(false);
    expect(again.jobImages.images.map(({ action }) => action)).toEqual(['present', 'present', 'present']);
    expect(again.jobImages.delivered.paths).toBe(0);
  });

  it("changing A's content rebuilds and re-tags A and B; C keeps its image id; a job between two stages on the old B keeps working", async () => {
    // a job on B that has run its first stage and waits for its next one (GitLab Runner keeps the container)
    staged = await createStagedJob(requireEngine(), d.runnerConfig, RUNNER, tags.b);
    expect((await staged.stage(['tool-b'])).stdout).toContain('b-then-a-one');

    await setAMessage(flakeDir, 'two');
    const changed = await provisionWith(declared());
    expect(image(changed, tags.a)).toMatchObject({ action: 'loaded', previous: image(first, tags.a).id });
    expect(image(changed, tags.b)).toMatchObject({ action: 'loaded', previous: image(first, tags.b).id });
    expect(image(changed, tags.c)).toMatchObject({ action: 'present', id: image(first, tags.c).id });
    // only what changed travels: the new tool-a (and tool-b), and each image's roots file
    expect(image(changed, tags.a).delivered.paths).toBe(2);
    expect(image(changed, tags.b).delivered.paths).toBe(3);
    expect(image(changed, tags.c).delivered.paths).toBe(0);
    expect((await requireEngine().inspectImage(tags.c))!.id).toBe(image(first, tags.c).id);
    // the old A is dangling and unused: gone; the old B is still used by the staged job
    expect(changed.jobImages.removedImages).toEqual([image(first, tags.a).id]);
    expect(await requireEngine().inspectImage(image(first, tags.b).id)).toBeDefined();

    const run = await job(tags.b, ['tool-b']);
    expect(run.stdout, run.stderr).toContain('b-then-a-two');

    // another job collects garbage: the staged job's old closure is still rooted, its next stage runs
    await job(tags.c, ['nix-store --gc >/dev/null 2>&1 || true']);
    expect(await valid(oldToolA)).toBe(true);
    const next = await staged.stage(['tool-b']);
    expect(next.stdout, next.stderr).toContain('b-then-a-one');
  });

  it('once that job is gone, gc removes the old B and collects its closure; every declared closure stays', async () => {
    await staged!.remove();
    staged = undefined;
    const gc = await runCli(['gc', '--daemon', d.daemon, '--max-age', '0', '--json']);
    expect(gc.exitCode, gc.stdout + gc.stderr).toBe(0);
    expect(gc.json).toMatchObject({ jobImages: { imagesRemoved: 1 } });
    expect(await requireEngine().inspectImage(image(first, tags.b).id)).toBeUndefined();
    expect(await valid(oldToolA)).toBe(false);
    for (const tag of Object.values(tags)) for (const root of (await label(tag, 'job-image.roots')).split(' ')) expect(await valid(root), `${tag}: ${root}`).toBe(true);
  });

  it("dropping B from the settings releases B's own paths; A's, which B shared, stay rooted by A", async () => {
    const [, toolB] = (await label(tags.b, 'job-image.roots')).split(' ');
    const [, toolA] = (await label(tags.a, 'job-image.roots')).split(' ');
    const released = await provisionWith(declared(['a', 'c']));
    expect(released.jobImages.released).toEqual([expect.stringMatching(/job-image-nix-runner_e2e-chain-b-/)]);
    const gc = await runCli(['gc', '--daemon', d.daemon, '--max-age', '0', '--json']);
    expect(gc.exitCode, gc.stdout + gc.stderr).toBe(0);
    expect(await valid(toolB!)).toBe(false);
    expect(await valid(toolA!)).toBe(true);
  });
});
