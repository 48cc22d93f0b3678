import { rm } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDaemonImageArchive } from '../../../src/image/archive/daemon-image-archive.js';
import { createSyntheticStore, makeWritable, type SyntheticStore } from '../../fixtures/image/synthetic-store.js';

const docker = new Docker();
const engineAnswers = await docker.ping().then(
  () => true,
  () => false,
);
const required = process.env.NIX_RUNNER_E2E === '1';

describe.skipIf(!engineAnswers && !required)('docker-archive load into the engine', () => {
  let store: SyntheticStore;
  const repoTag = `nix-runner/archive-load-test:${process.pid}`;

  beforeAll(async () => {
    store = await createSyntheticStore();
  });

  afterAll(async () => {
    await docker
      .getImage(repoTag)
      .remove({ force: true })
      .catch(() => {});
    await makeWritable(store.root);
    await rm(store.root, { recursive: true, force: true });
  });

  it('loads the streamed archive as an image whose id is the config digest', async () => {
    const archive = new PassThrough();
    const [written] = await Promise.all([
      writeDaemonImageArchive(store.input({ repoTag, labels: { 'org.nix-runner.test': 'archive-load' } }), archive),
      docker.loadImage(archive, { quiet: true }).then(
        (response) =>
          new Promise<unknown[]>((resolve, reject) => {
            docker.modem.followProgress(response, (error: Error | null, output: unknown[]) => (error ? reject(error) : resolve(output)));
          }),
      ),
    ]);
    const image = await docker.getImage(repoTag).inspect();
    expect(image.Id).toBe(written.imageId);
    expect(image.RootFS.Layers).toEqual(written.diffIds);
    expect(image.Config.Labels).toMatchObject({ 'org.nix-runner.nix': store.nixPath, 'org.nix-runner.test': 'archive-load' });
    expect(image.Config.Entrypoint).toEqual([`${store.nixPath}/bin/nix-daemon`]);
    await docker.getImage(repoTag).remove({ force: true });
  });
});
