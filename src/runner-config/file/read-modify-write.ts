import { access, constants } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from '../../errors.js';
import { nullLogger, type Logger } from '../../log.js';
import { atomicWrite } from './atomic-write.js';
import { withConfigLock } from './config-lock.js';
import { MAX_CONFIG_BYTES, MISSING_HINT, readConfigText, resolveConfigTarget } from './config-target.js';
import { parseRunnerConfig, serializeRunnerConfig, type RunnerConfigDocument } from '../toml/document.js';
import { redactSecrets, redactValues, secretValues } from './redact-secrets.js';
import { runnerTables } from '../toml/document.js';
import { sameMeaning } from '../toml/toml-values.js';
import { firstCommentLine } from '../toml/toml-comments.js';
import { unifiedDiff } from '../toml/unified-diff.js';
import { writeError } from './write-error.js';

export interface UpdateConfigOptions {
  path: string;
  dryRun?: boolean;
  logger?: Logger;
  /** What a missing file means: an error (attach), nothing to do (detach), or an empty one (declared runners). */
  ifMissing: 'error' | 'skip' | 'create';
  /** Store directory whose files are read-only. */
  storeDir?: string;
  /** Test hook: runs between reading the file and replacing it, once per attempt. */
  beforeRename?: (attempt: number) => void | Promise<void>;
  maxAttempts?: number;
  /** How long to wait for another nix-runner writing the same file. */
  lockTimeoutMs?: number;
  /** false: no diff in the result ('' instead), for a check whose diff nobody reads (seconds with a large file). */
  diff?: boolean;
}

export interface UpdateConfigResult {
  path: string;
  changed: boolean;
  /** A unified diff of the file, runner tokens and other secrets redacted. */
  diff: string;
}

type Transform = (doc: RunnerConfigDocument) => RunnerConfigDocument;

/** One read of the file and what the transform makes of it. */
interface Merge {
  target: string;
  /** The file's text; undefined when it does not exist. */
  read: string | undefined;
  before: RunnerConfigDocument;
  after: RunnerConfigDocument;
  changed: boolean;
}

class ChangedMeanwhile extends Error {}

/**
 * Reads, transforms and writes config.toml, only when its meaning changes. Other nix-runner processes
 * wait on the file's lock from read to rename. GitLab Runner rewrites the file too (token rotation) and
 * knows no lock: when it changed between our read and our rename, read and merge again.
 */
export async function updateRunnerConfig(options: UpdateConfigOptions, transform: Transform): Promise<UpdateConfigResult> {
  const { path, dryRun = false, logger = nullLogger } = options;
  // Without the lock: a file that needs no change, and any dry run, never wait for another writer.
  const first = await merge(options, transform);
  if (!first) return { path, changed: false, diff: '' };
  if (!first.changed) {
    logger.debug(`${path}: already up to date`);
    return { path, changed: false, diff: '' };
  }
  if (dryRun) {
    // A dry run also says when the real one could not write: provision checks this before it touches the engine.
    await checkWritable(first.target, first.read !== undefined);
    // A check without a diff leaves the size to the real write, which checks it before anything is swapped.
    if (options.diff === false) return { path, changed: true, diff: '' };
    const next = serializeRunnerConfig(first.after);
    checkSize(next, path);
    return { path, changed: true, diff: redactedDiff(first, next) };
  }
  return withConfigLock(first.target, logger, () => writeMerged(options, transform, first), { path, ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}) });
}

