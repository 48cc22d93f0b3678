import type { EngineClient } from '../engine/engine-client.js';
import type { RunResult } from '../engine/engine-types.js';

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

function stageScript(env: string[], body: string[]): string {
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
  const id = await engine.createContainer({
    ...(job.name ? { name: job.name } : {}),
    image: job.image,
    cmd: ['sh', '-c', DETECT_SHELL],
    env: job.env,
    volumesFrom: job.volumesFrom,
    labels: { 'org.nix-runner.smoke': 'true' },
    stdinOnce: true,
  });
  try {
    const script = await engine.runWithInput(id, stageScript(job.env, [job.preBuildScript, ...job.script]));
    if (job.afterScript.length === 0) return { script };
    const afterScript = await engine.runWithInput(id, stageScript(job.env, job.afterScript));
    return { script, afterScript };
  } finally {
    await engine.removeContainer(id);
  }
}
