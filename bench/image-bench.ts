// Image loading benchmark (issue 3): each case runs as a child process under /usr/bin/time (wall time, peak RSS),
// several times, and the medians are printed side by side. Run with `npm run bench` (builds dist/ first).
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { resolveHostNix } from '../src/nix-cli/host-nix.js';
import { median } from './bench-stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const WORKER = new URL('./load-worker.mjs', import.meta.url).pathname;
const REPO = 'nix-runner-bench/daemon';

interface Sample {
  seconds: number;
  rssMb: number;
  output: string;
}

async function timed(command: string, args: string[]): Promise<Sample> {
  const result = await execa('/usr/bin/time', ['-f', 'BENCH %e %M', command, ...args], { reject: false });
  const line = String(result.stderr).split('\n').find((text) => text.startsWith('BENCH '));
  if (result.exitCode !== 0 || !line) throw new Error(`${command} ${args.slice(0, 3).join(' ')} failed: ${String(result.stderr)}`);
  const [, seconds, rss] = line.split(' ');
  return { seconds: Number(seconds), rssMb: Number(rss) / 1024, output: String(result.stdout) };
}


async function repeat(before: () => Promise<void>, run: () => Promise<Sample>): Promise<Sample & { all: number[] }> {
  const samples: Sample[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    await before();
    samples.push(await run());
  }
  return { seconds: median(samples.map((s) => s.seconds)), rssMb: median(samples.map((s) => s.rssMb)), output: samples.at(-1)!.output, all: samples.map((s) => s.seconds) };
}

/** `count` store paths of `sizeMb` MB of random bytes each, added with nix-store --add. */
async function syntheticPaths(name: string, count: number, sizeMb: number): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'nix-runner-bench-'));
  const paths: string[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      const blob = join(dir, `${name}-${i}`);
      await mkdir(blob);
      for (let mb = 0; mb < sizeMb; mb += 8) await writeFile(join(blob, `data-${mb}`), randomBytes(Math.min(8, sizeMb - mb) * 1024 * 1024));
      paths.push(String((await execa('nix-store', ['--add', blob])).stdout).trim());
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return paths;
}

const rmi = (...refs: string[]) => execa('docker', ['rmi', '-f', ...refs], { reject: false }).then(() => undefined);
const worker = (mode: string, nix: string, tag: string, target: string, paths: string[]) => timed('node', [WORKER, mode, nix, tag, target, ...paths]);
const dockerLoad = (file: string) => timed('docker', ['load', '-i', file]);

function row(label: string, ours: Sample, theirs: Sample | undefined, goal: string): string {
  const ratio = theirs ? (ours.seconds / theirs.seconds).toFixed(3) : '';
  return `| ${label} | ${ours.seconds.toFixed(2)} s, ${ours.rssMb.toFixed(0)} MB | ${theirs ? `${theirs.seconds.toFixed(2)} s, ${theirs.rssMb.toFixed(0)} MB` : ''} | ${ratio} | ${goal} |`;
}

