import { access, constants } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { atomicWrite } from './atomic-write.js';
import { MISSING_HINT, readConfigText, resolveConfigTarget } from './config-target.js';
import { parseRunnerConfig, serializeRunnerConfig, type RunnerConfigDocument } from './document.js';
import { sameMeaning } from './same-meaning.js';
import { firstCommentLine } from './toml-comments.js';
import { unifiedDiff } from './unified-diff.js';
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
}

export interface UpdateConfigResult {
  path: string;
  changed: boolean;
  diff: string;
}

class ChangedMeanwhile extends Error {}

/**
 * Reads, transforms and writes config.toml, only when its meaning changes. GitLab Runner rewrites the
 * file too (token rotation): when it changed between our read and our rename, read and merge again.
 */
export async function updateRunnerConfig(
  options: UpdateConfigOptions,
  transform: (doc: RunnerConfigDocument) => RunnerConfigDocument,
): Promise<UpdateConfigResult> {
  const { path, dryRun = false, logger = nullLogger, maxAttempts = 5 } = options;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const target = (await resolveConfigTarget(path, options.storeDir)) ?? path;
    const read = await readConfigText(target);
    if (read === undefined && options.ifMissing !== 'create') {
      if (options.ifMissing === 'skip') return { path, changed: false, diff: '' };
      throw new UserError('runnerConfig', `${path} does not exist`, MISSING_HINT);
    }
    const text = read ?? '';
    const before = parseRunnerConfig(text, path);
    const after = transform(before);
    if (sameMeaning(before.table, after.table)) {
      logger.debug(`${path}: already up to date`);
      return { path, changed: false, diff: '' };
    }
    const next = serializeRunnerConfig(after);
    const diff = unifiedDiff(text, next, path);
    // A dry run also says when the real one could not write: provision checks this before it touches the engine.
    if (dryRun) {
      await checkWritable(target, read !== undefined);
      return { path, changed: true, diff };
    }

    const comment = firstCommentLine(text);
    if (comment !== undefined) logger.warn(`${path}:${comment}: comments are not kept when nix-runner rewrites this file`);
    try {
      await atomicWrite(target, next, {
        beforeRename: async () => {
          await options.beforeRename?.(attempt);
          if ((await readConfigText(target)) !== read) throw new ChangedMeanwhile();
        },
      });
      return { path, changed: true, diff };
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

// The rename needs a writable directory; an immutable file (chattr +i) refuses it even to root.
async function checkWritable(target: string, exists: boolean): Promise<void> {
  try {
    await access(dirname(target), constants.W_OK);
    if (exists) await access(target, constants.W_OK);
  } catch (error: unknown) {
    throw writeError(error, target);
  }
}
