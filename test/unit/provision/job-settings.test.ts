import { spawnSync } from 'node:child_process';
import { lstat, mkdir, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobSettings } from '../../../src/provision/job-settings.js';
import { tempDir } from '../../support/temp-dir.js';

const NIX = '/nix/store/2pnnszrhiwsvj33al97fp639gjhss6db-nix-2.24.9';

function sh(args: string[], env: Record<string, string> = {}) {
  return spawnSync('/bin/sh', args, { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', ...env } });
}

describe('jobSettings', () => {
  const settings = jobSettings('nix-daemon', NIX);

  it('mounts the daemon container’s volumes read-only', () => {
    expect(settings.daemon).toBe('nix-daemon');
    expect(settings.volumesFrom).toEqual(['nix-daemon:ro']);
  });

  it('points nix at the daemon and names nix’s bin dir', () => {
    expect(settings.environment).toEqual(['NIX_REMOTE=daemon', `NIX_RUNNER_BIN=${NIX}/bin`]);
  });

  it('does not set PATH in the environment (it would replace the image’s PATH)', () => {
    expect(settings.environment.some((entry) => entry.startsWith('PATH='))).toBe(false);
  });

  it('has a pre_build_script that is valid POSIX sh, line by line and as a whole', () => {
    for (const line of settings.preBuildScript) expect(sh(['-n', '-c', line]).status, line).toBe(0);
    expect(sh(['-n', '-c', settings.preBuildScript.join('\n')]).status).toBe(0);
  });

  describe('its pre_build_script, run with its absolute paths moved into a temporary root', () => {
    let root: string;
    let removeRoot: () => Promise<void>;
    beforeEach(async () => {
      ({ dir: root, remove: removeRoot } = await tempDir('nix-runner-job-settings-'));
    });
    afterEach(async () => {
      await removeRoot();
    });

    function relocated(lines: string[]): string {
      return lines
        .join('\n')
        .replaceAll('/usr/local/bin', `${root}/usr/local/bin`)
        .replaceAll('/nix/var/nix/profiles', `${root}/nix/var/nix/profiles`)
        .replace('mkdir -p /tmp ', `mkdir -p ${root}/tmp `);
    }

    it('creates the missing dirs, prepends nix to PATH and links nix’s commands without replacing existing ones', async () => {
      const bin = join(root, 'nix-bin');
      await mkdir(bin);
      await writeFile(join(bin, 'nix'), '');
      await writeFile(join(bin, 'nix-store'), '');
      await mkdir(join(root, 'usr/local/bin'), { recursive: true });
      await writeFile(join(root, 'usr/local/bin/nix-store'), 'the image’s own');

      const result = sh(['-c', `${relocated(settings.preBuildScript)}\necho "PATH=$PATH"`], { NIX_RUNNER_BIN: bin });
      expect(result.status).toBe(0);
      expect(result.stdout.trim()).toBe(`PATH=${bin}:/usr/bin:/bin`);
      expect((await stat(join(root, 'tmp'))).isDirectory()).toBe(true);
      expect((await stat(join(root, 'nix/var/nix/profiles'))).isDirectory()).toBe(true);
      expect(await readlink(join(root, 'usr/local/bin/nix'))).toBe(join(bin, 'nix'));
      expect((await lstat(join(root, 'usr/local/bin/nix-store'))).isSymbolicLink()).toBe(false);
    });

    it('succeeds even when it may not create anything', async () => {
      const script = settings.preBuildScript.join('\n').replaceAll('/usr/local/bin', '/proc/nix-runner-nonexistent/bin');
      const result = sh(['-c', `${script.replace('/tmp /nix/var/nix/profiles', '/proc/x /proc/y')}\necho ok`], { NIX_RUNNER_BIN: join(root, 'none') });
      expect(result.status).toBe(0);
      expect(result.stdout).toBe('ok\n');
    });
  });
});
