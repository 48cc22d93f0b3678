import type { EngineClient } from '../engine/engine-client.js';
import { helperLabels } from '../names/daemon-names.js';
import { UserError } from '../errors.js';
import { currentRunId } from '../leftovers/run-id.js';
import { readTar } from '../tar/read-tar.js';

export const REGISTRATION_FILE = '/nix-runner/registration';

async function readSingleFile(tar: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  await readTar(tar, (header, content) => {
    if (header.type === 'file') chunks.push(content);
  });
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The `nix-store --dump-db` registration of the image's closure: the file images built by nix-runner
 * carry, else dumped from the image's own nix db (dockerTools images built with includeNixDB).
 */
export async function readImageRegistration(engine: EngineClient, imageId: string, nixPath: string, daemon?: string): Promise<string> {
  const labels = helperLabels(currentRunId(), daemon);
  const holder = await engine.createContainer({ image: imageId, labels, entrypoint: [`${nixPath}/bin/nix-store`] });
  try {
    if (await engine.pathExists(holder, REGISTRATION_FILE)) return await readSingleFile(await engine.copyOut(holder, REGISTRATION_FILE));
  } finally {
    await engine.removeContainer(holder);
  }
  const nixStore = { image: imageId, labels, entrypoint: [`${nixPath}/bin/nix-store`] };
  const closure = await engine.runOnce({ ...nixStore, cmd: ['--query', '--requisites', nixPath] });
  const paths = closure.stdout.split('\n').filter(Boolean);
  const dump = closure.exitCode === 0 ? await engine.runOnce({ ...nixStore, cmd: ['--dump-db', ...paths] }) : closure;
  if (dump.exitCode !== 0 || !dump.stdout.startsWith('/nix/store/')) {
    throw new UserError(
      'image',
      `image ${imageId.slice(7, 19)} has no nix db that registers ${nixPath}`,
      'build it with nix-runner (image build / --image-store-path) or with dockerTools and includeNixDB = true',
    );
  }
  return dump.stdout.endsWith('\n') ? dump.stdout : `${dump.stdout}\n`;
}
