import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { pack } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryClosure } from '../../../src/nix-cli/closure.js';
import { resolveHostNix } from '../../../src/nix-cli/host-nix.js';
import { readTar } from '../../fixtures/image/read-tar.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { scratchDir, uniqueName } from '../support/scratch.js';
import { writeImageFlake } from './flake-fixture.js';

// Offline: no substituter to wait for.
const NIX_ENV = { NIX_CONFIG: 'substituters =' };

describe.skipIf(skipE2E)('nix-runner image build', () => {
  const engine = requireEngine();
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let hostNix: string;
  const images: string[] = [];
  const storePaths: string[] = [];

  const allImages = async () => new Set(await engine.listImageIds({}));
  const labelled = (label: string) => engine.listImageIds({ label: [`org.nix-runner.test=${label}`] });
  // Other test files may add images meanwhile: nothing of ours may appear, nothing may go.
  const expectImagesKept = async (before: Set<string>, label?: string) => {
    const after = await allImages();
    for (const id of before) expect(after.has(id), `image ${id} still there`).toBe(true);
    if (label) expect(await labelled(label)).toEqual([]);
  };
  const expectOneLineError = (stderr: string, message: RegExp) => {
    const lines = stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^nix-runner: error: /);
    expect(lines[0]).toMatch(message);
    expect(lines[1]).toMatch(/^ {2}hint: /);
    expect(lines).toHaveLength(2);
  };

  beforeAll(async () => {
    scratch = await scratchDir('nix-runner-image-e2e-');
    hostNix = (await resolveHostNix()).nixPath;
  });

  afterAll(async () => {
    for (const ref of images) await engine.removeImage(ref);
    if (storePaths.length > 0) await execa('nix-store', ['--delete', ...storePaths], { reject: false });
    await scratch.remove();
  });

  it('writes byte-identical archives of the host nix closure, with the id it reports', async () => {
    const [a, b] = [join(scratch.dir, 'a.tar'), join(scratch.dir, 'b.tar')];
    const first = await runCli(['image', 'build', '--host-nix', '-o', a, '--json']);
    const second = await runCli(['image', 'build', '-o', b, '--json']);
    expect(first.json).toMatchObject({ ok: true, action: 'written', nixPath: hostNix, file: a });
    const [bytesA, bytesB] = await Promise.all([readFile(a), readFile(b)]);
    expect(bytesA.equals(bytesB)).toBe(true);
    expect(second.json.id).toBe(first.json.id);
    const entries = await readTar(bytesA);
    const closure = await queryClosure([hostNix]);
    expect(entries.filter((entry) => entry.name.endsWith('/layer.tar'))).toHaveLength(closure.length + 1);
    // docker agrees on the id
    const loaded = await execa('docker', ['load', '-i', a]);
    expect(String(loaded.stdout)).toContain('Loaded image');
    expect((await engine.inspectImage(String(first.json.ref)))?.id).toBe(first.json.id);
  });

  it('loads an image whose whole closure passes nix-store --verify --check-contents in a container', async () => {
    const built = await runCli(['image', 'build', '--load', '--json']);
    expect(built.json).toMatchObject({ ok: true, nixPath: hostNix });
    expect(['loaded', 'present']).toContain(built.json.action);
    const closure = await queryClosure([hostNix]);
    const shell = closure.map((path) => `${path}/bin/busybox`).find((path) => path.includes('-nix-runtime/'))!;
    const script = [
      'set -e',
      'nix-store --load-db < /nix-runner/registration',
      'nix-store --verify --check-contents',
      `test "$(nix-store --query --requisites ${hostNix} | sort)" = "$(printf '%s\\n' ${closure.join(' ')} | sort)"`,
      'echo verified',
    ].join('\n');
    const result = await engine.runOnce({ image: String(built.json.id), entrypoint: [shell, 'sh', '-c', script] });
    expect(result.stderr).not.toMatch(/modified|corrupt|invalid/i);
    expect(result.stdout).toContain('verified');
    expect(result.exitCode).toBe(0);
  });

  it('sends only the changed store path and the small layer when one store path of the closure changed', async () => {
    await runCli(['image', 'build', '--load', '--json']);
    const variant = (await resolveHostNix({ variant: uniqueName('incremental') })).nixPath;
    storePaths.push(variant);
    const load = await runCli(['image', 'build', '--store-path', variant, '--load', '--json']);
    images.push(String(load.json.ref));
    const closure = await queryClosure([variant]);
    // Podman refuses an archive that leaves out layers it has (engine-variant.ts): every layer is sent there
    const partial = engine.loadsPartialArchives();
    expect(load.json).toMatchObject({ ok: true, action: 'loaded', mode: partial ? 'incremental' : 'full', layersSent: partial ? 2 : closure.length + 1, layersTotal: closure.length + 1 });
    expect(load.json.fallback).toBeUndefined();
    if (partial) expect(Number(load.json.bytesSent)).toBeLessThan(1024 * 1024);
    const layers = await engine.imageLayers(String(load.json.id));
    expect(layers).toHaveLength(closure.length + 1);
    // and again: nothing to send
    const again = await runCli(['image', 'build', '--store-path', variant, '--load', '--json']);
    expect(again.json).toMatchObject({ ok: true, action: 'present', layersSent: 0 });
  });

  it('prints progress lines when stderr is not a TTY, and nothing but JSON with --json', async () => {
    const variant = (await resolveHostNix({ variant: uniqueName('progress') })).nixPath;
    storePaths.push(variant);
    const plain = await runCli(['image', 'build', '--store-path', variant, '--load']);
    expect(plain.exitCode).toBe(0);
    expect(plain.stderr).toMatch(engine.loadsPartialArchives() ? /^layer 1\/\d+ already in the engine: /m : /^layer 1\/\d+ sent \(/m);
    expect(plain.stderr).toMatch(/^layer \d+\/\d+ sent \(.*\): the small layer$/m);
    expect(plain.stdout).toMatch(/^loaded nix-runner\/nix-daemon:/);
    images.push(/^loaded (\S+)/.exec(plain.stdout)![1]!);
    const json = await runCli(['image', 'build', '--store-path', variant, '--load', '--json']);
    expect(json.stderr).toBe('');
  });

  describe('bad archives leave the engine as it was', () => {
    const label = uniqueName('bad-archive');
    let archive: Buffer;
    let runnerConfig: string;

    beforeAll(async () => {
      const file = join(scratch.dir, 'good.tar');
      const variant = (await resolveHostNix({ variant: label })).nixPath;
      storePaths.push(variant);
      const built = await runCli(['image', 'build', '--store-path', variant, '--max-layers', '2', '-o', file, '--json']);
      expect(built.json.ok).toBe(true);
      archive = await readFile(file);
      runnerConfig = join(scratch.dir, 'config.toml');
      await writeFile(runnerConfig, '[[runners]]\n  name = "r"\n  executor = "docker"\n  [runners.docker]\n    image = "busybox"\n');
    });

    const provisionArchive = async (bytes: Buffer, name: string) => {
      const file = join(scratch.dir, name);
      await writeFile(file, bytes);
      return runCli(['provision', '--runner-config', runnerConfig, '--daemon', uniqueName('bad'), '--image-archive', file]);
    };

    it('a truncated archive: one line and a hint, exit 5', async () => {
      const before = await allImages();
      const result = await provisionArchive(archive.subarray(0, Math.floor(archive.length / 2)), 'truncated.tar');
      expect(result.exitCode).toBe(5);
      expectOneLineError(result.stderr, /not a docker image archive/);
      await expectImagesKept(before, label);
    });

    it('an archive with its manifest first but its layers cut or corrupt: the engine refuses, one line, exit 5', async () => {
      const entries = await readTar(archive);
      const reordered = async (mangle: (content: Buffer) => Buffer) => {
        const tar = pack();
        const order = [...entries.filter((entry) => entry.name.endsWith('.json')), ...entries.filter((entry) => !entry.name.endsWith('.json'))];
        for (const entry of order) {
          if (entry.type === 'directory') tar.entry({ name: entry.name, type: 'directory' });
          else tar.entry({ name: entry.name }, entry.name.endsWith('layer.tar') ? mangle(entry.content) : entry.content);
        }
        tar.finalize();
        const chunks: Buffer[] = [];
        for await (const chunk of tar as AsyncIterable<Buffer>) chunks.push(chunk);
        return Buffer.concat(chunks);
      };
      const before = await allImages();
      const cut = await reordered((content) => content);
      const truncated = await provisionArchive(cut.subarray(0, cut.length - 40_000_000 > 0 ? cut.length - 40_000_000 : Math.floor(cut.length * 0.7)), 'cut.tar');
      expect(truncated.exitCode).toBe(5);
      expectOneLineError(truncated.stderr, /the engine refused/);
      const corrupt = await provisionArchive(await reordered((content) => Buffer.concat([content.subarray(0, content.length - 1024), Buffer.alloc(1024, 0x55)])), 'corrupt.tar');
      expect(corrupt.exitCode).toBe(5);
      expectOneLineError(corrupt.stderr, /the engine refused/);
      await expectImagesKept(before, label);
    });
  });

  describe('--flake, offline, from a flake with no inputs', () => {
    it('loads a tarball result and writes it with -o', async () => {
      const label = uniqueName('flake');
      const ref = await writeImageFlake(join(scratch.dir, 'flake-ok'), { kind: 'tarball', label, tag: `nix-runner-test/flake:${label}` });
      const result = await runCli(['image', 'build', '--flake', ref, '--load', '--json'], NIX_ENV);
      expect(result.json).toMatchObject({ ok: true, action: 'loaded' });
      images.push(String(result.json.ref), `nix-runner-test/flake:${label}`);
      expect(await labelled(label)).toEqual([result.json.id]);
      const again = await runCli(['image', 'build', '--flake', ref, '--load', '--json'], NIX_ENV);
      expect(again.json).toMatchObject({ ok: true, action: 'present', id: result.json.id });
      const file = join(scratch.dir, 'flake.tar');
      const written = await runCli(['image', 'build', '--flake', ref, '-o', file, '--json'], NIX_ENV);
      expect(written.json).toMatchObject({ ok: true, action: 'written', file });
      expect((await readTar(await readFile(file))).map((entry) => entry.name)).toContain('manifest.json');
    });

    it('a failing nix build: one line naming the failure, exit 8, images as they were', async () => {
      const before = await allImages();
      const ref = await writeImageFlake(join(scratch.dir, 'flake-failing'), { kind: 'failing', label: 'unused', tag: 'unused:1' });
      const result = await runCli(['image', 'build', '--flake', ref, '--load'], NIX_ENV);
      expect(result.exitCode).toBe(8);
      expectOneLineError(result.stderr, /nix build .* failed: builder for .* failed with exit code 1: nix-runner test: the build fails on purpose/);
      await expectImagesKept(before);
    });

    it('a result that is no archive: one line, exit 5, images as they were', async () => {
      const label = uniqueName('garbage');
      const before = await allImages();
      const ref = await writeImageFlake(join(scratch.dir, 'flake-garbage'), { kind: 'garbage', label, tag: 'unused:1' });
      const result = await runCli(['image', 'build', '--flake', ref, '--load'], NIX_ENV);
      expect(result.exitCode).toBe(5);
      expectOneLineError(result.stderr, /the engine refused the image/);
      await expectImagesKept(before, label);
    });
  });
});
