import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { outputsOfBuildJson, resolveInstallables } from '../../../src/nix-cli/installables.js';
import { fakeBinary, withTempDir } from './fake-bin.js';

const A = '/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a';
const B = '/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b';
const B_MAN = '/nix/store/cccccccccccccccccccccccccccccccc-b-man';

describe('outputsOfBuildJson', () => {
  it('takes every output of every result, and a plain path', () => {
    expect(outputsOfBuildJson(JSON.stringify([{ drvPath: '/nix/store/x.drv', outputs: { out: A } }, { outputs: { out: B, man: B_MAN } }, { path: A }]))).toEqual([A, B, B_MAN, A]);
    expect(outputsOfBuildJson('not json')).toEqual([]);
    expect(outputsOfBuildJson('{}')).toEqual([]);
  });
});

describe('resolveInstallables (a fake nix)', () => {
  // nix sorts its --json results: with both installables, B comes before A whatever the order asked
  const fakeNix = (log: string) =>
    [
      `echo "$*" >> ${log}`,
      'case "$*" in',
      `  *"#a"*"#b"*|*"#b"*"#a"*) echo '[{"outputs":{"out":"${B}","man":"${B_MAN}"}},{"outputs":{"out":"${A}"}}]' ;;`,
      `  *"#a"*) echo '[{"outputs":{"out":"${A}"}}]' ;;`,
      `  *"#b"*) echo '[{"outputs":{"out":"${B}","man":"${B_MAN}"}}]' ;;`,
      '  *) echo "error: no such flake output" >&2; exit 1 ;;',
      'esac',
    ].join('\n');

  it('builds everything in one nix build, then maps each installable to its own outputs; store paths stand for themselves', async () => {
    await withTempDir(async (dir) => {
      const log = join(dir, 'calls');
      await fakeBinary(dir, 'nix', fakeNix(log));
      const resolved = await resolveInstallables(['.#a', `${A}/bin/tool`, '.#b', '.#a'], { binDir: dir });
      expect(resolved.get('.#a')).toEqual([A]);
      expect(resolved.get('.#b')).toEqual([B, B_MAN]);
      expect(resolved.get(`${A}/bin/tool`)).toEqual([A]);
      const calls = (await readFile(log, 'utf8')).trim().split('\n');
      expect(calls[0]).toMatch(/^build \.#a \.#b --json --no-link/);
      expect(calls).toHaveLength(3);
    });
  });

  it('one installable is one nix build; a failed build is a one-line nix error', async () => {
    await withTempDir(async (dir) => {
      const log = join(dir, 'calls');
      await fakeBinary(dir, 'nix', fakeNix(log));
      expect((await resolveInstallables(['.#b'], { binDir: dir })).get('.#b')).toEqual([B, B_MAN]);
      expect((await readFile(log, 'utf8')).trim().split('\n')).toHaveLength(1);
      await expect(resolveInstallables(['.#missing'], { binDir: dir })).rejects.toMatchObject({ code: 'nix', message: expect.stringMatching(/nix build \.#missing failed: no such flake output/) });
    });
  });
});
