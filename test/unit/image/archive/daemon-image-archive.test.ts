import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { writeDaemonImageArchive, type ArchiveResult } from '../../../../src/image/archive/daemon-image-archive.js';
import { goArchitecture } from '../../../../src/image/archive/image-config.js';
import { createLayerCache, layerCacheKey } from '../../../../src/image/archive/layer-cache.js';
import { UserError } from '../../../../src/errors.js';
import { collector, readTar, type TarEntry } from '../../../fixtures/image/read-tar.js';
import { LONG_FILE_NAME, createSyntheticStore, makeWritable, storeName, type SyntheticStore } from '../../../fixtures/image/synthetic-store.js';

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

let store: SyntheticStore;
let scratch: string;

beforeAll(async () => {
  store = await createSyntheticStore();
  scratch = await mkdtemp(join(tmpdir(), 'nix-runner-archive-test-'));
});

afterAll(async () => {
  await makeWritable(store.root);
  await rm(store.root, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

async function write(input = store.input(), options = {}): Promise<{ bytes: Buffer; result: ArchiveResult }> {
  const out = collector();
  const result = await writeDaemonImageArchive(input, out.stream, options);
  return { bytes: out.bytes(), result };
}

interface Parsed {
  entries: TarEntry[];
  manifest: { Config: string; RepoTags: string[]; Layers: string[] }[];
  configBytes: Buffer;
  config: {
    architecture: string;
    os: string;
    created: string;
    config: { Entrypoint: string[]; Env: string[]; Labels: Record<string, string> };
    rootfs: { type: string; diff_ids: string[] };
    history: { created: string }[];
  };
  layers: TarEntry[][];
}

async function parse(bytes: Buffer): Promise<Parsed> {
  const entries = await readTar(bytes);
  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  const manifest = JSON.parse(byName.get('manifest.json')!.content.toString()) as Parsed['manifest'];
  const configBytes = byName.get(manifest[0]!.Config)!.content;
  const layers = await Promise.all(manifest[0]!.Layers.map((name) => readTar(byName.get(name)!.content)));
  return { entries, manifest, configBytes, config: JSON.parse(configBytes.toString()) as Parsed['config'], layers };
}

// Depth-first with names in byte order: an entry's parent comes first, and siblings are sorted.
function expectSortedTree(layer: TarEntry[]): void {
  const names = layer.map((entry) => entry.name.replace(/\/$/, ''));
  const lastChild = new Map<string, string>();
  for (const name of names) {
    const slash = name.lastIndexOf('/');
    const parent = slash === -1 ? '' : name.slice(0, slash);
    if (parent) expect(names.indexOf(parent), `${parent} before ${name}`).toBeGreaterThanOrEqual(0);
    if (parent) expect(names.indexOf(parent)).toBeLessThan(names.indexOf(name));
    const previous = lastChild.get(parent);
    if (previous !== undefined) expect(Buffer.compare(Buffer.from(previous), Buffer.from(name.slice(slash + 1)))).toBeLessThan(0);
    lastChild.set(parent, name.slice(slash + 1));
  }
}

describe('writeDaemonImageArchive', () => {
  it('writes byte-identical archives for the same input', async () => {
    const first = await write();
    const second = await write();
    expect(first.bytes.equals(second.bytes)).toBe(true);
    expect(second.result).toEqual(first.result);
  });

  it('writes a docker-archive whose manifest, config and layer digests agree', async () => {
    const { bytes, result } = await write(store.input({ labels: { team: 'ci', 'org.nix-runner.nix': 'overridden' } }));
    const { entries, manifest, configBytes, config } = await parse(bytes);

    expect(entries.at(-1)!.name).toBe('manifest.json');
    expect(entries.at(-2)!.name).toBe(`${result.imageId.slice(7)}.json`);
    expect(result.imageId).toBe(`sha256:${sha256(configBytes)}`);
    expect(manifest).toEqual([{ Config: `${sha256(configBytes)}.json`, RepoTags: ['nix-runner/nix-daemon:test'], Layers: result.diffIds.map((id) => `${id.slice(7)}/layer.tar`) }]);
    for (const [index, name] of manifest[0]!.Layers.entries()) {
      const layer = entries.find((entry) => entry.name === name)!;
      expect(`sha256:${sha256(layer.content)}`).toBe(result.diffIds[index]);
      expect(layer.content.length).toBe(result.layers[index]!.size);
    }
    expect(config.rootfs).toEqual({ type: 'layers', diff_ids: result.diffIds });
    expect(config).toMatchObject({ architecture: goArchitecture(), os: 'linux', created: '1970-01-01T00:00:01Z' });
    expect(config.history).toHaveLength(result.diffIds.length);
    expect(config.history.every((entry) => entry.created === '1970-01-01T00:00:01Z')).toBe(true);
    expect(config.config).toEqual({
      Entrypoint: [`${store.nixPath}/bin/nix-daemon`],
      Env: [`PATH=${store.nixPath}/bin:/bin`],
      Labels: { 'org.nix-runner.nix': store.nixPath, team: 'ci' },
    });
    // compact, keys sorted
    expect(configBytes.toString()).toBe(JSON.stringify(config));
    expect(Object.keys(config)).toEqual(['architecture', 'config', 'created', 'history', 'os', 'rootfs']);
    // one layer per store path, then the small one
    expect(result.layers.map((layer) => layer.paths)).toEqual([...store.closure.map((path) => [path]), []]);
    for (const entry of entries) expect(entry).toMatchObject({ uid: 0, gid: 0, mtime: 1, uname: '', gname: '' });
  });

  it('packs store paths with their modes, links and nesting, sorted, at mtime 1 and uid 0', async () => {
    const { layers } = await parse((await write()).bytes);
    const glibc = `nix/store/${storeName('glibc-2.37')}`;
    const nix = `nix/store/${storeName('nix-2.18.1')}`;
    for (const layer of layers) {
      expectSortedTree(layer);
      for (const entry of layer) expect(entry).toMatchObject({ uid: 0, gid: 0, uname: '', gname: '', mtime: 1 });
    }
    const [libc, , conf, nixLayer] = layers;
    expect(libc!.map((entry) => [entry.name, entry.type, entry.mode.toString(8), entry.linkname])).toEqual([
      ['nix/', 'directory', '755', null],
      ['nix/store/', 'directory', '755', null],
      [`${glibc}/`, 'directory', '555', null],
      [`${glibc}/lib/`, 'directory', '555', null],
      [`${glibc}/lib/ld-linux-x86-64.so.2`, 'file', '555', null],
      [`${glibc}/lib/libc.so`, 'symlink', '777', 'libc.so.6'],
      [`${glibc}/lib/libc.so.6`, 'file', '555', null],
      [`${glibc}/share/`, 'directory', '555', null],
      [`${glibc}/share/doc/`, 'directory', '555', null],
      [`${glibc}/share/doc/${LONG_FILE_NAME}`, 'file', '444', null],
    ]);
    expect(LONG_FILE_NAME.length).toBeGreaterThan(100);
    expect(libc!.find((entry) => entry.name.endsWith('libc.so.6'))!.content.toString()).toBe('fake libc\n'.repeat(100));
    expect(nixLayer!.find((entry) => entry.name === `${nix}/bin/nix-daemon`)).toMatchObject({ type: 'symlink', linkname: 'nix' });
    expect(nixLayer!.find((entry) => entry.name === `${nix}/lib/deps`)!.linkname).toBe(`/nix/store/${storeName('zlib-1.3')}/lib/libz.so.1`);
    expect(nixLayer!.find((entry) => entry.name === `${nix}/share/nix/nested/deeper/file.txt`)!.content.toString()).toBe('deep\n');
    expect(conf!.map((entry) => entry.name)).toEqual(['nix/', 'nix/store/', `nix/store/${storeName('nix.conf')}`]);
    expect(conf![2]).toMatchObject({ type: 'file', mode: 0o444 });
  });

  it('ends with a small layer holding /etc, /tmp, the nix state dirs and the registration', async () => {
    const input = store.input({ registration: 'REGISTRATION\n', nixConf: 'sandbox = false\n' });
    const { layers } = await parse((await write(input)).bytes);
    const small = layers.at(-1)!;
    const file = (name: string) => small.find((entry) => entry.name === name)!.content.toString();
    expect(file('etc/nix/nix.conf')).toBe('sandbox = false\n');
    expect(file('nix-runner/registration')).toBe('REGISTRATION\n');
    expect(file('etc/passwd')).toMatch(/^root:x:0:0:.*\nnobody:x:65534:65534:/);
    // the build users, so that an image nix-runner builds never runs builds as root
    expect(file('etc/passwd')).toMatch(/^nixbld1:x:30001:30000:/m);
    expect(file('etc/group')).toMatch(/^root:x:0:\nnogroup:x:65534:\nnixbld:x:30000:nixbld1,nixbld2,/);
    expect(small.find((entry) => entry.name === 'tmp/')).toMatchObject({ type: 'directory', mode: 0o1777 });
    for (const dir of ['db', 'gcroots', 'profiles', 'temproots', 'daemon-socket']) {
      expect(small.find((entry) => entry.name === `nix/var/nix/${dir}/`)).toMatchObject({ type: 'directory' });
    }
  });

  it('merges the tail of the closure into one layer past maxLayers', async () => {
    const { bytes, result } = await write(store.input({ maxLayers: 3 }));
    expect(result.layers.map((layer) => layer.paths)).toEqual([[store.closure[0]], store.closure.slice(1), []]);
    const { layers, config } = await parse(bytes);
    expect(config.rootfs.diff_ids).toHaveLength(3);
    const merged = layers[1]!;
    expectSortedTree(merged);
    const tops = merged.filter((entry) => /^nix\/store\/[^/]+\/?$/.test(entry.name)).map((entry) => entry.name.replace(/\/$/, '').slice('nix/store/'.length));
    expect(tops).toEqual(store.closure.slice(1).map((path) => path.slice('/nix/store/'.length)).sort());
    // exactly at the limit nothing is merged
    const exact = await write(store.input({ maxLayers: store.closure.length + 1 }));
    expect(exact.result.layers).toHaveLength(store.closure.length + 1);
    expect(exact.result.layers.every((layer) => layer.paths.length <= 1)).toBe(true);
  });

  it('uses the layer cache on the second write, and drops an entry that no longer matches', async () => {
    const dir = join(scratch, 'cache');
    const cache = createLayerCache(dir);
    const get = vi.spyOn(cache, 'get');
    const set = vi.spyOn(cache, 'set');
    const first = await write(store.input(), { layerCache: cache });
    expect(set).toHaveBeenCalledTimes(store.closure.length);
    const files = await readdir(dir);
    expect(files.sort()).toEqual(store.closure.map((path) => `${layerCacheKey([path.slice('/nix/store/'.length)])}.json`).sort());
    const saved = JSON.parse(await readFile(join(dir, files[0]!), 'utf8')) as unknown;
    expect(saved).toEqual({ diffId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), size: expect.any(Number) });

    set.mockClear();
    get.mockClear();
    const second = await write(store.input(), { layerCache: cache });
    expect(second.bytes.equals(first.bytes)).toBe(true);
    expect(get).toHaveBeenCalledTimes(store.closure.length);
    expect(set).not.toHaveBeenCalled();

    // a wrong cached digest is caught while streaming: a clear error, and the entry is gone
    const key = layerCacheKey([store.closure[1]!.slice('/nix/store/'.length)]);
    const right = JSON.parse(await readFile(join(dir, `${key}.json`), 'utf8')) as { size: number };
    await writeFile(join(dir, `${key}.json`), JSON.stringify({ diffId: `sha256:${'0'.repeat(64)}`, size: right.size }));
    const failed = write(store.input(), { layerCache: cache });
    await expect(failed).rejects.toThrow(UserError);
    await expect(failed).rejects.toThrow(/changed while the image was being written/);
    expect(await cache.get(key)).toBeUndefined();
  });

  it('rejects with a UserError before writing anything when a store path is missing', async () => {
    const out = collector();
    const missing = `/nix/store/${storeName('gone-1.0')}`;
    const input = store.input({ closure: [...store.closure, missing] });
    const error = await writeDaemonImageArchive(input, out.stream).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({ code: 'image', message: expect.stringContaining('gone-1.0') as unknown, hint: expect.any(String) as unknown });
    expect(out.bytes().length).toBe(0);
  });

  it('rejects when the nix store path is not in the closure', async () => {
    const input = store.input({ closure: store.closure.filter((path) => path !== store.nixPath) });
    await expect(write(input)).rejects.toThrow(/does not contain nix/);
  });

  it('rejects when the output stream fails', async () => {
    let written = 0;
    const out = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        written += chunk.length;
        callback(written > 4096 ? new Error('disk full') : null);
      },
    });
    await expect(writeDaemonImageArchive(store.input(), out)).rejects.toThrow('disk full');
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop now'));
    await expect(write(store.input(), { signal: controller.signal })).rejects.toThrow('stop now');
  });
});
