import type { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo } from '../engine/engine-types.js';
import type { Logger } from '../log.js';
import { LABEL_DAEMON, isDaemonGeneration, parseRetiredName } from '../names/daemon-names.js';
import { generationUsers, socketVolume } from './daemon-users.js';

/**
 * Removes a replaced generation with its socket volume once it has no users (containers in any state
 * that mount its socket): until then it keeps serving them, and a later run removes it.
 */
export async function retireDaemon(engine: EngineClient, container: ContainerInfo, logger: Logger): Promise<'removed' | 'draining'> {
  const users = await generationUsers(engine, container);
  if (users.length > 0) {
    logger.info(`old daemon ${container.name} still serves ${users.length} job container(s); a later run removes it once they are gone`);
    return 'draining';
  }
  const socket = socketVolume(container);
  await engine.stopContainer(container.id);
  await engine.removeContainer(container.id);
  if (socket) await removeSocketVolume(engine, socket, logger);
  return 'removed';
}

/**
 * A container created in the last moment (its volumes_from resolved the old name just before the swap)
 * keeps the volume in use: it stays, and a later run removes it with the other orphaned socket volumes.
 */
export async function removeSocketVolume(engine: EngineClient, socket: string, logger: Logger): Promise<boolean> {
  try {
    await engine.removeVolume(socket);
    return true;
  } catch (error: unknown) {
    if ((await engine.listContainers({ volume: [socket] })).length === 0) throw error;
    logger.info(`socket volume ${socket} is still mounted by a job container; a later run removes it`);
    return false;
  }
}

/** Retired generations of `daemon` (not `keep`) whose users are gone: removed. */
export async function removeDrainedDaemons(engine: EngineClient, daemon: string, keep: string[], logger: Logger): Promise<void> {
  for (const listed of await engine.listContainers({ label: [`${LABEL_DAEMON}=${daemon}`] })) {
    if (keep.includes(listed.id) || !isDaemonGeneration(listed.labels, daemon) || parseRetiredName(daemon, listed.name) === undefined) continue;
    const container = await engine.inspectContainer(listed.id);
    if (container) await retireDaemon(engine, container, logger);
  }
}
