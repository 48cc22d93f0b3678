import { request } from 'node:http';
import Docker from 'dockerode';
import { UserError, errorMessage } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { collectMultiplexed, demuxBuffer } from './demux.js';
import { resolveEngineAddress, type EngineAddress } from './engine-address.js';
import type { ContainerInfo, ContainerSpec, ContainerSummary, ImageInfo, RunResult } from './engine-types.js';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT']);

function statusCode(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error ? Number(error.statusCode) : undefined;
}

/** The only door to the container engine: logs each call, returns nix-runner's own types. */
export class EngineClient {
  private constructor(
    private readonly docker: Docker,
    readonly address: EngineAddress,
    private readonly logger: Logger,
  ) {}

  static async connect(dockerHost?: string, logger: Logger = nullLogger): Promise<EngineClient> {
    const address = resolveEngineAddress(dockerHost);
    const client = new EngineClient(new Docker(address.options), address, logger);
    try {
      await client.docker.ping();
    } catch (error: unknown) {
      const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
      throw new UserError(
        'engine',
        `no container engine answers at ${address.display}${code ? ` (${code})` : `: ${errorMessage(error)}`}`,
        UNREACHABLE.has(code) || code === ''
          ? 'start dockerd (or `podman system service`), or point DOCKER_HOST / --docker-host at a running engine'
          : 'check that the engine is healthy: `docker info`',
        { cause: error },
      );
    }
    return client;
  }

  get modem(): Docker['modem'] {
    return this.docker.modem;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.logger.debug(`engine: ${what}`);
    try {
      return await fn();
    } catch (error: unknown) {
      if (error instanceof UserError) throw error;
      throw new Error(`${what}: ${errorMessage(error)}`, { cause: error });
    }
  }

