// Soak: N daemon swaps (alternating two images, so every other swap is a rollback to an earlier image)
// through the built CLI, as systemd would run provision, while job workers run jobs the way GitLab Runner's
// docker executor does: one build container per job, created from config.toml as it is when the job
// starts, started again for each stage, stopped in between. Prints jobs run / failed and what is left.
// Usage: npm run build && tsx bench/soak-swaps.ts [swaps=10] [workers=2]
import { copyFile, chmod, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { EngineClient } from '../src/engine/engine-client.js';
import { bundleHostNix } from '../src/nix-cli/bundle-host-nix.js';
import { findOnPath } from '../src/nix-cli/host-nix.js';
import { ensureBusyboxImage } from '../src/smoke/busybox-image.js';
import { createBuildContainer, runStage } from '../src/smoke/docker-executor.js';
import { readRunnerJobConfig } from '../src/smoke/runner-job-config.js';

const swaps = Number(process.argv[2] ?? 10);
const workers = Number(process.argv[3] ?? 2);
const cli = join(import.meta.dirname, '..', 'dist', 'cli.js');
const jobImage = 'nix-runner/soak-busybox:1';
const daemon = `soak-${process.pid}`;
const runner = 'docker-second';

const engine = await EngineClient.connect();
const dir = await mkdtemp(join(tmpdir(), 'nix-runner-soak-'));
const runnerConfig = join(dir, 'config.toml');
await copyFile(join(import.meta.dirname, '..', 'test', 'fixtures', 'runner-config', 'config.toml'), runnerConfig);
await chmod(runnerConfig, 0o600);
await ensureBusyboxImage(engine, { ref: jobImage });
const nixBinary = await realpath((await findOnPath('nix-store'))!);
const images = [await bundleHostNix({ nixBinary, variant: 'soak-a' }), await bundleHostNix({ nixBinary, variant: 'soak-b' })];

async function provision(nix: string): Promise<{ exitCode: number; ms: number; action?: string; detail: string }> {
  const started = Date.now();
  const result = await execa('node', [cli, 'provision', '--runner-config', runnerConfig, '--daemon', daemon, '--runner', runner, '--image-store-path', nix, '--json'], { reject: false });
  let action: string | undefined;
  try {
    action = (JSON.parse(String(result.stdout)) as { daemon?: { action?: string } }).daemon?.action;
  } catch {
    // the detail says what came out instead
  }
  return { exitCode: result.exitCode ?? -1, ms: Date.now() - started, ...(action ? { action } : {}), detail: `${String(result.stderr)}${String(result.stdout)}`.trim().split('\n').at(-1) ?? '' };
}

// A stage that needs the daemon: a round trip (the hash of the job's nix) and a write into the store.
function stage(tag: string): string[] {
  return [
    'nix-store --query --hash "${NIX_RUNNER_BIN%/bin}" >/dev/null',
    `echo "${tag} $$ $(date +%s%N)" > /tmp/${tag}`,
    `nix-store --add /tmp/${tag} >/dev/null`,
    `echo ${tag}-ok`,
  ];
}

const jobs = { run: 0, failed: 0, failures: [] as string[] };
let stopping = false;

async function worker(index: number): Promise<void> {
  for (let n = 0; !stopping; n++) {
    // GitLab Runner reads config.toml when a job starts; the container keeps what it got until it is removed.
    const config = await readRunnerJobConfig(runnerConfig, runner);
    const id = await createBuildContainer(engine, { image: jobImage, env: config.environment, volumesFrom: config.volumesFrom, labels: {} });
    let failed: string | undefined;
    try {
      await sleep(Math.random() * 500); // created, not started yet
      for (const [i, tag] of ['step_script', 'step_two', 'after_script'].entries()) {
        const body = i === 0 ? [config.preBuildScript, ...stage(tag)] : stage(tag);
        const result = await runStage(engine, id, config.environment, body);
        if (result.exitCode !== 0 || !result.stdout.includes(`${tag}-ok`)) {
          failed = `worker ${index} job ${n} ${tag}: exit ${result.exitCode}: ${`${result.stderr}${result.stdout}`.trim().split('\n').at(-1)}`;
          break;
        }
        await sleep(Math.random() * 1500); // stopped between stages
      }
    } catch (error: unknown) {
      failed = `worker ${index} job ${n}: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      await engine.removeContainer(id);
    }
    jobs.run++;
    if (failed) {
      jobs.failed++;
      jobs.failures.push(failed);
    }
  }
}

const started = Date.now();
const swapResults: { exitCode: number; ms: number; action?: string; detail: string }[] = [];
try {
  const first = await provision(images[0]!);
  if (first.exitCode !== 0) throw new Error(`first provision failed: ${first.detail}`);
  const running = Array.from({ length: workers }, (_, i) => worker(i));
  for (let i = 1; i <= swaps; i++) {
    await sleep(1000 + Math.random() * 2000);
    swapResults.push(await provision(images[i % 2]!));
  }
  await sleep(2000);
  stopping = true;
  await Promise.all(running);

  // Jobs are done: the next run removes every drained generation; then gc must not skip.
  const settle = await provision(images[swaps % 2]!);
  const containers = await engine.listContainers({ label: [`org.nix-runner.daemon=${daemon}`] });
  const leftoverContainers = containers.filter((c) => c.name !== daemon);
  const sockets = await engine.listVolumeNames(`${daemon}-socket-`);
  const gc = await execa('node', [cli, 'gc', '--daemon', daemon, '--drain-timeout', '10', '--json'], { reject: false });
  const gcResult = JSON.parse(String(gc.stdout)) as { skipped?: string; deleted?: number };

  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const actions = swapResults.map((r) => r.action ?? `exit ${r.exitCode}`);
  console.log(`soak: ${swaps} swaps, ${workers} job workers, ${seconds} s`);
  console.log(`  swaps      ${swapResults.filter((r) => r.exitCode === 0).length}/${swaps} ok (${actions.join(', ')}); median ${(median(swapResults.map((r) => r.ms)) / 1000).toFixed(2)} s`);
  for (const r of swapResults.filter((s) => s.exitCode !== 0)) console.log(`    failed swap: ${r.detail}`);
  console.log(`  jobs       ${jobs.run} run, ${jobs.failed} failed (3 stages each, restarted in one container)`);
  for (const failure of jobs.failures.slice(0, 5)) console.log(`    ${failure}`);
  console.log(`  afterwards provision ${settle.exitCode === 0 ? settle.action : `failed: ${settle.detail}`}; leftover containers ${leftoverContainers.length}${leftoverContainers.length ? ` (${leftoverContainers.map((c) => c.name).join(', ')})` : ''}; socket volumes ${sockets.length} (1 expected)`);
  console.log(`  gc         ${gc.exitCode === 0 ? (gcResult.skipped ? `skipped: ${gcResult.skipped}` : `ran, ${gcResult.deleted} paths deleted`) : `exit ${gc.exitCode}`}`);
} finally {
  stopping = true;
  await execa('node', [cli, 'deprovision', '--runner-config', runnerConfig, '--daemon', daemon, '--purge', '--force'], { reject: false });
  await rm(dir, { recursive: true, force: true });
}

function median(values: number[]): number {
  return values.length === 0 ? 0 : [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}
