import { createHash } from 'node:crypto';

export const IMAGE_REPO = 'nix-runner/nix-daemon';
/** Bump when the bytes the archive writer produces for the same input change. */
export const ARCHIVE_FORMAT = 2;

/** The tag names the image's content, so an image already in the engine is found before anything is built. */
export function storePathImageTag(closure: string[], nixConf: string, maxLayers: number): string {
  const digest = createHash('sha256').update(JSON.stringify({ ARCHIVE_FORMAT, closure, nixConf, maxLayers })).digest('hex');
  return `${IMAGE_REPO}:${digest.slice(0, 20)}`;
}
