import { createHash } from 'node:crypto';
import { pack as createPack } from 'tar-stream';
import { canonicalJson, CREATED, goArchitecture, manifestJson } from './image-config.js';
import { EPOCH, packLayer, type LayerEntry } from './layer-tar.js';

export interface SmallImage {
  /** A docker-archive of one small layer, held in memory. */
  bytes: Buffer;
  /** sha256:<hex of the config>: the same entries and config always give the same id. */
  imageId: string;
  configHex: string;
}

export interface SmallImageConfig {
  labels: Record<string, string>;
  env?: string[];
  cmd?: string[];
  history: string;
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const sha256Hex = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');

/**
 * A docker-archive of one layer of fixed entries (a few KB): nix-runner's base image and its job images.
 * Deterministic: sorted JSON, fixed times, uid 0. `repoTag` may depend on the config digest.
 */
export async function smallImageArchive(entries: LayerEntry[], config: SmallImageConfig, repoTag: (configHex: string) => string): Promise<SmallImage & { tag: string }> {
  const layer = await collect(packLayer({ kind: 'fixed', entries }) as AsyncIterable<Buffer>);
  const layerHex = sha256Hex(layer);
  const json = canonicalJson({
    architecture: goArchitecture(),
    config: { Labels: config.labels, ...(config.env ? { Env: config.env } : {}), ...(config.cmd ? { Cmd: config.cmd } : {}) },
    created: CREATED,
    history: [{ created: CREATED, created_by: config.history }],
    os: 'linux',
    rootfs: { diff_ids: [`sha256:${layerHex}`], type: 'layers' },
  });
  const configHex = sha256Hex(json);
  const tag = repoTag(configHex);
  const archive = createPack();
  const header = (name: string, size: number) => ({ name, size, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: EPOCH });
  const files: [string, Buffer][] = [
    [`${layerHex}/layer.tar`, layer],
    [`${configHex}.json`, Buffer.from(json)],
    ['manifest.json', Buffer.from(manifestJson(`${configHex}.json`, tag, [`${layerHex}/layer.tar`]))],
  ];
  for (const [name, content] of files) archive.entry(header(name, content.length), content);
  archive.finalize();
  return { bytes: await collect(archive as AsyncIterable<Buffer>), imageId: `sha256:${configHex}`, configHex, tag };
}
