import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { EngineClient } from '../../../src/engine/engine-client.js';
import type { ContainerSpec, RunResult } from '../../../src/engine/engine-types.js';
import { DETECT_SHELL, runDockerExecutorJob, type JobSpec } from '../../../src/smoke/docker-executor.js';
import { helperLabels } from '../../../src/names/daemon-names.js';
import { currentRunId } from '../../../src/leftovers/run-id.js';

// GitLab Runner's shells/bash.go BashDetectShellScript, in its order.
const GITLAB_ORDER = ['/usr/local/bin/bash', '/usr/bin/bash', '/bin/bash', '/usr/local/bin/sh', '/usr/bin/sh', '/bin/sh', '/busybox/sh'];

describe('DETECT_SHELL', () => {
  it('tests the seven shells in GitLab Runner’s order and execs the one it finds', () => {
    const tested = [...DETECT_SHELL.matchAll(/^(?:if|elif) \[ -x (\S+) \]; then\n\texec (\S+) "\$@"$/gm)].map((match) => {
      expect(match[2]).toBe(match[1]);
      return match[1];
    });
    expect(tested).toEqual(GITLAB_ORDER);
  });

  it('starts with `if` and ends with `echo shell not found` and exit 1', () => {
    expect(DETECT_SHELL.startsWith('if [ -x /usr/local/bin/bash ]; then\n')).toBe(true);
    expect(DETECT_SHELL.endsWith('else\n\techo shell not found\n\texit 1\nfi\n')).toBe(true);
  });

  it('is valid sh and, run with `sh -c`, runs the script it gets on stdin', () => {
    expect(spawnSync('/bin/sh', ['-n', '-c', DETECT_SHELL]).status).toBe(0);
    const run = spawnSync('/bin/sh', ['-c', DETECT_SHELL], { input: 'echo "from stdin: $((6 * 7))"\n', encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('from stdin: 42\n');
  });
});

// Records what the executor asks of the engine; each runWithInput gets the next result.
function fakeEngine(results: (RunResult | Error)[]) {
  const calls = { created: [] as ContainerSpec[], inputs: [] as string[], removed: [] as string[] };
  const engine = {
    createContainer: async (spec: ContainerSpec) => {
      calls.created.push(spec);
      return 'c1';
    },
    runWithInput: async (_id: string, input: string | Buffer) => {
      calls.inputs.push(String(input));
      const next = results.shift()!;
      if (next instanceof Error) throw next;
      return next;
    },
    removeContainer: async (id: string) => {
      calls.removed.push(id);
    },
  };
  return { engine: engine as unknown as EngineClient, calls };
}

const OK: RunResult = { exitCode: 0, stdout: 'ok\n', stderr: '' };

const JOB: JobSpec = {
  image: 'alpine:3',
  env: ['NIX_REMOTE=daemon', "QUOTED=it's $HOME"],
  volumesFrom: ['nix-daemon:ro'],
  preBuildScript: 'export PATH="$NIX_RUNNER_BIN:$PATH"',
  script: ['nix --version'],
  afterScript: ['echo after'],
};

describe('runDockerExecutorJob (fake engine)', () => {
  it('creates one build container like GitLab Runner: sh -c DETECT_SHELL, env, volumes_from, stdin once', async () => {
    const { engine, calls } = fakeEngine([OK, OK]);
    await runDockerExecutorJob(engine, { ...JOB, name: 'smoke-1' });
    expect(calls.created).toEqual([
      {
        name: 'smoke-1',
        image: 'alpine:3',
        cmd: ['sh', '-c', DETECT_SHELL],
        env: JOB.env,
        volumesFrom: ['nix-daemon:ro'],
        labels: { 'org.nix-runner.smoke': 'true', ...helperLabels(currentRunId()) },
        stdinOnce: true,
      },
    ]);
    expect(calls.removed).toEqual(['c1']);
  });

  it('feeds pre_build_script with the script to one shell and after_script alone to a second', async () => {
    const { engine, calls } = fakeEngine([OK, { exitCode: 0, stdout: 'after\n', stderr: '' }]);
    const result = await runDockerExecutorJob(engine, JOB);
    expect(result).toEqual({ script: OK, afterScript: { exitCode: 0, stdout: 'after\n', stderr: '' } });
    const [script, after] = calls.inputs;
    expect(script).toBe(
      [
        'set -e',
        'export NIX_REMOTE=\'daemon\'',
        "export QUOTED='it'\\''s $HOME'",
        'mkdir -p /builds/project && cd /builds/project',
        'export PATH="$NIX_RUNNER_BIN:$PATH"',
        'nix --version',
        'exit 0',
        '',
      ].join('\n'),
    );
    expect(after).toContain('\necho after\nexit 0\n');
    expect(after).not.toContain('NIX_RUNNER_BIN:$PATH');
  });

  it('exports each variable with its exact value, quotes and $ included', async () => {
    const { engine, calls } = fakeEngine([OK]);
    await runDockerExecutorJob(engine, { ...JOB, afterScript: [] });
    const exports = calls.inputs[0]!.split('\n').filter((line) => line.startsWith('export QUOTED'));
    const run = spawnSync('/bin/sh', ['-c', `${exports.join('\n')}\nprintf %s "$QUOTED"`], { encoding: 'utf8' });
    expect(run.stdout).toBe("it's $HOME");
  });

  it('runs no second shell without after_script', async () => {
    const { engine, calls } = fakeEngine([OK]);
    expect(await runDockerExecutorJob(engine, { ...JOB, afterScript: [] })).toEqual({ script: OK });
    expect(calls.inputs).toHaveLength(1);
  });

  it('removes the container when running the script fails', async () => {
    const { engine, calls } = fakeEngine([new Error('attach failed')]);
    await expect(runDockerExecutorJob(engine, JOB)).rejects.toThrow('attach failed');
    expect(calls.removed).toEqual(['c1']);
  });
});
