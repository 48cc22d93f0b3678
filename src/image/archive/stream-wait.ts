interface Emitter {
  destroyed?: boolean;
  destroying?: boolean;
  once(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
}

// Waits for one of `events`, rejecting on 'error' and on a 'close' that comes first, so a destroyed stream never leaves us hanging.
function waitFor(stream: Emitter, event: 'drain' | 'finish'): Promise<void> {
  return new Promise((resolve, reject) => {
    // a stream destroyed already has sent its 'close': waiting for it would hang
    if (stream.destroyed || stream.destroying) {
      reject(new Error(`stream destroyed before '${event}'`));
      return;
    }
    const cleanup = () => {
      stream.removeListener(event, onEvent);
      stream.removeListener('error', onError);
      stream.removeListener('close', onClose);
    };
    const onEvent = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(new Error(`stream closed before '${event}'`));
    };
    stream.once(event, onEvent);
    stream.once('error', onError);
    stream.once('close', onClose);
  });
}

/** Writes with backpressure to a node or streamx Writable (their typings differ, their behaviour does not). */
export async function writeChunk(stream: { write(chunk: never): boolean }, chunk: Uint8Array): Promise<void> {
  if (!(stream as { write(chunk: Uint8Array): boolean }).write(chunk)) await waitFor(stream as unknown as Emitter, 'drain');
}

/** Ends a node Writable and waits until everything written has been handled. */
export async function endAndFinish(stream: NodeJS.WritableStream): Promise<void> {
  const finished = waitFor(stream as unknown as Emitter, 'finish');
  stream.end();
  await finished;
}

/** A promise for a tar-stream entry callback; pre-handled so that a destroyed pack is never an unhandled rejection. */
export function entryDone(): { callback: (error?: Error | null) => void; done: Promise<void> } {
  let callback!: (error?: Error | null) => void;
  const done = new Promise<void>((resolve, reject) => {
    callback = (error) => (error ? reject(error) : resolve());
  });
  done.catch(() => {});
  return { callback, done };
}
