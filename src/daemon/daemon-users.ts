import { SOCKET_DIR } from './daemon-names.js';
import type { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo } from '../engine/engine-types.js';

export function socketVolume(daemon: ContainerInfo): string | undefined {
  return daemon.mounts.find((mount) => mount.destination === SOCKET_DIR)?.name;
}

/**
 * Running containers other than the daemon that mount its socket volume: the jobs using it now (they
 * got it through volumes_from). Each daemon generation has a socket volume of its own.
 */
export async function daemonUsers(engine: EngineClient, daemon: ContainerInfo): Promise<string[]> {
  const socket = socketVolume(daemon);
  if (!socket) return [];
  return (await engine.listContainerIds({ volume: [socket] }, false)).filter((id) => id !== daemon.id);
}
