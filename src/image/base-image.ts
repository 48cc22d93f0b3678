import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pack as createPack } from 'tar-stream';
import type { EngineClient } from '../engine/engine-client.js';
import { nullLogger, type Logger } from '../log.js';
import { LABEL_BASE } from '../names/daemon-names.js';
import { baseLayerEntries } from './archive/base-layer.js';
import { goArchitecture, imageConfigJson, manifestJson } from './archive/image-config.js';
import { EPOCH, packLayer } from './archive/layer-tar.js';
import type { ResolvedImage } from './resolved-image.js';

export const BASE_IMAGE_REPO = 'nix-runner/base';

export interface BaseImageArchive {
  /** A docker-archive of one small layer: a few kilobytes, held in memory. */
  bytes: Buffer;
  imageId: string;
  /** Names the content, so that the engine is asked for it before anything is sent. */
  tag: string;
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * The image every store-path daemon runs from, whatever its nix: /etc with root and the build users,
 * /tmp, root's home and nix's state dirs, and no store content (the store volume brings nix, see
 * daemon/deliver-store-paths.ts). Deterministic: the same bytes, hence the same image id, on every host
 * and for every nix version, so a new nix never needs a new image.
 */
export async function baseImageArchive(): Promise<BaseImageArchive> {
  const layer = await collect(packLayer({ kind: 'fixed', entries: baseLayerEntries() }) as AsyncIterable<Buffer>);
  const layerHex = sha256Hex(layer);
  const config = imageConfigJson({
    architecture: goArchitecture(),
    labels: { [LABEL_BASE]: 'true' },
    diffIds: [`sha256:${layerHex}`],
    history: ['nix-runner: /etc with the build users, /tmp, nix state dirs'],
  });
  const configHex = sha256Hex(config);
  const tag = `${BASE_IMAGE_REPO}:${configHex.slice(0, 20)}`;
  const archive = createPack();
  const header = (name: string, size: number) => ({ name, size, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: EPOCH });
  const files: [string, Buffer][] = [
    [`${layerHex}/layer.tar`, layer],
    [`${configHex}.json`, Buffer.from(config)],
    ['manifest.json', Buffer.from(manifestJson(`${configHex}.json`, tag, [`${layerHex}/layer.tar`]))],
  ];
  for (const [name, content] of files) archive.entry(header(name, content.length), content);
  archive.finalize();
  return { bytes: await collect(archive as AsyncIterable<Buffer>), imageId: `sha256:${configHex}`, tag };
}

/** The base image in the engine: loaded (a few kilobytes) when it is not there yet. */
export async function ensureBaseImage(engine: EngineClient, { dryRun = false, logger = nullLogger }: { dryRun?: boolean; logger?: Logger } = {}): Promise<ResolvedImage> {
  const { bytes, imageId, tag } = await baseImageArchive();
  const present = await engine.inspectImage(tag);
  if (present) return { ref: tag, id: present.id, action: 'present' };
  if (dryRun) return { ref: tag, id: imageId, action: 'loaded' };
  await engine.loadImage(Readable.from([bytes]));
  logger.debug(`loaded ${tag} (${bytes.length} bytes)`);
  return { ref: tag, id: imageId, action: 'loaded' };
}

function sha256Hex(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}
