export interface ProgressEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

/**
 * Reads an engine progress stream (JSON lines) to its end. Unlike modem.followProgress, a stream that
 * closes before its end rejects instead of looking finished, and a line that is not JSON is an error
 * of the call, not an uncaught exception.
 */
export function readProgress(stream: NodeJS.ReadableStream, onEvent: (event: ProgressEvent) => void = () => {}): Promise<ProgressEvent[]> {
  return new Promise((resolve, reject) => {
    const events: ProgressEvent[] = [];
    let buffer = '';
    let done = false;
    const fail = (error: Error) => {
      if (done) return;
      done = true;
      reject(error);
    };
    const take = (line: string) => {
      const text = line.trim();
      if (!text) return;
      let event: ProgressEvent;
      try {
        event = JSON.parse(text) as ProgressEvent;
      } catch {
        throw new Error(`the engine sent a progress line that is not JSON: ${text.slice(0, 200)}`);
      }
      events.push(event);
      onEvent(event);
    };
    stream.on('data', (chunk: Buffer | string) => {
      if (done) return;
      buffer += chunk.toString();
      let newline: number;
      try {
        while ((newline = buffer.indexOf('\n')) >= 0) {
          take(buffer.slice(0, newline));
          buffer = buffer.slice(newline + 1);
        }
      } catch (error: unknown) {
        fail(error as Error);
      }
    });
    stream.on('end', () => {
      if (done) return;
      try {
        take(buffer);
      } catch (error: unknown) {
        fail(error as Error);
        return;
      }
      done = true;
      resolve(events);
    });
    stream.on('error', fail);
    stream.on('close', () => fail(new Error('the engine closed the progress stream before its end')));
  });
}
