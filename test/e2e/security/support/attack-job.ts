import type { EngineClient } from '../../../../src/engine/engine-client.js';
import { runDockerExecutorJob } from '../../../../src/smoke/docker-executor.js';
import { readRunnerJobConfig } from '../../../../src/smoke/runner-job-config.js';
import { uniqueName } from '../../support/scratch.js';
import { inspectJson } from './daemon-probe.js';

/** Where a job runs: a runner of a config.toml that `nix-runner provision` wrote, and a job image. */
export interface JobTarget {
  engine: EngineClient;
  runnerConfig: string;
  runner: string;
  image: string;
}

export interface BuildOutcome {
  exitCode: number;
  out: string;
  /** A `building '…'` line was printed: the daemon built it, it was no cache hit. */
  built: boolean;
  /** nix-build's stderr, the build log included. */
  log: string[];
  /** The lines of the output, when it is a file. */
  content: string[];
}

export interface JobRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  builds: Map<string, BuildOutcome>;
  /** `docker inspect` of the job container while it ran, when asked for. */
  inspect?: string;
}

// `e2e_build LABEL EXPRESSION [nix-build options]`: builds with nix-build through the daemon and reports
// on lines a test parses. Shell built-ins and nix only, plus busybox's applets in the e2e job image.
const E2E_BUILD = [
  'e2e_build() {',
  '  label=$1; expr=$2; shift 2',
  '  rc=0; nix-build --no-out-link "$@" -E "$expr" > /tmp/e2e-$label.out 2> /tmp/e2e-$label.err || rc=$?',
  '  while IFS= read -r l; do echo "e2e-log $label $l"; done < /tmp/e2e-$label.err',
  '  out=; read -r out < /tmp/e2e-$label.out || true',
  `  built=no; while IFS= read -r l; do case "$l" in "building '"*) built=yes;; esac; done < /tmp/e2e-$label.err`,
  '  echo "e2e-build $label rc=$rc out=$out built=$built"',
  '  if [ -n "$out" ] && [ -f "$out" ]; then while IFS= read -r l || [ -n "$l" ]; do echo "e2e-content $label $l"; done < "$out"; fi',
  '}',
];

export function parseBuilds(stdout: string): Map<string, BuildOutcome> {
  const builds = new Map<string, BuildOutcome>();
  const get = (label: string) => {
    let build = builds.get(label);
    if (!build) builds.set(label, (build = { exitCode: -1, out: '', built: false, log: [], content: [] }));
    return build;
  };
  for (const line of stdout.split('\n')) {
    let match = /^e2e-log (\S+) (.*)$/.exec(line);
    if (match) get(match[1]!).log.push(match[2]!);
    match = /^e2e-content (\S+) (.*)$/.exec(line);
    if (match) get(match[1]!).content.push(match[2]!);
    match = /^e2e-build (\S+) rc=(\d+) out=(\S*) built=(yes|no)$/.exec(line);
    if (match) Object.assign(get(match[1]!), { exitCode: Number(match[2]), out: match[3]!, built: match[4] === 'yes' });
  }
  return builds;
}

/** The build of `label`, or a failure that shows what the job printed. */
export function buildOf(job: JobRun, label: string): BuildOutcome {
  const build = job.builds.get(label);
  if (!build || build.exitCode === -1) throw new Error(`no build ${label} in the job's output:\n${job.stdout}\n${job.stderr}`);
  return build;
}

/**
 * A CI job as GitLab Runner's docker executor runs it, with what the runner's config.toml says
 * (volumes_from, environment, pre_build_script) and the job's own variables. `script` may call e2e_build.
 * With `inspect`, `docker inspect` of the job container is taken while the job runs.
 */
export async function runJob(target: JobTarget, script: string[], variables: Record<string, string> = {}, { inspect = false } = {}): Promise<JobRun> {
  const config = await readRunnerJobConfig(target.runnerConfig, target.runner);
  const name = uniqueName('e2e-sec-job');
  const run = runDockerExecutorJob(target.engine, {
    name,
    image: target.image,
    env: [...config.environment, ...Object.entries(variables).map(([key, value]) => `${key}=${value}`)],
    volumesFrom: config.volumesFrom,
    preBuildScript: config.preBuildScript,
    script: [...E2E_BUILD, ...(inspect ? ['sleep 2'] : []), ...script],
    afterScript: [],
  });
  const inspected = inspect ? inspectWhileRunning(name) : undefined;
  const { script: result } = await run;
  return { ...result, builds: parseBuilds(result.stdout), ...(inspected ? { inspect: await inspected } : {}) };
}

async function inspectWhileRunning(name: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const json = await inspectJson('container', name);
    if (json !== undefined) return json;
    if (Date.now() > deadline) throw new Error(`the job container ${name} never appeared`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
