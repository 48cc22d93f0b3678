import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineClient } from '../engine/engine-client.js';
import { UserError } from '../errors.js';

export interface ReadyOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Ready means a client round trip through the socket succeeds: a socket file alone proves nothing,
 * it can be a stale one left in the volume.
 */
export async function waitDaemonReady(engine: EngineClient, id: string, nixPath: string, { timeoutMs = 30_000, intervalMs = 50 }: ReadyOptions = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const info = await engine.inspectContainer(id);
    if (!info?.running) {
      const logs = info ? await engine.containerLogs(id) : undefined;
      const why = (logs ? `${logs.stderr}${logs.stdout}` : '').trim().split('\n').at(-1) || `status ${info?.status ?? 'gone'}`;
      throw new UserError('daemon', `the new nix-daemon container stopped: ${why}`, 'the old daemon keeps running; check the image (its nix must run as nix-daemon)');
    }
    const probe = await engine.exec(id, [`${nixPath}/bin/nix-store`, '--query', '--hash', nixPath], ['NIX_REMOTE=daemon']).catch((error: unknown) => ({
      exitCode: -1,
      stdout: '',
      stderr: String(error),
    }));
    if (probe.exitCode === 0) return;
    last = probe.stderr.trim().split('\n').at(-1) ?? '';
    if (Date.now() > deadline) {
      throw new UserError('daemon', `the new nix-daemon did not answer within ${timeoutMs / 1000}s: ${last}`, 'the old daemon keeps running; see `docker logs` of the new container');
    }
    await sleep(intervalMs);
  }
}
