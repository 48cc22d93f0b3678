import { randomBytes } from 'node:crypto';
import { LABEL_MANAGED, LABEL_NIX } from '../names/daemon-names.js';
import { EngineClient } from '../engine/engine-client.js';
import type { EngineTimeouts } from '../engine/engine-timeouts.js';
import type { ContainerInfo, RunResult } from '../engine/engine-types.js';
import { UserError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { ensureBusyboxImage } from './busybox-image.js';
import { runDockerExecutorJob, type JobSpec } from './docker-executor.js';
import { findStoreShell } from './find-store-shell.js';
import { readRunnerJobConfig, type RunnerJobConfig } from './runner-job-config.js';
import { smokeExpression } from './smoke-derivation.js';
import { SMOKE_AFTER_SCRIPT, SMOKE_SCRIPT, parseSmokeReport, type SmokeReport } from './smoke-scripts.js';

export interface SmokeOptions {
  runnerConfig: string;
  runner?: string;
  image?: string;
  dockerHost?: string;
  /** Limits of engine calls; default engineTimeouts(). */
  timeouts?: EngineTimeouts;
  logger?: Logger;
}

export interface SmokeResult {
  ok: true;
  runner: string;
  image: string;
  daemon: { name: string; id: string; hostname: string };
  outPath: string;
  builtByDaemon: boolean;
  cacheHit: boolean;
  afterScript: boolean;
  jobs: { first: number; second: number };
}

async function attachedDaemon(engine: EngineClient, runner: RunnerJobConfig): Promise<ContainerInfo> {
  for (const entry of runner.volumesFrom) {
    const container = await engine.inspectContainer(entry.split(':')[0]!);
    if (container?.labels[LABEL_MANAGED] === 'true' && container.labels[LABEL_NIX]) {
      if (!container.running) throw new UserError('smoke', `the nix daemon ${container.name} is not running`, 'run `nix-runner provision`');
      return container;
    }
  }
  throw new UserError('smoke', `runner "${runner.name}" mounts no nix-runner daemon (volumes_from: ${runner.volumesFrom.join(', ') || 'none'})`, 'run `nix-runner provision` first');
}

async function jobImage(engine: EngineClient, runner: RunnerJobConfig, image?: string): Promise<string> {
  if (image) {
    if (!(await engine.inspectImage(image))) throw new UserError('smoke', `no image ${image} in the engine`, 'build or load it first; nothing is pulled');
    return image;
  }
  if (runner.image && (await engine.inspectImage(runner.image))) return runner.image;
  return ensureBusyboxImage(engine);
}

function report(result: RunResult, stage: string, job: string): SmokeReport {
  const parsed = result.exitCode === 0 ? parseSmokeReport(result.stdout) : undefined;
  if (!parsed) {
    const why = `${result.stderr}${result.stdout}`.trim().split('\n').slice(-3).join(' | ') || `exit ${result.exitCode}`;
    throw new UserError('smoke', `${job} failed in ${stage}: ${why}`, 'run `nix-runner provision` again, then check `docker logs` of the daemon');
  }
  return parsed;
}

/**
 * Two jobs the way GitLab Runner's docker executor would run them for this runner: the first builds a
 * fresh derivation (in the daemon) and uses nix again in after_script; the second, a new container,
 * gets the same output without a rebuild.
 */
export async function smoke({ runnerConfig, runner: runnerName, image, dockerHost, timeouts, logger = nullLogger }: SmokeOptions): Promise<SmokeResult> {
  const runner = await readRunnerJobConfig(runnerConfig, runnerName);
  const engine = await EngineClient.connect(dockerHost, logger, timeouts);
  const daemon = await attachedDaemon(engine, runner);
  const nixPath = daemon.labels[LABEL_NIX]!;
  const jobImageRef = await jobImage(engine, runner, image);
  const expression = smokeExpression(await findStoreShell(engine, daemon.id, nixPath), randomBytes(8).toString('hex'));
  const job: JobSpec = {
    image: jobImageRef,
    env: [...runner.environment, 'CI=true', `CI_RUNNER_DESCRIPTION=${runner.name}`, `NIX_RUNNER_SMOKE_EXPR=${expression}`],
    volumesFrom: runner.volumesFrom,
    preBuildScript: runner.preBuildScript,
    script: SMOKE_SCRIPT,
    afterScript: SMOKE_AFTER_SCRIPT,
  };

  let started = logger.start('job 1: build');
  const first = await runDockerExecutorJob(engine, job);
  const jobs = { first: Date.now() - started, second: 0 };
  logger.stop('job 1 done', started);
  const built = report(first.script, 'script', 'job 1');
  const after = report(first.afterScript!, 'after_script', 'job 1');
  started = logger.start('job 2: same derivation, new container');
  const second = report((await runDockerExecutorJob(engine, { ...job, afterScript: [] })).script, 'script', 'job 2');
  jobs.second = Date.now() - started;
  logger.stop('job 2 done', started);

  const builtByDaemon = built.built && built.content === `built-on-${daemon.hostname}`;
  const cacheHit = !second.built && second.out === built.out && second.content === built.content;
  const afterScript = after.out === built.out && !after.built;
  if (!builtByDaemon) throw new UserError('smoke', `job 1 did not build in the daemon (${built.content}, built=${built.built})`, 'is NIX_REMOTE=daemon in the runner environment?');
  if (!cacheHit) throw new UserError('smoke', 'job 2 rebuilt the derivation instead of reusing the shared store', 'do both jobs mount the same daemon?');
  if (!afterScript) throw new UserError('smoke', 'nix did not work in after_script', 'the runner environment must carry NIX_REMOTE and PATH');
  return {
    ok: true,
    runner: runner.name,
    image: jobImageRef,
    daemon: { name: daemon.name, id: daemon.id, hostname: daemon.hostname },
    outPath: built.out,
    builtByDaemon,
    cacheHit,
    afterScript,
    jobs,
  };
}
