import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { parseRunnerConfig } from '../../../src/runner-config/toml/document.js';
import { selectRunners } from '../../../src/runner-config/select-runners.js';
import { fixtureDoc } from './helpers.js';

function thrown(run: () => unknown): UserError {
  try {
    run();
  } catch (error: unknown) {
    if (error instanceof UserError) return error;
    throw error;
  }
  throw new Error('did not throw');
}

describe('selectRunners', () => {
  it('picks every docker runner when none is requested', async () => {
    expect(selectRunners(await fixtureDoc(), [])).toEqual(['docker-main', 'docker-second']);
  });

  it('returns the requested runners, once each', async () => {
    expect(selectRunners(await fixtureDoc(), ['docker-second', 'docker-second'])).toEqual(['docker-second']);
  });

  it('rejects an unknown name and lists the names there', async () => {
    const error = thrown(() => selectRunners({ ...twoRunners(), path: 'PATH' }, ['x']));
    expect(error.code).toBe('usage');
    expect(error.message).toBe('no runner named "x" in PATH');
    expect(error.hint).toBe('runners in PATH: a, b');
    const fixture = await fixtureDoc();
    expect(thrown(() => selectRunners(fixture, ['nope'])).hint).toContain('docker-main, docker-second, shell-runner');
  });

  it('rejects a runner that does not use the docker executor', async () => {
    const error = thrown(() => selectRunners(dockerAndShell(), ['shell-runner']));
    expect(error.code).toBe('usage');
    expect(error.message).toMatch(/uses executor "shell", not "docker"/);
  });

  it('fails with a hint when there is no docker runner', () => {
    const error = thrown(() => selectRunners(parseRunnerConfig('[[runners]]\nname = "s"\nexecutor = "shell"\n', 'c.toml'), []));
    expect(error.code).toBe('runnerConfig');
    expect(error.message).toBe('no runner with executor "docker" in c.toml');
    expect(error.hint).toMatch(/gitlab-runner register --executor docker/);
    const empty = thrown(() => selectRunners(parseRunnerConfig('concurrent = 1\n', 'c.toml'), ['a']));
    expect(empty.hint).toMatch(/has no runners/);
  });
});

function twoRunners() {
  return parseRunnerConfig('[[runners]]\nname = "a"\nexecutor = "docker"\n[[runners]]\nname = "b"\nexecutor = "shell"\n', 'x');
}

function dockerAndShell() {
  return parseRunnerConfig(
    '[[runners]]\nname = "docker-main"\nexecutor = "docker"\n[[runners]]\nname = "shell-runner"\nexecutor = "shell"\n',
    'config.toml',
  );
}
