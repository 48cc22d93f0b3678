// Wall times of the main paths, measured on this machine through the built CLI (npm run build first):
// cold provision (new nix store path: image built, loaded, volumes seeded), no-op provision, the daemon
// check inside a no-op (socket round trip + nix closure verified), smoke.
// Usage: tsx bench/provision-bench.ts [runs=3]
import { copyFile, chmod, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { checkDaemon } from '../src/daemon/check-daemon.js';
import { EngineClient } from '../src/engine/engine-client.js';
import { bundleHostNix } from '../src/nix-cli/bundle-host-nix.js';
import { findOnPath } from '../src/nix-cli/host-nix.js';
import { median } from './bench-stats.js';

const runs = Number(process.argv[2] ?? 3);
const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');

async function timed(args: string[]): Promise<number> {
  const started = process.hrtime.bigint();
  const result = await execa('node', [cli, ...args], { reject: false });
  if (result.exitCode !== 0) throw new Error(`nix-runner ${args.join(' ')} failed: ${result.stderr}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}


const engine = await EngineClient.connect();
const dir = await mkdtemp(join(tmpdir(), 'nix-runner-bench-'));
const nixBinary = await realpath((await findOnPath('nix-store'))!);
const figures: Record<string, number[]> = { 'cold provision': [], 'no-op provision': [], 'daemon check': [], smoke: [] };
try {
  for (let run = 0; run < runs; run++) {
    const daemon = `bench-provision-${process.pid}-${run}`;
    const runnerConfig = join(dir, `config-${run}.toml`);
    await copyFile(join(import.meta.dirname, '..', 'test', 'fixtures', 'runner-config', 'config.toml'), runnerConfig);
    await chmod(runnerConfig, 0o600);
    // A nix store path no image was built from yet: the image is built and loaded, the volumes seeded.
    const nixPath = await bundleHostNix({ nixBinary, variant: `bench-${process.pid}-${run}` });
    const args = ['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--runner', 'docker-second', '--image-store-path', nixPath];
    figures['cold provision']!.push(await timed(args));
    figures['no-op provision']!.push(await timed(args));
    // The part of a no-op that checks the running daemon: its socket and its nix closure (issue 8).
    const checkStarted = process.hrtime.bigint();
    const health = await checkDaemon(engine, daemon, nixPath);
    figures['daemon check']!.push(Number(process.hrtime.bigint() - checkStarted) / 1e6);
    if (!health.ok) throw new Error(`the fresh daemon fails its check: ${health.reason}`);
    figures.smoke!.push(await timed(['smoke', '--runner-config', runnerConfig, '--runner', 'docker-second']));
    for (const id of await engine.listContainerIds({ label: [`org.nix-runner.daemon=${daemon}`] })) await engine.removeContainer(id);
    for (const volume of await engine.listVolumeNames(daemon)) await engine.removeVolume(volume);
    const image = (await engine.listImageIds({ label: [`org.nix-runner.nix=${nixPath}`] }))[0];
    if (image) await engine.removeImage(image);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
console.log(`nix-runner provision paths, median of ${runs} runs (wall time, CLI process included)`);
for (const [name, values] of Object.entries(figures)) console.log(`  ${name.padEnd(16)} ${(median(values) / 1000).toFixed(2)} s   (runs: ${values.map((v) => (v / 1000).toFixed(2)).join(', ')})`);
const cold = median(figures['cold provision']!);
console.log(`  no-op / cold     ${(median(figures['no-op provision']!) / cold).toFixed(3)}`);
console.log(`  check / no-op    ${(median(figures['daemon check']!) / median(figures['no-op provision']!)).toFixed(3)}`);
