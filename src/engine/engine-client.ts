import { AsyncLocalStorage } from 'node:async_hooks';
import { request } from 'node:http';
import { Readable, Transform, pipeline } from 'node:stream';
import type Docker from 'dockerode';
import { Dockerode } from './dockerode.js';
import { UserError, errorMessage } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { attachContainer } from './attach-container.js';
import { collectMultiplexed, demuxBuffer } from './demux.js';
import { resolveEngineAddress, type EngineAddress } from './engine-address.js';
import { engineFailure, engineStatus, seconds } from './engine-failure.js';
import { engineKindOf, type EngineKind } from './engine-kind.js';
import { pingHeaders } from './engine-request.js';
import { engineVariant, type EngineVariant } from './engine-variant.js';
import { putSplitByMounts } from './split-tar.js';
import { ENGINE_CONNECT_TIMEOUT_FLAG, ENGINE_TIMEOUT_FLAG, engineTimeouts, type EngineTimeouts } from './engine-timeouts.js';
import { readProgress, type ProgressEvent } from './progress-stream.js';
import { CallTimeout, timedCall, type CallLimit, type CallWatch } from './timed-call.js';
import type { ContainerInfo, ContainerSpec, ContainerSummary, ImageInfo, RunResult } from './engine-types.js';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT']);

// The signal of the engine call under way: every request dockerode makes during a call carries it, so a call
// past its limit releases its sockets (a hanging socket would keep the process alive after the error).
const callSignal = new AsyncLocalStorage<AbortSignal>();

function signalRequests(docker: Docker): Docker {
  const modem = docker.modem;
  const dial = modem.dial.bind(modem);
  modem.dial = (options, callback) => dial({ ...options, abortSignal: options.abortSignal ?? callSignal.getStore() }, callback);
  return docker;
}

/**
 * The only door to the container engine: logs each call, returns nix-runner's own types, and holds each
 * call to a limit (engine-timeouts.ts). Any failure of a call, a limit run out included, is an engine
 * UserError (exit 4) naming the call; an answer 404 means "absent" where the method says so.
 */
export class EngineClient {
  private constructor(
    private readonly docker: Docker,
    readonly address: EngineAddress,
    private readonly logger: Logger,
    readonly timeouts: EngineTimeouts,
    private readonly variant: EngineVariant,
  ) {}

  /** docker or podman, as the engine's ping said. */
  get kind(): EngineKind {
    return this.variant.kind;
  }

  /** Whether loadImage takes a docker-archive that leaves out layer tars the engine already has. */
  loadsPartialArchives(): boolean {
    return this.variant.loadsPartialArchives;
  }

