// Job images (issue 14): a job's start from a nix-runner job image vs from a conventional image with the
// same tools, side by side in one run. "Start" is what a runner host does when the image is not there
// yet: `docker load` of the image's archive, then `docker run` of the job's first command (a tool of the
// closure), until it has printed. The job image is a few KB of symlinks, its closure already in the
// daemon's shared store (delivered once per daemon, by provision or image job --load); the conventional
// image holds the same root and the closure itself (one layer, as FROM scratch + COPY would make it).
// Each pair runs A then B, BENCH_RUNS times (default 5), each image removed before its run; the table
// gives medians and the median of the per-pair ratios (one pair first, not counted).
// Usage: npm run build && tsx bench/job-image-bench.ts
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { EngineClient } from '../src/engine/engine-client.js';
import { queryClosure } from '../src/nix-cli/closure.js';
import { findStoreShell } from '../src/smoke/find-store-shell.js';
import { median, mb } from './bench-stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli.js');
const FIXTURE = join(import.meta.dirname, '..', 'test', 'fixtures', 'runner-config', 'config.toml');
// a toolchain's worth of files beside the host nix: what a CI image of compilers and tools weighs
const TOOL_FILES = 10;
const TOOL_FILE_MB = 20;

const cli = async (...args: string[]) => JSON.parse((await execa('node', [CLI, ...args, '--json'])).stdout) as Record<string, unknown>;

/** Seconds from `docker load` of `archive` to the end of `docker run … tool`; fails unless the tool printed `expect`. */
async function jobStart(archive: string, run: string[], expect: string): Promise<number> {
  const started = process.hrtime.bigint();
  await execa('docker', ['load', '-q', '-i', archive]);
  const { stdout } = await execa('docker', ['run', '--rm', ...run]);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!stdout.includes(expect)) throw new Error(`the job printed ${stdout}, not ${expect}`);
  return seconds;
}

