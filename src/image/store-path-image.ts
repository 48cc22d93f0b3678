import type { EngineClient } from '../engine/engine-client.js';
import { nullLogger, type Logger } from '../log.js';
import { dumpRegistration, queryClosure } from '../nix-cli/closure.js';
import { nixPackageSettings } from '../nix-cli/package-settings.js';
import { renderNixConf } from '../daemon/nix-conf.js';
import { DEFAULT_MAX_LAYERS, type DaemonImageInput } from './archive/daemon-image-archive.js';
import { createLayerCache, type LayerCache } from './archive/layer-cache.js';
import { storePathImageTag } from './image-tag.js';
import { loadDaemonImage, type LoadOutcome } from './load-daemon-image.js';
import type { LoadProgress } from './load-progress.js';
import type { ResolvedImage } from './resolved-image.js';

export interface StorePathImageOptions {
  maxLayers?: number;
  dryRun?: boolean;
  logger?: Logger;
  progress?: LoadProgress;
  /** Default: the cache in ~/.cache/nix-runner/layers. */
  layerCache?: LayerCache;
  /** Leave out the layers the engine has (default true). */
  incremental?: boolean;
  /** More store paths to put in the image with their closures (tests and benchmarks). */
  extraPaths?: string[];
}

export interface StorePathImagePlan {
  nixPath: string;
  closure: string[];
  nixConf: string;
  maxLayers: number;
  /** Names the content: an image with this tag holds this very closure. */
  tag: string;
}

/** What the image of a store path's closure holds, known without packing a byte. */
export async function planStorePathImage(nixPath: string, { maxLayers = DEFAULT_MAX_LAYERS, extraPaths = [] }: Pick<StorePathImageOptions, 'maxLayers' | 'extraPaths'> = {}): Promise<StorePathImagePlan> {
  const closure = await queryClosure([nixPath, ...extraPaths]);
  const nixConf = renderNixConf(await nixPackageSettings(nixPath));
  return { nixPath, closure, nixConf, maxLayers, tag: storePathImageTag(closure, nixConf, maxLayers) };
}

export async function storePathImageInput(plan: StorePathImagePlan): Promise<DaemonImageInput> {
  const { nixPath, closure, nixConf, maxLayers, tag } = plan;
  return { nixPath, closure, nixConf, maxLayers, repoTag: tag, registration: await dumpRegistration(closure) };
}

/** The daemon image of a store path's closure, streamed into the engine unless an image of that content is there. */
export async function ensureStorePathImage(
  engine: EngineClient,
  nixPath: string,
  options: StorePathImageOptions = {},
): Promise<ResolvedImage & { load?: LoadOutcome }> {
  const plan = await planStorePathImage(nixPath, options);
  return ensurePlannedImage(engine, plan, options);
}

export async function ensurePlannedImage(
  engine: EngineClient,
  plan: StorePathImagePlan,
  { dryRun = false, logger = nullLogger, progress, layerCache = createLayerCache(), incremental }: StorePathImageOptions = {},
): Promise<ResolvedImage & { load?: LoadOutcome }> {
  const { tag, nixPath, closure } = plan;
  const present = await engine.inspectImage(tag);
  if (present) return { ref: tag, id: present.id, nixPath, action: 'present' };
  if (dryRun) return { ref: tag, nixPath, action: 'built' };

  const started = logger.start(`building ${tag} from ${closure.length} store paths`);
  const input = await storePathImageInput(plan);
  const load = await loadDaemonImage(engine, input, { layerCache, logger, progress, incremental });
  const how = load.mode === 'incremental' ? `${load.layersSent} of ${load.layersTotal} layers sent, the others were in the engine` : `all ${load.layersTotal} layers sent`;
  logger.stop(`loaded ${tag} (${how})`, started);
  return { ref: tag, id: load.imageId, nixPath, registration: input.registration, action: 'built', load };
}
