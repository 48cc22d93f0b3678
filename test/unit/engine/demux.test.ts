import { describe, expect, it } from 'vitest';
import { demuxBuffer } from '../../../src/engine/demux.js';

// Docker's stream format: 1 byte stream type (1 stdout, 2 stderr), 3 zero bytes, 4 bytes big-endian size, payload.
function frame(kind: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = kind;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('demuxBuffer', () => {
  it('splits interleaved stdout and stderr frames, keeping each stream’s order', () => {
    const buffer = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n'), frame(2, 'err 2\n')]);
    expect(demuxBuffer(buffer)).toEqual({ stdout: 'out 1\nout 2\n', stderr: 'err 1\nerr 2\n' });
  });

  it('returns empty strings for an empty buffer', () => {
    expect(demuxBuffer(Buffer.alloc(0))).toEqual({ stdout: '', stderr: '' });
  });

  it('keeps a multi-byte character split across two frames', () => {
    const bytes = Buffer.from('é', 'utf8');
    const first = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 1]), bytes.subarray(0, 1)]);
    const second = Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 0, 0, 1]), bytes.subarray(1)]);
    expect(demuxBuffer(Buffer.concat([first, second])).stdout).toBe('é');
  });

  it('handles an empty frame between others', () => {
    expect(demuxBuffer(Buffer.concat([frame(1, 'a'), frame(2, ''), frame(1, 'b')]))).toEqual({ stdout: 'ab', stderr: '' });
  });

  it('keeps what there is of a truncated last frame', () => {
    const truncated = frame(2, 'complete?').subarray(0, 8 + 4);
    expect(demuxBuffer(Buffer.concat([frame(1, 'x'), truncated]))).toEqual({ stdout: 'x', stderr: 'comp' });
  });

  it('ignores a trailing partial header', () => {
    expect(demuxBuffer(Buffer.concat([frame(1, 'x'), Buffer.from([2, 0, 0])]))).toEqual({ stdout: 'x', stderr: '' });
  });
});
