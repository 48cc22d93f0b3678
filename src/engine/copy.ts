import { request } from 'node:http';
import type Docker from 'dockerode';
import { inspectContainer } from './containers.js';
import type { EngineCore } from './engine-core.js';
import { engineFailure } from './engine-failure.js';
import { destroy, idleGuarded, watched } from './engine-streams.js';
import { ENGINE_TIMEOUT_FLAG } from './engine-timeouts.js';
import { putSplitByMounts } from './split-tar.js';
import { CallTimeout } from './timed-call.js';

// Files in containers (stopped ones and their volumes included) through the archive API.

/** Whether a path exists in a (possibly stopped) container, volumes included. */
export async function pathExists(core: EngineCore, id: string, path: string): Promise<boolean> {
  // dockerode's HEAD request leaves its connection open, which keeps node alive: ask directly and close it.
  return core.call(`stat ${path} in ${id.slice(0, 12)}`, async ({ signal }) => {
    const status = await headRequest(core.address.options, `/containers/${id}/archive?path=${encodeURIComponent(path)}`, signal);
    if (status === 200) return true;
    if (status === 404) return false;
    throw new Error(`the engine answered ${status}`);
  });
}

/** A tar stream of `path` in a (possibly stopped) container; it fails with an engine error when no bytes come for the call limit. */
export async function copyOut(core: EngineCore, id: string, path: string): Promise<NodeJS.ReadableStream> {
  const what = `copy ${path} out of ${id.slice(0, 12)}`;
  const tar = await core.call(what, () => core.docker.getContainer(id).getArchive({ path }));
  return idleGuarded(tar, core.timeouts.callMs, () => engineFailure(what, new CallTimeout(core.idle()), { address: core.address.display, limitSetting: ENGINE_TIMEOUT_FLAG, kind: core.kind }));
}

/** Extracts a tar stream into directory `path` of a (possibly stopped) container, volumes included. */
export async function copyIn(core: EngineCore, id: string, path: string, tar: NodeJS.ReadableStream): Promise<void> {
  const mounts = core.variant.copiesIntoMountsBelow ? [] : await mountsBelow(core, id, path);
  const container = core.docker.getContainer(id);
  // The engine answers once the whole tar is extracted: as long as it takes bytes, the copy goes on.
  await core.call(
    `copy into ${path} of ${id.slice(0, 12)}`,
    async (watch) => {
      if (mounts.length === 0) await container.putArchive(watched(tar, watch), { path });
      else await putSplitByMounts(watched(tar, watch), path, mounts, (dir, part) => container.putArchive(part, { path: dir }));
    },
    core.idle(),
  );
}

/** Where the container mounts volumes (or binds) strictly below directory `path`. */
export async function mountsBelow(core: EngineCore, id: string, path: string): Promise<string[]> {
  const prefix = path.endsWith('/') ? path : `${path}/`;
  return ((await inspectContainer(core, id))?.mounts ?? []).map((mount) => mount.destination).filter((destination) => destination.startsWith(prefix));
}

/** Copies `path` of one container into directory `targetDir` of another, streamed. */
export async function copyBetween(core: EngineCore, sourceId: string, path: string, targetId: string, targetDir: string): Promise<void> {
  const tar = await copyOut(core, sourceId, path);
  try {
    await copyIn(core, targetId, targetDir, tar);
  } finally {
    destroy(tar);
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
