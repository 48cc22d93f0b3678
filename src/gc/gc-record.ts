import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What the last `nix-runner gc` of a daemon did, for `nix-runner status`. */
export interface GcRecord {
  /** ISO time the run ended. */
  at: string;
  skipped?: string;
  deleted: number;
  freed: string;
}

/**
 * Where nix-runner keeps what it records between runs: NIX_RUNNER_STATE_DIR, else /var/lib/nix-runner
 * for root (the NixOS module's units run as root), else the user's XDG state directory.
 */
export function stateDir(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.()): string {
  if (env.NIX_RUNNER_STATE_DIR) return env.NIX_RUNNER_STATE_DIR;
  if (uid === 0) return '/var/lib/nix-runner';
  return join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'nix-runner');
}

function recordPath(daemon: string, dir: string): string {
  return join(dir, `${daemon}.last-gc.json`);
}

export async function recordGc(daemon: string, record: GcRecord, dir = stateDir()): Promise<void> {
  await mkdir(dir, { recursive: true });
  const path = recordPath(daemon, dir);
  await writeFile(`${path}.tmp`, `${JSON.stringify(record)}\n`);
  await rename(`${path}.tmp`, path);
}

/** The last gc recorded for `daemon`; undefined when none was (or the record is unreadable). */
export async function readGcRecord(daemon: string, dir = stateDir()): Promise<GcRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(recordPath(daemon, dir), 'utf8')) as GcRecord;
    return typeof record.at === 'string' ? record : undefined;
  } catch {
    return undefined;
  }
}
