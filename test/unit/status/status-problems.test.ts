import { describe, expect, it } from 'vitest';
import type { DaemonStatus } from '../../../src/status/daemon-status.js';
import { statusProblems } from '../../../src/status/status-problems.js';

const HEALTHY: DaemonStatus = {
  name: 'nix-daemon',
  state: 'running',
  answers: true,
  generations: [],
  draining: [],
  runners: [{ name: 'docker', nix: '/nix/store/aaa-nix', nixInStore: true }],
  leftovers: { containers: [], volumes: [] },
  staleUsers: [],
};

describe('statusProblems', () => {
  it('finds nothing wrong with a running daemon that answers and has the nix config.toml points at', () => {
    expect(statusProblems(HEALTHY, 3_600_000)).toEqual([]);
  });

  it.each([
    [{ state: 'missing' }, 'daemon', 'daemon nix-daemon does not exist (runners docker mount it)'],
    [{ state: 'not made by nix-runner' }, 'daemon', 'the container named nix-daemon was not made by nix-runner (runners docker mount it)'],
    [{ state: 'exited' }, 'daemon', 'daemon nix-daemon is exited'],
    [{ answers: false, answerError: 'Connection refused' }, 'daemon', 'daemon nix-daemon does not answer through its socket: Connection refused'],
    [{ runners: [{ name: 'docker', nix: '/nix/store/bbb-nix', nixInStore: false }] }, 'runnerConfig', "runner docker's jobs run nix /nix/store/bbb-nix, which the store of nix-daemon does not have"],
    [{ leftovers: { containers: [{ name: 'x', why: '' }], volumes: [{ name: 'nix-daemon-socket-aabbccddeeff', why: '' }] } }, 'daemon', '2 leftover(s) of killed nix-runner runs: x, nix-daemon-socket-aabbccddeeff'],
    [{ staleUsers: [{ id: '1', name: 'runner-abc-build', state: 'exited' }] }, 'daemon', '1 job container(s) stopped for over 1h still mount nix-daemon: runner-abc-build'],
  ] as const)('reports %o as a %s problem with a hint', (change, code, message) => {
    const problems = statusProblems({ ...HEALTHY, ...(change as Partial<DaemonStatus>) }, 3_600_000);
    expect(problems).toEqual([{ daemon: 'nix-daemon', code, message, hint: expect.stringMatching(/\S/) }]);
  });
});
