import { readFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { pack } from 'tar-stream';
import type { EngineClient } from '../engine/engine-client.js';
import { UserError } from '../errors.js';

export const SMOKE_IMAGE = 'nix-runner/smoke-busybox:1';

/**
 * A job image with nothing but a static busybox: /bin/busybox and /bin/sh. Built locally, since no
 * registry may be reachable. `shellDir` and `path` place the shell elsewhere, as kaniko's debug image does.
 */
export async function ensureBusyboxImage(
  engine: EngineClient,
  { ref = SMOKE_IMAGE, busybox = '/bin/busybox', shellDir = 'bin', path }: { ref?: string; busybox?: string; shellDir?: string; path?: string } = {},
): Promise<string> {
  if (await engine.inspectImage(ref)) return ref;
  const binary = await readFile(busybox).catch(() => {
    throw new UserError('smoke', `no job image given and ${busybox} is missing to build one`, 'pass --image REF, or install busybox-static');
  });
  const rootfs = pack();
  const mtime = new Date(1000);
  rootfs.entry({ name: `${shellDir}/`, type: 'directory', mode: 0o755, mtime });
  rootfs.entry({ name: `${shellDir}/busybox`, mode: 0o755, mtime }, binary);
  rootfs.entry({ name: `${shellDir}/sh`, type: 'symlink', linkname: 'busybox', mtime });
  rootfs.finalize();
  await engine.importImage(rootfs.pipe(new PassThrough()), ref, path ? [`ENV PATH=${path}`] : []);
  return ref;
}
