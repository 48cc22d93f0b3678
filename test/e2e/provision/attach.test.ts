import { readFile, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunnerConfig, type RunnerConfigDocument } from '../../../src/runner-config/toml/document.js';
import { detachRunners } from '../../../src/runner-config/detach.js';
import { runCli } from '../support/cli.js';
import { requireEngine, skipE2E } from '../support/engine.js';
import { RUNNER_FIXTURE, copyRunnerFixture } from '../support/fixtures.js';
import { removeDaemon, scratchDir, uniqueName } from '../support/scratch.js';

type Runner = Record<string, unknown> & { docker?: Record<string, unknown> };

describe.skipIf(skipE2E)('provision attaches docker runners and keeps everything else', () => {
  const daemon = uniqueName('e2e-attach');
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let runnerConfig: string;
  let original: RunnerConfigDocument;
  let written: RunnerConfigDocument;

  const runners = (doc: RunnerConfigDocument) => doc.table.runners as Runner[];

  beforeAll(async () => {
    scratch = await scratchDir();
    runnerConfig = await copyRunnerFixture(scratch.dir);
    original = parseRunnerConfig(await readFile(RUNNER_FIXTURE, 'utf8'), RUNNER_FIXTURE);
    const result = await runCli(['provision', '--runner-config', runnerConfig, '--daemon', daemon, '--json']);
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.json).toMatchObject({ ok: true, runners: ['docker-main', 'docker-second'] });
    written = parseRunnerConfig(await readFile(runnerConfig, 'utf8'), runnerConfig);
  });

  afterAll(async () => {
    await removeDaemon(requireEngine(), daemon);
    await scratch?.remove();
  });

  it('attaches both docker runners to the daemon', () => {
    for (const runner of runners(written).slice(0, 2)) {
      expect(runner.docker?.volumes_from).toContain(`${daemon}:ro`);
      expect(runner.environment).toContain('NIX_REMOTE=daemon');
      expect(runner.pre_build_script).toMatch(/# >>> nix-runner managed block/);
    }
  });

  it("keeps the runner's own volumes_from entry and pre_build_script lines, after nix is set up", () => {
    const main = runners(written)[0]!;
    expect(main.docker?.volumes_from).toEqual(['cache-helper:ro', `${daemon}:ro`]);
    const script = String(main.pre_build_script);
    expect(script.indexOf('# <<< nix-runner managed block <<<')).toBeLessThan(script.indexOf('echo "user line before"'));
    expect(script).toContain('echo "user line before"\nexport FOO=bar\n');
  });

  it('keeps tokens, their dates and unknown keys with their types', () => {
    const [before, after] = [runners(original)[0]!, runners(written)[0]!];
    for (const key of ['token', 'token_obtained_at', 'token_expires_at', 'id', 'url', 'future_setting']) expect(after[key]).toEqual(before[key]);
    expect(typeof after.id).toBe('bigint');
    expect(after.token_obtained_at).toBeInstanceOf(Date);
    expect(written.table.concurrent).toEqual(original.table.concurrent);
    expect(written.table.session_server).toEqual(original.table.session_server);
  });

  it('changes nothing else: without the managed entries the file means exactly the original', () => {
    expect(detachRunners(written, daemon).table).toEqual(original.table);
  });

  it('leaves the shell runner untouched', () => {
    expect(runners(written)[2]).toEqual(runners(original)[2]);
  });

  it('keeps mode 0600', async () => {
    expect((await stat(runnerConfig)).mode & 0o777).toBe(0o600);
  });
});
