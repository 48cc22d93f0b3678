import { SOCKET_DIR } from '../daemon/daemon-names.js';
import type { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo } from '../engine/engine-types.js';

/** Running containers other than the daemon that mount its socket volume: the jobs using it now. */
export async function daemonUsers(engine: EngineClient, daemon: ContainerInfo): Promise<string[]> {
  const socket = daemon.mounts.find((mount) => mount.destination === SOCKET_DIR)?.name;
  if (!socket) return [];
  return (await engine.listContainerIds({ volume: [socket] }, false)).filter((id) => id !== daemon.id);
}
