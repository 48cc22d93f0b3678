import { PassThrough } from 'node:stream';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { copyRunnerFixture } from '../support/fixtures.js';
import { scratchDir, uniqueName } from '../support/scratch.js';

const NIX = '/nix/store/abcdfghijklmnpqrsvwxyz0123456789-nix-2.8.0';

/** An image with a (fake) nix-daemon at NIX, and no org.nix-runner.nix label. */
async function importImage(ref: string, changes: string[]): Promise<void> {
  const tar = pack();
  tar.entry({ name: `${NIX.slice(1)}/bin/nix-daemon`, mode: 0o755 }, '#!/bin/sh\n');
  tar.finalize();
  await requireEngine().importImage(tar.pipe(new PassThrough()), ref, changes);
}

describe.skipIf(skipE2E)('the nix of an image without the org.nix-runner.nix label', () => {
  const tag = uniqueName('t');
  const withEntrypoint = `nix-runner/e2e-unlabelled:${tag}`;
  const withoutHint = `nix-runner/e2e-no-nix:${tag}`;
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;

  beforeAll(async () => {
    scratch = await scratchDir();
    runnerConfig = await copyRunnerFixture(scratch.dir);
    await importImage(withEntrypoint, [`ENTRYPOINT ["${NIX}/bin/nix-daemon"]`]);
    await importImage(withoutHint, ['ENTRYPOINT ["/bin/sh"]']);
  });

  afterAll(async () => {
    await requireEngine().removeImage(withEntrypoint);
    await requireEngine().removeImage(withoutHint);
    await scratch?.remove();
  });

  it('is found from the entrypoint', async () => {
    const result = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', uniqueName('e2e-nix'), '--image-ref', withEntrypoint, '--dry-run', '--json']);
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.json).toMatchObject({ ok: true, dryRun: true, daemon: { nix: NIX, action: 'created' } });
  });

  it('or the error says why not and how to label it', async () => {
    const result = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', uniqueName('e2e-nix'), '--image-ref', withoutHint, '--dry-run', '--json']);
    expect(result.exitCode).toBe(ExitCode.image);
    expect(result.json).toMatchObject({ ok: false, error: { code: 'image' } });
    const error = result.json.error as { message: string; hint: string };
    expect(error.message).toMatch(/does not say where its nix is/);
    expect(error.hint).toMatch(/org\.nix-runner\.nix=/);
  });
});
