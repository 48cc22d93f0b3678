import { describe, expect, it } from 'vitest';
import { generationLabels, helperLabels } from '../../../src/names/daemon-names.js';
import type { EngineClient } from '../../../src/engine/engine-client.js';
import type { ContainerInfo, ContainerSummary } from '../../../src/engine/engine-types.js';
import { findLeftovers } from '../../../src/leftovers/leftovers.js';
import { currentRunId, formatRunId, parseRunId } from '../../../src/leftovers/run-id.js';

const MINE = currentRunId();
// A run of this host and boot that is gone (no process has this pid), one of another host (unknown).
const DEAD = formatRunId({ ...parseRunId(MINE)!, pid: 999_999_999 });
const ELSEWHERE = formatRunId({ ...parseRunId(MINE)!, host: 'another-host' });

interface Fake {
  containers: (ContainerSummary & { mounts?: string[] })[];
  volumes: { name: string; labels: Record<string, string> }[];
}

function fakeEngine({ containers, volumes }: Fake): EngineClient {
  const matches = (c: ContainerSummary, filters: Record<string, string[]>) =>
    (filters.label ?? []).every((label) => {
      const [key, value] = label.split('=');
      return value === undefined ? key! in c.labels : c.labels[key!] === value;
    }) && (filters.volume ?? []).every((volume) => c.volumes.includes(volume));
  return {
    listContainers: async (filters: Record<string, string[]>) => containers.filter((c) => matches(c, filters)),
    listVolumes: async (prefix: string) => volumes.filter((v) => v.name.startsWith(prefix)),
    inspectContainer: async (name: string) => {
      const c = containers.find((found) => found.name === name || found.id === name);
      return c ? ({ id: c.id, name: c.name, labels: c.labels, mounts: [] } as unknown as ContainerInfo) : undefined;
    },
  } as unknown as EngineClient;
}

const container = (name: string, labels: Record<string, string>, volumes: string[] = []): ContainerSummary => ({ id: `id-${name}`, name, state: 'created', imageId: 'sha256:0', labels, volumes });

describe('findLeftovers', () => {
  const engine = fakeEngine({
    containers: [
      container('d', generationLabels('d', 'aaaaaaaaaaaa', DEAD), ['d-store', 'd-socket-aaaaaaaaaaaa']),
      container('d-next', generationLabels('d', 'bbbbbbbbbbbb', DEAD), ['d-store', 'd-socket-bbbbbbbbbbbb']),
      container('seed-dead', helperLabels(DEAD, 'd'), ['d-store']),
      container('seed-elsewhere', helperLabels(ELSEWHERE, 'd')),
      container('seed-mine', helperLabels(MINE, 'd')),
      container('probe-dead', helperLabels(DEAD)),
      container('probe-elsewhere', helperLabels(ELSEWHERE)),
      container('other-daemon-seed', helperLabels(DEAD, 'e')),
      container('job', {}, ['d-store', 'd-socket-aaaaaaaaaaaa']),
    ],
    volumes: [
      { name: 'd-store', labels: {} },
      { name: 'd-socket-aaaaaaaaaaaa', labels: generationLabels('d', 'aaaaaaaaaaaa', DEAD) },
      { name: 'd-socket-bbbbbbbbbbbb', labels: generationLabels('d', 'bbbbbbbbbbbb', DEAD) },
      { name: 'd-socket-cccccccccccc', labels: generationLabels('d', 'cccccccccccc', DEAD) },
      { name: 'd-socket-dddddddddddd', labels: generationLabels('d', 'dddddddddddd', MINE) },
      { name: 'd-store-repair-1234', labels: helperLabels(DEAD, 'd') },
    ],
  });

  it('holding the lock: anything of this daemon made by another run, and dead runs’ helpers of no daemon', async () => {
    const found = await findLeftovers(engine, 'd', { locked: true });
    expect(found.containers.map((c) => c.name).sort()).toEqual(['d-next', 'probe-dead', 'seed-dead', 'seed-elsewhere']);
    // The current generation's socket is mounted by it (and a job); d-next's goes with d-next; mine is mine.
    expect(found.volumes.map((v) => v.name).sort()).toEqual(['d-socket-bbbbbbbbbbbb', 'd-socket-cccccccccccc', 'd-store-repair-1234']);
  });

  it('without the lock (status): only what runs that are gone made; never another host’s', async () => {
    const found = await findLeftovers(engine, 'd', { locked: false });
    expect(found.containers.map((c) => c.name).sort()).toEqual(['d-next', 'probe-dead', 'seed-dead']);
    expect(found.volumes.map((v) => v.name).sort()).toEqual(['d-socket-bbbbbbbbbbbb', 'd-socket-cccccccccccc', 'd-store-repair-1234']);
  });

  it('never a container nix-runner did not make, under any name', async () => {
    const foreign = fakeEngine({ containers: [container('d-next', {}), container('d', {})], volumes: [] });
    expect(await findLeftovers(foreign, 'd', { locked: true })).toEqual({ containers: [], volumes: [] });
  });
});
