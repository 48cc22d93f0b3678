import { createHash } from 'node:crypto';
import { basename, join } from 'node:path';
import { pack as createPack, type Pack } from 'tar-stream';
import { UserError, errorMessage } from '../../errors.js';
import { nullLogger, type Logger } from '../../log.js';
import { baseLayerEntries } from './base-layer.js';
import { goArchitecture, imageConfigJson, manifestJson } from './image-config.js';
import { nextChainId } from './chain-id.js';
import { layerCacheKey, type LayerCache, type LayerCacheEntry } from './layer-cache.js';
import { EPOCH, changedError, packLayer, statStorePath, type LayerContent } from './layer-tar.js';
import { endAndFinish, entryDone, writeChunk } from './stream-wait.js';
import { registrationRecords } from '../../nix-cli/closure.js';
import { layerOrder } from './layer-order.js';
import { LABEL_NIX } from '../../names/daemon-names.js';

export interface DaemonImageInput {
  /** Store path of the daemon's nix; has bin/nix-daemon. */
  nixPath: string;
  /** Store paths, in `nix-store -qR` order (dependencies first). */
  closure: string[];
  /** `nix-store --dump-db <closure>` text, stored in the image as /nix-runner/registration. */
  registration: string;
  /** Whole nix.conf text, stored as /etc/nix/nix.conf. */
  nixConf: string;
  /** e.g. 'nix-runner/nix-daemon:abc123' */
  repoTag: string;
  /** Merged with { 'org.nix-runner.nix': nixPath }. */
  labels?: Record<string, string>;
  /** Default 100, the small layer included; the tail of the closure is merged into one layer. */
  maxLayers?: number;
  /** Where to read store paths from on this host. */
  storeDir?: string;
}

export interface ArchiveLayer {
  diffId: string;
  /** Store paths in the layer; empty for the small last layer. */
  paths: string[];
  size: number;
  /** False when the layer tar was left out because the engine has its chain already. */
  sent: boolean;
}

export interface ArchiveResult {
  /** 'sha256:<hex of the config json>' */
  imageId: string;
  diffIds: string[];
  layers: ArchiveLayer[];
}

export interface WriteArchiveOptions {
  layerCache?: LayerCache;
  signal?: AbortSignal;
  logger?: Logger;
  /**
   * Chain ids of layers the engine has. Their layer tars are left out of the archive (manifest.json still lists
   * them): docker's load looks a layer up by chain id before it opens the file.
   */
  engineChains?: ReadonlySet<string>;
  /** Told before each layer is measured and after it is written or skipped. */
  onLayer?: (event: LayerEvent) => void;
}

export interface LayerEvent {
  phase: 'start' | 'done';
  index: number;
  total: number;
  paths: string[];
  size?: number;
  sent?: boolean;
}

export const DEFAULT_MAX_LAYERS = 100;

export interface PlannedLayer {
  paths: string[];
  content: LayerContent;
  cacheKey?: string;
  history: string;
}

/**
 * Streams a docker-archive (docker save / docker load format) of the daemon image into `out`, then ends it.
 * Each layer is packed twice, once to learn its size and digest for the tar header and once into the archive,
 * so nothing larger than a read buffer is ever held in memory. Config and manifest.json come last.
 */
export async function writeDaemonImageArchive(
  input: DaemonImageInput,
  out: NodeJS.WritableStream,
  { layerCache, signal, logger = nullLogger, engineChains, onLayer }: WriteArchiveOptions = {},
): Promise<ArchiveResult> {
  const archive = createPack();
  // copyToOut's iterator reports the error
  archive.on('error', () => {});
  // Aborted on the first failure anywhere, so that a layer being measured stops too.
  const stop = new AbortController();
  let firstError: unknown;
  const fail = (error: unknown) => {
    if (firstError !== undefined) return;
    firstError = error;
    stop.abort(error);
    archive.destroy(error instanceof Error ? error : new Error(String(error)));
  };
  const onOutError = (error: unknown) => fail(error);
  const onAbort = () => fail(signal?.reason ?? new Error('aborted'));
  out.on('error', onOutError);
  signal?.addEventListener('abort', onAbort);
  if (signal?.aborted) onAbort();

  const produced = (async () => {
    const storeDir = input.storeDir ?? '/nix/store';
    const plan = planLayers(input);
    await checkClosure(input, storeDir);
    const result = await fillArchive(archive, input, plan, { layerCache, signal: stop.signal, logger, engineChains, onLayer });
    archive.finalize();
    return result;
  })();
  produced.catch(fail);
  const consumed = copyToOut(archive, out);
  consumed.catch(fail);
  try {
    await Promise.allSettled([produced, consumed]);
    if (firstError === undefined) return await produced;
    // A half-written archive must not look complete to whoever reads `out`.
    const destroyable = out as NodeJS.WritableStream & { destroy?: (error?: Error) => void };
    destroyable.destroy?.(firstError instanceof Error ? firstError : undefined);
    throw firstError;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    out.removeListener('error', onOutError);
    // a late error from a stream we destroyed must not crash the process
    if (firstError !== undefined) out.on('error', () => {});
  }
}

async function copyToOut(archive: Pack, out: NodeJS.WritableStream): Promise<void> {
  for await (const chunk of archive as AsyncIterable<Buffer>) await writeChunk(out, chunk);
  await endAndFinish(out);
}

