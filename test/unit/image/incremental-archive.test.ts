import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainIds, nextChainId } from '../../../src/image/archive/chain-id.js';
import { writeDaemonImageArchive, type LayerEvent } from '../../../src/image/archive/daemon-image-archive.js';
import { parseBuildJson } from '../../../src/image/flake-image.js';
import { buildFailure } from '../../../src/nix-cli/nix-build.js';
import { createLoadProgress } from '../../../src/image/load-progress.js';
import { collector, readTar } from '../../fixtures/image/read-tar.js';
import { createSyntheticStore, makeWritable, type SyntheticStore } from '../../fixtures/image/synthetic-store.js';

let store: SyntheticStore;
beforeAll(async () => {
  store = await createSyntheticStore();
});
afterAll(async () => {
  await makeWritable(store.root);
  await rm(store.root, { recursive: true, force: true });
});

describe('chain ids', () => {
  it('follows the OCI rule: the first is the diff id, then sha256 of "parent diff"', () => {
    const a = `sha256:${'a'.repeat(64)}`;
    const b = `sha256:${'b'.repeat(64)}`;
    expect(nextChainId(a, b)).toBe(`sha256:${createHash('sha256').update(`${a} ${b}`).digest('hex')}`);
    expect(chainIds([a, b])).toEqual([a, nextChainId(a, b)]);
    expect(nextChainId(undefined, a)).toBe(a);
  });
});

describe('writeDaemonImageArchive with engineChains', () => {
  it('leaves out the layer tars whose chain the engine has, keeps them in the manifest, and keeps the image id', async () => {
    const full = collector();
    const events: LayerEvent[] = [];
    const all = await writeDaemonImageArchive(store.input(), full.stream, { onLayer: (event) => events.push(event) });
    expect(events.filter((event) => event.phase === 'done').map((event) => event.sent)).toEqual(all.layers.map(() => true));
    const chains = chainIds(all.diffIds);
    const part = collector();
    const partial = await writeDaemonImageArchive(store.input(), part.stream, { engineChains: new Set(chains.slice(0, 2)) });
    expect(partial.imageId).toBe(all.imageId);
    expect(partial.layers.map((layer) => layer.sent)).toEqual(all.layers.map((_, index) => index >= 2));
    const names = (await readTar(part.bytes())).map((entry) => entry.name);
    for (const [index, diffId] of all.diffIds.entries()) expect(names.includes(`${diffId.slice(7)}/layer.tar`)).toBe(index >= 2);
    const manifest = JSON.parse((await readTar(part.bytes())).find((entry) => entry.name === 'manifest.json')!.content.toString()) as { Layers: string[] }[];
    expect(manifest[0]!.Layers).toHaveLength(all.diffIds.length);
    // a chain id known only for a layer whose parents differ does not match
    const other = collector();
    const unrelated = await writeDaemonImageArchive(store.input(), other.stream, { engineChains: new Set([all.diffIds[1]!]) });
    expect(unrelated.layers.every((layer) => layer.sent)).toBe(true);
  });
});

describe('flake build output', () => {
  it('reads outputs.out of nix build --json', () => {
    expect(parseBuildJson('[{"drvPath":"/nix/store/x.drv","outputs":{"out":"/nix/store/y"}}]')).toBe('/nix/store/y');
    expect(parseBuildJson('[{"path":"/nix/store/z-stream-image"}]')).toBe('/nix/store/z-stream-image');
    expect(parseBuildJson('not json')).toBeUndefined();
  });

  it("names nix's error and the builder's last log line", () => {
    const stderr = "building '/nix/store/a.drv'...\nerror: builder for '/nix/store/a.drv' failed with exit code 1;\n       last 1 log lines:\n       > boom\n       For full logs, run 'nix log /nix/store/a.drv'.\n";
    expect(buildFailure(stderr)).toBe("builder for '/nix/store/a.drv' failed with exit code 1: boom");
    expect(buildFailure('error: flake has no outputs\n')).toBe('flake has no outputs');
  });
});

describe('load progress', () => {
  const sink = () => {
    let text = '';
    return { stream: { write: (chunk: string) => ((text += chunk), true) } as unknown as NodeJS.WritableStream, text: () => text };
  };

  it('prints one plain line per layer when not a TTY', () => {
    const out = sink();
    const progress = createLoadProgress({ stream: out.stream, isTTY: false, now: () => 0 });
    progress.layer({ phase: 'start', index: 0, total: 2, paths: ['/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-glibc'] });
    progress.layer({ phase: 'done', index: 0, total: 2, paths: ['/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-glibc'], size: 2048, sent: false });
    progress.bytes(4096);
    progress.layer({ phase: 'done', index: 1, total: 2, paths: [], size: 2048, sent: true });
    progress.done();
    expect(out.text().split('\n')).toEqual([
      'layer 1/2 already in the engine: /nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-glibc',
      'layer 2/2 sent (2.0 KB): the small layer',
      expect.stringMatching(/^layers 2\/2 \(1 already in the engine\), 4\.0 KB sent, /) as unknown as string,
      '',
    ]);
  });

  it('redraws one line on a TTY, at most every interval', () => {
    const out = sink();
    let time = 0;
    const progress = createLoadProgress({ stream: out.stream, isTTY: true, now: () => time, intervalMs: 100 });
    progress.bytes(1);
    time = 50;
    progress.bytes(1);
    time = 200;
    progress.bytes(1);
    progress.done();
    // nothing before the first interval has passed, one redraw at 200 ms, the final line
    expect(out.text().match(/\r\x1b\[K/g)).toHaveLength(2);
    expect(out.text().endsWith('\n')).toBe(true);
    expect(out.text()).not.toMatch(/\n./);
  });
});
