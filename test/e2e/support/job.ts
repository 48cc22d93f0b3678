import type { EngineClient } from '../../../src/engine/engine-client.js';
import { runDockerExecutorJob, type JobResult } from '../../../src/smoke/docker-executor.js';
import { readRunnerJobConfig } from '../../../src/smoke/runner-job-config.js';

export const BUILD_MARK = 'e2e-result';

/** The script of a job that builds `expression` with nix-build and reports out path, content and whether it built. */
export function buildScript(stage: string): string[] {
  const tmp = `/tmp/e2e-${stage}`;
  return [
    `nix-build --no-out-link -E "$E2E_EXPR" > ${tmp}.out 2> ${tmp}.err || { while IFS= read -r l; do echo "$l" >&2; done < ${tmp}.err; exit 1; }`,
    `read -r out < ${tmp}.out; read -r content < "$out"`,
    `built=no; while IFS= read -r l; do case "$l" in "building '"*) built=yes;; esac; done < ${tmp}.err`,
    `echo "${BUILD_MARK} ${stage} $out $content $built"`,
  ];
}

export interface BuildReport {
  out: string;
  content: string;
  built: boolean;
}

export function parseBuild(stdout: string, stage: string): BuildReport | undefined {
  const match = new RegExp(`^${BUILD_MARK} ${stage} (\\S+) (\\S*) (yes|no)$`, 'm').exec(stdout);
  return match ? { out: match[1]!, content: match[2]!, built: match[3] === 'yes' } : undefined;
}

/** A derivation built by the daemon's store busybox that records the builder's host name. */
export function hostnameDerivation(busyboxStorePath: string, nonce: string): string {
  return [
    'derivation { name = "e2e-hello"; system = builtins.currentSystem;',
    `  builder = "\${builtins.storePath ${busyboxStorePath}}/bin/busybox"; nonce = "${nonce}";`,
    '  args = [ "sh" "-c" "read h < /proc/sys/kernel/hostname; echo built-on-$h > $out" ]; }',
  ].join('\n');
}

/**
 * A job for `runner` with only what config.toml says (volumes_from, environment, pre_build_script),
 * run like GitLab Runner's docker executor: script, then after_script in a second shell.
 */
export async function runRunnerJob(
  engine: EngineClient,
  runnerConfig: string,
  runner: string,
  image: string,
  expression: string,
  afterScript = true,
): Promise<JobResult & { build?: BuildReport; after?: BuildReport }> {
  const config = await readRunnerJobConfig(runnerConfig, runner);
  const result = await runDockerExecutorJob(engine, {
    image,
    env: [...config.environment, `E2E_EXPR=${expression}`],
    volumesFrom: config.volumesFrom,
    preBuildScript: config.preBuildScript,
    script: buildScript('script'),
    afterScript: afterScript ? buildScript('after') : [],
  });
  const build = parseBuild(result.script.stdout, 'script');
  const after = result.afterScript ? parseBuild(result.afterScript.stdout, 'after') : undefined;
  return { ...result, ...(build ? { build } : {}), ...(after ? { after } : {}) };
}