  static async connect(dockerHost?: string, logger: Logger = nullLogger, timeouts: EngineTimeouts = engineTimeouts()): Promise<EngineClient> {
    const address = resolveEngineAddress(dockerHost);
    let kind: EngineKind;
    try {
      kind = engineKindOf(await timedCall(({ signal }) => pingHeaders(address.options, signal), { kind: 'answer', ms: timeouts.connectMs }));
    } catch (error: unknown) {
      if (error instanceof CallTimeout) {
        throw new UserError(
          'engine',
          `the engine at ${address.display} did not answer \`ping\` within ${seconds(timeouts.connectMs)}`,
          `check that the engine is healthy: \`docker info\`; ${ENGINE_CONNECT_TIMEOUT_FLAG} sets the limit`,
          { cause: error },
        );
      }
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
    logger.debug(`engine: ${kind} at ${address.display}`);
    return new EngineClient(signalRequests(new Dockerode(address.options)), address, logger, timeouts, engineVariant(kind));
  }

  /** The engine answers promptly: the whole call within the call limit (plus `extraMs`). */
  private answer(extraMs = 0): CallLimit {
    return { kind: 'answer', ms: this.timeouts.callMs + extraMs };
  }

  /** The call may take minutes, but never the call limit without progress. */
  private idle(): CallLimit {
    return { kind: 'idle', ms: this.timeouts.callMs };
  }

  /** As long as a container runs (a job, a gc): no limit while the engine answers a ping within the call limit. */
  private alive(): CallLimit {
    return { kind: 'alive', ms: this.timeouts.callMs, probe: (signal) => callSignal.run(signal, () => this.docker.ping()) };
  }

  private async call<T>(what: string, fn: (watch: CallWatch) => Promise<T>, limit: CallLimit = this.answer()): Promise<T> {
    this.logger.debug(`engine: ${what}`);
    try {
      return await timedCall((watch) => callSignal.run(watch.signal, () => fn(watch)), limit);
    } catch (error: unknown) {
      throw engineFailure(what, error, { address: this.address.display, limitSetting: ENGINE_TIMEOUT_FLAG, kind: this.kind });
    }
  }

  /** undefined when the engine answers 404. */
  private async optional<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    return this.call(what, async () => {
      try {
        return await fn();
      } catch (error: unknown) {
        if (engineStatus(error) === 404) return undefined;
        throw error;
      }
    });
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

  /**
   * Streams a docker-archive into the engine; resolves with the engine's messages once fully consumed. It may
   * take minutes, but fails when the engine neither takes bytes nor reports progress for the call limit.
   * The engine refusing the archive (a status, an error event) rejects with a plain Error, for the image
   * code to explain; an engine that stalls or goes away, with an engine UserError.
   */
  async loadImage(archive: NodeJS.ReadableStream): Promise<string[]> {
    let refused: Error | undefined;
    try {
      return await this.call(
        'load image',
        async (watch) => {
          // not quiet: the engine reports progress while it registers layers, after the last byte is sent
          const response = await this.docker.loadImage(watched(archive, watch), { quiet: false });
          const events = await readStream(response, watch);
          const failed = events.find((event) => event.error);
          if (failed) throw (refused = new Error(`load image: ${failed.errorDetail?.message ?? failed.error}`));
          return events.map((event) => event.stream?.trim() ?? '').filter(Boolean);
        },
        this.idle(),
      );
    } catch (error: unknown) {
      if (refused) throw refused;
      if (error instanceof UserError && engineStatus(error) !== undefined) throw new Error(`load image: ${errorMessage(error.cause).trim()}`, { cause: error.cause });
      throw error;
    }
  }

  /** Creates an image from a root filesystem tar (docker import); fails like loadImage when it stalls. */
  async importImage(rootfs: NodeJS.ReadableStream, ref: string, changes: string[] = []): Promise<void> {
    await this.call(
      `import image ${ref}`,
      async (watch) => {
        // `repo` with the tag in it: Podman (4.3) ignores a separate `tag` and names the image :latest; Docker takes both.
        const events = await readStream(await this.docker.importImage(watched(rootfs, watch), { repo: ref, changes }), watch);
        const failed = events.find((event) => event.error);
        if (failed) throw new Error(failed.errorDetail?.message ?? failed.error);
      },
      this.idle(),
    );
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
          PidsLimit: spec.pidsLimit,
          Memory: spec.memoryBytes,
          CapAdd: spec.capAdd,
          SecurityOpt: spec.securityOpt,
          ...(spec.unmaskSystemPaths ? this.variant.unmaskedSystemPaths(spec.securityOpt) : {}),
        },
      }),
    );
    return container.id;
  }

  async startContainer(id: string): Promise<void> {
    await this.call(`start container ${id.slice(0, 12)}`, () => this.start(id));
  }

  private async start(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (error: unknown) {
      throw this.variant.startFailure(error);
    }
  }

  async stopContainer(id: string, timeoutSeconds = 10): Promise<void> {
    // the engine waits up to timeoutSeconds for the container to stop before it kills it
    await this.call(
      `stop container ${id.slice(0, 12)}`,
      async () => {
        try {
          await this.docker.getContainer(id).stop({ t: timeoutSeconds });
        } catch (error: unknown) {
          if (engineStatus(error) !== 304) throw error; // already stopped
        }
      },
      this.answer(timeoutSeconds * 1000),
    );
  }

  /** Waits for the container to exit, however long it runs, as long as the engine keeps answering. */
  async waitContainer(id: string): Promise<number> {
    const result = await this.call(
      `wait container ${id.slice(0, 12)}`,
      (watch) => {
        watch.progress();
        return this.docker.getContainer(id).wait();
      },
      this.alive(),
    );
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

  /**
   * Starting the command is held to the call limit; its run (a gc may take hours) only to the engine
   * answering. `input`, if given, is the command's whole stdin.
   */
  async exec(id: string, cmd: string[], env: string[] = [], input?: string | Buffer): Promise<RunResult> {
    const withInput = input !== undefined;
    return this.call(
      `exec in ${id.slice(0, 12)}: ${cmd.join(' ')}`,
      async (watch) => {
        const exec = await this.docker.getContainer(id).exec({ Cmd: cmd, Env: env, AttachStdin: withInput, AttachStdout: true, AttachStderr: true });
        const stream = (await exec.start({ hijack: true, stdin: withInput })) as NodeJS.ReadWriteStream & { end(data?: unknown): void };
        onAbort(watch.signal, () => destroy(stream));
        watch.progress();
        const collected = collectMultiplexed(this.docker.modem, stream);
        // written whole, then the write side closed: the command reads its end of input
        if (withInput) stream.end(input);
        const output = await collected.finally(() => destroy(stream));
        // ExitCode is only set once the output stream has ended.
        const { ExitCode } = await exec.inspect();
        return { exitCode: ExitCode ?? -1, ...output };
      },
      this.alive(),
    );
  }

  /**
   * Starts a created container with stdin attached, writes `input` and closes it, waits for the exit.
   * This is how GitLab Runner feeds a job script to its build container; a container can be run again.
   */
  async runWithInput(id: string, input: string | Buffer): Promise<RunResult> {
    return this.call(
      `run ${id.slice(0, 12)} with input`,
      async (watch) => {
        const container = this.docker.getContainer(id);
        const stream = await attachContainer(this.docker, this.address.options, id, true, watch.signal);
        onAbort(watch.signal, () => destroy(stream));
        try {
          const output = collectMultiplexed(this.docker.modem, stream);
          output.catch(() => {}); // awaited below, once the container runs
          await this.start(id);
          stream.end(input);
          watch.progress(); // it runs: as long as the job's script does
          const [result, exited] = await Promise.all([output, container.wait()]);
          return { exitCode: Number(exited.StatusCode), ...result };
        } finally {
          // A hijacked connection is not released by the engine closing its end; left open it keeps node alive.
          destroy(stream);
        }
      },
      this.alive(),
    );
  }

  /**
   * Creates, runs to completion and removes a one-shot container. On Docker the engine removes it itself once
   * it exits (AutoRemove), so a killed nix-runner leaves no finished helper behind: output comes through an
   * attach and the exit code through a wait registered before the start, as `docker run --rm` does. On
   * Podman (engine-variant.ts) it is removed here after its exit.
   */
  async runOnce(spec: ContainerSpec, input?: string | Buffer): Promise<RunResult> {
    const autoRemove = this.variant.reportsExitOfRemoved;
    const id = await this.createContainer({ ...spec, autoRemove, stdinOnce: input !== undefined });
    try {
      return await this.call(`run ${id.slice(0, 12)} once`, async (watch) => {
        const withInput = input !== undefined;
        const stream = await attachContainer(this.docker, this.address.options, id, withInput, watch.signal);
        onAbort(watch.signal, () => destroy(stream));
        try {
          const output = collectMultiplexed(this.docker.modem, stream);
          const { exited } = await this.waitRegistered(id, autoRemove ? 'removed' : 'next-exit');
          await this.start(id);
          watch.progress(); // it runs: as long as its command does, a big closure takes a while
          if (withInput) stream.end(input);
          const [result, exitCode] = await Promise.all([output, exited]);
          return { exitCode, ...result };
        } finally {
          destroy(stream);
        }
      }, this.alive());
    } finally {
      // Already gone (404) or being removed by the engine (409): either way it goes.
      await this.removeContainer(id).catch((error: unknown) => this.logger.debug(`engine: ${id.slice(0, 12)} is being removed: ${errorMessage(error)}`));
    }
  }

  /**
   * Registers a wait for the container's exit, and its removal with AutoRemove (only then are the volumes
   * it mounted free to be removed); resolves once the engine has registered it (it sends
   * the response header first), with a promise of the exit code (boxed: a promise resolved with a promise
   * would wait for it). No exit is missed, even with AutoRemove.
   */
  private waitRegistered(id: string, condition: 'removed' | 'next-exit'): Promise<{ exited: Promise<number> }> {
    return new Promise((resolve, reject) => {
      this.docker.modem.dial(
        { path: `/containers/${id}/wait?`, method: 'POST', options: { condition }, isStream: true, statusCodes: { 200: true, 404: 'no such container', 500: 'server error' } },
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

  /** A volume's labels and where the engine keeps it on its host (readable only there, usually by root). */
  async inspectVolume(name: string): Promise<{ name: string; labels: Record<string, string>; mountpoint: string } | undefined> {
    const volume = await this.optional(`inspect volume ${name}`, () => this.docker.getVolume(name).inspect());
    return volume ? { name: volume.Name, labels: volume.Labels ?? {}, mountpoint: volume.Mountpoint } : undefined;
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
    return this.call(`stat ${path} in ${id.slice(0, 12)}`, async ({ signal }) => {
      const status = await headRequest(this.address.options, `/containers/${id}/archive?path=${encodeURIComponent(path)}`, signal);
      if (status === 200) return true;
      if (status === 404) return false;
      throw new Error(`the engine answered ${status}`);
    });
  }

  /** A tar stream of `path` in a (possibly stopped) container; it fails with an engine error when no bytes come for the call limit. */
  async copyOut(id: string, path: string): Promise<NodeJS.ReadableStream> {
    const what = `copy ${path} out of ${id.slice(0, 12)}`;
    const tar = await this.call(what, () => this.docker.getContainer(id).getArchive({ path }));
    return idleGuarded(tar, this.timeouts.callMs, () => engineFailure(what, new CallTimeout(this.idle()), { address: this.address.display, limitSetting: ENGINE_TIMEOUT_FLAG, kind: this.kind }));
  }

  /** Extracts a tar stream into directory `path` of a (possibly stopped) container, volumes included. */
  async copyIn(id: string, path: string, tar: NodeJS.ReadableStream): Promise<void> {
    const mounts = this.variant.copiesIntoMountsBelow ? [] : await this.mountsBelow(id, path);
    const container = this.docker.getContainer(id);
    // The engine answers once the whole tar is extracted: as long as it takes bytes, the copy goes on.
    await this.call(
      `copy into ${path} of ${id.slice(0, 12)}`,
      async (watch) => {
        if (mounts.length === 0) await container.putArchive(watched(tar, watch), { path });
        else await putSplitByMounts(watched(tar, watch), path, mounts, (dir, part) => container.putArchive(part, { path: dir }));
      },
      this.idle(),
    );
  }

  /** Where the container mounts volumes (or binds) strictly below directory `path`. */
  private async mountsBelow(id: string, path: string): Promise<string[]> {
    const prefix = path.endsWith('/') ? path : `${path}/`;
    return ((await this.inspectContainer(id))?.mounts ?? []).map((mount) => mount.destination).filter((destination) => destination.startsWith(prefix));
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

function headRequest(options: Docker.DockerOptions, path: string, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = options.socketPath ? { socketPath: options.socketPath } : { host: options.host, port: options.port };
    const req = request({ ...target, path, method: 'HEAD', agent: false, signal }, (res) => {
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

/**
 * A request body that reports progress each time the engine asks for the next 64 KiB: pieces are read from
 * the source only on demand, so a stalled engine shows as no progress. It ends the source when the call is aborted.
 */
function watched(source: NodeJS.ReadableStream, watch: CallWatch): NodeJS.ReadableStream {
  const body = Readable.from(pieces(source, watch), { objectMode: false });
  onAbort(watch.signal, () => body.destroy());
  return body;
}

const PIECE = 64 * 1024;

async function* pieces(source: NodeJS.ReadableStream, watch: CallWatch): AsyncGenerator<Buffer> {
  for await (const chunk of source as AsyncIterable<Buffer | string>) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    for (let offset = 0; offset < buffer.length; offset += PIECE) {
      watch.progress();
      yield buffer.subarray(offset, offset + PIECE);
    }
  }
}

/** Reads a progress stream to its end; each event is progress; an aborted call ends it. */
function readStream(response: NodeJS.ReadableStream, watch: CallWatch): Promise<ProgressEvent[]> {
  onAbort(watch.signal, () => destroy(response));
  return readProgress(response, () => watch.progress());
}

/** `source` passed through; destroyed with failure() when no bytes come for `ms` while it is open. */
function idleGuarded(source: NodeJS.ReadableStream, ms: number, failure: () => unknown): NodeJS.ReadableStream {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => out.destroy(failure() as Error), ms);
  };
  const out = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      arm();
      callback(null, chunk);
    },
  });
  out.on('close', () => clearTimeout(timer));
  pipeline(source, out, () => clearTimeout(timer));
  arm();
  return out;
}

function onAbort(signal: AbortSignal, release: () => void): void {
  if (signal.aborted) release();
  else signal.addEventListener('abort', release, { once: true });
}

function destroy(stream: NodeJS.ReadableStream): void {
  (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}

function toArray(value: string | string[] | undefined | null): string[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}
