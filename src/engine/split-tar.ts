import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { extract, pack, type Header, type Pack } from 'tar-stream';

/** Where an entry of a tar meant for directory `dir` lands: the deepest of `mounts` that holds it, its name relative to that. */
export function entryTarget(dir: string, name: string, mounts: string[]): { dir: string; name: string } {
  const path = posix.join('/', dir, name);
  const mount = mounts.filter((m) => path === m || path.startsWith(`${m}/`)).sort((a, b) => b.length - a.length)[0];
  if (mount === undefined) return { dir, name };
  const relative = posix.relative(mount, path);
  return { dir: mount, name: relative === '' ? './' : relative };
}

/**
 * Copies a tar meant for directory `dir` as runs of consecutive entries that land in the same place (`dir`,
 * or one of `mounts` below it), each run its own tar handed to `put`, one after another. Streamed: one
 * entry at a time is held.
 */
export async function putSplitByMounts(tar: NodeJS.ReadableStream, dir: string, mounts: string[], put: (dir: string, part: NodeJS.ReadableStream) => Promise<unknown>): Promise<void> {
  const extractor = extract();
  let run: { dir: string; pack: Pack; done: Promise<unknown> } | undefined;
  const endRun = async (): Promise<void> => {
    if (!run) return;
    const { pack: part, done } = run;
    run = undefined;
    part.finalize();
    await done;
  };
  const source = Readable.from(tar as AsyncIterable<Buffer>);
  source.on('error', (error) => extractor.destroy(error));
  source.pipe(extractor as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of extractor) {
      const { header } = entry;
      const target = entryTarget(dir, header.name, mounts);
      if (run?.dir !== target.dir) {
        await endRun();
        const part = pack();
        part.on('error', () => {}); // the put reports it
        run = { dir: target.dir, pack: part, done: put(target.dir, part as unknown as NodeJS.ReadableStream) };
        // awaited when the run ends; a put that fails before stops the copy (nothing would read its tar)
        run.done.catch((error: unknown) => {
          const failure = error instanceof Error ? error : new Error(String(error));
          part.destroy(failure);
          extractor.destroy(failure);
        });
      }
      const renamed: Header = { ...header, name: target.name };
      if (header.type === 'link' && header.linkname) {
        const link = entryTarget(dir, header.linkname, mounts);
        if (link.dir !== target.dir) throw new Error(`${header.name}: a hard link to ${header.linkname}, in another mount`);
        renamed.linkname = link.name;
      }
      await copyEntry(entry as AsyncIterable<Buffer>, run.pack, renamed);
    }
    await endRun();
  } catch (error: unknown) {
    run?.pack.destroy(error instanceof Error ? error : new Error(String(error)));
    source.destroy();
    throw error;
  }
}

function copyEntry(entry: AsyncIterable<Buffer>, part: Pack, header: Header): Promise<void> {
  return new Promise((resolve, reject) => {
    const sink = part.entry(header, (error) => (error ? reject(error) : resolve()));
    sink.on('error', reject);
    void (async () => {
      for await (const chunk of entry) {
        if (!sink.write(chunk)) await drained(sink);
      }
      sink.end(undefined);
    })().catch(reject);
  });
}

// Resolves when the entry takes more; rejects when the part's tar was destroyed meanwhile (its put failed).
function drained(sink: ReturnType<Pack['entry']>): Promise<void> {
  return new Promise((resolve, reject) => {
    const closed = (): void => reject(new Error('the copy was stopped'));
    sink.once('drain', () => {
      sink.off('close', closed);
      resolve();
    });
    sink.once('close', closed);
  });
}
