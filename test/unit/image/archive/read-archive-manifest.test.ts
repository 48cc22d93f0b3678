import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDaemonImageArchive, type ArchiveResult } from '../../../../src/image/archive/daemon-image-archive.js';
import { readArchiveManifest } from '../../../../src/image/archive/read-archive-manifest.js';
import { UserError } from '../../../../src/errors.js';
import { collector } from '../../../fixtures/image/read-tar.js';
import { createSyntheticStore, makeWritable, type SyntheticStore } from '../../../fixtures/image/synthetic-store.js';
import { withTempDir } from '../../../support/temp-dir.js';

let store: SyntheticStore;
let archive: Buffer;
let written: ArchiveResult;

beforeAll(async () => {
  store = await createSyntheticStore();
  const out = collector();
  written = await writeDaemonImageArchive(store.input(), out.stream);
  archive = out.bytes();
});

afterAll(async () => {
  await makeWritable(store.root);
  await rm(store.root, { recursive: true, force: true });
});

// Splits into small chunks, so that the gzip sniffing and the parser see data arrive piecemeal.
const stream = (bytes: Buffer, chunk = 1000) => Readable.from(Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) => bytes.subarray(i * chunk, (i + 1) * chunk)));

async function tarOf(files: [string, string][]): Promise<Buffer> {
  const tar = pack();
  for (const [name, content] of files) tar.entry({ name }, content);
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function rejection(input: Readable): Promise<UserError> {
  const error = await readArchiveManifest(input).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(UserError);
  return error as UserError;
}

describe('readArchiveManifest', () => {
  it('reads the manifest and config of an archive the writer made, with manifest.json last', async () => {
    const manifest = await readArchiveManifest(stream(archive));
    expect(manifest.configDigest).toBe(written.imageId);
    expect(manifest.repoTags).toEqual(['nix-runner/nix-daemon:test']);
    expect(manifest.layers).toEqual(written.diffIds.map((id) => `${id.slice(7)}/layer.tar`));
    expect(manifest.config).toMatchObject({ rootfs: { diff_ids: written.diffIds } });
  });

  it('reads a gzip archive', async () => {
    const manifest = await readArchiveManifest(stream(gzipSync(archive), 1));
    expect(manifest.configDigest).toBe(written.imageId);
  });

  it('reads an archive whose manifest.json comes first', async () => {
    const config = '{"rootfs":{"type":"layers","diff_ids":[]}}';
    const bytes = await tarOf([
      ['manifest.json', JSON.stringify([{ Config: 'blobs/sha256/abc', RepoTags: ['a:b'], Layers: [] }])],
      ['other.json', '{}'],
      ['blobs/sha256/abc', config],
    ]);
    const manifest = await readArchiveManifest(stream(bytes));
    expect(manifest).toMatchObject({ repoTags: ['a:b'], layers: [], config: JSON.parse(config) as unknown });
  });

  it('stops reading once the manifest and config are known', async () => {
    let pulled = 0;
    const bytes = await tarOf([
      ['manifest.json', JSON.stringify([{ Config: 'c.json', RepoTags: [], Layers: [] }])],
      ['c.json', '{}'],
      ...Array.from({ length: 200 }, (_, i): [string, string] => [`junk-${i}`, 'x'.repeat(10_000)]),
    ]);
    const input = new Readable({
      read() {
        const next = bytes.subarray(pulled, pulled + 4096);
        pulled += next.length;
        this.push(next.length ? next : null);
      },
    });
    await readArchiveManifest(input);
    expect(pulled).toBeLessThan(bytes.length / 2);
    expect(input.destroyed).toBe(true);
  });

  it('rejects a truncated archive', async () => {
    const error = await rejection(stream(archive.subarray(0, Math.floor(archive.length * 0.6))));
    expect(error.message).toMatch(/^not a docker image archive: /);
    expect(error.code).toBe('image');
    expect(error.hint).toBeTruthy();
  });

  it('rejects a truncated gzip archive', async () => {
    const gzip = gzipSync(archive);
    expect((await rejection(stream(gzip.subarray(0, gzip.length - 100)))).message).toMatch(/^not a docker image archive: /);
  });

  it('rejects garbage, empty input and a tar without manifest.json', async () => {
    expect((await rejection(stream(Buffer.from('this is not a tar file at all'.repeat(100))))).message).toMatch(/^not a docker image archive/);
    expect((await rejection(stream(Buffer.from([0x1f, 0x8b, 1, 2, 3, 4, 5])))).message).toMatch(/^not a docker image archive/);
    expect((await rejection(stream(Buffer.alloc(0)))).message).toBe('not a docker image archive: no manifest.json');
    expect((await rejection(stream(await tarOf([['hello.txt', 'hi']])))).message).toBe('not a docker image archive: no manifest.json');
    expect((await rejection(stream(await tarOf([['manifest.json', '[{"Config":"missing.json"}]']])))).message).toMatch(/no missing.json/);
  });

  it('passes errors of the input stream through', async () => {
    const { createReadStream } = await import('node:fs');
    await withTempDir(async (dir) => {
      await expect(readArchiveManifest(createReadStream(join(dir, 'absent.tar')))).rejects.toMatchObject({ code: 'ENOENT' });
    }, 'nix-runner-read-');
  });
});
