import { engineStatus } from './engine-failure.js';
import type { EngineCore } from './engine-core.js';
import { demuxBuffer } from './demux.js';
import type { ContainerInfo, ContainerSpec, ContainerSummary, RunResult } from './engine-types.js';

// Containers: inspect, create, start, stop, wait, remove, rename, logs, list.

export async function inspectContainer(core: EngineCore, nameOrId: string): Promise<ContainerInfo | undefined> {
  const c = await core.optional(`inspect container ${nameOrId}`, () => core.docker.getContainer(nameOrId).inspect());
  if (!c) return undefined;
  return {
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    imageId: c.Image,
    running: c.State.Running,
    status: c.State.Status,
    exitCode: c.State.ExitCode,
    labels: c.Config.Labels ?? {},
    mounts: c.Mounts.map((m) => ({ name: m.Name, destination: m.Destination, readOnly: !m.RW })),
    hostname: c.Config.Hostname,
    createdAt: c.Created,
    startedAt: c.State.StartedAt,
    finishedAt: c.State.FinishedAt,
    limits: {
      ...(c.HostConfig.PidsLimit ? { pids: c.HostConfig.PidsLimit } : {}),
      ...(c.HostConfig.Memory ? { memoryBytes: c.HostConfig.Memory } : {}),
    },
  };
}

export async function createContainer(core: EngineCore, spec: ContainerSpec): Promise<string> {
  const container = await core.call(`create container ${spec.name ?? ''} from ${spec.image}`, () =>
    core.docker.createContainer({
      name: spec.name,
      Image: spec.image,
      Entrypoint: spec.entrypoint,
      Cmd: spec.cmd,
      Env: spec.env,
      Labels: spec.labels,
      WorkingDir: spec.workingDir,
      OpenStdin: spec.stdinOnce ?? false,
      StdinOnce: spec.stdinOnce ?? false,
      AttachStdin: spec.stdinOnce ?? false,
      HostConfig: {
        Mounts: [
          ...(spec.mounts ?? []).map((m) => ({ Type: 'volume' as const, Source: m.volume, Target: m.target, ReadOnly: m.readOnly ?? false })),
          ...(spec.binds ?? []).map((b) => ({ Type: 'bind' as const, Source: b.source, Target: b.target, ReadOnly: b.readOnly ?? false })),
        ],
        VolumesFrom: spec.volumesFrom,
        RestartPolicy: spec.restartUnlessStopped ? { Name: 'unless-stopped' } : undefined,
        AutoRemove: spec.autoRemove ?? false,
        PidsLimit: spec.pidsLimit,
        Memory: spec.memoryBytes,
        CapAdd: spec.capAdd,
        SecurityOpt: spec.securityOpt,
        ...(spec.unmaskSystemPaths ? core.variant.unmaskedSystemPaths(spec.securityOpt) : {}),
      },
    }),
  );
  return container.id;
}

export async function startContainer(core: EngineCore, id: string): Promise<void> {
  await core.call(`start container ${id.slice(0, 12)}`, () => start(core, id));
}

export async function start(core: EngineCore, id: string): Promise<void> {
  try {
    await core.docker.getContainer(id).start();
  } catch (error: unknown) {
    throw core.variant.startFailure(error);
  }
}

export async function stopContainer(core: EngineCore, id: string, timeoutSeconds = 10): Promise<void> {
  // the engine waits up to timeoutSeconds for the container to stop before it kills it
  await core.call(
    `stop container ${id.slice(0, 12)}`,
    async () => {
      try {
        await core.docker.getContainer(id).stop({ t: timeoutSeconds });
      } catch (error: unknown) {
        if (engineStatus(error) !== 304) throw error; // already stopped
      }
    },
    core.answer(timeoutSeconds * 1000),
  );
}

/** Waits for the container to exit, however long it runs, as long as the engine keeps answering. */
export async function waitContainer(core: EngineCore, id: string): Promise<number> {
  const result = await core.call(
    `wait container ${id.slice(0, 12)}`,
    (watch) => {
      watch.progress();
      return core.docker.getContainer(id).wait();
    },
    core.alive(),
  );
  return Number(result.StatusCode);
}

export async function removeContainer(core: EngineCore, id: string): Promise<void> {
  await core.optional(`remove container ${id.slice(0, 12)}`, () => core.docker.getContainer(id).remove({ force: true }));
}

export async function renameContainer(core: EngineCore, id: string, name: string): Promise<void> {
  await core.call(`rename container ${id.slice(0, 12)} to ${name}`, () => core.docker.getContainer(id).rename({ name }));
}

export async function containerLogs(core: EngineCore, id: string): Promise<RunResult> {
  const logs = await core.call(`logs of ${id.slice(0, 12)}`, () =>
    core.docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false }),
  );
  const out = demuxBuffer(Buffer.isBuffer(logs) ? logs : Buffer.from(String(logs)));
  const info = await inspectContainer(core, id);
  return { exitCode: info?.exitCode ?? -1, ...out };
}

/** Containers (running or not) matching the filters, e.g. { label: ['a=b'], volume: ['v'] }. */
export async function listContainers(core: EngineCore, filters: Record<string, string[]>): Promise<ContainerSummary[]> {
  const list = await core.call(`list containers ${JSON.stringify(filters)}`, () => core.docker.listContainers({ all: true, filters: JSON.stringify(filters) }));
  return list.map((c) => ({
    id: c.Id,
    name: (c.Names[0] ?? '').replace(/^\//, ''),
    state: c.State,
    imageId: imageDigest(c.ImageID),
    labels: c.Labels ?? {},
    volumes: (c.Mounts ?? []).flatMap((mount) => (mount.Type === 'volume' && mount.Name ? [mount.Name] : [])),
  }));
}

/** Ids of containers (running or not) matching the filters, e.g. { label: ['a=b'], volume: ['v'] }. */
export async function listContainerIds(core: EngineCore, filters: Record<string, string[]>, all = true): Promise<string[]> {
  const list = await core.call(`list containers ${JSON.stringify(filters)}`, () =>
    core.docker.listContainers({ all, filters: JSON.stringify(filters) }),
  );
  return list.map((c) => c.Id);
}

/** An image id as the inspect calls give it (sha256:<hex>): some engines list it without the prefix. */
export function imageDigest(id: string): string {
  return id.includes(':') ? id : `sha256:${id}`;
}
