// The update path (issue 10), measured side by side in one run through the built CLI (npm run build first):
//   1. re-provision after one small store path changed beside an unchanged 300 MB path, vs `docker load` of
//      the new image with the old one present;
//   2. the same for a nix upgrade that changes nix and 3 of its 30 dependencies;
//   3. no-op provision (store-path and archive sources) and `--help`, vs `node -e 0`;
//   4. cold provision vs the wiki recipe by hand on the same image (docker load + docker run with named volumes);
//   5. peak RSS of a cold provision of a 1 GB closure.
// Each pair runs A then B, BENCH_RUNS times (default 5); the table gives medians and the median of the
// per-pair ratios. Wall time and peak RSS of whole processes (node start included), by GNU time.
// Usage: npm run build && tsx bench/update-path-bench.ts
import { randomBytes } from 'node:crypto';
import { copyFile, chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { EngineClient } from '../src/engine/engine-client.js';
import { resolveHostNix } from '../src/nix-cli/host-nix.js';
import { queryClosure } from '../src/nix-cli/closure.js';
import { rootBuildOptions } from '../src/nix-cli/nix-tool.js';
import { median, mb } from './bench-stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');
const FIXTURE = join(import.meta.dirname, '..', 'test', 'fixtures', 'runner-config', 'config.toml');

interface Run {
  seconds: number;
  /** Peak resident memory of the process, MB (GNU time's %M). */
  rssMb: number;
  stdout: string;
}

async function timed(file: string, args: string[]): Promise<Run> {
  const result = await execa('/usr/bin/time', ['-f', 'BENCH %e %M', file, ...args], { reject: false });
  const line = String(result.stderr).split('\n').find((text) => text.startsWith('BENCH '));
  if (result.exitCode !== 0 || !line) throw new Error(`${file} ${args.slice(0, 4).join(' ')} failed: ${String(result.stderr)}`);
  const [, seconds, rss] = line.split(' ');
  return { seconds: Number(seconds), rssMb: Number(rss) / 1024, stdout: String(result.stdout) };
}


interface Row {
  label: string;
  ours: number[];
  theirs: number[];
  ratios: number[];
  rssOurs: number[];
  goal: string;
  note?: string;
}
const rows: Row[] = [];
let memory = '';

/** A then B, `RUNS` times; `prepare(i)` runs before each pair, untimed. */
async function paired(label: string, goal: string, a: (i: number) => Promise<Run>, b: (i: number) => Promise<Run>, prepare?: (i: number) => Promise<void>): Promise<Row> {
  const row: Row = { label, ours: [], theirs: [], ratios: [], rssOurs: [], goal };
  for (let i = 0; i < RUNS; i++) {
    await prepare?.(i);
    const ours = await a(i);
    const theirs = await b(i);
    row.ours.push(ours.seconds);
    row.theirs.push(theirs.seconds);
    row.ratios.push(ours.seconds / theirs.seconds);
    row.rssOurs.push(ours.rssMb);
  }
  rows.push(row);
  process.stderr.write(`${label}: ours ${median(row.ours).toFixed(3)} s, baseline ${median(row.theirs).toFixed(3)} s\n`);
  return row;
}

/** A store path of `sizeMb` MB of random bytes (nix-store --add). */
async function randomPath(dir: string, name: string, sizeMb: number): Promise<string> {
  const blob = join(dir, name);
  await mkdir(blob);
  if (sizeMb === 0) await writeFile(join(blob, 'data'), randomBytes(64));
  for (let at = 0; at < sizeMb; at += 8) await writeFile(join(blob, `data-${at}`), randomBytes(Math.min(8, sizeMb - at) * 1024 * 1024));
  const path = String((await execa('nix-store', ['--add', blob])).stdout).trim();
  await rm(blob, { recursive: true });
  return path;
}

/**
 * A nix package as nixpkgs makes them: bin/ with the nix commands (here links to the bundled host nix)
 * and dependencies of its own (here the given store paths, referenced from a file).
 */
async function nixPackage(nix: string, busybox: string, name: string, deps: string[]): Promise<string> {
  const quoted = (path: string) => `(builtins.storePath "${path}")`;
  const expression = `derivation {
    name = "${name}"; system = builtins.currentSystem; builder = "\${${quoted(busybox)}}/bin/busybox";
    nix = ${quoted(nix)}; deps = [ ${deps.map(quoted).join(' ')} ];
    args = [ "sh" "-ec" "$builder mkdir -p $out/bin; for f in $nix/bin/*; do $builder ln -s $f $out/bin/; done; echo $deps > $out/deps" ];
  }`;
  return String((await execa('nix-build', [...rootBuildOptions(), '--no-out-link', '-E', expression])).stdout).trim();
}

