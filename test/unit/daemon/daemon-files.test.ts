import { describe, expect, it } from 'vitest';
import { daemonAccounts } from '../../../src/daemon/build-users.js';
import { daemonFileEntries, postBuildHookScript } from '../../../src/daemon/daemon-files.js';

const NIX = '/nix/store/0c0000000000000000000000000000ab-nix-2.24.9';
const BUSYBOX = ['/nix/store/0c0000000000000000000000000000ac-busybox/bin/busybox', 'sh'];

describe('daemonAccounts', () => {
  it('has root and 32 build users in the nixbld group, none of them root', () => {
    const { passwd, group } = daemonAccounts();
    const users = passwd.trimEnd().split('\n').map((line) => line.split(':'));
    expect(users[0]).toEqual(['root', 'x', '0', '0', 'root', '/root', '/bin/sh']);
    const builders = users.filter(([name]) => name!.startsWith('nixbld'));
    expect(builders).toHaveLength(32);
    expect(new Set(builders.map((user) => user[2])).size).toBe(32);
    expect(builders.every((user) => Number(user[2]) > 0 && user[3] === '30000')).toBe(true);
    const nixbld = group.split('\n').find((line) => line.startsWith('nixbld:'))!.split(':');
    expect(nixbld[2]).toBe('30000');
    expect(nixbld[3]!.split(',')).toEqual(builders.map((user) => user[0]));
  });
});

describe('daemonFileEntries', () => {
  const entries = daemonFileEntries({ nixConf: 'access-tokens = github.com=secret\n', nixPath: NIX, shell: BUSYBOX });
  const byName = new Map(entries.map((entry) => [entry.name, entry]));

  it('keeps nix.conf and the hook where only root can read them', () => {
    expect(byName.get('etc/nix-runner')).toMatchObject({ type: 'directory', mode: 0o700 });
    expect(byName.get('etc/nix-runner/nix.conf')).toMatchObject({ mode: 0o600, content: 'access-tokens = github.com=secret\n' });
    expect(byName.get('etc/nix-runner/post-build-hook')).toMatchObject({ mode: 0o700 });
  });

  it('gives the container its accounts, readable by all (nix looks the build users up)', () => {
    expect(byName.get('etc/passwd')).toMatchObject({ mode: 0o644, content: daemonAccounts().passwd });
    expect(byName.get('etc/group')).toMatchObject({ mode: 0o644, content: daemonAccounts().group });
  });

  it('lists names depth-first in byte order, as a tar extracted at / wants', () => {
    const names = entries.map((entry) => entry.name);
    expect(names).toEqual([...names].sort());
  });

  it('has no hook without a shell', () => {
    expect(daemonFileEntries({ nixConf: '', nixPath: NIX }).map((entry) => entry.name)).not.toContain('etc/nix-runner/post-build-hook');
  });
});

describe('postBuildHookScript', () => {
  it('roots every output in the builds profile with nix-env, through the given shell', () => {
    const script = postBuildHookScript(BUSYBOX, NIX);
    expect(script.split('\n')[0]).toBe(`#!${BUSYBOX.join(' ')}`);
    expect(script).toContain('\nset -f\n');
    expect(script).toContain(`for path in \${OUT_PATHS:-$(${NIX}/bin/nix-store --query --outputs "$DRV_PATH")}; do`);
    expect(script).toContain(`${NIX}/bin/nix-env --profile /nix/var/nix/gcroots/nix-runner/builds --set "$path"`);
  });
});
