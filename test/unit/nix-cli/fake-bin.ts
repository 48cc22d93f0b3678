import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';


/** Writes an executable /bin/sh script named `name` into dir. */
export async function fakeBinary(dir: string, name: string, body: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  return file;
}

export { withTempDir } from '../../support/temp-dir.js';