const engine = await EngineClient.connect();
const dir = await mkdtemp(join(tmpdir(), 'nix-runner-job-image-bench-'));
const daemon = `bench-jobimg-${process.pid}`;
const jobTag = `nix-runner/bench-job-image-${process.pid}:1`;
const conventionalTag = `nix-runner/bench-conventional-${process.pid}:1`;
const stored: string[] = [];
const started = Date.now();
try {
  const config = join(dir, 'config.toml');
  await copyFile(FIXTURE, config);
  await chmod(config, 0o600);
  await cli('provision', '--runner-config', config, '--daemon', daemon, '--runner', 'docker-second');
  const info = (await engine.inspectContainer(daemon))!;
  const nix = info.labels['org.nix-runner.nix']!;
  const shell = await findStoreShell(engine, info.id, nix);
  // the tool: a script and a toolchain's worth of data, a store path of its own
  const toolDir = join(dir, `bench-tool-${process.pid}`);
  await mkdir(join(toolDir, 'bin'), { recursive: true });
  await mkdir(join(toolDir, 'share'), { recursive: true });
  for (let i = 0; i < TOOL_FILES; i++) await writeFile(join(toolDir, 'share', `part-${i}`), randomBytes(TOOL_FILE_MB * 1024 * 1024));
  await writeFile(join(toolDir, 'bin', 'bench-tool'), `#!${shell.storePath}/${shell.program}${shell.program.endsWith('busybox') ? ' sh' : ''}\necho bench-tool-ran\n`);
  await chmod(join(toolDir, 'bin', 'bench-tool'), 0o555);
  const tool = (await execa('nix-store', ['--add', toolDir])).stdout.trim();
  stored.push(tool);
  const roots = [shell.storePath, nix, tool];

  // the job image: its closure goes into the daemon's store once, here
  const loaded = await cli('image', 'job', ...roots, '--tag', jobTag, '--load', '--daemon', daemon);
  const jobArchive = join(dir, 'job-image.tar');
  await execa('node', [CLI, 'image', 'job', ...roots, '--tag', jobTag, '-o', jobArchive]);
  // the conventional image: the job image's root with the closure itself in it, one layer (FROM scratch + COPY)
  const rootsPath = (await engine.inspectImage(jobTag))!.labels['org.nix-runner.job-image']!;
  const closure = await queryClosure([rootsPath]);
  const closureBytes = (await execa('nix-store', ['--query', '--size', ...closure])).stdout.split('\n').reduce((sum, line) => sum + Number(line), 0);
  const rootfs = join(dir, 'rootfs.tar');
  const holder = (await execa('docker', ['create', jobTag])).stdout.trim();
  await execa('docker', ['export', '-o', rootfs, holder]);
  await execa('docker', ['rm', holder]);
  await execa('tar', ['-rf', rootfs, '-C', '/', ...closure.map((path) => path.slice(1))]);
  await execa('docker', ['import', '--change', 'ENV PATH=/bin:/sbin:/usr/bin', rootfs, conventionalTag]);
  const conventionalArchive = join(dir, 'conventional.tar');
  await execa('docker', ['save', '-o', conventionalArchive, conventionalTag]);
  const conventionalRef = conventionalTag;

  const ours: number[] = [];
  const theirs: number[] = [];
  const ratios: number[] = [];
  // one pair first, not counted: the first container that mounts the daemon's volumes starts slower
  for (let i = -1; i < RUNS; i++) {
    await engine.removeImage(jobTag);
    const a = await jobStart(jobArchive, ['--volumes-from', `${daemon}:ro`, '-e', 'NIX_REMOTE=daemon', jobTag, 'bench-tool'], 'bench-tool-ran');
    await engine.removeImage(conventionalRef);
    const b = await jobStart(conventionalArchive, [conventionalRef, 'bench-tool'], 'bench-tool-ran');
    if (i < 0) continue;
    ours.push(a);
    theirs.push(b);
    ratios.push(a / b);
  }
  // what `docker images` shows: the unpacked size of the layers
  await execa('docker', ['load', '-q', '-i', jobArchive]);
  await execa('docker', ['load', '-q', '-i', conventionalArchive]);
  const engineSize = async (ref: string) => Number((await execa('docker', ['image', 'inspect', '--format', '{{.Size}}', ref])).stdout);
  const versions = (await execa('docker', ['version', '--format', '{{.Server.Version}}'])).stdout;
  console.log(`# Job image benchmark (${new Date().toISOString().slice(0, 10)})\n`);
  console.log(`Machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), docker ${versions}, ${(await execa('nix-store', ['--version'])).stdout}, node ${process.version}.`);
  console.log(`Closure: ${closure.length} store paths, ${mb(closureBytes)} (the host nix bundle, a busybox shell, a tool with ${TOOL_FILES} × ${TOOL_FILE_MB} MB).`);
  console.log(`Median of ${RUNS} pairs; each side removes its image first, then times docker load -i + docker run --rm of the tool.\n`);
  console.log('| | nix-runner job image | conventional image | ratio |');
  console.log('| --- | --- | --- | --- |');
  const [jobBytes, conventionalBytes] = [(await stat(jobArchive)).size, (await stat(conventionalArchive)).size];
  const [jobSize, conventionalSize] = [await engineSize(jobTag), await engineSize(conventionalRef)];
  console.log(`| image in the engine (docker images) | ${jobSize} bytes | ${mb(conventionalSize)} | ${(jobSize / conventionalSize).toExponential(1)} |`);
  console.log(`| image archive (docker load -i) | ${jobBytes} bytes | ${mb(conventionalBytes)} | ${(jobBytes / conventionalBytes).toExponential(1)} |`);
  console.log(`| job start (load + run) | ${median(ours).toFixed(2)} s | ${median(theirs).toFixed(2)} s | ${median(ratios).toFixed(3)} |`);
  console.log(`\nPer pair (s): job image ${ours.map((s) => s.toFixed(2)).join(', ')}; conventional ${theirs.map((s) => s.toFixed(2)).join(', ')}.`);
  const delivered = (loaded as { delivered: { paths: number; bytes: number } }).delivered;
  console.log(`Once per daemon: image job --load sent the ${delivered.paths} closure paths its store lacked (${mb(delivered.bytes)}), imported by the daemon's nix.`);
  console.log(`Total bench time ${Math.round((Date.now() - started) / 1000)} s.`);
  await engine.removeImage(conventionalRef);
} finally {
  await engine.removeImage(jobTag);
  for (const id of await engine.listContainerIds({ label: [`org.nix-runner.daemon=${daemon}`] })) await engine.removeContainer(id);
  for (const volume of await engine.listVolumeNames(daemon)) await engine.removeVolume(volume);
  await rm(dir, { recursive: true, force: true });
  if (stored.length > 0) await execa('nix-store', ['--delete', ...stored], { reject: false });
}
