import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { UserError, errorMessage, isUserError } from '../errors.js';

/**
 * Writes `file` through a temporary file beside it, renamed into place only once complete:
 * a failure never leaves a truncated archive under the name asked for.
 */
export async function writeFileAtomically<T>(file: string, fill: (out: NodeJS.WritableStream) => Promise<T>, onBytes?: (count: number) => void): Promise<T> {
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  const out = createWriteStream(temporary, { mode: 0o644 });
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onBytes?.(chunk.length);
      callback(null, chunk);
    },
  });
  try {
    const [result] = await Promise.all([fill(counter), pipeline(counter, out)]);
    await rename(temporary, file);
    return result;
  } catch (error: unknown) {
    await rm(temporary, { force: true });
    if (isUserError(error)) throw error;
    throw new UserError('image', `cannot write ${file}: ${errorMessage(error)}`, 'check that its directory exists and has room', { cause: error });
  }
}
