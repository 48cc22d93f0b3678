import { EngineClient } from '../engine/engine-client.js';
import type { EngineTimeouts } from '../engine/engine-timeouts.js';
import { UserError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { writeDaemonImageArchive } from './archive/daemon-image-archive.js';
import { createLayerCache } from './archive/layer-cache.js';
import { writeChunk } from './archive/stream-wait.js';
import { buildFlake, ensureFlakeImage, openFlakeResult } from './flake-image.js';
import type { LoadOutcome } from './load-daemon-image.js';
import { nullProgress, type LoadProgress } from './load-progress.js';
import { ensurePlannedImage, planStorePathImage, storePathImageInput } from './store-path-image.js';
import { writeFileAtomically } from './write-archive-file.js';
import { describeSource, sourceNixPath, type BuildSource } from './image-source.js';

export type { BuildSource } from './image-source.js';

export type BuildTarget = { kind: 'file'; file: string } | { kind: 'load'; dockerHost?: string; timeouts?: EngineTimeouts };

export interface BuildOptions {
  maxLayers?: number;
  logger?: Logger;
  progress?: LoadProgress;
}

export interface BuildResult {
  ok: true;
  source: string;
  /** The image's tag (the engine's when loaded, the archive's RepoTags otherwise). */
  ref: string;
  /** Image id: the config digest. Unknown for a flake archive written to a file. */
  id?: string;
  nixPath?: string;
  /** present: the engine had the image, nothing was sent. */
  action: 'written' | 'loaded' | 'present';
  file?: string;
  layersSent?: number;
  layersTotal?: number;
  bytesSent?: number;
  mode?: LoadOutcome['mode'];
  fallback?: string;
}

/** `nix-runner image build`: the same image provision would use, loaded into the engine or written to a file. */
export async function buildImage(source: BuildSource, target: BuildTarget, { maxLayers, logger = nullLogger, progress = nullProgress }: BuildOptions = {}): Promise<BuildResult> {
  const base = { ok: true as const, source: describeSource(source) };
  if (source.kind === 'flake') {
    if (target.kind === 'load') {
      const engine = await EngineClient.connect(target.dockerHost, logger, target.timeouts);
      const image = await ensureFlakeImage(engine, source.ref, { logger });
      return { ...base, ref: image.ref, id: image.id, action: image.action === 'present' ? 'present' : 'loaded' };
    }
    const result = await buildFlake(source.ref);
    await writeFileAtomically(target.file, async (out) => {
      const { stream, finished } = await openFlakeResult(result);
      for await (const chunk of stream as AsyncIterable<Buffer>) await writeChunk(out, chunk);
      out.end();
      await finished;
    });
    return { ...base, ref: result, action: 'written', file: target.file };
  }

  const nixPath = await sourceNixPath(source, logger);
  const plan = await planStorePathImage(nixPath, { maxLayers });
  if (target.kind === 'load') {
    const engine = await EngineClient.connect(target.dockerHost, logger, target.timeouts);
    const image = await ensurePlannedImage(engine, plan, { logger, progress });
    const load = image.load;
    return {
      ...base, ref: image.ref, id: image.id, nixPath, action: image.action === 'present' ? 'present' : 'loaded',
      layersSent: load?.layersSent ?? 0, layersTotal: load?.layersTotal, bytesSent: load?.bytesSent ?? 0, mode: load?.mode, ...(load?.fallback ? { fallback: load.fallback } : {}),
    };
  }
  const input = await storePathImageInput(plan);
  const started = logger.start(`writing ${target.file} from ${plan.closure.length} store paths`);
  let bytes = 0;
  const written = await writeFileAtomically(
    target.file,
    (out) => writeDaemonImageArchive(input, out, { layerCache: createLayerCache(), logger, onLayer: (event) => progress.layer(event) }),
    (count) => {
      bytes += count;
      progress.bytes(count);
    },
  );
  progress.done();
  logger.stop(`wrote ${target.file} (${written.layers.length} layers)`, started);
  return { ...base, ref: plan.tag, id: written.imageId, nixPath, action: 'written', file: target.file, layersTotal: written.layers.length, bytesSent: bytes };
}

export function buildTarget(output: string | undefined, load: boolean | undefined, dockerHost?: string, timeouts?: EngineTimeouts): BuildTarget {
  if (output && load) throw new UserError('usage', 'give -o FILE or --load, not both', 'nix-runner image build --load, or nix-runner image build -o daemon.tar');
  if (output) return { kind: 'file', file: output };
  if (load) return { kind: 'load', dockerHost, ...(timeouts ? { timeouts } : {}) };
  throw new UserError('usage', 'say where the image goes: -o FILE or --load', 'nix-runner image build --load streams it into the engine; -o FILE writes a docker-archive');
}
