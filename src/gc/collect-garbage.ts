import { setTimeout as sleep } from 'node:timers/promises';
import { LABEL_MANAGED, LABEL_NIX } from '../names/daemon-names.js';
import type { EngineClient } from '../engine/engine-client.js';
import { UserError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { withProvisionLock } from '../provision/provision-lock.js';
import { applyRetention } from './apply-retention.js';
import { tidyJobImageRoots } from '../daemon/job-image-roots.js';
import { splitStaleUsers, storeUsers } from '../daemon/daemon-users.js';
import { DEFAULT_MAX_AGE_DAYS } from '../config/defaults.js';

const DEFAULT_MAX_AGE_MS = DEFAULT_MAX_AGE_DAYS * 24 * 3600 * 1000;

export interface GcOptions {
  daemon: string;
  maxFreed?: number;
  /** How long to wait for running jobs to end before skipping this run. */
  drainTimeoutMs?: number;
  /** A job container stopped (or never started) for this long is a leftover, not a user (splitStaleUsers). */
  staleAfterMs?: number;
  pollMs?: number;
  /** Retention of build roots: older ones go, and the oldest go past this total size. */
  maxAgeMs?: number;
  maxSizeBytes?: number;
  logger?: Logger;
}

export interface GcResult {
  ok: true;
  daemon: string;
  /** Set when jobs still used the daemon after the drain timeout: nothing was collected. */
  skipped?: string;
  /** Job containers not waited for: stopped for longer than the stale time (GitLab Runner removes its own). */
  stale?: string[];
  /** Roots the retention policy dropped before collecting. */
  rootsDropped?: number;
  /** Older roots of job images no container uses, and job images no tag names, dropped before collecting. */
  jobImages?: { rootsDropped: number; imagesRemoved: number };
  deleted: number;
  freed: string;
}

/** "3 store paths deleted, 0.12 MiB freed" → its parts. */
export function parseGcSummary(output: string): { deleted: number; freed: string } {
  const match = /(\d+) store paths deleted, ([\d.]+ \w+) freed/.exec(output);
  return match ? { deleted: Number(match[1]), freed: match[2]! } : { deleted: 0, freed: '0 B' };
}

/**
 * The daemon roots what it builds and its own nix (see daemon-files.ts); this applies the retention
 * policy to those roots, then collects. Substituted or added paths are not rooted, and a job's `result`
 * link is registered as a root pointing at a path the daemon cannot see: collect only once no job uses the daemon. Users are job
 * containers of any of its generations in any state (a job between two stages is stopped), except those
 * stopped for longer than `staleAfterMs`: GitLab Runner removes its build containers at the end of a job,
 * so those were left behind and would block GC forever. Daemon generations are never users. A job
 * that starts during the collection is not protected.
 */
export async function collectGarbage(
  engine: EngineClient,
  { daemon, maxFreed, maxAgeMs = DEFAULT_MAX_AGE_MS, maxSizeBytes, drainTimeoutMs = 300_000, staleAfterMs = 3_600_000, pollMs = 1000, logger = nullLogger }: GcOptions,
): Promise<GcResult> {
  const container = await engine.inspectContainer(daemon);
  const nixPath = container?.labels[LABEL_NIX];
  if (!container || container.labels[LABEL_MANAGED] !== 'true' || !nixPath) {
    throw new UserError('daemon', `no nix-runner daemon named ${daemon}`, 'run `nix-runner provision` first, or give --daemon');
  }
  if (!container.running) throw new UserError('daemon', `the daemon ${daemon} is not running`, 'run `nix-runner provision`');

  const deadline = Date.now() + drainTimeoutMs;
  const jobs = async () => splitStaleUsers(engine, await storeUsers(engine, daemon), staleAfterMs);
  let { active: users, stale } = await jobs();
  if (users.length > 0) logger.info(`waiting for ${users.length} job container(s) to stop using ${daemon}`);
  while (users.length > 0 && Date.now() < deadline) {
    await sleep(pollMs);
    ({ active: users, stale } = await jobs());
  }
  const leftovers = stale.length > 0 ? { stale: stale.map((c) => c.name) } : {};
  if (stale.length > 0) logger.warn(`not waiting for ${stale.length} job container(s) stopped for over ${Math.round(staleAfterMs / 1000)}s (leftovers? docker rm them): ${leftovers.stale!.join(', ')}`);
  if (users.length > 0) {
    const skipped = `${users.length} job(s) still use ${daemon} after ${Math.round(drainTimeoutMs / 1000)}s`;
    logger.warn(`garbage collection skipped: ${skipped}`);
    return { ok: true, daemon, skipped, ...leftovers, deleted: 0, freed: '0 B' };
  }

  // Under the provision lock: a provision seeding paths it has copied but not registered yet would
  // otherwise see them collected; and a swap meanwhile makes another container the daemon.
  return withProvisionLock(daemon, logger, async () => {
    const current = await engine.inspectContainer(daemon);
    if (!current?.running) throw new UserError('daemon', `the daemon ${daemon} is not running`, 'run `nix-runner provision`');
    const currentNix = current.labels[LABEL_NIX] ?? nixPath;
    const nixStore = `${currentNix}/bin/nix-store`;
    const rootsDropped = await applyRetention(engine, { id: current.id, name: daemon, nixPath: currentNix }, { maxAgeMs, maxSizeBytes }, logger);
    // a job image's older content stays rooted only while a container uses it; an image no tag names goes
    const jobImages = await tidyJobImageRoots(engine, { id: current.id, nix: currentNix, name: daemon }, { logger });
    const started = logger.start(`collecting garbage in ${daemon}`);
    const gc = await engine.exec(current.id, [nixStore, '--gc', ...(maxFreed === undefined ? [] : ['--max-freed', String(maxFreed)])]);
    if (gc.exitCode !== 0) throw new UserError('daemon', `nix-store --gc failed in ${daemon}: ${lastLine(gc.stderr)}`, `check the daemon: docker logs ${daemon}`);
    const summary = parseGcSummary(`${gc.stdout}\n${gc.stderr}`);
    logger.stop(`${summary.deleted} store paths deleted, ${summary.freed} freed`, started);
    return { ok: true as const, daemon, ...leftovers, rootsDropped, jobImages: { rootsDropped: jobImages.dropped, imagesRemoved: jobImages.removedImages.length }, ...summary };
  });
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter((line) => !line.startsWith('warning:')).at(-1) ?? 'no output';
}
