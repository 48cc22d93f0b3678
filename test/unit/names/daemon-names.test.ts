import { describe, expect, it } from 'vitest';
import {
  DB_DIR,
  LABEL_DAEMON,
  LABEL_GENERATION,
  LABEL_MANAGED,
  LABEL_ROLE,
  LABEL_RUN,
  LABEL_SPEC_HASH,
  SOCKET_DIR,
  STORE_DIR,
  candidateName,
  daemonVolumes,
  generationLabels,
  generationOf,
  helperLabels,
  isDaemonGeneration,
  isHelper,
  newGenerationId,
  parseDaemonVolume,
  parseRetiredName,
  retiredName,
} from '../../../src/names/daemon-names.js';

describe('daemon names', () => {
  it('names the shared volumes after the daemon, the socket volume after the daemon and the generation', () => {
    expect(daemonVolumes('nix-daemon', '0123456789ab')).toEqual({
      store: 'nix-daemon-store',
      db: 'nix-daemon-db',
      roots: 'nix-daemon-roots',
      socket: 'nix-daemon-socket-0123456789ab',
    });
  });

  it('draws a new generation id each time: 12 hex characters, never the same twice', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newGenerationId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{12}$/);
  });

  it('parses what it writes: every volume kind, and the generation of a socket volume', () => {
    const volumes = daemonVolumes('nix', 'aabbccddeeff');
    expect(parseDaemonVolume('nix', volumes.store)).toEqual({ kind: 'store' });
    expect(parseDaemonVolume('nix', volumes.db)).toEqual({ kind: 'db' });
    expect(parseDaemonVolume('nix', volumes.roots)).toEqual({ kind: 'roots' });
    expect(parseDaemonVolume('nix', volumes.socket)).toEqual({ kind: 'socket', generation: 'aabbccddeeff' });
    expect(parseDaemonVolume('nix', 'nix-daemon-store')).toBeUndefined();
    expect(parseDaemonVolume('nix', 'nix-socket-AABBCCDDEEFF')).toBeUndefined();
    expect(parseDaemonVolume('nix-daemon', 'nix-store')).toBeUndefined();
  });

  it('names the candidate and retired containers, and parses retired names back', () => {
    expect(candidateName('nix-daemon')).toBe('nix-daemon-next');
    expect(retiredName('nix-daemon', 'aabbccddeeff')).toBe('nix-daemon-retired-aabbccddeeff');
    expect(parseRetiredName('nix-daemon', retiredName('nix-daemon', 'aabbccddeeff'))).toBe('aabbccddeeff');
    expect(parseRetiredName('nix-daemon', 'nix-daemon-next')).toBeUndefined();
    expect(parseRetiredName('nix', 'nix-daemon-retired-aabbccddeeff')).toBeUndefined();
    expect(parseRetiredName('nix-daemon', 'nix-daemon-retired-aabbccddeeff-x')).toBeUndefined();
  });

  it('labels generations and helpers, and tells them apart', () => {
    const generation = generationLabels('d', 'aabbccddeeff', 'host/boot/1/2');
    expect(generation).toEqual({ [LABEL_MANAGED]: 'true', [LABEL_ROLE]: 'daemon', [LABEL_DAEMON]: 'd', [LABEL_GENERATION]: 'aabbccddeeff', [LABEL_RUN]: 'host/boot/1/2' });
    expect(isDaemonGeneration(generation, 'd')).toBe(true);
    expect(isDaemonGeneration(generation, 'other')).toBe(false);
    expect(isHelper(generation)).toBe(false);
    const helper = helperLabels('host/boot/1/2', 'd');
    expect(helper).toEqual({ [LABEL_MANAGED]: 'true', [LABEL_ROLE]: 'helper', [LABEL_DAEMON]: 'd', [LABEL_RUN]: 'host/boot/1/2' });
    expect(isDaemonGeneration(helper)).toBe(false);
    expect(isHelper(helper)).toBe(true);
    expect(helperLabels('r')).not.toHaveProperty(LABEL_DAEMON);
    // A daemon of an older nix-runner: no role label, but a spec hash.
    expect(isDaemonGeneration({ [LABEL_MANAGED]: 'true', [LABEL_DAEMON]: 'd', [LABEL_SPEC_HASH]: 'ab' }, 'd')).toBe(true);
    expect(isDaemonGeneration({ [LABEL_DAEMON]: 'd', [LABEL_SPEC_HASH]: 'ab' }, 'd')).toBe(false);
  });

  it("finds a generation's id in its label, else in its socket volume's name", () => {
    expect(generationOf('d', { labels: { [LABEL_GENERATION]: 'aabbccddeeff' }, mounts: [] })).toBe('aabbccddeeff');
    expect(generationOf('d', { labels: {}, mounts: [{ name: 'd-socket-0123456789ab', destination: SOCKET_DIR }] })).toBe('0123456789ab');
    expect(generationOf('d', { labels: {}, mounts: [] })).toBeUndefined();
  });

  it('mounts at the paths nix uses', () => {
    expect([STORE_DIR, DB_DIR, SOCKET_DIR]).toEqual(['/nix/store', '/nix/var/nix/db', '/nix/var/nix/daemon-socket']);
  });
});
