import { mkdir } from 'node:fs/promises';
import type { ProvisionSettings } from '../config/schema.js';
import { cacheNixSettings, daemonCache } from '../daemon/binary-cache.js';
import type { DaemonOutcome } from '../daemon/daemon-outcome.js';
import { LABEL_JOB_IMAGE, newGenerationId } from '../names/daemon-names.js';
import { ensureDaemonVolumes } from '../daemon/ensure-volumes.js';
import { fillStore, type StoreSupply } from '../daemon/fill-store.js';
import { planDaemon } from '../daemon/plan-daemon.js';
import { startGeneration } from '../daemon/start-generation.js';
import type { PendingSwap } from '../daemon/daemon-swap.js';
import type { DaemonInputs, DaemonLimits } from '../daemon/daemon-spec.js';
import { daemonLimits } from '../daemon/daemon-limits.js';
import { resolveEngineAddress } from '../engine/engine-address.js';
import { EngineClient } from '../engine/engine-client.js';
import { engineTimeouts } from '../engine/engine-timeouts.js';
import { readImageRegistration } from '../image/image-registration.js';
import { queryClosure } from '../nix-cli/closure.js';
import { nixPackageSettings } from '../nix-cli/package-settings.js';
import { removeLeftovers } from '../leftovers/leftovers.js';
import { trustWarnings } from './trust-warnings.js';
import { resolveDaemonImage } from '../image/resolve-daemon-image.js';
import { describeSource, type ImageSource } from '../image/image-source.js';
import type { LoadProgress } from '../image/load-progress.js';
import type { ResolvedImage } from '../image/resolved-image.js';
import { nullLogger, type Logger } from '../log.js';
import { applyRunnerConfig } from '../runner-config/apply.js';
import { readDeclaredRunners } from '../runner-config/read-declarations.js';
import { jobSettings } from './job-settings.js';
import { withProvisionLock } from './provision-lock.js';
import { jobImageWarnings, releaseJobImages, syncJobImages, type JobImagesResult } from './job-images-step.js';
import type { TidiedJobImages } from '../daemon/job-image-roots.js';
import { UserError } from '../errors.js';
import { runnerImages } from '../runner-config/runner-images.js';

export interface ProvisionResult {
  ok: true;
  changed: boolean;
  dryRun: boolean;
  daemon: Omit<DaemonOutcome, 'image' | 'nix'> & { image: string; nix?: string; sandbox: boolean; limits: DaemonLimits };
  image: ResolvedImage;
  runners: string[];
  runnerConfig: { path: string; changed: boolean; diff: string };
  /** What killed runs had left behind (helpers, an interrupted generation, its socket volume): removed first. */
  leftovers: string[];
  /** What the trust model cannot hold with these settings (trust-warnings.ts). */
  warnings: string[];
  /** The declared job images (jobImages), and the profiles of images no longer declared, released. */
  jobImages?: JobImagesResult;
}

// In a dry run whose image is not loaded yet, its nix is unknown: the diff shows this in its place.
const UNKNOWN_NIX = '/nix/store/<nix of the daemon image, known once it is loaded>';

export function imageSource(settings: ProvisionSettings): ImageSource {
  if (settings.imageRef) return { kind: 'ref', ref: settings.imageRef };
  if (settings.imageArchive) return { kind: 'archive', file: settings.imageArchive };
  if (settings.imageStorePath) return { kind: 'store-path', path: settings.imageStorePath };
  if (settings.imageFlake) return { kind: 'flake', ref: settings.imageFlake };
  return { kind: 'host-nix' };
}

export interface ProvisionOptions {
  dryRun?: boolean;
  logger?: Logger;
  /** Told how an image load goes (layers, bytes). */
  progress?: LoadProgress;
}

/** The runners step: config.toml's attached runners, against the daemon whose nix is `nix`. */
interface RunnerConfigStep {
  /** Checks config.toml before the engine is touched: bad runner names or a broken file fail first. */
  check(): Promise<unknown>;
  /** Writes it (a no-op when nothing changes); `beforeRename` runs once the new text is on disk, before the rename. */
  write(nix: string, options: { dryRun: boolean; beforeRename?: () => Promise<void> }): ReturnType<typeof applyRunnerConfig>;
}