async function main(): Promise<void> {
  const started = Date.now();
  const engine = await EngineClient.connect();
  const scratch = await mkdtemp(join(tmpdir(), 'nix-runner-update-bench-'));
  const daemons: string[] = [];
  const images: string[] = [];
  const tag = `${process.pid}`;
  const nix = (await resolveHostNix()).nixPath;
  const busybox = (await queryClosure([nix])).find((path) => path.endsWith('-nix-runtime'))!;
  const provision = async (daemon: string, args: string[]) => {
    const config = join(scratch, `${daemon}.toml`);
    await copyFile(FIXTURE, config).catch(() => undefined);
    await chmod(config, 0o600);
    return timed('node', [CLI, 'provision', '--runner-config', config, '--daemon', daemon, '--runner', 'docker-second', '--json', ...args]);
  };
  const archiveOf = async (nixPath: string, name: string) => {
    const file = join(scratch, `${name}.tar`);
    await execa('node', [CLI, 'image', 'build', '--store-path', nixPath, '-o', file]);
    return file;
  };
  const removeDaemon = async (daemon: string) => {
    for (const id of await engine.listContainerIds({ label: [`org.nix-runner.daemon=${daemon}`] })) await engine.removeContainer(id);
    const byName = await engine.inspectContainer(daemon);
    if (byName) await engine.removeContainer(byName.id);
    for (const volume of await engine.listVolumeNames(daemon)) await engine.removeVolume(volume);
  };
  const delivered = (run: Run) => (JSON.parse(run.stdout) as { daemon: { delivered?: { bytes: number } } }).daemon.delivered?.bytes ?? 0;
  const loadedRef = (run: Run) => /Loaded image: (\S+)/.exec(run.stdout)?.[1];

  try {
    process.stderr.write('making store paths: a 300 MB one, 30 dependencies of 5 MB, and one nix package per run…\n');
    const big = await randomPath(scratch, `big-${tag}`, 300);
    const deps = await Promise.all(Array.from({ length: 30 }, (_, i) => randomPath(scratch, `dep-${tag}-${i}`, 5)));

    // 1. one small store path changed beside an unchanged 300 MB one
    const smallChange = async (i: number) => nixPackage(nix, busybox, `nix-bench-small-${tag}-${i}`, [big, await randomPath(scratch, `small-${tag}-${i}`, 0)]);
    // 2. a nix upgrade: nix and 3 of its 30 dependencies change
    const upgrade = async (i: number) => nixPackage(nix, busybox, `nix-bench-upgrade-${tag}-${i}`, [...deps.slice(3), ...(await Promise.all([0, 1, 2].map((d) => randomPath(scratch, `dep-${tag}-${i}-${d}`, 5))))]);

    for (const [label, make] of [
      ['re-provision after one small path changed beside a 300 MB one', smallChange],
      ['re-provision after a nix upgrade (nix + 3 of 30 dependencies)', upgrade],
    ] as const) {
      const daemon = `bench-update-${tag}-${rows.length}`;
      daemons.push(daemon);
      process.stderr.write(`${label}: packages and image archives for ${RUNS + 1} versions…\n`);
      const versions: { nixPath: string; archive: string }[] = [];
      for (let i = 0; i <= RUNS; i++) {
        const nixPath = await make(i);
        versions.push({ nixPath, archive: await archiveOf(nixPath, `${daemon}-${i}`) });
      }
      // the starting point: version 0 provisioned, and its image loaded (the "old one present")
      await provision(daemon, ['--image-store-path', versions[0]!.nixPath]);
      const first = await timed('docker', ['load', '-i', versions[0]!.archive]);
      images.push(loadedRef(first)!);
      const bytes: number[] = [];
      const row = await paired(
        label,
        '<= 0.25',
        async (i) => {
          const run = await provision(daemon, ['--image-store-path', versions[i + 1]!.nixPath]);
          bytes.push(delivered(run));
          return run;
        },
        async (i) => {
          const run = await timed('docker', ['load', '-i', versions[i + 1]!.archive]);
          images.push(loadedRef(run)!);
          return run;
        },
      );
      const archiveBytes = (await stat(versions[1]!.archive)).size;
      row.note = `bytes moved: ours ${mb(median(bytes))} (store paths delivered), docker load ${mb(archiveBytes)} (the archive)`;
    }

    // 3. no-op provision and --help against node -e 0
    const noop = `bench-noop-${tag}`;
    daemons.push(noop);
    await provision(noop, ['--image-store-path', nix]);
    await paired('no-op provision, store-path source', '<= 2.5', () => provision(noop, ['--image-store-path', nix]), () => timed('node', ['-e', '0']));
    const archive = await archiveOf(nix, 'noop-archive');
    const noopArchive = `bench-noop-archive-${tag}`;
    daemons.push(noopArchive);
    await provision(noopArchive, ['--image-archive', archive]);
    await paired('no-op provision, archive source', '<= 2.5', () => provision(noopArchive, ['--image-archive', archive]), () => timed('node', ['-e', '0']));
    await paired('nix-runner --help', '<= 1.6', () => timed('node', [CLI, '--help']), () => timed('node', ['-e', '0']));

    // 4. cold: nix-runner from nothing vs the wiki recipe by hand on the same image
    const loaded = loadedRef(await timed('docker', ['load', '-i', archive]))!;
    const cold = (i: number) => `bench-cold-${tag}-${i}`;
    const wiki = (i: number) => `bench-wiki-${tag}-${i}`;
    // the daemons above go first: an image a container uses cannot be removed
    for (const daemon of daemons.splice(0)) await removeDaemon(daemon);
    await paired(
      'cold provision (store-path source) vs the wiki recipe (docker load + docker run with named volumes)',
      '<= 1.3',
      (i) => provision(cold(i), ['--image-store-path', nix]),
      async (i) => {
        const load = await timed('docker', ['load', '-i', archive]);
        const run = await timed('docker', ['run', '-d', '--name', wiki(i), '-v', `${wiki(i)}-store:/nix/store`, '-v', `${wiki(i)}-db:/nix/var/nix/db`, loaded]);
        return { seconds: load.seconds + run.seconds, rssMb: Math.max(load.rssMb, run.rssMb), stdout: '' };
      },
      async (i) => {
        // nothing of either is there: no daemon, no volumes, neither image (the base image is a few KB)
        for (const daemon of [cold(i - 1), wiki(i - 1)]) if (i > 0) await removeDaemon(daemon);
        await execa('docker', ['rmi', '-f', loaded], { reject: false });
        // the base image (a few KB) goes too, unless another daemon on this engine runs it
        for (const id of await engine.listImageIds({ label: ['org.nix-runner.base'] })) await engine.removeImage(id).catch(() => undefined);
      },
    );
    await removeDaemon(cold(RUNS - 1));
    await removeDaemon(wiki(RUNS - 1));

    // 5. memory: a cold provision of a nix whose closure is 1 GB streams it, never holds it
    const gigabyte = await nixPackage(nix, busybox, `nix-bench-1gb-${tag}`, [big, ...deps, ...(await Promise.all(Array.from({ length: 4 }, (_, i) => randomPath(scratch, `gb-${tag}-${i}`, 150))))]);
    const bigDaemon = `bench-1gb-${tag}`;
    daemons.push(bigDaemon);
    const bigRun = await provision(bigDaemon, ['--image-store-path', gigabyte]);
    const bigBytes = delivered(bigRun);
    memory = `cold provision of a ${mb(bigBytes)} closure: ${bigRun.seconds.toFixed(2)} s, peak RSS ${bigRun.rssMb.toFixed(0)} MB (goal <= 150 MB)`;
  } finally {
    for (const daemon of daemons) await removeDaemon(daemon);
    for (const image of images) await execa('docker', ['rmi', '-f', image], { reject: false });
    await rm(scratch, { recursive: true, force: true });
  }

  const { stdout: dockerVersion } = await execa('docker', ['version', '--format', '{{.Server.Version}}']);
  console.log(`Update path, ${RUNS} pairs each (A then B), median wall times; ratio = median of the per-pair A/B ratios.`);
  console.log(`Machine: ${cpus().length} CPUs, docker ${dockerVersion}, ${String((await execa('nix-store', ['--version'])).stdout)}, node ${process.version}.\n`);
  console.log('| case | nix-runner | baseline | ratio | goal |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(`| ${row.label} | ${median(row.ours).toFixed(3)} s | ${median(row.theirs).toFixed(3)} s | ${median(row.ratios).toFixed(3)} | ${row.goal} |`);
  console.log('');
  for (const row of rows) if (row.note) console.log(`- ${row.label}: ${row.note}`);
  console.log(`- peak RSS of nix-runner (median): ${rows.map((row) => `${row.label.split(' (')[0]} ${median(row.rssOurs).toFixed(0)} MB`).join('; ')}`);
  if (memory) console.log(`- ${memory}`);
  console.log(`\nTotal bench time ${((Date.now() - started) / 1000).toFixed(0)} s.`);
}

await main();
