import type { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo } from '../engine/engine-types.js';
import type { Logger } from '../log.js';
import { LABEL_DAEMON } from './daemon-names.js';
import { daemonUsers, socketVolume } from './daemon-users.js';

/**
 * Removes a replaced daemon with its socket volume, unless running job containers still use that
 * socket (they got it through volumes_from): then it keeps serving them and a later run removes it.
 */
export async function retireDaemon(engine: EngineClient, container: ContainerInfo, logger: Logger): Promise<'removed' | 'draining'> {
  const users = await daemonUsers(engine, container);
  if (users.length > 0) {
    logger.info(`old daemon ${container.name} still serves ${users.length} running job(s); it is removed on a later run`);
    return 'draining';
  }
  const socket = socketVolume(container);
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