  /** undefined when the engine answers 404. */
  private async optional<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(what, fn);
    } catch (error: unknown) {
      if (statusCode((error as Error).cause) === 404) return undefined;
      throw error;
    }
  }

  async version(): Promise<{ version: string; apiVersion: string }> {
    const v = await this.call('version', () => this.docker.version());
    return { version: v.Version, apiVersion: v.ApiVersion };
  }

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    const image = await this.optional(`inspect image ${ref}`, () => this.docker.getImage(ref).inspect());
    if (!image) return undefined;
    return {
      id: image.Id,
      repoTags: image.RepoTags ?? [],
      labels: image.Config?.Labels ?? {},
      env: image.Config?.Env ?? [],
      entrypoint: toArray(image.Config?.Entrypoint),
      cmd: toArray(image.Config?.Cmd),
    };
  }

  /** Ids of images (tagged or not) matching the filters, e.g. { label: ['org.nix-runner.nix'] }. */
  async listImageIds(filters: Record<string, string[]>): Promise<string[]> {
    const list = await this.call(`list images ${JSON.stringify(filters)}`, () => this.docker.listImages({ all: false, filters: JSON.stringify(filters) }));
    return list.map((image) => image.Id);
  }

  /** The diff ids of an image's layers, bottom first (RootFS.Layers); undefined when there is no such image. */
  async imageLayers(ref: string): Promise<string[] | undefined> {
    const image = await this.optional(`inspect image ${ref}`, () => this.docker.getImage(ref).inspect());
    return image ? (image.RootFS?.Layers ?? []) : undefined;
  }

  /** Streams a docker-archive into the engine; resolves with the engine's progress messages once fully consumed. */
  async loadImage(archive: NodeJS.ReadableStream): Promise<string[]> {
    return this.call('load image', async () => {
      const response = await this.docker.loadImage(archive, { quiet: true });
      const events = await new Promise<{ stream?: string; error?: string; errorDetail?: { message?: string } }[]>((resolve, reject) =>
        this.docker.modem.followProgress(response, (error: Error | null, result: unknown[]) =>
          error ? reject(error) : resolve(result as never),
        ),
      );
      const failed = events.find((event) => event.error);
      if (failed) throw new Error(failed.errorDetail?.message ?? failed.error);
      return events.map((event) => event.stream?.trim() ?? '').filter(Boolean);
    });
  }

  /** Creates an image from a root filesystem tar (docker import). */
  async importImage(rootfs: NodeJS.ReadableStream, ref: string, changes: string[] = []): Promise<void> {
    const { repo, tag } = splitRef(ref);
    await this.call(`import image ${ref}`, async () => {
      const response = await this.docker.importImage(rootfs, { repo, tag, changes });
      await new Promise((resolve, reject) => this.docker.modem.followProgress(response, (error: Error | null, result: unknown) => (error ? reject(error) : resolve(result))));
    });
  }

  async tagImage(id: string, ref: string): Promise<void> {
    await this.call(`tag ${id} ${ref}`, () => this.docker.getImage(id).tag(splitRef(ref)));
  }

  async removeImage(ref: string): Promise<void> {
    await this.optional(`remove image ${ref}`, () => this.docker.getImage(ref).remove({ force: true }));
  }

  async inspectContainer(nameOrId: string): Promise<ContainerInfo | undefined> {
    const c = await this.optional(`inspect container ${nameOrId}`, () => this.docker.getContainer(nameOrId).inspect());
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

  async createContainer(spec: ContainerSpec): Promise<string> {
    const container = await this.call(`create container ${spec.name ?? ''} from ${spec.image}`, () =>
      this.docker.createContainer({
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
          Mounts: (spec.mounts ?? []).map((m) => ({ Type: 'volume', Source: m.volume, Target: m.target, ReadOnly: m.readOnly ?? false })),
          VolumesFrom: spec.volumesFrom,
          RestartPolicy: spec.restartUnlessStopped ? { Name: 'unless-stopped' } : undefined,
          AutoRemove: spec.autoRemove ?? false,
        },
      }),
    );
    return container.id;
  }

  async startContainer(id: string): Promise<void> {
    await this.call(`start container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).start());
  }

  async stopContainer(id: string, timeoutSeconds = 10): Promise<void> {
    await this.call(`stop container ${id.slice(0, 12)}`, async () => {
      try {
        await this.docker.getContainer(id).stop({ t: timeoutSeconds });
      } catch (error: unknown) {
        if (statusCode(error) !== 304) throw error; // already stopped
      }
    });
  }

  async waitContainer(id: string): Promise<number> {
    const result = await this.call(`wait container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).wait());
    return Number(result.StatusCode);
  }

  async removeContainer(id: string): Promise<void> {
    await this.optional(`remove container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).remove({ force: true }));
  }

  async renameContainer(id: string, name: string): Promise<void> {
    await this.call(`rename container ${id.slice(0, 12)} to ${name}`, () => this.docker.getContainer(id).rename({ name }));
  }

  async containerLogs(id: string): Promise<RunResult> {
    const logs = await this.call(`logs of ${id.slice(0, 12)}`, () =>
      this.docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false }),
    );
    const out = demuxBuffer(Buffer.isBuffer(logs) ? logs : Buffer.from(String(logs)));
    const info = await this.inspectContainer(id);
    return { exitCode: info?.exitCode ?? -1, ...out };
  }

  async exec(id: string, cmd: string[], env: string[] = []): Promise<RunResult> {
    return this.call(`exec in ${id.slice(0, 12)}: ${cmd.join(' ')}`, async () => {
      const exec = await this.docker.getContainer(id).exec({ Cmd: cmd, Env: env, AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({ hijack: true, stdin: false });
      const output = await collectMultiplexed(this.docker.modem, stream).finally(() => destroy(stream));
      // ExitCode is only set once the output stream has ended.
      const { ExitCode } = await exec.inspect();
      return { exitCode: ExitCode ?? -1, ...output };
    });
  }

  /**
   * Starts a created container with stdin attached, writes `input` and closes it, waits for the exit.
   * This is how GitLab Runner feeds a job script to its build container; a container can be run again.
   */
  async runWithInput(id: string, input: string | Buffer): Promise<RunResult> {
    return this.call(`run ${id.slice(0, 12)} with input`, async () => {
      const container = this.docker.getContainer(id);
      const stream = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as NodeJS.ReadWriteStream & {
        end(data?: unknown): void;
      };
      const output = collectMultiplexed(this.docker.modem, stream);
      await container.start();
      stream.end(input);
      try {
        const [result, exitCode] = await Promise.all([output, this.waitContainer(id)]);
        return { exitCode, ...result };
      } finally {
        // A hijacked connection is not released by the engine closing its end; left open it keeps node alive.
        destroy(stream);
      }
    });
  }

  /**
   * Creates, runs to completion and removes a one-shot container. The engine removes it itself once it
   * exits (AutoRemove), so a killed nix-runner leaves no finished helper behind: output comes through an
   * attach and the exit code through a wait registered before the start, as `docker run --rm` does.
   */
  async runOnce(spec: ContainerSpec, input?: string | Buffer): Promise<RunResult> {
    const id = await this.createContainer({ ...spec, autoRemove: true, stdinOnce: input !== undefined });
    try {
      return await this.call(`run ${id.slice(0, 12)} once`, async () => {
        const container = this.docker.getContainer(id);
        const withInput = input !== undefined;
        const stream = (await container.attach({ stream: true, stdin: withInput, stdout: true, stderr: true, hijack: withInput })) as NodeJS.ReadWriteStream & {
          end(data?: unknown): void;
        };
        try {
          const output = collectMultiplexed(this.docker.modem, stream);
          const { exited } = await this.waitRegistered(id);
          await container.start();
          if (withInput) stream.end(input);
          const [result, exitCode] = await Promise.all([output, exited]);
          return { exitCode, ...result };
        } finally {
          destroy(stream);
        }
      });
    } finally {
      // Already gone (404) or being removed by the engine (409): either way it goes.
      await this.removeContainer(id).catch((error: unknown) => this.logger.debug(`engine: ${id.slice(0, 12)} is being removed: ${errorMessage(error)}`));
    }
  }

  /**
   * Registers a wait for the container's next exit; resolves once the engine has registered it (it sends
   * the response header first), with a promise of the exit code (boxed: a promise resolved with a promise
   * would wait for it). No exit is missed, even with AutoRemove.
   */
  private waitRegistered(id: string): Promise<{ exited: Promise<number> }> {
    return new Promise((resolve, reject) => {
      this.docker.modem.dial(
        { path: `/containers/${id}/wait?`, method: 'POST', options: { condition: 'next-exit' }, isStream: true, statusCodes: { 200: true, 404: 'no such container', 500: 'server error' } },
        (error: unknown, response: unknown) => {
          if (error) return reject(error instanceof Error ? error : new Error(String(error)));
          const body = response as NodeJS.ReadableStream;
          resolve({
            exited: new Promise<number>((done, fail) => {
              const chunks: Buffer[] = [];
              body.on('data', (chunk: Buffer) => chunks.push(chunk));
              body.on('error', fail);
              body.on('end', () => {
                try {
                  const result = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { StatusCode?: number; Error?: { Message?: string } | null };
                  if (result.Error?.Message) fail(new Error(result.Error.Message));
                  else done(Number(result.StatusCode ?? -1));
                } catch (parseError: unknown) {
                  fail(parseError);
                }
              });
            }),
          });
        },
      );
    });
  }

  async ensureVolume(name: string, labels: Record<string, string>): Promise<boolean> {
    const existing = await this.optional(`inspect volume ${name}`, () => this.docker.getVolume(name).inspect());
    if (existing) return false;
    await this.call(`create volume ${name}`, () => this.docker.createVolume({ Name: name, Labels: labels }));
    return true;
  }

  async volumeExists(name: string): Promise<boolean> {
    return (await this.optional(`inspect volume ${name}`, () => this.docker.getVolume(name).inspect())) !== undefined;
  }

  /** Names of volumes that start with `prefix`. */
  async listVolumeNames(prefix: string): Promise<string[]> {
    const { Volumes } = await this.call(`list volumes ${prefix}*`, () => this.docker.listVolumes({ filters: JSON.stringify({ name: [prefix] }) }));
    return (Volumes ?? []).map((volume) => volume.Name).filter((name) => name.startsWith(prefix));
  }

  /** Volumes whose names start with `prefix`, with their labels. */
  async listVolumes(prefix: string): Promise<{ name: string; labels: Record<string, string> }[]> {
    const { Volumes } = await this.call(`list volumes ${prefix}*`, () => this.docker.listVolumes({ filters: JSON.stringify({ name: [prefix] }) }));
    return (Volumes ?? []).filter((volume) => volume.Name.startsWith(prefix)).map((volume) => ({ name: volume.Name, labels: volume.Labels ?? {} }));
  }

  async removeVolume(name: string): Promise<void> {
    await this.optional(`remove volume ${name}`, () => this.docker.getVolume(name).remove());
  }

  /** Containers (running or not) matching the filters, e.g. { label: ['a=b'], volume: ['v'] }. */
  async listContainers(filters: Record<string, string[]>): Promise<ContainerSummary[]> {
    const list = await this.call(`list containers ${JSON.stringify(filters)}`, () => this.docker.listContainers({ all: true, filters: JSON.stringify(filters) }));
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      state: c.State,
      labels: c.Labels ?? {},
      volumes: (c.Mounts ?? []).flatMap((mount) => (mount.Type === 'volume' && mount.Name ? [mount.Name] : [])),
    }));
  }

  /** Ids of containers (running or not) matching the filters, e.g. { label: ['a=b'], volume: ['v'] }. */
  async listContainerIds(filters: Record<string, string[]>, all = true): Promise<string[]> {
    const list = await this.call(`list containers ${JSON.stringify(filters)}`, () =>
      this.docker.listContainers({ all, filters: JSON.stringify(filters) }),
    );
    return list.map((c) => c.Id);
  }

  /** Whether a path exists in a (possibly stopped) container, volumes included. */
  async pathExists(id: string, path: string): Promise<boolean> {
    // dockerode's HEAD request leaves its connection open, which keeps node alive: ask directly and close it.
    return this.call(`stat ${path} in ${id.slice(0, 12)}`, async () => {
      const status = await headRequest(this.address.options, `/containers/${id}/archive?path=${encodeURIComponent(path)}`);
      if (status === 200) return true;
      if (status === 404) return false;
      throw new Error(`the engine answered ${status}`);
    });
  }

  /** A tar stream of `path` in a (possibly stopped) container. */
  async copyOut(id: string, path: string): Promise<NodeJS.ReadableStream> {
    return this.call(`copy ${path} out of ${id.slice(0, 12)}`, () => this.docker.getContainer(id).getArchive({ path }));
  }

  /** Extracts a tar stream into directory `path` of a (possibly stopped) container, volumes included. */
  async copyIn(id: string, path: string, tar: NodeJS.ReadableStream): Promise<void> {
    // The engine answers once the whole tar is extracted.
    await this.call(`copy into ${path} of ${id.slice(0, 12)}`, () => this.docker.getContainer(id).putArchive(tar, { path }));
  }

  /** Copies `path` of one container into directory `targetDir` of another, streamed. */
  async copyBetween(sourceId: string, path: string, targetId: string, targetDir: string): Promise<void> {
    const tar = await this.copyOut(sourceId, path);
    try {
      await this.copyIn(targetId, targetDir, tar);
    } finally {
      destroy(tar);
    }
  }
}

function headRequest(options: Docker.DockerOptions, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = options.socketPath ? { socketPath: options.socketPath } : { host: options.host, port: options.port };
    const req = request({ ...target, path, method: 'HEAD', agent: false }, (res) => {
      res.resume();
      res.socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** `repo:tag` (the repo may hold a registry port, `host:5000/repo:tag`) → its parts. */
export function splitRef(ref: string): { repo: string; tag: string } {
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { repo: ref, tag: 'latest' };
}

function destroy(stream: NodeJS.ReadableStream): void {
  (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}

function toArray(value: string | string[] | undefined | null): string[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}
