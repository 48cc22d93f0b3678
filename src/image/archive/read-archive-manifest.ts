import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { extract as createExtract } from 'tar-stream';
import { UserError, errorMessage } from '../../errors.js';
import { writeChunk } from './stream-wait.js';

export interface ArchiveManifest {
  repoTags: string[];
  /** 'sha256:<hex>' of the config bytes: the image id the engine will give it. */
  configDigest: string;
  config: unknown;
  /** Layer file names inside the archive, as manifest.json lists them. */
  layers: string[];
}

// Configs are a few KB; this only bounds what a hostile archive can make us buffer.
const MAX_JSON = 16 * 1024 * 1024;
const HINT = 'give a `docker save` archive (plain or gzip), e.g. one written by `nix-runner image build -o FILE`';

class NotAnArchive extends Error {}

/**
 * Reads manifest.json and the image config of a docker-archive, plain or gzip, wherever in the tar they are.
 * Stops reading (and destroys `input`) as soon as both are known.
 */
export async function readArchiveManifest(input: Readable): Promise<ArchiveManifest> {
  const extract = createExtract();
  const gunzip = createGunzip();
  let inputError: unknown;
  input.on('error', (error: unknown) => {
    inputError ??= error;
    extract.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  gunzip.on('error', (error: unknown) => extract.destroy(new NotAnArchive(`bad gzip data: ${errorMessage(error)}`)));
  const feeding = feed(input, gunzip, extract);
  feeding.catch((error: unknown) => extract.destroy(error instanceof Error ? error : new Error(String(error))));
  try {
    return await scan(extract);
  } catch (error: unknown) {
    if (inputError !== undefined) throw inputError;
    if (error instanceof UserError) throw error;
    throw new UserError('image', `not a docker image archive: ${errorMessage(error)}`, HINT, { cause: error });
  } finally {
    input.destroy();
    gunzip.destroy();
    extract.destroy();
  }
}

// Sniffs the gzip magic in the first bytes, then feeds the tar parser, through gunzip when needed.
async function feed(input: Readable, gunzip: NodeJS.ReadWriteStream, extract: ReturnType<typeof createExtract>): Promise<void> {
  let head = Buffer.alloc(0);
  let target: 'tar' | 'gzip' | undefined;
  const pipeGunzip = (async () => {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) await writeChunk(extract, chunk);
  })();
  pipeGunzip.catch(() => {});
  const send = async (chunk: Buffer) => {
    if (target === 'gzip') await writeChunk(gunzip, chunk);
    else await writeChunk(extract, chunk);
  };
  for await (const chunk of input as AsyncIterable<Buffer>) {
    if (target) {
      await send(chunk);
      continue;
    }
    head = Buffer.concat([head, chunk]);
    if (head.length < 2) continue;
    target = head[0] === 0x1f && head[1] === 0x8b ? 'gzip' : 'tar';
    await send(head);
  }
  if (!target && head.length > 0) {
    target = 'tar';
    await send(head);
  }
  if (target === 'gzip') {
    gunzip.end();
    await pipeGunzip;
  }
  extract.end(null);
}

async function scan(extract: ReturnType<typeof createExtract>): Promise<ArchiveManifest> {
  const jsonFiles = new Map<string, Buffer>();
  let manifest: { configName: string; repoTags: string[]; layers: string[] } | undefined;
  for await (const entry of extract) {
    const { name, size, type } = entry.header;
    const wanted = type === 'file' && size <= MAX_JSON && (manifest ? name === manifest.configName : name === 'manifest.json' || name.endsWith('.json') || name.startsWith('blobs/'));
    if (!wanted) {
      entry.resume();
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    if (name === 'manifest.json' && !manifest) manifest = parseManifest(bytes);
    else jsonFiles.set(name, bytes);
    const config = manifest && jsonFiles.get(manifest.configName);
    if (manifest && config) return result(manifest, config);
  }
  if (!manifest) throw new NotAnArchive('no manifest.json');
  throw new NotAnArchive(`no ${manifest.configName}, the config manifest.json names`);
}

function parseManifest(bytes: Buffer): { configName: string; repoTags: string[]; layers: string[] } {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error: unknown) {
    throw new NotAnArchive(`manifest.json is not JSON: ${errorMessage(error)}`);
  }
  const first: unknown = Array.isArray(value) ? value[0] : undefined;
  if (typeof first !== 'object' || first === null) throw new NotAnArchive('manifest.json lists no image');
  const { Config, RepoTags, Layers } = first as Record<string, unknown>;
  if (typeof Config !== 'string') throw new NotAnArchive('manifest.json has no Config');
  const strings = (list: unknown) => (Array.isArray(list) ? list.filter((item): item is string => typeof item === 'string') : []);
  return { configName: Config, repoTags: strings(RepoTags), layers: strings(Layers) };
}

function result(manifest: { configName: string; repoTags: string[]; layers: string[] }, config: Buffer): ArchiveManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(config.toString('utf8'));
  } catch (error: unknown) {
    throw new NotAnArchive(`${manifest.configName} is not JSON: ${errorMessage(error)}`);
  }
  return {
    repoTags: manifest.repoTags,
    configDigest: `sha256:${createHash('sha256').update(config).digest('hex')}`,
    config: parsed,
    layers: manifest.layers,
  };
}
