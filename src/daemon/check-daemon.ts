import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineClient } from '../engine/engine-client.js';
import { errorMessage } from '../errors.js';

export type DaemonHealth = { ok: true } | { ok: false; reason: string; modified: string[] };

const MODIFIED = /path '(\/nix\/store\/[^']+)' was modified!/g;

/**
 * A running daemon is healthy when a client round trip through its socket works and its own nix closure
 * verifies: a build that ran as root before build users existed could have rewritten the nix every job
 * and the daemon itself run.
 */
export async function checkDaemon(engine: EngineClient, id: string, nixPath: string, { attempts = 3, retryMs = 500 } = {}): Promise<DaemonHealth> {
  let health: DaemonHealth = { ok: true };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    health = await checkOnce(engine, id, nixPath);
    // Modified paths are a fact; a failed round trip may be a busy daemon (e.g. a GC holding its lock).
    if (health.ok || health.modified.length > 0) return health;
    if (attempt < attempts) await sleep(retryMs);
  }
  return health;
}

async function checkOnce(engine: EngineClient, id: string, nixPath: string): Promise<DaemonHealth> {
  // One exec through the socket does both: the daemon streams each path of the closure to be hashed.
  const verify = await engine
    .exec(id, [`${nixPath}/bin/nix`, '--extra-experimental-features', 'nix-command', 'store', 'verify', '--recursive', '--no-trust', nixPath], ['NIX_REMOTE=daemon'])
    .catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: errorMessage(error) }));
  if (verify.exitCode === 0) return { ok: true };
  const modified = [...verify.stderr.matchAll(MODIFIED)].map((match) => match[1]!);
  if (modified.length > 0) return { ok: false, reason: `its nix was modified (${modified.join(' ')})`, modified };
  return { ok: false, reason: `it does not answer through its socket, or its nix does not verify (${lastLine(verify.stderr)})`, modified };
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter((line) => !line.startsWith('warning:')).at(-1) ?? 'no output';
}
