import type { LayerEvent } from './archive/daemon-image-archive.js';

/** Told what an image load is doing: layers as they are written or skipped, bytes as the engine takes them. */
export interface LoadProgress {
  layer(event: LayerEvent): void;
  bytes(count: number): void;
  done(): void;
}

export const nullProgress: LoadProgress = { layer: () => {}, bytes: () => {}, done: () => {} };

export interface ProgressOptions {
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  isTTY?: boolean;
  now?: () => number;
  /** Redraws on a TTY at most this often. */
  intervalMs?: number;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GB`;
}

/** One redrawn status line on a TTY; on anything else one plain line per layer, for logs. */
export function createLoadProgress({ stream = process.stderr, isTTY = stream.isTTY === true, now = Date.now, intervalMs = 100 }: ProgressOptions = {}): LoadProgress {
  let sent = 0;
  let skipped = 0;
  let done = 0;
  let total = 0;
  let bytes = 0;
  let current = '';
  let drawn = 0;
  let dirty = false;
  const started = now();
  const status = () => {
    const seconds = Math.max((now() - started) / 1000, 0.001);
    const rate = `${formatBytes(bytes / seconds)}/s`;
    return `layers ${done}/${total}${skipped ? ` (${skipped} already in the engine)` : ''}, ${formatBytes(bytes)} sent, ${rate}${current ? `  ${current}` : ''}`;
  };
  const draw = (force = false) => {
    if (!isTTY) return;
    const time = now();
    if (!force && time - drawn < intervalMs) return;
    drawn = time;
    dirty = true;
    stream.write(`\r\x1b[K${status().slice(0, 160)}`);
  };
  return {
    layer(event) {
      total = event.total;
      const name = event.paths.length === 0 ? 'the small layer' : event.paths.length === 1 ? event.paths[0]! : `${event.paths.length} store paths`;
      if (event.phase === 'start') {
        current = name.replace(/^\/nix\/store\/[0-9a-z]{32}-/, '');
        draw();
        return;
      }
      done = event.index + 1;
      if (event.sent) sent += 1;
      else skipped += 1;
      if (isTTY) draw();
      else stream.write(`layer ${done}/${total} ${event.sent ? `sent (${formatBytes(event.size ?? 0)})` : 'already in the engine'}: ${name}\n`);
    },
    bytes(count) {
      bytes += count;
      draw();
    },
    done() {
      current = '';
      if (isTTY && dirty) stream.write(`\r\x1b[K${status()}\n`);
      else if (!isTTY && total > 0) stream.write(`${status()}\n`);
    },
  };
}
