import { spawnSync } from 'node:child_process';
import { writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SMOKE_AFTER_SCRIPT, SMOKE_SCRIPT, parseSmokeReport } from '../../../src/smoke/smoke-scripts.js';
import { tempDir } from '../../support/temp-dir.js';

const OUT = '/nix/store/2pnnszrhiwsvj33al97fp639gjhss6db-nix-runner-smoke';

describe('parseSmokeReport', () => {
  it('reads the report line among other output', () => {
    const stdout = `$ nix-build …\nnix-runner-smoke stage=script out=${OUT} content=built-on-abc123 built=yes\nJob succeeded\n`;
    expect(parseSmokeReport(stdout)).toEqual({ stage: 'script', out: OUT, content: 'built-on-abc123', built: true });
  });

  it('reads built=no and an empty content', () => {
    expect(parseSmokeReport(`nix-runner-smoke stage=after_script out=${OUT} content= built=no`)).toEqual({
      stage: 'after_script',
      out: OUT,
      content: '',
      built: false,
    });
  });

  it.each([
    ['no report', 'hello\n'],
    ['a missing out', 'nix-runner-smoke stage=script out= content=x built=yes'],
    ['a garbled built flag', `nix-runner-smoke stage=script out=${OUT} content=x built=maybe`],
    ['trailing text', `nix-runner-smoke stage=script out=${OUT} content=x built=yes extra`],
    ['a prefix on the line', `> nix-runner-smoke stage=script out=${OUT} content=x built=yes`],
  ])('is undefined for %s', (_name, stdout) => {
    expect(parseSmokeReport(stdout)).toBeUndefined();
  });
});

describe('SMOKE_SCRIPT and SMOKE_AFTER_SCRIPT', () => {
  it.each([
    ['script', SMOKE_SCRIPT],
    ['after_script', SMOKE_AFTER_SCRIPT],
  ])('%s lines are valid POSIX sh', (_name, lines) => {
    for (const line of lines) expect(spawnSync('/bin/sh', ['-n', '-c', line]).status, line).toBe(0);
    expect(spawnSync('/bin/sh', ['-n', '-c', lines.join('\n')]).status).toBe(0);
  });

  it('uses its own temporary files per stage', () => {
    expect(SMOKE_SCRIPT.join('\n')).toContain('/tmp/nix-runner-smoke-script.out');
    expect(SMOKE_AFTER_SCRIPT.join('\n')).toContain('/tmp/nix-runner-smoke-after_script.out');
    expect(SMOKE_SCRIPT.join('\n')).not.toContain('after_script');
  });

  describe('run with a fake nix-build', () => {
    let dir: string;
    let removeDir: () => Promise<void>;
    beforeEach(async () => {
      ({ dir: dir, remove: removeDir } = await tempDir('nix-runner-smoke-unit-'));
    });
    afterEach(async () => {
      await removeDir();
    });

    async function fakeNixBuild(body: string): Promise<void> {
      await writeFile(join(dir, 'nix-build'), `#!/bin/sh\n${body}\n`);
      await chmod(join(dir, 'nix-build'), 0o755);
    }

    function runScript(lines: string[]) {
      // The scripts write /tmp/nix-runner-smoke-<stage>.*; keep them inside the temp dir.
      const script = lines.join('\n').replaceAll('/tmp/nix-runner-smoke-', `${dir}/smoke-`);
      return spawnSync('/bin/sh', ['-e', '-c', script], {
        encoding: 'utf8',
        env: { PATH: `${dir}:/usr/bin:/bin`, NIX_RUNNER_SMOKE_EXPR: 'derivation {}' },
      });
    }

    it('reports a fresh build as built=yes with the output’s content', async () => {
      await writeFile(join(dir, 'result'), 'built-on-daemon42\n');
      await fakeNixBuild(`[ "$*" = "--no-out-link -E derivation {}" ] || exit 9\necho "these 1 derivations will be built:" >&2\necho "building '/nix/store/x-nix-runner-smoke.drv'..." >&2\necho ${dir}/result`);
      const run = runScript(SMOKE_SCRIPT);
      expect(run.status).toBe(0);
      expect(parseSmokeReport(run.stdout)).toEqual({ stage: 'script', out: `${dir}/result`, content: 'built-on-daemon42', built: true });
    });

    it('reports an already valid output as built=no', async () => {
      await writeFile(join(dir, 'result'), 'built-on-daemon42\n');
      await fakeNixBuild(`echo ${dir}/result`);
      const run = runScript(SMOKE_AFTER_SCRIPT);
      expect(run.status).toBe(0);
      expect(parseSmokeReport(run.stdout)).toEqual({ stage: 'after_script', out: `${dir}/result`, content: 'built-on-daemon42', built: false });
    });

    it('fails with nix-build’s stderr when the build fails', async () => {
      await fakeNixBuild(`echo "error: cannot connect to socket" >&2\nexit 1`);
      const run = runScript(SMOKE_SCRIPT);
      expect(run.status).toBe(1);
      expect(run.stderr).toBe('error: cannot connect to socket\n');
      expect(parseSmokeReport(run.stdout)).toBeUndefined();
    });
  });
});
