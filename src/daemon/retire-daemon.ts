import type { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo } from '../engine/engine-types.js';
import type { Logger } from '../log.js';
import { LABEL_DAEMON, SOCKET_DIR } from './daemon-names.js';

function socketVolume(container: ContainerInfo): string | undefined {
  return container.mounts.find((mount) => mount.destination === SOCKET_DIR)?.name;
}

/**
 * Removes a replaced daemon with its socket volume, unless running job containers still use that
 * socket (they got it through volumes_from): then it keeps serving them and a later run removes it.
 */
export async function retireDaemon(engine: EngineClient, container: ContainerInfo, logger: Logger): Promise<'removed' | 'draining'> {
  const socket = socketVolume(container);
  if (socket) {
    const users = (await engine.listContainerIds({ volume: [socket] }, false)).filter((id) => id !== container.id);
    if (users.length > 0) {
      logger.info(`old daemon ${container.name} still serves ${users.length} running job(s); it is removed on a later run`);
      return 'draining';
    }
  }
  await engine.stopContainer(container.id);
  await engine.removeContainer(container.id);
  if (socket) await engine.removeVolume(socket);
  return 'removed';
}

/** Retired daemons of earlier runs whose jobs have finished. */
export async function removeDrainedDaemons(engine: EngineClient, daemon: string, keep: string[], logger: Logger): Promise<void> {
  for (const id of await engine.listContainerIds({ label: [`${LABEL_DAEMON}=${daemon}`] })) {
    const container = await engine.inspectContainer(id);
    if (!container || keep.includes(container.id) || !container.name.startsWith(`${daemon}-retired-`)) continue;
    await retireDaemon(engine, container, logger);
  }
}
