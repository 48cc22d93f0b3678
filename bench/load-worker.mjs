// One benchmark case in a process of its own, so that its peak RSS is its own: the code provision runs
// (dist/, built by `npm run build`), on a closure of the daemon's nix plus synthetic store paths, in that order.
import { createWriteStream } from 'node:fs';
import { EngineClient } from '../dist/engine/engine-client.js';
import { renderNixConf } from '../dist/daemon/nix-conf.js';
import { writeDaemonImageArchive } from '../dist/image/archive/daemon-image-archive.js';
import { createLayerCache } from '../dist/image/archive/layer-cache.js';
import { ensurePlannedImage, storePathImageInput } from '../dist/image/store-path-image.js';
import { queryClosure } from '../dist/nix/closure.js';

const [mode, nixPath, tag, target, ...paths] = process.argv.slice(2);
const plan = { nixPath, closure: [...(await queryClosure([nixPath])), ...paths], nixConf: renderNixConf({}), maxLayers: 100, tag };
const layerCache = createLayerCache();
let result;
if (mode === 'write') {
  result = await writeDaemonImageArchive(await storePathImageInput(plan), createWriteStream(target), { layerCache });
  result = { imageId: result.imageId, layers: result.layers.length };
} else {
  const engine = await EngineClient.connect();
  const image = await ensurePlannedImage(engine, plan, { layerCache, incremental: target !== 'full' });
  result = { action: image.action, id: image.id, ...image.load };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
