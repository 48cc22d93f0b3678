import { describe, expect, it } from 'vitest';
import { DB_DIR, SOCKET_DIR, STORE_DIR, candidateName, daemonVolumes, retiredName } from '../../../src/daemon/daemon-names.js';

const HASH = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';

describe('daemon names', () => {
  it('names the store and db volumes after the daemon, the socket volume after the daemon and 12 hash characters', () => {
    expect(daemonVolumes('nix-daemon', HASH)).toEqual({
      store: 'nix-daemon-store',
      db: 'nix-daemon-db',
      socket: 'nix-daemon-socket-0123456789ab',
    });
  });

  it('gives each spec hash its own socket volume but shares store and db', () => {
    const a = daemonVolumes('d', HASH);
    const b = daemonVolumes('d', `f${HASH.slice(1)}`);
    expect(a.socket).not.toBe(b.socket);
    expect(a.store).toBe(b.store);
    expect(a.db).toBe(b.db);
  });

  it('names the candidate and retired containers', () => {
    expect(candidateName('nix-daemon')).toBe('nix-daemon-next');
    expect(retiredName('nix-daemon', 'aabbccddeeff00112233')).toBe('nix-daemon-retired-aabbccddeeff');
  });

  it('mounts at the paths nix uses', () => {
    expect([STORE_DIR, DB_DIR, SOCKET_DIR]).toEqual(['/nix/store', '/nix/var/nix/db', '/nix/var/nix/daemon-socket']);
  });
});
