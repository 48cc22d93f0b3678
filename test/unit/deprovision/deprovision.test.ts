import { describe, expect, it } from 'vitest';
import { isDaemonVolume } from '../../../src/names/daemon-names.js';

describe('isDaemonVolume', () => {
  it("matches the volumes nix-runner makes for a daemon: store, db, roots and each generation's socket", () => {
    expect(isDaemonVolume('nix', 'nix-store')).toBe(true);
    expect(isDaemonVolume('nix', 'nix-db')).toBe(true);
    expect(isDaemonVolume('nix', 'nix-roots')).toBe(true);
    expect(isDaemonVolume('nix', 'nix-socket-0123456789ab')).toBe(true);
  });

  it("never another daemon's volumes or a look-alike", () => {
    expect(isDaemonVolume('nix', 'nix-daemon-store')).toBe(false);
    expect(isDaemonVolume('nix', 'nix-socket-xyz')).toBe(false);
    expect(isDaemonVolume('nix', 'nix-cache')).toBe(false);
    expect(isDaemonVolume('nix-daemon', 'nix-store')).toBe(false);
  });
});
