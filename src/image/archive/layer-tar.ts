import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { pack as createPack, type Header, type Pack } from 'tar-stream';
import { UserError, errorMessage } from '../../errors.js';
import { entryDone, writeChunk } from './stream-wait.js';

/** The Nix epoch: every mtime in the image, like the store's own. */
export const EPOCH = new Date(1000);

const DIR_MODE = 0o755;
const FILE_MODE = 0o644;
// Below this a file is read in one call: most store files are small, and one read beats a stream per file.
const SMALL_FILE = 256 * 1024;
const READ_CHUNK = 1024 * 1024;

type HeaderInput = Partial<Header> & Pick<Header, 'name'>;

export type LayerEntry =
  | { type: 'directory'; name: string; mode: number }
  | { type: 'file'; name: string; mode: number; content: string }
  | { type: 'symlink'; name: string; target: string };

/** What one layer holds: store paths (by base name) read from `storeDir`, or fixed entries. */
export type LayerContent = { kind: 'store'; storeDir: string; names: string[] } | { kind: 'fixed'; entries: LayerEntry[] };

export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Packs a layer into a tar stream: depth-first, names in byte order, mtime 1, uid/gid 0, no user names. */
export function packLayer(content: LayerContent, signal?: AbortSignal): Pack {
  const pack = createPack();
  // the consumer's async iterator reports the error
  pack.on('error', () => {});
  const fill = content.kind === 'store' ? packStorePaths(pack, content.storeDir, content.names, signal) : packFixed(pack, content.entries);
  fill.then(
    () => pack.finalize(),
    (error: unknown) => pack.destroy(error instanceof Error ? error : new Error(String(error))),
  );
  return pack;
}

async function addEntry(pack: Pack, header: HeaderInput, content?: Uint8Array | string): Promise<void> {
  const { callback, done } = entryDone();
  const full = { uid: 0, gid: 0, uname: '', gname: '', mtime: EPOCH, ...header };
  const sink = content === undefined ? pack.entry(full, callback) : pack.entry(full, content, callback);
  // the entry callback reports its errors
  sink.on('error', () => {});
  await done;
}

async function packFixed(pack: Pack, entries: LayerEntry[]): Promise<void> {
  for (const entry of entries) {
    if (entry.type === 'directory') await addEntry(pack, { name: dirName(entry.name), type: 'directory', mode: entry.mode });
    else if (entry.type === 'symlink') await addEntry(pack, { name: entry.name, type: 'symlink', mode: 0o777, linkname: entry.target });
    else await addEntry(pack, { name: entry.name, type: 'file', mode: entry.mode }, Buffer.from(entry.content));
  }
}

// Small files and link targets are read this many entries ahead, so that the fs thread pool is kept busy.
const READ_AHEAD = 32;
const STAT_BATCH = 64;

/** One entry of a store path walk; `load` reads what its header still needs, started a few entries ahead. */
interface WalkItem {
  path: string;
  header: HeaderInput;
  load?: () => Promise<Buffer | string>;
}

async function packStorePaths(pack: Pack, storeDir: string, names: string[], signal?: AbortSignal): Promise<void> {
  await addEntry(pack, { name: 'nix/', type: 'directory', mode: DIR_MODE });
  await addEntry(pack, { name: 'nix/store/', type: 'directory', mode: DIR_MODE });
  for await (const { item, loaded } of readAhead(walkStorePaths(storeDir, names))) {
    signal?.throwIfAborted();
    const { header, path } = item;
    if (header.type === 'symlink') await addEntry(pack, { ...header, linkname: (await loaded) as string });
    else if (header.type !== 'file') await addEntry(pack, header);
    else if (loaded) {
      const content = (await loaded) as Buffer;
      if (content.length !== header.size) throw changedError(path);
      await addEntry(pack, header, content);
    } else await packLargeFile(pack, path, header);
  }
}

async function* walkStorePaths(storeDir: string, names: string[]): AsyncGenerator<WalkItem> {
  for (const name of [...names].sort(compareBytes)) {
    const path = join(storeDir, name);
    yield* walk(path, `nix/store/${name}`, await statStorePath(path, storeDir));
  }
}

