import {
  LABEL_DAEMON,
  LABEL_ROLE,
  LABEL_RUN,
  candidateName,
  isDaemonGeneration,
  isHelper,
  parseDaemonVolume,
} from '../names/daemon-names.js';
import { removeSocketVolume } from '../daemon/retire-daemon.js';
import type { EngineClient } from '../engine/engine-client.js';
import type { Logger } from '../log.js';
import { currentRunId, runLiveness } from './run-id.js';

export interface Leftover {
  name: string;
  id?: string;
  why: string;
}

export interface Leftovers {
  containers: Leftover[];
  volumes: Leftover[];
}

export interface LeftoverOptions {
  /** Whether this process holds the daemon's provision lock: then no other run of it is in progress. */
  locked: boolean;
  run?: string;
}

/**
 * What runs of nix-runner that are gone (killed) left behind for `daemon`:
 * - helper containers labelled with this daemon: another run's when `locked`, else a dead run's;
 * - helper containers of no daemon (image probes, smoke jobs) whose run is dead;
 * - a candidate `<daemon>-next` that nix-runner made: when `locked`, else when its run is dead;
 * - socket volumes of this daemon that no container mounts and no generation owns: likewise.
 * Names nix-runner did not make are never leftovers.
 */
export async function findLeftovers(engine: EngineClient, daemon: string, { locked, run = currentRunId() }: LeftoverOptions): Promise<Leftovers> {
  const gone = (owner: string | undefined) => (locked ? owner !== run : runLiveness(owner) === 'dead');
  const containers: Leftover[] = [];
  for (const helper of await engine.listContainers({ label: [`${LABEL_ROLE}=helper`] })) {
    if (!isHelper(helper.labels)) continue;
    const owner = helper.labels[LABEL_DAEMON];
    const leftover = owner === daemon ? gone(helper.labels[LABEL_RUN]) : owner === undefined && runLiveness(helper.labels[LABEL_RUN]) === 'dead';
    if (leftover) containers.push({ name: helper.name, id: helper.id, why: `helper of a nix-runner run that is gone (${helper.labels[LABEL_RUN] ?? 'no run label'})` });
  }

  const candidate = await engine.inspectContainer(candidateName(daemon));
  if (candidate && isDaemonGeneration(candidate.labels, daemon) && gone(candidate.labels[LABEL_RUN])) {
    containers.push({ name: candidate.name, id: candidate.id, why: 'a new daemon generation whose provision was interrupted' });
  }

  const generations = (await engine.listContainers({ label: [`${LABEL_DAEMON}=${daemon}`] })).filter((c) => isDaemonGeneration(c.labels, daemon));
  const leftover = (id: string) => containers.some((l) => l.id === id);
  const owned = new Set(generations.filter((c) => !leftover(c.id)).flatMap((c) => c.volumes));
  const volumes: Leftover[] = [];
  for (const volume of await engine.listVolumes(`${daemon}-`)) {
    const socket = parseDaemonVolume(daemon, volume.name)?.kind === 'socket' && !owned.has(volume.name);
    const scratch = isHelper(volume.labels) && volume.labels[LABEL_DAEMON] === daemon;
    if (!(socket || scratch) || !gone(volume.labels[LABEL_RUN])) continue;
    if ((await engine.listContainers({ volume: [volume.name] })).some((c) => !leftover(c.id))) continue;
    volumes.push({ name: volume.name, why: socket ? 'socket volume of a daemon generation that is gone' : 'scratch volume of a nix-runner run that is gone' });
  }
  return { containers, volumes };
}

/** Removes the leftovers of runs that are gone; call it holding the daemon's provision lock. */
export async function removeLeftovers(engine: EngineClient, daemon: string, logger: Logger): Promise<Leftovers> {
  const found = await findLeftovers(engine, daemon, { locked: true });
  for (const container of found.containers) {
    await engine.removeContainer(container.id ?? container.name);
    logger.info(`removed ${container.name}: ${container.why}`);
  }
  const removed: Leftover[] = [];
  for (const volume of found.volumes) {
    if (!(await removeSocketVolume(engine, volume.name, logger))) continue;
    removed.push(volume);
    logger.info(`removed volume ${volume.name}: ${volume.why}`);
  }
  return { containers: found.containers, volumes: removed };
}
