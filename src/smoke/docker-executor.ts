import { helperLabels } from '../names/daemon-names.js';
import type { EngineClient } from '../engine/engine-client.js';
import type { RunResult } from '../engine/engine-types.js';
import { currentRunId } from '../leftovers/run-id.js';

// GitLab Runner starts its build container with `sh -c <this>` and feeds the job script on stdin
// (shells/bash.go, BashDetectShellScript).
export const DETECT_SHELL = [
  '/usr/local/bin/bash', '/usr/bin/bash', '/bin/bash', '/usr/local/bin/sh', '/usr/bin/sh', '/bin/sh', '/busybox/sh',
].map((shell, i) => `${i === 0 ? 'if' : 'elif'} [ -x ${shell} ]; then\n\texec ${shell} "$@"\n`).join('') + 'else\n\techo shell not found\n\texit 1\nfi\n';

export interface JobSpec {
  image: string;
  /** The runner's `environment` plus the job's variables, as KEY=value. */
  env: string[];
  volumesFrom: string[];
  preBuildScript: string;
  script: string[];
  afterScript: string[];
  name?: string;
}

export interface JobResult {
  script: RunResult;
  afterScript?: RunResult;
}

function quote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A stage's script as GitLab Runner feeds it on stdin: the variables exported, then the body. */
export function stageScript(env: string[], body: string[]): string {
  const exports = env.map((entry) => {
    const eq = entry.indexOf('=');
    return `export ${entry.slice(0, eq)}=${quote(entry.slice(eq + 1))}`;
  });
  return ['set -e', ...exports, 'mkdir -p /builds/project && cd /builds/project', ...body, 'exit 0', ''].join('\n');
}

/**
 * Runs a job the way GitLab Runner's docker executor does: one build container from the job image with
 * the runner's VolumesFrom and environment; `pre_build_script` and the script in one shell; then, in the
 * same container started again, `after_script` in a second shell that gets the environment only.
 */
export async function runDockerExecutorJob(engine: EngineClient, job: JobSpec): Promise<JobResult> {
  const id = await createBuildContainer(engine, job);
  try {
    const script = await runStage(engine, id, job.env, [job.preBuildScript, ...job.script]);
    if (job.afterScript.length === 0) return { script };
    const afterScript = await runStage(engine, id, job.env, job.afterScript);
    return { script, afterScript };
  } finally {
    await engine.removeContainer(id);
  }
}

/**
 * The one build container of a job (GitLab Runner's requestBuildContainer): created once, started again
 * for each stage; between stages it exists, stopped. Labelled as nix-runner's, with this run.
 */
export async function createBuildContainer(
  engine: EngineClient,
  job: Pick<JobSpec, 'name' | 'image' | 'env' | 'volumesFrom'> & { /** default: nix-runner's (a smoke job) */ labels?: Record<string, string> },
): Promise<string> {
  return engine.createContainer({
    ...(job.name ? { name: job.name } : {}),
    image: job.image,
    cmd: ['sh', '-c', DETECT_SHELL],
    env: job.env,
    volumesFrom: job.volumesFrom,
    labels: job.labels ?? { 'org.nix-runner.smoke': 'true', ...helperLabels(currentRunId()) },
    stdinOnce: true,
  });
}

/** Starts the build container again with one stage's script on stdin, until it exits. */
export async function runStage(engine: EngineClient, id: string, env: string[], body: string[]): Promise<RunResult> {
  return engine.runWithInput(id, stageScript(env, body));
}
