import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { baseImageArchive } from '../../../src/image/base-image.js';
import { Readable } from 'node:stream';
import { readTar } from '../../../src/tar/read-tar.js';

async function files(tar: Buffer): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>();
  await readTar(Readable.from([tar]), (header, content) => entries.set(header.name, content));
  return entries;
}

describe('the base image of store-path daemons', () => {
  it('is the same bytes every time: the same image id on every host and for every nix', async () => {
    const [a, b] = [await baseImageArchive(), await baseImageArchive()];
    expect(a.bytes.equals(b.bytes)).toBe(true);
    expect(a.imageId).toBe(b.imageId);
    expect(a.tag).toMatch(/^nix-runner\/base:[0-9a-f]{20}$/);
  });

  it('holds users, /tmp and nix state dirs, and no store content; its id is its config digest', async () => {
    const { bytes, imageId, tag } = await baseImageArchive();
    const archive = await files(bytes);
    const manifest = JSON.parse(archive.get('manifest.json')!.toString()) as [{ Config: string; RepoTags: string[]; Layers: string[] }];
    expect(manifest[0].RepoTags).toEqual([tag]);
    const config = archive.get(manifest[0].Config)!;
    expect(`sha256:${createHash('sha256').update(config).digest('hex')}`).toBe(imageId);
    expect(JSON.parse(config.toString()).config.Entrypoint).toBeUndefined();
    const layer = await files(archive.get(manifest[0].Layers[0]!)!);
    expect(layer.get('etc/passwd')!.toString()).toMatch(/^nixbld1:/m);
    expect([...layer.keys()]).toContain('tmp/');
    expect([...layer.keys()].filter((name) => name.startsWith('nix/store'))).toEqual([]);
  });
});
