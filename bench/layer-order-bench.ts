// Layer order (issue 10): bytes re-sent to the engine when one small store path of a daemon image's closure
// changes next to a large unchanged one, with `nix-store -qR` order vs layerOrder. Docker names a layer by
// all layers below it, so every layer from the first changed one up is sent again.
// Usage: tsx bench/layer-order-bench.ts [trials=8] (each makes a 10 MB and two small store paths, deleted after)
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { layerOrder } from '../src/image/archive/layer-order.js';
import { registrationRecords } from '../src/nix-cli/closure.js';
import { resolveHostNix } from '../src/nix-cli/host-nix.js';

const dir = await mkdtemp(join(tmpdir(), 'nix-runner-layer-order-'));
const add = async (name: string, content: Buffer | string) => {
  await writeFile(join(dir, name), content);
  return String((await execa('nix-store', ['--add', join(dir, name)])).stdout).trim();
};
const TRIALS = Number(process.argv[2] ?? 8);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
try {
  const { nixPath } = await resolveHostNix();
  const closureOf = async (paths: string[]) => String((await execa('nix-store', ['--query', '--requisites', ...paths])).stdout).split('\n');
  const totals = { qr: 0, ordered: 0, qrWorst: 0, orderedWorst: 0 };
  // -qR orders unrelated paths by their hashes, which are random: the cost depends on luck, so average it.
  for (let trial = 0; trial < TRIALS; trial++) {
    const big = await add(`bench-big-${trial}`, randomBytes(10 * 1024 * 1024));
    const small = await add(`bench-small-${trial}`, `one ${randomBytes(8).toString('hex')}\n`);
    const changed = await add(`bench-small-${trial}`, `two ${randomBytes(8).toString('hex')}\n`);
    const before = await closureOf([nixPath, big, small]);
    const after = await closureOf([nixPath, big, changed]);
    const facts = registrationRecords(`${(await execa('nix-store', ['--dump-db', ...new Set([...before, ...after])])).stdout}\n`);
    const resent = (a: string[], b: string[]) => {
      let same = 0;
      while (same < a.length && a[same] === b[same]) same++;
      return b.slice(same).reduce((sum, path) => sum + (facts.get(path)?.narSize ?? 0), 0);
    };
    const qr = resent(before, after);
    const ordered = resent(layerOrder(before, facts, nixPath), layerOrder(after, facts, nixPath));
    totals.qr += qr;
    totals.ordered += ordered;
    totals.qrWorst = Math.max(totals.qrWorst, qr);
    totals.orderedWorst = Math.max(totals.orderedWorst, ordered);
    await execa('nix-store', ['--delete', big, small, changed], { reject: false });
  }
  console.log(`one small store path changed next to an unchanged 10 MB one (closure: host nix + both), ${TRIALS} trials`);
  console.log(`  nix-store -qR order  mean ${mb(totals.qr / TRIALS)} re-sent, worst ${mb(totals.qrWorst)}`);
  console.log(`  layerOrder           mean ${mb(totals.ordered / TRIALS)} re-sent, worst ${mb(totals.orderedWorst)}`);
  console.log(`  mean bytes re-sent, layerOrder / -qR order: ${totals.qr === 0 ? 'n/a' : (totals.ordered / totals.qr).toFixed(4)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
