import { UserError, errorMessage } from '../errors.js';
import { imageDigest } from './containers.js';
import type { EngineCore } from './engine-core.js';
import { engineStatus } from './engine-failure.js';
import { readStream, watched } from './engine-streams.js';
import type { ImageInfo, ImageSummary } from './engine-types.js';

// Images: inspect, list, load (docker-archive), import (rootfs), tag, remove.

export async function inspectImage(core: EngineCore, ref: string): Promise<ImageInfo | undefined> {
  const image = await core.optional(`inspect image ${ref}`, () => core.docker.getImage(ref).inspect());
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

/** Images (tagged or not) matching the filters, with their tags (none: dangling) and labels. */
export async function listImages(core: EngineCore, filters: Record<string, string[]>): Promise<ImageSummary[]> {
  const list = await core.call(`list images ${JSON.stringify(filters)}`, () => core.docker.listImages({ all: false, filters: JSON.stringify(filters) }));
  // an untagged image is listed with <none>:<none> by some engines, with no tags by others
  return list.map((image) => ({ id: imageDigest(image.Id), repoTags: (image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>'), labels: image.Labels ?? {} }));
}

/** Removes an image no container uses; false (and nothing removed) when a container, in any state, still uses it. */
export async function removeUnusedImage(core: EngineCore, id: string): Promise<boolean> {
  try {
    await core.optional(`remove image ${id}`, () => core.docker.getImage(id).remove({ noprune: false }));
    return true;
  } catch (error: unknown) {
    if (engineStatus(error) === 409) return false;
    throw error;
  }
}

/** Ids of images (tagged or not) matching the filters, e.g. { label: ['org.nix-runner.nix'] }. */
export async function listImageIds(core: EngineCore, filters: Record<string, string[]>): Promise<string[]> {
  return (await listImages(core, filters)).map((image) => image.id);
}

/** The diff ids of an image's layers, bottom first (RootFS.Layers); undefined when there is no such image. */
export async function imageLayers(core: EngineCore, ref: string): Promise<string[] | undefined> {
  const image = await core.optional(`inspect image ${ref}`, () => core.docker.getImage(ref).inspect());
  return image ? (image.RootFS?.Layers ?? []) : undefined;
}

/**
 * Streams a docker-archive into the engine; resolves with the engine's messages once fully consumed. It may
 * take minutes, but fails when the engine neither takes bytes nor reports progress for the call limit.
 * The engine refusing the archive (a status, an error event) rejects with a plain Error, for the image
 * code to explain; an engine that stalls or goes away, with an engine UserError.
 */
export async function loadImage(core: EngineCore, archive: NodeJS.ReadableStream): Promise<string[]> {
  let refused: Error | undefined;
  try {
    return await core.call(
      'load image',
      async (watch) => {
        // not quiet: the engine reports progress while it registers layers, after the last byte is sent
        const response = await core.docker.loadImage(watched(archive, watch), { quiet: false });
        const events = await readStream(response, watch);
        const failed = events.find((event) => event.error);
        if (failed) throw (refused = new Error(`load image: ${failed.errorDetail?.message ?? failed.error}`));
        return events.map((event) => event.stream?.trim() ?? '').filter(Boolean);
      },
      core.idle(),
    );
  } catch (error: unknown) {
    if (refused) throw refused;
    if (error instanceof UserError && engineStatus(error) !== undefined) throw new Error(`load image: ${errorMessage(error.cause).trim()}`, { cause: error.cause });
    throw error;
  }
}

/** Creates an image from a root filesystem tar (docker import); fails like loadImage when it stalls. */
export async function importImage(core: EngineCore, rootfs: NodeJS.ReadableStream, ref: string, changes: string[] = []): Promise<void> {
  await core.call(
    `import image ${ref}`,
    async (watch) => {
      // `repo` with the tag in it: Podman (4.3) ignores a separate `tag` and names the image :latest; Docker takes both.
      const events = await readStream(await core.docker.importImage(watched(rootfs, watch), { repo: ref, changes }), watch);
      const failed = events.find((event) => event.error);
      if (failed) throw new Error(failed.errorDetail?.message ?? failed.error);
    },
    core.idle(),
  );
}

export async function tagImage(core: EngineCore, id: string, ref: string): Promise<void> {
  await core.call(`tag ${id} ${ref}`, () => core.docker.getImage(id).tag(splitRef(ref)));
}

export async function removeImage(core: EngineCore, ref: string): Promise<void> {
  await core.optional(`remove image ${ref}`, () => core.docker.getImage(ref).remove({ force: true }));
}

/** `repo:tag` (the repo may hold a registry port, `host:5000/repo:tag`) → its parts. */
export function splitRef(ref: string): { repo: string; tag: string } {
  const colon = ref.lastIndexOf(':');
  return colon > ref.lastIndexOf('/') ? { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { repo: ref, tag: 'latest' };
}

function toArray(value: string | string[] | undefined | null): string[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}
