import { Transform } from 'node:stream';
import type { EngineClient } from '../engine/engine-client.js';
import { UserError, errorMessage, isUserError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { chainIds } from './archive/chain-id.js';
import { writeDaemonImageArchive, type ArchiveResult, type DaemonImageInput } from './archive/daemon-image-archive.js';
import type { LayerCache } from './archive/layer-cache.js';
import { LABEL_NIX } from '../names/daemon-names.js';
import { nullProgress, type LoadProgress } from './load-progress.js';

export interface LoadOutcome {
  imageId: string;
  layersSent: number;
  layersTotal: number;
  /** Archive bytes streamed into the engine. */
  bytesSent: number;
  /** 'incremental': layer tars the engine had were left out; 'full': every layer was sent. */
  mode: 'incremental' | 'full';
  /** Why a first, incremental attempt was given up for a full one. */
  fallback?: string;
}

export interface LoadOptions {
  layerCache?: LayerCache;
  logger?: Logger;
  progress?: LoadProgress;
  /** Leave out the layers the engine has (default true). */
  incremental?: boolean;
}

/** Chain ids of the layer stacks of the images nix-runner loaded before (labelled org.nix-runner.nix). */
export async function engineChainIds(engine: EngineClient): Promise<Set<string>> {
  const chains = new Set<string>();
  for (const id of await engine.listImageIds({ label: [LABEL_NIX] })) {
    for (const chain of chainIds((await engine.imageLayers(id)) ?? [])) chains.add(chain);
  }
  return chains;
}

/**
 * Streams the daemon image into the engine, leaving out the layers it has. Docker (20.10 measured) looks a
 * layer up by chain id before opening its tar; an engine that does not (or an image removed meanwhile) refuses
 * the archive, and then every layer is sent.
 */
export async function loadDaemonImage(engine: EngineClient, input: DaemonImageInput, options: LoadOptions = {}): Promise<LoadOutcome> {
  const { logger = nullLogger } = options;
  const chains = options.incremental === false || !engine.loadsPartialArchives() ? new Set<string>() : await engineChainIds(engine);
  try {
    return await attempt(engine, input, chains, options);
  } catch (error: unknown) {
    if (chains.size === 0 || !(error instanceof EngineRefused)) throw unwrap(error);
    const reason = errorMessage(error.cause);
    logger.warn(`the engine refused the image without the layers it has (${reason}); sending every layer`);
    return { ...(await attempt(engine, input, new Set(), options).catch((again: unknown) => Promise.reject(unwrap(again)))), fallback: reason };
  }
}

class EngineRefused extends Error {}

function unwrap(error: unknown): unknown {
  if (!(error instanceof EngineRefused)) return error;
  return new UserError('image', `the engine refused the image: ${errorMessage(error.cause).split('\n')[0]}`, 'check the engine with `docker info`, and its free disk space', { cause: error.cause });
}

async function attempt(engine: EngineClient, input: DaemonImageInput, engineChains: Set<string>, { layerCache, logger, progress = nullProgress }: LoadOptions): Promise<LoadOutcome> {
  let bytesSent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytesSent += chunk.length;
      progress.bytes(chunk.length);
      callback(null, chunk);
    },
  });
  const written = writeDaemonImageArchive(input, counter, { layerCache, logger, engineChains, onLayer: (event) => progress.layer(event) });
  const loaded = engine.loadImage(counter);
  // an engine that stops reading would leave the writer waiting for 'drain' forever
  loaded.catch((error: unknown) => counter.destroy(error instanceof Error ? error : new Error(String(error))));
  const [write, load] = await Promise.allSettled([written, loaded]);
  progress.done();
  // An engine that stalled or went away (an engine UserError) cut the archive short: that is the news,
  // unless the writer's own failure is what ended the load.
  if (load.status === 'rejected' && isUserError(load.reason) && !(write.status === 'rejected' && [load.reason, load.reason.cause].includes(write.reason))) throw load.reason;
  // A writer failure (a store path missing or changed) explains the engine's complaint about a cut archive.
  if (write.status === 'rejected') throw write.reason;
  if (load.status === 'rejected') {
    throw new EngineRefused(errorMessage(load.reason), { cause: load.reason });
  }
  return outcome(write.value, bytesSent);
}

function outcome(result: ArchiveResult, bytesSent: number): LoadOutcome {
  const layersSent = result.layers.filter((layer) => layer.sent).length;
  return { imageId: result.imageId, layersSent, layersTotal: result.layers.length, bytesSent, mode: layersSent < result.layers.length ? 'incremental' : 'full' };
}