// Depth-first, children in byte order: parents come before their contents, as extraction needs.
async function* walk(path: string, name: string, stat: Stats): AsyncGenerator<WalkItem> {
  const mode = stat.mode & 0o7777;
  if (stat.isDirectory()) {
    yield { path, header: { name: dirName(name), type: 'directory', mode } };
    const children = (await fsCall(path, () => readdir(path))).sort(compareBytes);
    for (let start = 0; start < children.length; start += STAT_BATCH) {
      const batch = children.slice(start, start + STAT_BATCH);
      const stats = await Promise.all(batch.map((child) => fsCall(join(path, child), () => lstat(join(path, child)))));
      for (const [index, child] of batch.entries()) yield* walk(join(path, child), `${name}/${child}`, stats[index]!);
    }
  } else if (stat.isSymbolicLink()) {
    yield { path, header: { name, type: 'symlink', mode }, load: () => fsCall(path, () => readlink(path)) };
  } else if (stat.isFile()) {
    // Hard links (nix-store --optimise) become regular files: each layer must stand alone.
    const header: HeaderInput = { name, type: 'file', mode, size: stat.size };
    yield stat.size <= SMALL_FILE ? { path, header, load: () => fsCall(path, () => readFile(path)) } : { path, header };
  } else {
    throw new UserError('image', `${path} is neither a file, a directory nor a symlink`, 'a store path cannot hold sockets, fifos or devices; check the store with nix-store --verify');
  }
}

async function* readAhead(items: AsyncGenerator<WalkItem>): AsyncGenerator<{ item: WalkItem; loaded?: Promise<Buffer | string> }> {
  const window: { item: WalkItem; loaded?: Promise<Buffer | string> }[] = [];
  let done = false;
  try {
    while (true) {
      while (!done && window.length < READ_AHEAD) {
        const next = await items.next();
        if (next.done) done = true;
        else {
          const loaded = next.value.load?.();
          // observed when its turn comes; an abandoned read must not be an unhandled rejection
          loaded?.catch(() => {});
          window.push({ item: next.value, loaded });
        }
      }
      const first = window.shift();
      if (!first) return;
      yield first;
    }
  } finally {
    await items.return(undefined);
  }
}

export async function statStorePath(path: string, storeDir: string): Promise<Stats> {
  try {
    return await lstat(path);
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError('image', `store path ${path} is missing`, `realise it first (nix-store --realise), or check that the store is ${storeDir}`, {
        cause: error,
      });
    }
    throw readError(path, error);
  }
}

async function packLargeFile(pack: Pack, path: string, header: HeaderInput): Promise<void> {
  const size = header.size ?? 0;
  const { callback, done } = entryDone();
  const sink = pack.entry({ uid: 0, gid: 0, uname: '', gname: '', mtime: EPOCH, ...header }, callback);
  sink.on('error', () => {});
  const file = createReadStream(path, { highWaterMark: READ_CHUNK });
  let read = 0;
  try {
    for await (const chunk of file as AsyncIterable<Buffer>) {
      read += chunk.length;
      if (read > size) throw changedError(path);
      await writeChunk(sink, chunk);
    }
  } catch (error: unknown) {
    file.destroy();
    throw error instanceof UserError ? error : readError(path, error);
  }
  if (read !== size) throw changedError(path);
  sink.end(null);
  await done;
}

// tar-stream only adds the trailing slash docker and GNU tar use when told the numeric typeflag.
function dirName(name: string): string {
  return name.endsWith('/') ? name : `${name}/`;
}

async function fsCall<T>(path: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error: unknown) {
    throw readError(path, error);
  }
}

function readError(path: string, error: unknown): UserError {
  return new UserError('image', `cannot read ${path}: ${errorMessage(error)}`, 'the closure must be readable by this user; check permissions, or run nix-store --verify --check-contents', {
    cause: error,
  });
}

export function changedError(path: string): UserError {
  return new UserError('image', `${path} changed while the image was being written`, 'store paths must not change; run nix-store --verify --check-contents, then try again');
}