async function writeMerged(options: UpdateConfigOptions, transform: Transform, unlocked: Merge): Promise<UpdateConfigResult> {
  const { path, logger = nullLogger, maxAttempts = 5 } = options;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const target = (await resolveConfigTarget(path, options.storeDir)) ?? path;
    const read = await readConfigText(target);
    // Another writer may have come between the first read and the lock: merge again only if so.
    const current = target === unlocked.target && read === unlocked.read ? unlocked : await merge(options, transform, { target, read });
    if (!current) return { path, changed: false, diff: '' };
    if (!current.changed) {
      logger.debug(`${path}: already up to date`);
      return { path, changed: false, diff: '' };
    }
    const text = current.read ?? '';
    const next = serializeRunnerConfig(current.after);
    checkSize(next, path);
    const comment = firstCommentLine(text);
    if (comment !== undefined) logger.warn(`${path}:${comment}: comments are not kept when nix-runner rewrites this file`);
    try {
      await atomicWrite(target, next, {
        beforeRename: async () => {
          await options.beforeRename?.(attempt);
          // Other nix-runners wait on the lock; this catches GitLab Runner, which does not take it.
          if ((await readConfigText(target)) !== current.read) throw new ChangedMeanwhile();
        },
      });
      return { path, changed: true, diff: options.diff === false ? '' : redactedDiff(current, next) };
    } catch (error: unknown) {
      if (!(error instanceof ChangedMeanwhile)) throw error;
      logger.debug(`${path} changed while nix-runner was writing it; merging again (attempt ${attempt} of ${maxAttempts})`);
    }
  }
  throw new UserError(
    'runnerConfig',
    `${path} kept changing while nix-runner was writing it (${maxAttempts} attempts)`,
    'run again; if it persists, find what rewrites the file in a loop',
  );
}

/** Reads (unless given the text) and merges; undefined when the file is missing and that means nothing to do. */
async function merge(options: UpdateConfigOptions, transform: Transform, given?: { target: string; read: string | undefined }): Promise<Merge | undefined> {
  const { path } = options;
  const target = given?.target ?? (await resolveConfigTarget(path, options.storeDir)) ?? path;
  const read = given ? given.read : await readConfigText(target);
  if (read === undefined && options.ifMissing !== 'create') {
    if (options.ifMissing === 'skip') return undefined;
    throw new UserError('runnerConfig', `${path} does not exist`, MISSING_HINT);
  }
  const before = parseRunnerConfig(read ?? '', path);
  const after = transform(before);
  return { target, read, before, after, changed: !sameMeaning(before.table, after.table) };
}

// Beyond this many characters searched (diff length × secrets), copies of secrets are not looked for
// (the values of their keys still are redacted): with thousands of runners it would take minutes.
const VALUE_SCAN_BUDGET = 1e9;

/**
 * The diff as shown: the value of every secret key redacted on both sides (a changed token still shows as a
 * changed line), and, in a diff of reasonable size, any other copy of those values too.
 */
function redactedDiff(merged: Merge, next: string): string {
  const diff = unifiedDiff(merged.read ?? '', next, merged.before.path, { display: redactSecrets });
  // Each runner has a token: skip the walk for secrets when that many could not be searched for anyway.
  if (runnerTables(merged.after.table).length * diff.length > VALUE_SCAN_BUDGET) return diff;
  const secrets = secretValues(merged.after.table, secretValues(merged.before.table));
  return secrets.size * diff.length <= VALUE_SCAN_BUDGET ? redactValues(diff, secrets) : diff;
}

// Never write a file the next run would refuse to read.
function checkSize(next: string, path: string): void {
  const bytes = Buffer.byteLength(next);
  if (bytes <= MAX_CONFIG_BYTES) return;
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  throw new UserError('runnerConfig', `${path} would grow to ${mib(bytes)}, more than the ${mib(MAX_CONFIG_BYTES)} nix-runner reads`, 'attach fewer runners to this daemon, or split them over several config.toml files');
}

// The rename needs a writable directory; an immutable file (chattr +i) refuses it even to root.
async function checkWritable(target: string, exists: boolean): Promise<void> {
  try {
    await access(dirname(target), constants.W_OK);
    if (exists) await access(target, constants.W_OK);
  } catch (error: unknown) {
    throw writeError(error, target);
  }
}
