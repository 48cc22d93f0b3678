import type { ProvisionSettings } from '../config/schema.js';
import { prepareDaemon, type DaemonOutcome } from '../daemon/prepare-daemon.js';
import type { PendingSwap } from '../daemon/daemon-swap.js';
import type { DaemonLimits } from '../daemon/daemon-spec.js';
import { daemonLimits } from '../daemon/daemon-limits.js';
import { resolveEngineAddress } from '../engine/engine-address.js';
import { EngineClient } from '../engine/engine-client.js';
import { engineTimeouts } from '../engine/engine-timeouts.js';
import { readImageRegistration } from '../image/image-registration.js';
import { queryClosure } from '../nix/closure.js';
import { nixPackageSettings } from '../nix/package-settings.js';
import { removeLeftovers } from '../leftovers/leftovers.js';
import { trustWarnings } from './trust-warnings.js';
import { describeSource, resolveDaemonImage, type ImageSource } from '../image/resolve-daemon-image.js';
import type { LoadProgress } from '../image/load-progress.js';
import type { ResolvedImage } from '../image/resolved-image.js';
import { nullLogger, type Logger } from '../log.js';
import { applyRunnerConfig } from '../runner-config/apply.js';
import { readDeclaredRunners } from '../runner-config/declared-runner.js';
import { jobSettings } from './job-settings.js';
import { withProvisionLock } from './provision-lock.js';

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

/**
 * image → volumes → seed → daemon → config.toml. Everything that can fail is done before the swap: the
 * new daemon answers under another name and config.toml's new text is written to its temp file (room on
 * disk, permissions); only then does the new daemon take the name, and config.toml is renamed over. If
 * that fails, the old daemon gets its name back: config.toml and the daemon always agree.
 */
export async function provision(settings: ProvisionSettings, { dryRun = false, logger = nullLogger, progress }: ProvisionOptions = {}): Promise<ProvisionResult> {
  // Bad runner names, a broken config.toml or a bad token file fail here, before the engine is touched.
  const declared = settings.declaredRunners && (await readDeclaredRunners(settings.declaredRunners, { logger }));
  const configure: Configure = (nix, dry, beforeRename, diff = true) =>
    applyRunnerConfig({
      path: settings.runnerConfig,
      runners: settings.runners,
      declared,
      // the jobs' engine must be the daemon's: a runner's own host is checked, a missing one written when needed
      managed: { ...jobSettings(settings.daemon, nix), engineHost: resolveEngineAddress(settings.dockerHost).display },
      dryRun: dry,
      diff,
      logger,
      ...(beforeRename ? { beforeRename } : {}),
    });
  // Only a check: its diff (against a placeholder nix) is never shown, and takes seconds on a large file.
  await configure(UNKNOWN_NIX, true, undefined, false);
  const engine = await EngineClient.connect(settings.dockerHost, logger, engineTimeouts(settings));
  const run = () => provisionSteps(engine, settings, configure, { dryRun, logger, ...(progress ? { progress } : {}) });
  return dryRun ? run() : withProvisionLock(settings.daemon, logger, run);
}

type Configure = (nix: string, dryRun: boolean, beforeRename?: () => Promise<void>, diff?: boolean) => ReturnType<typeof applyRunnerConfig>;

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

async function provisionSteps(
  engine: EngineClient,
  settings: ProvisionSettings,
  configure: Configure,
  { dryRun, logger, progress }: ProvisionOptions & { dryRun: boolean; logger: Logger },
): Promise<ProvisionResult> {
  // Under the provision lock: anything of this daemon made by another run is a leftover of a killed one.
  const removed = dryRun ? undefined : await removeLeftovers(engine, settings.daemon, logger);
  const leftovers = removed ? [...removed.containers, ...removed.volumes].map((leftover) => leftover.name) : [];
  const source = imageSource(settings);
  const image = await resolveDaemonImage(engine, source, { dryRun, logger, daemon: settings.daemon, ...(progress ? { progress } : {}) });
  logger.debug(`daemon image from ${describeSource(source)}: ${image.ref} (${image.action})`);

  const limits = daemonLimits(settings);
  let daemon: Omit<ProvisionResult['daemon'], 'sandbox' | 'limits'>;
  let pending: PendingSwap | undefined;
  if (image.id && image.nixPath) {
    const { id, nixPath } = image;
    ({ outcome: daemon, pending } = await prepareDaemon(
      engine,
      {
        daemon: settings.daemon,
        imageId: id,
        nixPath,
        // an image carries its nix's own settings in /etc/nix/nix.conf; the base image has none
        nixSettings: image.nixFrom === 'host-store' ? { ...(await nixPackageSettings(nixPath)), ...settings.nixSettings } : settings.nixSettings,
        sandbox: settings.sandbox,
        limits,
        supply:
          image.nixFrom === 'host-store'
            ? { kind: 'host', closure: () => queryClosure([nixPath]) }
            : { kind: 'image', registration: async () => image.registration ?? (await readImageRegistration(engine, id, nixPath, settings.daemon)) },
      },
      { dryRun, logger },
    ));
  } else {
    daemon = { name: settings.daemon, image: image.ref, action: 'created', seeded: 0 };
  }
  const daemonResult = { ...daemon, sandbox: settings.sandbox, limits };

  const nix = daemon.nix ?? image.nixPath;
  if (nix === undefined && !dryRun) throw new Error(`the nix store path of ${image.ref} is unknown`);
  const runnerConfig = await commitDaemon(pending, () => configure(nix ?? UNKNOWN_NIX, dryRun, pending?.swap));
  const changed = image.action !== 'present' || daemon.action !== 'unchanged' || runnerConfig.changed || leftovers.length > 0;
  const runnerConfigResult = { path: runnerConfig.path, changed: runnerConfig.changed, diff: runnerConfig.diff };
  const warnings = trustWarnings(settings);
  for (const warning of warnings) logger.warn(warning);
  return { ok: true, changed, dryRun, daemon: daemonResult, image, runners: runnerConfig.runners, runnerConfig: runnerConfigResult, leftovers, warnings };
}
