import { SOCKET_DIR, isDaemonGeneration, isHelper, LABEL_RUN, storeVolume } from '../names/daemon-names.js';
import type { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo, ContainerSummary } from '../engine/engine-types.js';
import { runLiveness } from '../leftovers/run-id.js';

export function socketVolume(daemon: ContainerInfo): string | undefined {
  return daemon.mounts.find((mount) => mount.destination === SOCKET_DIR)?.name;
}

/**
 * The users of a daemon generation: every container in ANY state (created, running, paused, exited)
 * that mounts its socket volume (jobs get it through volumes_from), other than daemon generations.
 * GitLab Runner creates one build container per job and starts it again for each stage, so a job
 * container that is not running now still needs its daemon for its next stage.
 */
export async function generationUsers(engine: EngineClient, generation: ContainerInfo): Promise<ContainerSummary[]> {
  const socket = socketVolume(generation);
  if (!socket) return [];
  return (await engine.listContainers({ volume: [socket] })).filter((c) => c.id !== generation.id && !isDaemonGeneration(c.labels));
}

/**
 * Containers that use the daemon's store, through any of its generations: every container that mounts
 * the store volume, other than daemon generations and helpers of nix-runner runs that are gone.
 */
export async function storeUsers(engine: EngineClient, daemon: string): Promise<ContainerSummary[]> {
  return (await engine.listContainers({ volume: [storeVolume(daemon)] })).filter(
    (c) => !isDaemonGeneration(c.labels) && !(isHelper(c.labels) && runLiveness(c.labels[LABEL_RUN]) === 'dead'),
  );
}

const ACTIVE_STATES = new Set(['running', 'paused', 'restarting', 'removing']);
const NEVER = '0001-01-01T00:00:00Z';

/**
 * Splits users into active ones and stale ones: a job container that has not run for `staleAfterMs`
 * (never started since its creation, or exited that long ago). GitLab Runner removes its build
 * container when the job ends, so a long-stopped one was left behind (a runner killed mid-job).
 */
export async function splitStaleUsers(
  engine: EngineClient,
  users: ContainerSummary[],
  staleAfterMs: number,
  now = Date.now(),
): Promise<{ active: ContainerSummary[]; stale: ContainerSummary[] }> {
  const active: ContainerSummary[] = [];
  const stale: ContainerSummary[] = [];
  for (const user of users) {
    if (ACTIVE_STATES.has(user.state)) {
      active.push(user);
      continue;
    }
    const info = await engine.inspectContainer(user.id);
    if (!info) continue;
    const last = Math.max(Date.parse(info.createdAt), info.finishedAt === NEVER ? 0 : Date.parse(info.finishedAt));
    (now - last > staleAfterMs ? stale : active).push(user);
  }
  return { active, stale };
}
