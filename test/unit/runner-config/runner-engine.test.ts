import { symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode, UserError } from '../../../src/errors.js';
import { attachRunners } from '../../../src/runner-config/attach.js';
import { detachRunners } from '../../../src/runner-config/detach.js';
import { parseRunnerConfig } from '../../../src/runner-config/toml/document.js';
import { runnerHost, sameEngine } from '../../../src/runner-config/runner-engine.js';
import { managedSettings, runner } from './helpers.js';
import { withTempDir } from '../../support/temp-dir.js';

const PODMAN = 'unix:///run/podman/podman.sock';
const DOCKER = 'unix:///var/run/docker.sock';
// Paths as written: no socket exists in the test, except where a test links one.
const asWritten = (a: string, b: string) => sameEngine(a, b, (path) => path);

describe('the engine of the jobs and of the daemon', () => {
  it('compares socket files after their links (docker.sock linked to podman.sock is podman), and tcp by host and port', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'podman.sock'), '');
      await symlink(join(dir, 'podman.sock'), join(dir, 'docker.sock'));
      expect(sameEngine(`unix://${dir}/docker.sock`, `unix://${dir}/podman.sock`)).toBe(true);
      expect(sameEngine(`unix://${dir}/docker.sock`, `${dir}/podman.sock`)).toBe(true);
      expect(sameEngine(`unix://${dir}/other.sock`, `unix://${dir}/podman.sock`)).toBe(false);
    }, 'nix-runner-engine-');
    expect(asWritten('tcp://ci:2375', 'tcp://ci:2375')).toBe(true);
    expect(asWritten('tcp://ci:2375', 'tcp://ci:2376')).toBe(false);
    expect(asWritten('tcp://ci:2375', DOCKER)).toBe(false);
  });

  it('a runner without host: none needed on the default engine, the engine written otherwise', () => {
    expect(runnerHost('r', undefined, DOCKER, asWritten)).toBeUndefined();
    expect(runnerHost('r', undefined, PODMAN, asWritten)).toBe(PODMAN);
    expect(runnerHost('r', PODMAN, PODMAN, asWritten)).toBeUndefined();
  });

  it("a runner whose own host is another engine is refused (exit 7) with a hint", () => {
    const error = (() => {
      try {
        runnerHost('runner "a" in c.toml', DOCKER, PODMAN, asWritten);
      } catch (caught: unknown) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(ExitCode.runnerConfig);
    expect((error as UserError).message).toBe(
      `runner "a" in c.toml: its jobs' engine, [runners.docker] host = "${DOCKER}", is not the engine nix-runner provisions the daemon on (${PODMAN})`,
    );
    expect((error as UserError).hint).toMatch(/share one engine/);
  });

  it('attach writes host for a runner without one when the engine is not the default, and detach removes it', () => {
    const doc = parseRunnerConfig('[[runners]]\nname = "a"\nexecutor = "docker"\n[runners.docker]\nimage = "alpine"\n[[runners]]\nname = "b"\nexecutor = "docker"\n', 'c.toml');
    const attached = attachRunners(doc, ['a', 'b'], { ...managedSettings(), engineHost: PODMAN });
    expect(runner(attached, 'a').docker.host).toBe(PODMAN);
    expect(runner(attached, 'b').docker.host).toBe(PODMAN);
    const again = attachRunners(attached, ['a', 'b'], { ...managedSettings(), engineHost: PODMAN });
    expect(again).toEqual(attached);
    const detached = detachRunners(again);
    expect(runner(detached, 'a').docker).toEqual({ image: 'alpine' });
    expect(runner(detached, 'b').docker).toBeUndefined();
  });
});
