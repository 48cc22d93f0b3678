import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveHostNix } from '../../../src/nix-cli/host-nix.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { scratchDir, uniqueName } from '../support/scratch.js';
import { builderUid, plainDerivation } from './support/attack-derivation.js';
import { buildOf, runJob } from './support/attack-job.js';
import { provisionSecurityDaemon, removeSecurityDaemons, type SecurityDaemon } from './support/security-daemon.js';

/** An image like `ref` whose /etc knows only root and nobody: no nixbld group or users, as images made before build users. */
async function withoutBuildUsers(ref: string, target: string): Promise<void> {
  const docker = new Docker();
  const container = await docker.createContainer({ Image: ref });
  try {
    const tar = pack();
    tar.entry({ name: 'etc/passwd', mode: 0o644 }, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/var/empty:/bin/false\n');
    tar.entry({ name: 'etc/group', mode: 0o644 }, 'root:x:0:\nnogroup:x:65534:\n');
    tar.finalize();
    await container.putArchive(tar.pipe(new PassThrough()), { path: '/' });
    const [repo, tag] = target.split(':') as [string, string];
    await container.commit({ repo, tag });
  } finally {
    await container.remove({ force: true });
  }
}

// Every way to get a daemon image: builds and cache hits work, and builds never run as root.
describe.skipIf(skipE2E)('builds and cache hits for every image source, as build users', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let archive: string;
  let loadedRef: string;
  const strippedRef = `nix-runner/e2e-no-build-users:${uniqueName('t')}`;

  beforeAll(async () => {
    scratch = await scratchDir('nix-runner-security-images-');
    archive = join(scratch.dir, 'daemon.tar');
    const written = await runCli(['image', 'build', '-o', archive, '--json']);
    expect(written.json, written.stdout + written.stderr).toMatchObject({ ok: true, action: 'written' });
    const loaded = await runCli(['image', 'build', '--load', '--json']);
    expect(loaded.json, loaded.stdout + loaded.stderr).toMatchObject({ ok: true });
    loadedRef = String(loaded.json.ref);
    await withoutBuildUsers(loadedRef, strippedRef);
  });

  afterAll(async () => {
    await removeSecurityDaemons();
    await requireEngine().removeImage(strippedRef);
    await scratch?.remove();
  });

  const sources: [string, () => string[]][] = [
    ['the host nix (default)', () => []],
    ['--image-store-path', () => ['--image-store-path', hostNixPath]],
    ['--image-archive of `nix-runner image build -o`', () => ['--image-archive', archive]],
    ['--image-ref of a loaded image', () => ['--image-ref', loadedRef]],
    ['--image-ref of an image without build users in its /etc', () => ['--image-ref', strippedRef]],
  ];
  let hostNixPath = '';

  it.each(sources)('%s', async (_name, args) => {
    hostNixPath ||= (await resolveHostNix()).nixPath;
    const d = await provisionSecurityDaemon('e2e-sec-src', { args: args() });
    try {
      await expectBuildsAndCacheHits(d);
    } finally {
      await d.remove();
    }
  });
});

async function expectBuildsAndCacheHits(d: SecurityDaemon): Promise<void> {
  const hostname = (await d.job.engine.inspectContainer(d.daemon))!.hostname;
  const expression = plainDerivation(d.probe.busybox, 'e2e-source');
  const first = await runJob(d.job, ['e2e_build x "$E2E_X"'], { E2E_X: expression });
  const built = buildOf(first, 'x');
  expect(built, first.stdout).toMatchObject({ exitCode: 0, built: true });
  expect(built.content[0]).toMatch(new RegExp(`^built-on-${hostname} uid-\\d+$`));
  expect(builderUid(built.content), 'the builder uid').not.toBe(0);
  const second = await runJob(d.job, ['e2e_build x "$E2E_X"'], { E2E_X: expression });
  expect(buildOf(second, 'x'), second.stdout).toMatchObject({ exitCode: 0, out: built.out, built: false, content: built.content });
}
