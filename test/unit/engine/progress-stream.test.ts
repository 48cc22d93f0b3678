import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readProgress, type ProgressEvent } from '../../../src/engine/progress-stream.js';

describe('readProgress', () => {
  it('reads JSON lines split anywhere across chunks, telling each event as it comes', async () => {
    const stream = new PassThrough();
    const seen: ProgressEvent[] = [];
    const read = readProgress(stream, (event) => seen.push(event));
    stream.write('{"status":"Loading layer","id":"a"}\r\n{"stream":"Loaded ');
    stream.write('image: x:1\\n"}\n\n');
    stream.end('{"stream":"last line without a newline"}');
    expect(await read).toEqual([{ status: 'Loading layer', id: 'a' }, { stream: 'Loaded image: x:1\n' }, { stream: 'last line without a newline' }]);
    expect(seen).toHaveLength(3);
  });

  it('rejects a stream that closes before its end instead of looking finished', async () => {
    const stream = new PassThrough();
    const read = readProgress(stream);
    stream.write('{"status":"Loading layer"}\n');
    stream.destroy();
    await expect(read).rejects.toThrow(/closed the progress stream before its end/);
  });

  it('rejects a line that is not JSON', async () => {
    const stream = new PassThrough();
    const read = readProgress(stream);
    stream.end('<html>bad gateway</html>\n');
    await expect(read).rejects.toThrow(/not JSON: <html>bad gateway/);
  });

  it('passes a stream error on', async () => {
    const stream = new PassThrough();
    const read = readProgress(stream);
    stream.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    await expect(read).rejects.toThrow('aborted');
  });
});
