import type { EngineClient } from '../engine/engine-client.js';
import { UserError } from '../errors.js';

const SHELLS = ['bin/busybox', 'bin/bash', 'bin/sh'];

/** A shell in the closure of the daemon's nix, to build the smoke derivation with. */
export async function findStoreShell(engine: EngineClient, daemonId: string, nixPath: string): Promise<{ storePath: string; program: string }> {
  const closure = await engine.exec(daemonId, [`${nixPath}/bin/nix-store`, '--query', '--requisites', nixPath], ['NIX_REMOTE=daemon']);
  if (closure.exitCode !== 0) throw new UserError('smoke', `cannot list the closure of ${nixPath} in the daemon: ${closure.stderr.trim()}`, 'is the daemon running? `nix-runner provision`');
  for (const storePath of closure.stdout.split('\n').filter(Boolean)) {
    for (const program of SHELLS) if (await engine.pathExists(daemonId, `${storePath}/${program}`)) return { storePath, program };
  }
  throw new UserError('smoke', `the closure of ${nixPath} has no shell to build the smoke derivation with`, 'use a daemon image whose nix closure includes bash or busybox');
}