function runnerConfigStep(settings: ProvisionSettings, declared: Awaited<ReturnType<typeof readDeclaredRunners>> | undefined, logger: Logger): RunnerConfigStep {
  const apply = (nix: string, dryRun: boolean, extra: { diff?: boolean; beforeRename?: () => Promise<void> }) =>
    applyRunnerConfig({
      path: settings.runnerConfig,
      runners: settings.runners,
      declared,
      // the jobs' engine must be the daemon's: a runner's own host is checked, a missing one written when needed
      managed: {
        ...jobSettings(settings.daemon, nix, { cache: settings.cache !== undefined }),
        engineHost: resolveEngineAddress(settings.dockerHost).display,
        ...(settings.jobImages ? { jobImageTags: settings.jobImages.map((job) => job.tag) } : {}),
      },
      dryRun,
      logger,
      ...extra,
    });
  return {
    // its diff (against a placeholder nix) is never shown, and takes seconds on a large file
    check: () => apply(UNKNOWN_NIX, true, { diff: false }),
    write: (nix, { dryRun, beforeRename }) => apply(nix, dryRun, beforeRename ? { beforeRename } : {}),
  };
}

/**
 * The steps of DESIGN.md: image → daemon (keep the running one, or: volumes → store → new generation)
 * → config.toml. Everything that can fail is done before the swap: the new daemon answers under another
 * name and config.toml's new text is written to its temp file (room on disk, permissions); only then
 * does the new daemon take the name, and config.toml is renamed over. If that fails, the old daemon gets
 * its name back: config.toml and the daemon always agree.
 */
export async function provision(settings: ProvisionSettings, { dryRun = false, logger = nullLogger, progress }: ProvisionOptions = {}): Promise<ProvisionResult> {
  // Bad runner names, a broken config.toml or a bad token file fail here, before the engine is touched.
  const declared = settings.declaredRunners && (await readDeclaredRunners(settings.declaredRunners, { logger }));
  const runnerConfig = runnerConfigStep(settings, declared, logger);
  await runnerConfig.check();
  const engine = await EngineClient.connect(settings.dockerHost, logger, engineTimeouts(settings));
  const run = () => provisionSteps(engine, settings, runnerConfig, { dryRun, logger, ...(progress ? { progress } : {}) });
  return dryRun ? run() : withProvisionLock(settings.daemon, logger, run);
}

/** config.toml is written with the swap at its commit point (a no-op when nothing changes), then the old generation retires. */
async function commitDaemon<T>(pending: PendingSwap | undefined, write: () => Promise<T>): Promise<T> {
  let written: T;
  try {
    written = await write();
    // config.toml needed no change (e.g. the same nix in a new container): the swap is still to do.
    await pending?.swap();
  } catch (error: unknown) {
    await pending?.abandon();
    throw error;
  }
  await pending?.finish();
  return written;
}

/** What the daemon of this image is: its inputs, and where its store gets the nix's closure from. */
async function daemonInputs(engine: EngineClient, settings: ProvisionSettings, image: ResolvedImage & { id: string; nixPath: string }): Promise<DaemonInputs & { supply: StoreSupply }> {
  const { id, nixPath } = image;
  const fromHost = image.nixFrom === 'host-store';
  // an image carries its nix's own settings in /etc/nix/nix.conf; the base image has none
  const nixSettings = fromHost ? { ...(await nixPackageSettings(nixPath)), ...settings.nixSettings } : settings.nixSettings;
  const cache = settings.cache && (await daemonCache(settings.cache));
  return {
    daemon: settings.daemon,
    imageId: id,
    nixPath,
    nixSettings: cache ? cacheNixSettings(cache, nixSettings) : nixSettings,
    ...(cache ? { cache } : {}),
    sandbox: settings.sandbox,
    limits: daemonLimits(settings),
    supply: fromHost
      ? { kind: 'host', closure: () => queryClosure([nixPath]) }
      : { kind: 'image', registration: async () => image.registration ?? (await readImageRegistration(engine, id, nixPath, settings.daemon)) },
  };
}

/** The daemon step: the running daemon if it is what is wanted, else volumes → store → a new generation beside it. */
async function daemonStep(engine: EngineClient, inputs: DaemonInputs & { supply: StoreSupply }, { dryRun, logger }: { dryRun: boolean; logger: Logger }): Promise<{ outcome: DaemonOutcome; pending?: PendingSwap }> {
  const plan = await planDaemon(engine, inputs, { dryRun, logger });
  if (plan.kind === 'keep') return plan;
  if (dryRun) return { outcome: plan.outcome(plan.current ? 'replaced' : 'created', plan.current?.id) };
  // an id of its own, never one an earlier generation had (its socket may still be mounted)
  const generation = newGenerationId();
  // a file:// cache is a host directory the daemon mounts: the engine refuses a bind of one that is missing
  if (inputs.cache?.directory) await mkdir(inputs.cache.directory, { recursive: true });
  const { volumes, freshDb, freshStore } = await ensureDaemonVolumes(engine, inputs.daemon, generation);
  const filled = await fillStore(engine, inputs, { volumes, repair: plan.repair, ...(plan.current ? { current: plan.current } : {}), freshDb, freshStore }, logger);
  return startGeneration(engine, inputs, plan, { generation, filled, socketVolume: volumes.socket }, { logger });
}

