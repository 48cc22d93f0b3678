import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobImageEntries } from '../../../src/image/job-image.js';
import { withTempDir } from '../../support/temp-dir.js';

async function makeRoot(dir: string, name: string, files: string[]): Promise<string> {
  const root = join(dir, name);
  for (const file of files) {
    await mkdir(join(root, file, '..'), { recursive: true });
    await writeFile(join(root, file), file);
  }
  return root;
}

describe("a job image's root (symlinks into the roots, nothing of theirs copied)", () => {
  it('links each entry of bin, sbin, etc, lib and share (at /usr/share); the first root that has a name wins', async () => {
    await withTempDir(async (dir) => {
      const bash = await makeRoot(dir, 'bash', ['bin/bash', 'bin/sh', 'share/man/bash.1', 'include/ignored.h']);
      const coreutils = await makeRoot(dir, 'coreutils', ['bin/ls', 'bin/env', 'bin/sh', 'share/info/coreutils.info', 'libexec/coreutils/libstdbuf.so']);
      const cacert = await makeRoot(dir, 'cacert', ['etc/ssl/certs/ca-bundle.crt']);
      const entries = await jobImageEntries([bash, coreutils, cacert]);
      const links = Object.fromEntries(entries.flatMap((entry) => (entry.type === 'symlink' ? [[entry.name, entry.target]] : [])));
      expect(links).toEqual({
        'bin/bash': `${bash}/bin/bash`,
        'bin/env': `${coreutils}/bin/env`,
        'bin/ls': `${coreutils}/bin/ls`,
        'bin/sh': `${bash}/bin/sh`,
        // etc gets the image's own passwd and group: the root's entries are linked one by one
        'etc/ssl': `${cacert}/etc/ssl`,
        'usr/share/info': `${coreutils}/share/info`,
        'usr/share/man': `${bash}/share/man`,
        'usr/bin/env': `${coreutils}/bin/env`,
      });
      // no file of the roots is in the image: only its own passwd and group
      expect(entries.filter((entry) => entry.type === 'file').map((entry) => entry.name)).toEqual(['etc/group', 'etc/passwd']);
      expect(entries.filter((entry) => entry.type === 'directory').map((entry) => entry.name)).toEqual(['bin', 'etc', 'root', 'tmp', 'usr', 'usr/bin', 'usr/share']);
      expect(entries.find((entry) => entry.name === 'tmp')).toMatchObject({ mode: 0o1777 });
      // byte order: every directory comes before what is in it
      const names = entries.map((entry) => entry.name);
      expect(names).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    });
  });

  it('links a directory only one root has, and that gets nothing of the image, as one link', async () => {
    await withTempDir(async (dir) => {
      const nix = await makeRoot(dir, 'nix', ['bin/nix', 'bin/nix-build', 'bin/nix-store', 'share/nix/sandbox.sh', 'lib/libnixstore.so']);
      const entries = await jobImageEntries([nix]);
      expect(entries.filter((entry) => entry.type === 'symlink')).toEqual([
        { type: 'symlink', name: 'bin', target: `${nix}/bin` },
        { type: 'symlink', name: 'lib', target: `${nix}/lib` },
        { type: 'symlink', name: 'usr/share', target: `${nix}/share` },
      ]);
      expect(entries.map((entry) => entry.name)).toEqual(['bin', 'etc', 'etc/group', 'etc/passwd', 'lib', 'root', 'tmp', 'usr', 'usr/share']);
    });
  });

  it("gives busybox's sh when no root has one, and takes a root's own passwd over the image's", async () => {
    await withTempDir(async (dir) => {
      const busybox = await makeRoot(dir, 'busybox', ['bin/busybox']);
      const users = await makeRoot(dir, 'users', ['etc/passwd']);
      const entries = await jobImageEntries([busybox, users]);
      expect(entries).toContainEqual({ type: 'symlink', name: 'bin/sh', target: `${busybox}/bin/busybox` });
      expect(entries).toContainEqual({ type: 'symlink', name: 'etc/passwd', target: `${users}/etc/passwd` });
      expect(entries.filter((entry) => entry.type === 'file').map((entry) => entry.name)).toEqual(['etc/group']);
    });
  });

  it('links a root that is one executable file as bin/<its name without the hash>; a directory link is followed', async () => {
    await withTempDir(async (dir) => {
      const script = join(dir, '0123456789abcdfghijklmnpqrsvwxyz-deploy.sh');
      await writeFile(script, '#!/bin/sh\n');
      await chmod(script, 0o555);
      const data = join(dir, 'fedcba9876543210zyxwvsrqpnmlkjih-data.txt');
      await writeFile(data, 'not executable');
      const linked = await makeRoot(dir, 'linked', ['real/tool']);
      await symlink('real', join(linked, 'bin'));
      const entries = await jobImageEntries([script, data, linked]);
      expect(entries).toContainEqual({ type: 'symlink', name: 'bin/deploy.sh', target: script });
      expect(entries).toContainEqual({ type: 'symlink', name: 'bin/tool', target: `${linked}/bin/tool` });
      expect(entries.some((entry) => entry.name.includes('data.txt'))).toBe(false);
    });
  });
});
