import { PassThrough } from 'node:stream';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineRefused } from '../../../src/engine/engine-failure.js';
import { ensureBusyboxImage } from '../../../src/smoke/busybox-image.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { uniqueName } from '../support/scratch.js';

// What nix-runner relies on from the engine, on Docker and Podman alike (engine-variant.ts holds where they
// differ): each of these broke on Podman 4.3 before the engine layer took care of it.
describe.skipIf(skipE2E)('the engine client on this engine', () => {
  const name = uniqueName('e2e-engine');
  const image = `nix-runner/${name}:2`;
  const volume = `${name}-vol`;
  const sh = (script: string) => ({ image, entrypoint: ['/bin/busybox'], cmd: ['sh', '-c', script] });

  beforeAll(async () => {
    await ensureBusyboxImage(requireEngine(), { ref: image });
    await requireEngine().ensureVolume(volume, { 'org.nix-runner.test': name });
  });

  afterAll(async () => {
    const engine = requireEngine();
    for (const id of await engine.listContainerIds({ volume: [volume] })) await engine.removeContainer(id);
    await engine.removeVolume(volume);
    await engine.removeImage(image);
  });

  it('imports an image under the tag asked for', async () => {
    // Podman qualifies the name (docker.io/…); before the fix it ignored the tag and named the image :latest
    const tags = (await requireEngine().inspectImage(image))?.repoTags ?? [];
    expect(tags.filter((tag) => tag.endsWith(image)), tags.join(', ')).toHaveLength(1);
  });

  it("a one-shot container's exit code and output come back, and it is gone afterwards", async () => {
    const engine = requireEngine();
    const result = await engine.runOnce({ ...sh('echo out; echo err >&2; exit 3'), labels: { 'org.nix-runner.test': name } });
    expect(result).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(await engine.listContainerIds({ label: [`org.nix-runner.test=${name}`] })).toEqual([]);
  });

  it('stdin gets exactly the input, nothing before it', async () => {
    const engine = requireEngine();
    const input = 'first line\nsecond line\n';
    expect(await engine.runOnce(sh('cat'), input)).toEqual({ exitCode: 0, stdout: input, stderr: '' });
    const id = await engine.createContainer({ ...sh('cat; exit 5'), stdinOnce: true });
    try {
      expect(await engine.runWithInput(id, input)).toEqual({ exitCode: 5, stdout: input, stderr: '' });
      // a build container is started again for each stage
      expect(await engine.runWithInput(id, 'again\n')).toEqual({ exitCode: 5, stdout: 'again\n', stderr: '' });
    } finally {
      await engine.removeContainer(id);
    }
  });

  it("an exec's stdin gets exactly the input", async () => {
    const engine = requireEngine();
    const id = await engine.createContainer(sh('sleep 60'));
    try {
      await engine.startContainer(id);
      expect(await engine.exec(id, ['/bin/busybox', 'cat'], [], 'one\ntwo\n')).toEqual({ exitCode: 0, stdout: 'one\ntwo\n', stderr: '' });
    } finally {
      await engine.removeContainer(id);
    }
  });

  it('a copy into a created container reaches the volume it mounts below the target', async () => {
    const engine = requireEngine();
    const id = await engine.createContainer({ ...sh('true'), mounts: [{ volume, target: '/data/vol' }] });
    try {
      const tar = pack();
      tar.entry({ name: 'data/', type: 'directory', mode: 0o755 });
      tar.entry({ name: 'data/vol/', type: 'directory', mode: 0o755 });
      tar.entry({ name: 'data/vol/f', mode: 0o555 }, 'in the volume');
      tar.entry({ name: 'etc/g', mode: 0o644 }, 'in the container');
      tar.finalize();
      await engine.copyIn(id, '/', tar.pipe(new PassThrough()));
      expect(await engine.pathExists(id, '/etc/g')).toBe(true);
    } finally {
      await engine.removeContainer(id);
    }
    // another container, another mount of the volume: the file is in the volume, not under it
    const seen = await engine.runOnce({ ...sh('stat -c "%a %n" /data/vol/f; cat /data/vol/f'), mounts: [{ volume, target: '/data/vol' }] });
    expect(seen).toEqual({ exitCode: 0, stdout: '555 /data/vol/f\nin the volume', stderr: '' });
  });

  it('a container whose command is missing is refused with a 4xx, as about the image', async () => {
    const engine = requireEngine();
    const id = await engine.createContainer({ image, entrypoint: ['/no/such/command'] });
    try {
      const error = await engine.startContainer(id).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(engineRefused(error)).toBe(true);
    } finally {
      await engine.removeContainer(id);
    }
  });
});
