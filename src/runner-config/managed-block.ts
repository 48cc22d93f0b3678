import { z } from 'zod';
import { UserError } from '../errors.js';

export const BLOCK_START = '# >>> nix-runner managed block: do not edit >>>';
export const BLOCK_END = '# <<< nix-runner managed block <<<';
const RECORD_PREFIX = '# nix-runner ';

const createdKey = z.enum(['docker', 'volumes_from', 'environment', 'pre_build_script', 'host', 'pull_policy']);
export type CreatedKey = z.output<typeof createdKey>;

/** What nix-runner added besides the block itself, so that detaching removes exactly that. */
const recordSchema = z.object({
  daemon: z.string(),
  volumes_from: z.array(z.string()).default([]),
  environment: z.array(z.string()).default([]),
  created: z.array(createdKey).default([]),
  /** A runner's own pull_policy that nix-runner put if-not-present in front of (its default image is a job image): restored on detach. */
  pull_policy_was: z.union([z.string(), z.array(z.string())]).optional(),
  /** Set when nix-runner wrote the whole [[runners]] entry (a declared runner): the hash of the token file's token. */
  declared: z.object({ token: z.string() }).optional(),
});
export type ManagedRecord = z.output<typeof recordSchema>;

/** A managed block in a pre_build_script, as line indices of its start and end markers. */
export interface ManagedBlock {
  start: number;
  end: number;
  record: ManagedRecord;
}

const BROKEN_HINT = `remove the nix-runner lines from its pre_build_script by hand, then run nix-runner again`;

export function splitScript(script: string): string[] {
  return script.split('\n');
}

export function joinScript(lines: string[]): string {
  return lines.join('\n');
}

export function findBlocks(lines: string[], where: string): ManagedBlock[] {
  const blocks: ManagedBlock[] = [];
  for (let start = 0; start < lines.length; start++) {
    if (lines[start]?.trimEnd() !== BLOCK_START) continue;
    const end = lines.findIndex((line, index) => index > start && line.trimEnd() === BLOCK_END);
    if (end < 0) throw new UserError('runnerConfig', `${where}: the nix-runner managed block has no end marker`, BROKEN_HINT);
    blocks.push({ start, end, record: parseRecord(lines[start + 1] ?? '', where) });
    start = end;
  }
  return blocks;
}

function parseRecord(line: string, where: string): ManagedRecord {
  const json = line.startsWith(RECORD_PREFIX) ? line.slice(RECORD_PREFIX.length) : '';
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    value = undefined;
  }
  const result = recordSchema.safeParse(value);
  if (!result.success) {
    throw new UserError('runnerConfig', `${where}: the nix-runner managed block's record line is damaged`, BROKEN_HINT);
  }
  return result.data;
}

export function renderBlock(record: ManagedRecord, body: string[]): string[] {
  const { created, declared, ...rest } = record;
  const stored = { ...rest, ...(created.length > 0 ? { created } : {}), ...(declared ? { declared } : {}) };
  return [BLOCK_START, `${RECORD_PREFIX}${JSON.stringify(stored)}`, ...body.flatMap(splitScript), BLOCK_END];
}
