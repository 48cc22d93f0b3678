import type { EngineClient } from '../engine/engine-client.js';
import { errorMessage } from '../errors.js';

export type DaemonHealth = { ok: true } | { ok: false; reason: string; modified: string[] };

const MODIFIED = /path '(\/nix\/store\/[^']+)' was modified!/g;

/**
 * A running daemon is healthy when a client round trip through its socket works and its own nix closure
 * verifies: a build that ran as root before build users existed could have rewritten the nix every job
 * and the daemon itself run.
 */
export async function checkDaemon(engine: EngineClient, id: string, nixPath: string): Promise<DaemonHealth> {
  const nixStore = `${nixPath}/bin/nix-store`;
  const fail = (error: unknown) => ({ exitCode: -1, stdout: '', stderr: errorMessage(error) });
  const closure = await engine.exec(id, [nixStore, '--query', '--requisites', nixPath], ['NIX_REMOTE=daemon']).catch(fail);
  if (closure.exitCode !== 0) return { ok: false, reason: `it does not answer through its socket (${lastLine(closure.stderr)})`, modified: [] };
  const paths = closure.stdout.split('\n').filter(Boolean);
  const verify = await engine.exec(id, [nixStore, '--verify-path', ...paths]).catch(fail);
  if (verify.exitCode === 0) return { ok: true };
  const modified = [...verify.stderr.matchAll(MODIFIED)].map((match) => match[1]!);
  return { ok: false, reason: modified.length > 0 ? `its nix was modified (${modified.join(' ')})` : `its nix does not verify (${lastLine(verify.stderr)})`, modified };
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter((line) => !line.startsWith('warning:')).at(-1) ?? 'no output';
}
