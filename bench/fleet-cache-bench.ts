// The fleet cache (issue 13): the first job on a fresh host B for a derivation that took T to build on
// host A, side by side with T. Two daemons (separate store volumes and config.toml files) share a
// file:// cache; A uploads, B reads. Jobs run as GitLab Runner's docker executor runs them.
// Usage: npm run build && tsx bench/fleet-cache-bench.ts [runs=3]
import { copyFile, chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { EngineClient } from '../src/engine/engine-client.js';
import { ensureBusyboxImage } from '../src/smoke/busybox-image.js';
import { runDockerExecutorJob } from '../src/smoke/docker-executor.js';
import { findStoreShell } from '../src/smoke/find-store-shell.js';
import { readRunnerJobConfig } from '../src/smoke/runner-job-config.js';
import { median } from './bench-stats.js';

const runs = Number(process.argv[2] ?? 3);
const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');
const fixture = join(import.meta.dirname, '..', 'test', 'fixtures', 'runner-config', 'config.toml');
const image = 'nix-runner/bench-busybox:1';

const engine = await EngineClient.connect();
await ensureBusyboxImage(engine, { ref: image });
const dir = await mkdtemp(join(tmpdir(), 'nix-runner-fleet-bench-'));
const cache = join(dir, 'cache');
await execa('nix-store', ['--generate-binary-cache-key', 'bench-fleet-1', join(dir, 'sk'), join(dir, 'pk')]);
const publicKey = (await readFile(join(dir, 'pk'), 'utf8')).trim();
const hosts: { daemon: string; config: string }[] = [];
const narinfos = async () => (await readdir(cache).catch(() => [])).filter((name) => name.endsWith('.narinfo')).length;

async function host(name: string, extra: string[]): Promise<{ daemon: string; config: string }> {
  const daemon = `bench-fleet-${name}-${process.pid}`;
  const config = join(dir, `${name}.toml`);
  await copyFile(fixture, config);
  await chmod(config, 0o600);
  const args = ['provision', '--runner-config', config, '--daemon', daemon, '--runner', 'docker-second', '--cache-url', `file://${cache}`, '--cache-public-key', publicKey, ...extra];
  await execa('node', [cli, ...args]);
  hosts.push({ daemon, config });
  return { daemon, config };
}

async function job(target: { daemon: string; config: string }, expression: string): Promise<{ seconds: number; built: boolean }> {
  const runner = await readRunnerJobConfig(target.config, 'docker-second');
  const started = process.hrtime.bigint();
  const result = await runDockerExecutorJob(engine, {
    image,
    env: [...runner.environment, `E2E_EXPR=${expression}`],
    volumesFrom: runner.volumesFrom,
    preBuildScript: runner.preBuildScript,
    script: ['nix-build --no-out-link -E "$E2E_EXPR" 2>/tmp/err', 'while read -r l; do case "$l" in "building "*) echo bench-built;; esac; done < /tmp/err'],
    afterScript: [],
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.script.exitCode !== 0) throw new Error(`job failed: ${result.script.stderr}`);
  return { seconds, built: result.script.stdout.includes('bench-built') };
}

const built: number[] = [];
const fetched: number[] = [];
try {
  const a = await host('a', ['--cache-secret-key-file', join(dir, 'sk'), '--cache-push']);
  const info = (await engine.inspectContainer(a.daemon))!;
  const busybox = (await findStoreShell(engine, info.id, info.labels['org.nix-runner.nix']!)).storePath;
  for (let run = 0; run < runs; run++) {
    // a build of a few seconds of CPU with a 16 MB output, new each run
    const script = 'i=0; while [ $i -lt 4000000 ]; do i=$((i+1)); done; n=0; while [ $n -lt 16 ]; do head -c 1048576 /dev/urandom >> $out; n=$((n+1)); done';
    const expression = `derivation { name = "bench-fleet"; system = builtins.currentSystem; builder = "${busybox}/bin/busybox"; nonce = "${randomBytes(8).toString('hex')}"; args = [ "sh" "-c" "export PATH=${busybox}/bin; ${script.replace(/"/g, '\\"').replace(/\$/g, '\\$')}" ]; }`;
    const before = await narinfos();
    const onA = await job(a, expression);
    if (!onA.built) throw new Error('host A did not build');
    // the upload runs in the background after the build: wait for it, as a second host would only come later
    for (let waited = 0; (await narinfos()) <= before; waited++) {
      if (waited > 240) throw new Error('the output never reached the cache');
      await sleep(250);
    }
    // a fresh host B each run: its store has never seen the output
    const b = await host(`b${run}`, []);
    const onB = await job(b, expression);
    if (onB.built) throw new Error('host B built instead of substituting');
    built.push(onA.seconds);
    fetched.push(onB.seconds);
  }
} finally {
  for (const { daemon } of hosts) {
    for (const id of await engine.listContainerIds({ label: [`org.nix-runner.daemon=${daemon}`] })) await engine.removeContainer(id);
    for (const volume of await engine.listVolumeNames(daemon)) await engine.removeVolume(volume);
  }
  await rm(dir, { recursive: true, force: true });
}
console.log(`Fleet cache (file://), ${runs} runs, median wall time of a whole job (container, pre_build_script, nix-build):`);
console.log(`| job | time |`);
console.log(`| --- | --- |`);
console.log(`| host A builds (T) | ${median(built).toFixed(2)} s |`);
console.log(`| fresh host B, first job, from the cache | ${median(fetched).toFixed(2)} s |`);
console.log(`| ratio B / T | ${(median(fetched.map((seconds, i) => seconds / built[i]!))).toFixed(3)} |`);
console.log(`runs (s): A ${built.map((s) => s.toFixed(2)).join(', ')}; B ${fetched.map((s) => s.toFixed(2)).join(', ')}`);
