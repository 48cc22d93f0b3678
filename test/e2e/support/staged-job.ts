import type { EngineClient } from '../../../src/engine/engine-client.js';
import type { RunResult } from '../../../src/engine/engine-types.js';
import { createBuildContainer, runStage } from '../../../src/smoke/docker-executor.js';
import { readRunnerJobConfig } from '../../../src/smoke/runner-job-config.js';

/**
 * A job as GitLab Runner's docker executor runs it: ONE build container, created from what config.toml
 * says when the job starts, then started again for each stage. Between stages (and before the first)
 * it exists and is stopped. No nix-runner labels: a real job container has none.
 */
export interface StagedJob {
  id: string;
  /** Runs one stage in the job's container: pre_build_script first unless `afterScript` (environment only). */
  stage(body: string[], afterScript?: boolean): Promise<RunResult>;
  remove(): Promise<void>;
}

export async function createStagedJob(engine: EngineClient, runnerConfig: string, runner: string, image: string): Promise<StagedJob> {
  const config = await readRunnerJobConfig(runnerConfig, runner);
  const id = await createBuildContainer(engine, { image, env: config.environment, volumesFrom: config.volumesFrom, labels: {} });
  return {
    id,
    stage: (body, afterScript = false) => runStage(engine, id, config.environment, afterScript ? body : [config.preBuildScript, ...body]),
    remove: () => engine.removeContainer(id),
  };
}

/**
 * A stage that needs its daemon: a round trip (the hash of the job's nix) and a write (a file added to
 * the store). Prints `stage-ok <store path>`.
 */
export function daemonStage(tag: string): string[] {
  return [
    'nix-store --query --hash "${NIX_RUNNER_BIN%/bin}" >/dev/null',
    `echo "${tag} $$" > /tmp/stage-${tag}`,
    `out=$(nix-store --add /tmp/stage-${tag})`,
    'echo "stage-ok $out"',
  ];
}
