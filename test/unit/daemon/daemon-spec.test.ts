import { describe, expect, it } from 'vitest';
import { daemonContainerSpec, daemonNixConf, daemonSpecHash, type DaemonInputs } from '../../../src/daemon/daemon-spec.js';
import { LABEL_DAEMON, LABEL_MANAGED, LABEL_NIX, LABEL_SPEC_HASH } from '../../../src/names/daemon-names.js';

const NIX = '/nix/store/0c0000000000000000000000000000ab-nix-2.24.9';
const LIMITS = { pids: 4096, memoryBytes: 8 * 1024 ** 3 };
const INPUTS: DaemonInputs = { daemon: 'nix-daemon', imageId: 'sha256:1111', nixPath: NIX, nixSettings: {}, sandbox: false, limits: LIMITS };

describe('daemonSpecHash', () => {
  it('is a sha256 hex digest, the same for the same inputs', () => {
    const hash = daemonSpecHash(INPUTS);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(daemonSpecHash({ ...INPUTS })).toBe(hash);
  });

  it.each([
    ['imageId', { imageId: 'sha256:2222' }],
    ['nixPath', { nixPath: '/nix/store/0c0000000000000000000000000000ac-nix-2.24.10' }],
    ['nixSettings', { nixSettings: { 'max-jobs': 2 } }],
    ['daemon', { daemon: 'other-daemon' }],
    ['sandbox', { sandbox: true }],
    ['limits', { limits: { ...LIMITS, pids: 512 } }],
  ] as const)('changes with %s', (_name, change) => {
    expect(daemonSpecHash({ ...INPUTS, ...change })).not.toBe(daemonSpecHash(INPUTS));
  });
});

describe('daemonContainerSpec', () => {
  const hash = daemonSpecHash(INPUTS);
  const generation = { generation: 'aabbccddeeff', run: 'host/boot/1/2' };
  const spec = daemonContainerSpec(INPUTS, 'nix-daemon-next', generation);

  it('runs the nix-daemon of the given nix from the given image under the given name', () => {
    expect(spec.name).toBe('nix-daemon-next');
    expect(spec.image).toBe('sha256:1111');
    expect(spec.entrypoint).toEqual([`${NIX}/bin/nix-daemon`]);
    expect(spec.cmd).toEqual([]);
  });

  it('points nix at its root-only nix.conf directory, puts nix on PATH, and has no setting in its environment', () => {
    expect(spec.env).toEqual([`PATH=${NIX}/bin:/bin`, 'NIX_CONF_DIR=/etc/nix-runner']);
  });

  it('limits processes and memory, and grants no extra privilege without the sandbox', () => {
    expect(spec.pidsLimit).toBe(4096);
    expect(spec.memoryBytes).toBe(8 * 1024 ** 3);
    expect(spec.capAdd).toBeUndefined();
    expect(spec.securityOpt).toBeUndefined();
  });

  it('grants exactly what nix\'s build sandbox needs with the sandbox', () => {
    const sandboxed = daemonContainerSpec({ ...INPUTS, sandbox: true }, 'd', generation);
    expect(sandboxed.capAdd).toEqual(['SYS_ADMIN']);
    expect(sandboxed.securityOpt).toEqual(['seccomp=unconfined', 'apparmor=unconfined']);
    expect(sandboxed.unmaskSystemPaths).toBe(true);
  });

  it('mounts the store, db, roots and this generation’s socket volume, named after the generation', () => {
    expect(spec.mounts).toEqual([
      { volume: 'nix-daemon-store', target: '/nix/store' },
      { volume: 'nix-daemon-db', target: '/nix/var/nix/db' },
      { volume: 'nix-daemon-roots', target: '/nix/var/nix/gcroots/nix-runner' },
      { volume: 'nix-daemon-socket-aabbccddeeff', target: '/nix/var/nix/daemon-socket' },
    ]);
  });

  it('labels it as a managed daemon generation, with its daemon, generation, run, spec hash and nix', () => {
    expect(spec.labels).toEqual({
      [LABEL_MANAGED]: 'true',
      'org.nix-runner.role': 'daemon',
      [LABEL_DAEMON]: 'nix-daemon',
      'org.nix-runner.generation': 'aabbccddeeff',
      'org.nix-runner.run': 'host/boot/1/2',
      [LABEL_SPEC_HASH]: hash,
      [LABEL_NIX]: NIX,
    });
  });

  it('restarts unless stopped', () => {
    expect(spec.restartUnlessStopped).toBe(true);
  });
});

describe('daemonNixConf', () => {
  it('reads the image\'s nix.conf first, then sets build users, the hook and the sandbox over it', () => {
    const conf = daemonNixConf({ nixSettings: { 'max-jobs': 2 }, sandbox: true }, true);
    const lines = conf.trimEnd().split('\n');
    expect(lines[0]).toBe('!include /etc/nix/nix.conf');
    expect(lines).toEqual(expect.arrayContaining(['build-users-group = nixbld', 'post-build-hook = /etc/nix-runner/post-build-hook', 'sandbox = true', 'sandbox-fallback = false', 'max-jobs = 2', 'trusted-users =']));
  });

  it('clears any hook of the image when the daemon has no shell to run its own', () => {
    expect(daemonNixConf({ nixSettings: {}, sandbox: false }, false)).toContain('\npost-build-hook =\n');
  });
});
