import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineClient } from '../engine/engine-client.js';
import { UserError } from '../errors.js';

export interface ReadyOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Ready means a client round trip through the socket succeeds: a socket file alone proves nothing,
 * it can be a stale one left in the volume. The round trip asks the daemon whether its nix and `valid`
 * (paths just registered) are valid: both must be.
 */
export async function waitDaemonReady(
  engine: EngineClient,
  id: string,
  nixPath: string,
  { timeoutMs = 30_000, intervalMs = 50 }: ReadyOptions = {},
  valid: string[] = [],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const info = await engine.inspectContainer(id);
    if (!info?.running) {
      const logs = info ? await engine.containerLogs(id) : undefined;
      const why = (logs ? `${logs.stderr}${logs.stdout}` : '').trim().split('\n').at(-1) || `status ${info?.status ?? 'gone'}`;
      throw new UserError('daemon', `the new nix-daemon container stopped: ${why}`, 'the old daemon keeps running; check the image (its nix must run as nix-daemon)');
    }
    const probe = await engine
      .exec(id, [`${nixPath}/bin/nix-store`, '--check-validity', '--print-invalid', nixPath, ...valid], ['NIX_REMOTE=daemon'])
      .catch((error: unknown) => ({ exitCode: -1, stdout: '', stderr: String(error) }));
    if (probe.exitCode === 0) {
      const invalid = probe.stdout.split('\n').filter(Boolean);
      if (invalid.length === 0) return;
      // nix-store --load-db exits 0 on input it could not use (measured): what it registered is checked here
      throw new UserError('daemon', `the new nix-daemon's store lacks ${invalid.join(' ')}`, 'the old daemon keeps running; run provision again (the missing paths are sent again)');
    }
    last = probe.stderr.trim().split('\n').at(-1) ?? '';
    if (Date.now() > deadline) {
      throw new UserError('daemon', `the new nix-daemon did not answer within ${timeoutMs / 1000}s: ${last}`, 'the old daemon keeps running; see `docker logs` of the new container');
    }
    await sleep(intervalMs);
  }
}