export function planLayers(input: DaemonImageInput): PlannedLayer[] {
  const maxLayers = input.maxLayers ?? DEFAULT_MAX_LAYERS;
  if (!Number.isInteger(maxLayers) || maxLayers < 2) {
    throw new UserError('image', `max layers must be an integer of at least 2, not ${maxLayers}`, 'one layer per store path needs room for at least one store layer and the small layer');
  }
  if (input.closure.length === 0) throw new UserError('image', 'the closure is empty', 'pass the store paths of `nix-store -qR <nix>`');
  const storeDir = input.storeDir ?? '/nix/store';
  const seen = new Set<string>();
  for (const path of input.closure) {
    if (seen.has(basename(path))) throw new UserError('image', `store path ${path} appears twice in the closure`, 'pass the output of `nix-store -qR` as is');
    seen.add(basename(path));
  }
  if (!seen.has(basename(input.nixPath))) {
    throw new UserError('image', `the closure does not contain nix ${input.nixPath}`, 'pass the closure of the nix store path itself (nix-store -qR NIX)');
  }
  const storeLayer = (paths: string[], history: string): PlannedLayer => {
    const names = paths.map((path) => basename(path));
    return { paths, content: { kind: 'store', storeDir, names }, cacheKey: layerCacheKey(names), history };
  };
  const ordered = layerOrder(input.closure, registrationRecords(input.registration), input.nixPath);
  const storeLayers = ordered.length + 1 > maxLayers ? maxLayers - 2 : ordered.length;
  const layers = ordered.slice(0, storeLayers).map((path) => storeLayer([path], `nix-runner: ${path}`));
  const tail = ordered.slice(storeLayers);
  if (tail.length > 0) layers.push(storeLayer(tail, `nix-runner: ${tail.length} store paths merged`));
  layers.push({
    paths: [],
    content: { kind: 'fixed', entries: baseLayerEntries(input) },
    history: 'nix-runner: /etc, /tmp, nix state dirs, db registration',
  });
  return layers;
}

// Fails before the first byte is sent when the closure is not all there, so the engine never sees half an image.
async function checkClosure(input: DaemonImageInput, storeDir: string): Promise<void> {
  for (const path of input.closure) await statStorePath(join(storeDir, basename(path)), storeDir);
  const daemon = join(storeDir, basename(input.nixPath), 'bin', 'nix-daemon');
  await statStorePath(daemon, storeDir).catch((error: unknown) => {
    throw new UserError('image', `${input.nixPath} has no bin/nix-daemon`, 'pass the store path of a nix package', { cause: error });
  });
}

async function fillArchive(archive: Pack, input: DaemonImageInput, plan: PlannedLayer[], options: WriteArchiveOptions): Promise<ArchiveResult> {
  const layers: ArchiveLayer[] = [];
  let chainId: string | undefined;
  for (const [index, layer] of plan.entries()) {
    options.signal?.throwIfAborted();
    const event = { index, total: plan.length, paths: layer.paths };
    options.onLayer?.({ ...event, phase: 'start' });
    const measured = await measureLayer(layer, options);
    chainId = nextChainId(chainId, measured.diffId);
    const sent = !options.engineChains?.has(chainId);
    if (sent) await writeLayer(archive, layer, measured, options);
    layers.push({ diffId: measured.diffId, paths: layer.paths, size: measured.size, sent });
    options.onLayer?.({ ...event, phase: 'done', size: measured.size, sent });
  }
  const diffIds = layers.map((layer) => layer.diffId);
  const config = imageConfigJson({
    architecture: goArchitecture(),
    nixPath: input.nixPath,
    labels: { ...input.labels, [LABEL_NIX]: input.nixPath },
    diffIds,
    history: plan.map((layer) => layer.history),
  });
  const configHex = sha256Hex(config);
  await addFile(archive, `${configHex}.json`, config);
  await addFile(archive, 'manifest.json', manifestJson(`${configHex}.json`, input.repoTag, diffIds.map(layerName)));
  return { imageId: `sha256:${configHex}`, diffIds, layers };
}

async function measureLayer(layer: PlannedLayer, { layerCache, signal, logger = nullLogger }: WriteArchiveOptions): Promise<LayerCacheEntry> {
  if (layer.cacheKey && layerCache) {
    const cached = await layerCache.get(layer.cacheKey);
    if (cached) return cached;
  }
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of packLayer(layer.content, signal) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  const entry = { diffId: `sha256:${hash.digest('hex')}`, size };
  if (layer.cacheKey && layerCache) {
    await layerCache.set(layer.cacheKey, entry).catch((error: unknown) => logger.debug(`layer cache not written: ${errorMessage(error)}`));
  }
  return entry;
}

// The second packing must give the very bytes measured: the tar header already promised their size and digest.
async function writeLayer(archive: Pack, layer: PlannedLayer, expected: LayerCacheEntry, { layerCache, signal }: WriteArchiveOptions): Promise<void> {
  const { callback, done } = entryDone();
  const sink = archive.entry({ ...entryHeader(layerName(expected.diffId)), size: expected.size }, callback);
  sink.on('error', () => {});
  const hash = createHash('sha256');
  let size = 0;
  const mismatch = async () => {
    if (layer.cacheKey && layerCache) await layerCache.delete(layer.cacheKey);
    return changedError(layer.paths.length === 1 ? layer.paths[0]! : `a layer of ${layer.paths.length} store paths`);
  };
  for await (const chunk of packLayer(layer.content, signal) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > expected.size) throw await mismatch();
    hash.update(chunk);
    await writeChunk(sink, chunk);
  }
  if (size !== expected.size || `sha256:${hash.digest('hex')}` !== expected.diffId) throw await mismatch();
  sink.end(null);
  await done;
}

async function addFile(archive: Pack, name: string, content: string): Promise<void> {
  const { callback, done } = entryDone();
  archive.entry(entryHeader(name), Buffer.from(content), callback).on('error', () => {});
  await done;
}

function entryHeader(name: string) {
  return { name, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: EPOCH };
}

function layerName(diffId: string): string {
  return `${diffId.slice('sha256:'.length)}/layer.tar`;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
