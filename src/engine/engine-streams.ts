import { Readable, Transform, pipeline } from 'node:stream';
import { readProgress, type ProgressEvent } from './progress-stream.js';
import type { CallWatch } from './timed-call.js';

// Streams to and from the engine, held to a call's limits: bodies that report progress, responses an
// aborted call ends, and outputs that fail when no bytes come.

/**
 * A request body that reports progress each time the engine asks for the next 64 KiB: pieces are read from
 * the source only on demand, so a stalled engine shows as no progress. It ends the source when the call is aborted.
 */
export function watched(source: NodeJS.ReadableStream, watch: CallWatch): NodeJS.ReadableStream {
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
export function readStream(response: NodeJS.ReadableStream, watch: CallWatch): Promise<ProgressEvent[]> {
  onAbort(watch.signal, () => destroy(response));
  return readProgress(response, () => watch.progress());
}

/** `source` passed through; destroyed with failure() when no bytes come for `ms` while it is open. */
export function idleGuarded(source: NodeJS.ReadableStream, ms: number, failure: () => unknown): NodeJS.ReadableStream {
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

export function onAbort(signal: AbortSignal, release: () => void): void {
  if (signal.aborted) release();
  else signal.addEventListener('abort', release, { once: true });
}

export function destroy(stream: NodeJS.ReadableStream): void {
  (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}
