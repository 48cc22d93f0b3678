import { Dockerode } from './dockerode.js';
import { UserError, errorMessage } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import * as containers from './containers.js';
import * as copy from './copy.js';
import { resolveEngineAddress, type EngineAddress } from './engine-address.js';
import { EngineCore, signalRequests } from './engine-core.js';
import { seconds } from './engine-failure.js';
import { engineKindOf, type EngineKind } from './engine-kind.js';
import { pingHeaders } from './engine-request.js';
import { ENGINE_CONNECT_TIMEOUT_FLAG, engineTimeouts, type EngineTimeouts } from './engine-timeouts.js';
import { engineVariant } from './engine-variant.js';
import * as images from './images.js';
import * as processes from './processes.js';
import { CallTimeout, timedCall } from './timed-call.js';
import type { ContainerInfo, ContainerSpec, ContainerSummary, ImageInfo, ImageSummary, RunResult } from './engine-types.js';
import * as volumes from './volumes.js';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT']);

/**
 * The only door to the container engine: logs each call, returns nix-runner's own types, and holds each
 * call to a limit (engine-timeouts.ts). Any failure of a call, a limit run out included, is an engine
 * UserError (exit 4) naming the call; an answer 404 means "absent" where the method says so. The calls
 * live by resource (images.ts, containers.ts, processes.ts, volumes.ts, copy.ts); dockerode stays in engine/.
 */
export class EngineClient {
  private constructor(private readonly core: EngineCore) {}

  get address(): EngineAddress {
    return this.core.address;
  }

  get timeouts(): EngineTimeouts {
    return this.core.timeouts;
  }

  /** docker or podman, as the engine's ping said. */
  get kind(): EngineKind {
    return this.core.kind;
  }

  /** Whether loadImage takes a docker-archive that leaves out layer tars the engine already has. */
  loadsPartialArchives(): boolean {
    return this.core.variant.loadsPartialArchives;
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
    return new EngineClient(new EngineCore(signalRequests(new Dockerode(address.options)), address, logger, timeouts, engineVariant(kind)));
  }

  inspectImage(ref: string): Promise<ImageInfo | undefined> {
    return images.inspectImage(this.core, ref);
  }

  listImageIds(filters: Record<string, string[]>): Promise<string[]> {
    return images.listImageIds(this.core, filters);
  }

  listImages(filters: Record<string, string[]>): Promise<ImageSummary[]> {
    return images.listImages(this.core, filters);
  }

  removeUnusedImage(id: string): Promise<boolean> {
    return images.removeUnusedImage(this.core, id);
  }

  imageLayers(ref: string): Promise<string[] | undefined> {
    return images.imageLayers(this.core, ref);
  }

  loadImage(archive: NodeJS.ReadableStream): Promise<string[]> {
    return images.loadImage(this.core, archive);
  }

  importImage(rootfs: NodeJS.ReadableStream, ref: string, changes: string[] = []): Promise<void> {
    return images.importImage(this.core, rootfs, ref, changes);
  }

  tagImage(id: string, ref: string): Promise<void> {
    return images.tagImage(this.core, id, ref);
  }

  removeImage(ref: string): Promise<void> {
    return images.removeImage(this.core, ref);
  }

  inspectContainer(nameOrId: string): Promise<ContainerInfo | undefined> {
    return containers.inspectContainer(this.core, nameOrId);
  }

  createContainer(spec: ContainerSpec): Promise<string> {
    return containers.createContainer(this.core, spec);
  }

  startContainer(id: string): Promise<void> {
    return containers.startContainer(this.core, id);
  }

  stopContainer(id: string, timeoutSeconds = 10): Promise<void> {
    return containers.stopContainer(this.core, id, timeoutSeconds);
  }

  waitContainer(id: string): Promise<number> {
    return containers.waitContainer(this.core, id);
  }

  removeContainer(id: string): Promise<void> {
    return containers.removeContainer(this.core, id);
  }

  renameContainer(id: string, name: string): Promise<void> {
    return containers.renameContainer(this.core, id, name);
  }

  containerLogs(id: string): Promise<RunResult> {
    return containers.containerLogs(this.core, id);
  }

  listContainers(filters: Record<string, string[]>): Promise<ContainerSummary[]> {
    return containers.listContainers(this.core, filters);
  }

  listContainerIds(filters: Record<string, string[]>, all = true): Promise<string[]> {
    return containers.listContainerIds(this.core, filters, all);
  }

  exec(id: string, cmd: string[], env: string[] = [], input?: processes.ExecInput): Promise<RunResult> {
    return processes.exec(this.core, id, cmd, env, input);
  }

  runWithInput(id: string, input: string | Buffer): Promise<RunResult> {
    return processes.runWithInput(this.core, id, input);
  }

  runOnce(spec: ContainerSpec, input?: string | Buffer): Promise<RunResult> {
    return processes.runOnce(this.core, spec, input);
  }

  ensureVolume(name: string, labels: Record<string, string>): Promise<boolean> {
    return volumes.ensureVolume(this.core, name, labels);
  }

  volumeExists(name: string): Promise<boolean> {
    return volumes.volumeExists(this.core, name);
  }

  inspectVolume(name: string): Promise<{ name: string; labels: Record<string, string>; mountpoint: string } | undefined> {
    return volumes.inspectVolume(this.core, name);
  }

  listVolumeNames(prefix: string): Promise<string[]> {
    return volumes.listVolumeNames(this.core, prefix);
  }

  listVolumes(prefix: string): Promise<{ name: string; labels: Record<string, string> }[]> {
    return volumes.listVolumes(this.core, prefix);
  }

  removeVolume(name: string): Promise<void> {
    return volumes.removeVolume(this.core, name);
  }

  pathExists(id: string, path: string): Promise<boolean> {
    return copy.pathExists(this.core, id, path);
  }

  copyOut(id: string, path: string): Promise<NodeJS.ReadableStream> {
    return copy.copyOut(this.core, id, path);
  }

  copyIn(id: string, path: string, tar: NodeJS.ReadableStream): Promise<void> {
    return copy.copyIn(this.core, id, path, tar);
  }

  copyBetween(sourceId: string, path: string, targetId: string, targetDir: string): Promise<void> {
    return copy.copyBetween(this.core, sourceId, path, targetId, targetDir);
  }
}