/** Releasing job images comes after the commit: a failure cannot undo it, so it is a warning, and the next provision tries again. */
async function releaseAfterCommit(engine: EngineClient, daemon: { id: string; nix: string; name: string }, declared: NonNullable<ProvisionSettings['jobImages']>, logger: Logger): Promise<{ tidied?: TidiedJobImages; warning?: string }> {
  try {
    return { tidied: await releaseJobImages(engine, daemon, declared, logger) };
  } catch (error: unknown) {
    if (!(error instanceof UserError)) throw error;
    return { warning: `job images: ${error.message}; their roots stay as they were, the next provision tries again` };
  }
}

async function provisionSteps(
  engine: EngineClient,
  settings: ProvisionSettings,
  runnerConfig: RunnerConfigStep,
  { dryRun, logger, progress }: ProvisionOptions & { dryRun: boolean; logger: Logger },
): Promise<ProvisionResult> {
  // Under the provision lock: anything of this daemon made by another run is a leftover of a killed one.
  const removed = dryRun ? undefined : await removeLeftovers(engine, settings.daemon, logger);
  const leftovers = removed ? [...removed.containers, ...removed.volumes].map((leftover) => leftover.name) : [];

  const source = imageSource(settings);
  const image = await resolveDaemonImage(engine, source, { dryRun, logger, daemon: settings.daemon, ...(progress ? { progress } : {}) });
  logger.debug(`daemon image from ${describeSource(source)}: ${image.ref} (${image.action})`);

  const limits = daemonLimits(settings);
  const { id, nixPath } = image;
  // In a dry run, an image not loaded yet has no id: what its daemon would be is not known.
  const { outcome: daemon, pending } =
    id && nixPath ? await daemonStep(engine, await daemonInputs(engine, settings, { ...image, id, nixPath }), { dryRun, logger }) : { outcome: undefined, pending: undefined };
  const daemonResult = { ...(daemon ?? { name: settings.daemon, image: image.ref, action: 'created' as const, seeded: 0 }), sandbox: settings.sandbox, limits };

  const nix = daemon?.nix ?? image.nixPath;
  if (nix === undefined && !dryRun) throw new Error(`the nix store path of ${image.ref} is unknown`);
  const serving = daemon?.id && !dryRun ? { id: daemon.id, nix: daemon.nix, name: settings.daemon } : undefined;
  const { written, synced } = await commitDaemon(pending, async () => {
    // before config.toml names them: the images and their closures are in place once runners may use them
    const synced = settings.jobImages && serving ? await syncJobImages(engine, serving, settings.jobImages, logger) : undefined;
    return { written: await runnerConfig.write(nix ?? UNKNOWN_NIX, { dryRun, ...(pending ? { beforeRename: pending.swap } : {}) }), synced };
  });
  // after config.toml: had its write failed, every image it named before would still be rooted
  const { tidied, warning: releaseWarning } = synced && serving ? await releaseAfterCommit(engine, serving, settings.jobImages!, logger) : {};
  const jobImages: JobImagesResult | undefined = synced && { ...synced, ...(tidied ?? { released: [], dropped: 0, removedImages: [] }) };
  const imagesChanged =
    jobImages !== undefined && (jobImages.released.length > 0 || jobImages.dropped > 0 || jobImages.removedImages.length > 0 || jobImages.delivered.paths > 0 || jobImages.images.some((job) => job.action !== 'present'));
  const changed = image.action !== 'present' || daemonResult.action !== 'unchanged' || written.changed || leftovers.length > 0 || imagesChanged;
  // only when the engine has job images at all: config.toml is not read again for nothing
  const checkImages = !dryRun && daemon?.id !== undefined && (await engine.listImageIds({ label: [LABEL_JOB_IMAGE] })).length > 0;
  const imageWarnings = checkImages ? await jobImageWarnings(engine, { id: daemon!.id!, nix: daemon!.nix, name: settings.daemon }, await runnerImages(written.path, written.runners)) : [];
  const warnings = [...trustWarnings(settings), ...imageWarnings, ...(releaseWarning ? [releaseWarning] : [])];
  for (const warning of warnings) logger.warn(warning);
  return {
    ok: true,
    changed,
    dryRun,
    daemon: daemonResult,
    image,
    runners: written.runners,
    runnerConfig: { path: written.path, changed: written.changed, diff: written.diff },
    leftovers,
    warnings,
    ...(jobImages ? { jobImages } : {}),
  };
}
