import { Readable } from 'node:stream';
import type { EngineClient } from '../engine/engine-client.js';
import { jobImageArchive, type JobImagePlan } from './job-image.js';

export interface PlacedJobImage {
  id: string;
  /** loaded: new content; tagged: the engine had this content (another tag, or an earlier one), the tag now names it; present: nothing to do. */
  action: 'loaded' | 'tagged' | 'present';
  /** The image's docker-archive size: its whole content. */
  bytes: number;
  /** The image `tag` named before, when it named another one. */
  previous?: string;
}

/** Puts a job image into the engine under `tag`: loaded only when the engine lacks its content (its id is known before loading). */
export async function placeJobImage(engine: EngineClient, plan: JobImagePlan, tag: string): Promise<PlacedJobImage> {
  const image = await jobImageArchive(plan, tag);
  const before = (await engine.inspectImage(tag))?.id;
  const placed = { id: image.imageId, bytes: image.bytes.length, ...(before && before !== image.imageId ? { previous: before } : {}) };
  if (before === image.imageId) return { ...placed, action: 'present' };
  if (await engine.inspectImage(image.imageId)) {
    await engine.tagImage(image.imageId, tag);
    return { ...placed, action: 'tagged' };
  }
  await engine.loadImage(Readable.from([image.bytes]));
  return { ...placed, action: 'loaded' };
}
