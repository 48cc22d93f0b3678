import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { rootBuildOptions, runNix } from '../../../src/nix-cli/nix-tool.js';
import { fakeBinary, withTempDir } from './fake-bin.js';

async function rejection(promise: Promise<unknown>): Promise<UserError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  return error as UserError;
}

describe('rootBuildOptions', () => {
  it('tells nix to build as root when root has no nixbld group', () => {
    expect(rootBuildOptions(0, () => false)).toEqual(['--option', 'build-users-group', '']);
  });

  it('leaves an existing nixbld group in charge', () => {
    expect(rootBuildOptions(0, () => true)).toEqual([]);
  });

  it('adds nothing for a user other than root, without looking for the group', () => {
    let asked = false;
    expect(
      rootBuildOptions(1000, () => {
        asked = true;
        return false;
      }),
    ).toEqual([]);
    expect(asked).toBe(false);
  });
});

describe('runNix (fake binaries)', () => {
  it('passes the arguments as an array and returns stdout without its final newline', async () => {
    await withTempDir(async (dir) => {
      await fakeBinary(dir, 'nix-store', 'printf "%s|" "$@"; echo; echo second line');
      expect(await runNix('nix-store', ['--add', '/tmp/a dir; echo injected'], { binDir: dir })).toBe('--add|/tmp/a dir; echo injected|\nsecond line');
    });
  });

  it('turns a failure into a UserError quoting nix’s last line that is not a warning', async () => {
    await withTempDir(async (dir) => {
      await fakeBinary(
        dir,
        'nix-build',
        [
          'echo "warning: you did not specify --add-root" >&2',
          'echo "error: builder for \'/nix/store/x.drv\' failed with exit code 1" >&2',
          'echo "warning: ignoring untrusted substituter" >&2',
          'echo "" >&2',
          'exit 1',
        ].join('\n'),
      );
      const error = await rejection(runNix('nix-build', ['--no-out-link', '-E', 'derivation {}'], { binDir: dir }));
      expect(error.code).toBe('nix');
      expect(error.exitCode).toBe(8);
      expect(error.message).toBe("nix-build --no-out-link -E: error: builder for '/nix/store/x.drv' failed with exit code 1");
      expect(error.hint).toMatch(/by hand/);
    });
  });

  it('says the exit code when nix printed nothing', async () => {
    await withTempDir(async (dir) => {
      await fakeBinary(dir, 'nix-store', 'exit 3');
      const error = await rejection(runNix('nix-store', ['--verify'], { binDir: dir }));
      expect(error.code).toBe('nix');
      expect(error.message).toMatch(/^nix-store --verify: .*exit code 3/);
    });
  });

  it('reports a missing binary with an install hint', async () => {
    await withTempDir(async (dir) => {
      const error = await rejection(runNix('nix-store', ['--version'], { binDir: dir }));
      expect(error.code).toBe('nix');
      expect(error.message).toBe(`${dir}/nix-store not found`);
      expect(error.hint).toMatch(/install nix/);
    });
  });
});
