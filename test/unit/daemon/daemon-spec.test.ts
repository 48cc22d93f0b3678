import { describe, expect, it } from 'vitest';
import { daemonContainerSpec, daemonSpecHash, type DaemonInputs } from '../../../src/daemon/daemon-spec.js';
import { LABEL_DAEMON, LABEL_MANAGED, LABEL_NIX, LABEL_SPEC_HASH } from '../../../src/daemon/daemon-names.js';
import { renderNixConf } from '../../../src/daemon/nix-conf.js';

const NIX = '/nix/store/0c0000000000000000000000000000ab-nix-2.24.9';
const INPUTS: DaemonInputs = { daemon: 'nix-daemon', imageId: 'sha256:1111', nixPath: NIX, nixConf: renderNixConf() };

describe('daemonSpecHash', () => {
  it('is a sha256 hex digest, the same for the same inputs', () => {
    const hash = daemonSpecHash(INPUTS);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(daemonSpecHash({ ...INPUTS })).toBe(hash);
  });

  it.each([
    ['imageId', { imageId: 'sha256:2222' }],
    ['nixPath', { nixPath: '/nix/store/0c0000000000000000000000000000ac-nix-2.24.10' }],
    ['nixConf', { nixConf: renderNixConf({ 'max-jobs': 2 }) }],
    ['daemon', { daemon: 'other-daemon' }],
  ] as const)('changes with %s', (_name, change) => {
    expect(daemonSpecHash({ ...INPUTS, ...change })).not.toBe(daemonSpecHash(INPUTS));
  });
});

describe('daemonContainerSpec', () => {
  const hash = daemonSpecHash(INPUTS);
  const spec = daemonContainerSpec(INPUTS, 'nix-daemon-next');

  it('runs the nix-daemon of the given nix from the given image under the given name', () => {
    expect(spec.name).toBe('nix-daemon-next');
    expect(spec.image).toBe('sha256:1111');
    expect(spec.entrypoint).toEqual([`${NIX}/bin/nix-daemon`]);
    expect(spec.cmd).toEqual([]);
  });

  it('passes nix.conf as NIX_CONFIG and puts nix on PATH', () => {
    expect(spec.env).toContain(`NIX_CONFIG=${INPUTS.nixConf}`);
    expect(spec.env).toContain(`PATH=${NIX}/bin:/bin`);
  });

  it('mounts the store, db and this generation’s socket volume', () => {
    expect(spec.mounts).toEqual([
      { volume: 'nix-daemon-store', target: '/nix/store' },
      { volume: 'nix-daemon-db', target: '/nix/var/nix/db' },
      { volume: `nix-daemon-socket-${hash.slice(0, 12)}`, target: '/nix/var/nix/daemon-socket' },
    ]);
  });

  it('labels it as managed, with its daemon, spec hash and nix', () => {
    expect(spec.labels).toEqual({
      [LABEL_MANAGED]: 'true',
      [LABEL_DAEMON]: 'nix-daemon',
      [LABEL_SPEC_HASH]: hash,
      [LABEL_NIX]: NIX,
    });
  });

  it('restarts unless stopped', () => {
    expect(spec.restartUnlessStopped).toBe(true);
  });
});
