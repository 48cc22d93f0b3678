import { text } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { exportStorePaths } from '../../../src/daemon/deliver-store-paths.js';
import { fakeBinary, withTempDir } from '../nix-cli/fake-bin.js';

describe('exportStorePaths (a fake nix-store)', () => {
  it('keeps everything a small export wrote, even when it exited before anyone read it', async () => {
    await withTempDir(async (dir) => {
      await fakeBinary(dir, 'nix-store', 'printf "export of %s" "$2"');
      const exported = exportStorePaths(['/nix/store/a'], { binDir: dir });
      // the exec that reads it takes a round trip to the engine first
      await sleep(300);
      expect(await text(exported.stream)).toBe('export of /nix/store/a');
      expect(exported.bytes()).toBe('export of /nix/store/a'.length);
      expect(await exported.failure).toBeUndefined();
    });
  });

  it('says why an export failed; one stopped on purpose is no failure', async () => {
    await withTempDir(async (dir) => {
      await fakeBinary(dir, 'nix-store', 'echo "error: path is not valid" >&2; exit 1');
      const failed = exportStorePaths(['/nix/store/a'], { binDir: dir });
      await text(failed.stream);
      expect(await failed.failure).toMatch(/path is not valid/);
      await fakeBinary(dir, 'nix-store', 'sleep 10');
      const stopped = exportStorePaths(['/nix/store/a'], { binDir: dir });
      stopped.stop();
      expect(await stopped.failure).toBeUndefined();
    });
  });
});
