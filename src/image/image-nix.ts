import type { EngineClient } from '../engine/engine-client.js';
import type { ImageInfo } from '../engine/engine-types.js';
import { UserError } from '../errors.js';
import { LABEL_NIX, helperLabels } from '../names/daemon-names.js';
import { currentRunId } from '../leftovers/run-id.js';
import { storePathOf } from '../nix-cli/store-path.js';
import { cacheDir, readCache, writeCache } from '../cache/run-cache.js';

const NIX_PACKAGE = /^\/nix\/store\/[0-9a-z]{32}-nix-\d[^/]*$/;

/** Store paths named in the image's entrypoint, command and PATH that look like a nix package. */
export function nixCandidates(image: ImageInfo): string[] {
  const path = image.env.find((entry) => entry.startsWith('PATH='))?.slice(5).split(':') ?? [];
  const found = [...image.entrypoint, ...image.cmd, ...path].map((item) => storePathOf(item)).filter((item): item is string => !!item);
  return [...new Set([...found.filter((item) => NIX_PACKAGE.test(item)), ...found])];
}

/**
 * The store path of the image's nix: its `org.nix-runner.nix` label, else a nix package that its
 * entrypoint, command or PATH name and that has bin/nix-daemon.
 */
export async function findImageNix(engine: EngineClient, ref: string, image: ImageInfo, daemon?: string): Promise<string> {
  const labelled = image.labels[LABEL_NIX];
  const candidates = labelled ? [labelled] : nixCandidates(image);
  // An image id names its content: what a probe found once holds for good (a no-op provision makes no probe container).
  const cache = cacheDir('image-nix');
  const key = image.id.replace(/^sha256:/, '');
  const known = (await readCache(cache, key))?.trim();
  if (known && candidates.includes(known)) return known;
  if (candidates.length > 0) {
    const probe = await engine.createContainer({ image: image.id, labels: helperLabels(currentRunId(), daemon), entrypoint: ['/nix-runner-probe'] });
    try {
      for (const candidate of candidates) {
        if (!(await engine.pathExists(probe, `${candidate}/bin/nix-daemon`))) continue;
        await writeCache(cache, key, candidate).catch(() => undefined);
        return candidate;
      }
    } finally {
      await engine.removeContainer(probe);
    }
  }
  throw new UserError(
    'image',
    labelled ? `image ${ref} says its nix is ${labelled}, but ${labelled}/bin/nix-daemon is not in it` : `image ${ref} does not say where its nix is`,
    `label it with ${LABEL_NIX}=/nix/store/…-nix-… (the store path holding bin/nix-daemon), or use --image-store-path`,
  );
}
