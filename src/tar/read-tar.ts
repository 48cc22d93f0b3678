import { extract, type Header } from 'tar-stream';

/**
 * Reads a tar stream (e.g. the engine's archive of a path) to its end, handing each entry's header and
 * content to `onEntry`; the stream is destroyed afterwards, so no connection stays open.
 */
export async function readTar(tar: NodeJS.ReadableStream, onEntry: (header: Header, content: Buffer) => void): Promise<void> {
  const extractor = extract();
  extractor.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk) => chunks.push(chunk as Buffer));
    stream.on('end', () => {
      onEntry(header, Buffer.concat(chunks));
      next();
    });
    stream.resume();
  });
  await new Promise<void>((resolve, reject) => {
    extractor.on('finish', resolve);
    extractor.on('error', reject);
    tar.on('error', reject);
    tar.pipe(extractor);
  }).finally(() => (tar as NodeJS.ReadableStream & { destroy(): void }).destroy());
}