async function main(): Promise<void> {
  const started = Date.now();
  const nix = (await resolveHostNix()).nixPath;
  const run = `${process.pid}`;
  const scratch = await mkdtemp(join(tmpdir(), 'nix-runner-bench-out-'));
  const created: string[] = [];
  const tags = { a: `${REPO}:a-${run}`, b: `${REPO}:b-${run}`, big: `${REPO}:big-${run}` };
  try {
    process.stderr.write('making synthetic store paths (300 MB + 1 GB)…\n');
    const base = await syntheticPaths(`bench-${run}-base`, 30, 10);
    const changed = await syntheticPaths(`bench-${run}-changed`, 1, 10);
    const big = await syntheticPaths(`bench-${run}-big`, 32, 32);
    created.push(...base, ...changed, ...big);
    const closureA = base;
    const closureB = [...base.slice(0, -1), changed[0]!];
    const [fileA, fileB, fileBig] = ['a.tar', 'b.tar', 'big.tar'].map((name) => join(scratch, name)) as [string, string, string];
    await worker('write', nix, tags.a, fileA, closureA);
    await worker('write', nix, tags.b, fileB, closureB);
    await worker('write', nix, tags.big, fileBig, big);

    process.stderr.write('1. cold load…\n');
    const coldOurs = await repeat(() => rmi(tags.a), () => worker('load', nix, tags.a, 'full', closureA));
    const coldDocker = await repeat(() => rmi(tags.a), () => dockerLoad(fileA));

    process.stderr.write('2. image present…\n');
    await rmi(tags.a);
    await worker('load', nix, tags.a, 'full', closureA);
    const presentOurs = await repeat(async () => {}, () => worker('load', nix, tags.a, 'incremental', closureA));
    const presentDocker = await repeat(async () => {}, () => dockerLoad(fileA));

    process.stderr.write('3. one store path changed…\n');
    const changedOurs = await repeat(() => rmi(tags.b), () => worker('load', nix, tags.b, 'incremental', closureB));
    const changedDocker = await repeat(() => rmi(tags.b), () => dockerLoad(fileB));

    process.stderr.write('4. 1 GB closure…\n');
    const bigOurs = await repeat(() => rmi(tags.big), () => worker('load', nix, tags.big, 'full', big));
    const bigDocker = await repeat(() => rmi(tags.big), () => dockerLoad(fileBig));

    const changedOutcome = JSON.parse(changedOurs.output) as { layersSent: number; layersTotal: number; bytesSent: number; mode: string };
    const versions = {
      docker: String((await execa('docker', ['version', '--format', '{{.Server.Version}} (API {{.Server.APIVersion}})'])).stdout),
      nix: String((await execa('nix', ['--version'])).stdout),
      node: process.version,
    };
    const sizeMb = (file: string) => execa('du', ['-m', '--apparent-size', file]).then((r) => String(r.stdout).split('\t')[0]);
    const report = [
      `Machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 1024 ** 3).toFixed(1)} GB RAM, docker ${versions.docker}, ${versions.nix}, node ${versions.node}.`,
      `Closures: the host nix (bundled Debian nix-bin) plus synthetic store paths from \`nix-store --add\` (random bytes): ` +
        `A = ${await sizeMb(fileA)} MB archive (30 × 10 MB + nix), B = A with its last synthetic path replaced, big = ${await sizeMb(fileBig)} MB archive (32 × 32 MB + nix).`,
      `Median of ${RUNS} runs, each a child process timed by /usr/bin/time (wall, peak RSS). "ours" is the code provision runs (dist/image/store-path-image.js ensurePlannedImage); "docker load" is \`docker load -i\` of the same closure's archive file (the docker CLI's RSS; the engine's own memory is not counted on either side).`,
      '',
      '| case | ours (wall, peak RSS) | docker load (wall, peak RSS) | ratio | goal |',
      '| --- | --- | --- | --- | --- |',
      row('1. cold --load vs docker load (all layers sent)', coldOurs, coldDocker, '<= 1.3'),
      row('2. image already present (provision) vs docker load', presentOurs, presentDocker, '<= 0.05'),
      row(`3. one store path changed: ${changedOutcome.layersSent}/${changedOutcome.layersTotal} layers, ${(changedOutcome.bytesSent / 1024 / 1024).toFixed(1)} MB sent (${changedOutcome.mode})`, changedOurs, changedDocker, '<= 0.25'),
      row('4. 1 GB closure, cold', bigOurs, bigDocker, 'peak RSS <= 150 MB'),
      '',
      `Wall times per run (s): cold ours ${coldOurs.all.join(', ')}; cold docker ${coldDocker.all.join(', ')}; changed ours ${changedOurs.all.join(', ')}; changed docker ${changedDocker.all.join(', ')}; 1 GB ours ${bigOurs.all.join(', ')}.`,
      `Total bench time ${((Date.now() - started) / 1000).toFixed(0)} s.`,
    ].join('\n');
    process.stdout.write(`${report}\n`);
  } finally {
    await rmi(tags.a, tags.b, tags.big);
    await rm(scratch, { recursive: true, force: true });
    if (created.length > 0) await execa('nix-store', ['--delete', ...created], { reject: false });
  }
}

await main();
