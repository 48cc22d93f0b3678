import { describe, expect, it } from 'vitest';
import { attachRunners } from '../../../src/runner-config/attach.js';
import { detachRunners } from '../../../src/runner-config/detach.js';
import { parseRunnerConfig, serializeRunnerConfig } from '../../../src/runner-config/toml/document.js';
import { fixtureDoc, managedSettings, runner } from './helpers.js';

const managed = managedSettings();

describe('detachRunners', () => {
  it('restores the original meaning', async () => {
    const doc = await fixtureDoc();
    const attached = attachRunners(doc, ['docker-main', 'docker-second'], managed);
    expect(detachRunners(attached).table).toEqual(doc.table);
    expect(detachRunners(attached, 'nix-daemon').table).toEqual(doc.table);
  });

  it('restores the original meaning after a serialize/parse round trip', async () => {
    const doc = await fixtureDoc();
    const written = parseRunnerConfig(serializeRunnerConfig(attachRunners(doc, ['docker-main', 'docker-second'], managed)), 'x');
    expect(detachRunners(written).table).toEqual(doc.table);
  });

  it('removes only the named daemon', async () => {
    const doc = await fixtureDoc();
    const mixed = attachRunners(attachRunners(doc, ['docker-main'], managed), ['docker-second'], managedSettings({ daemon: 'other' }));
    const detached = detachRunners(mixed, 'other');
    expect(runner(detached, 'docker-second')).toEqual(runner(doc, 'docker-second'));
    expect(runner(detached, 'docker-main')).toEqual(runner(mixed, 'docker-main'));
  });

  it('keeps lines and entries the user added meanwhile', async () => {
    const attached = attachRunners(await fixtureDoc(), ['docker-second'], managed);
    const second = runner(attached, 'docker-second');
    second.pre_build_script += 'echo mine\n';
    second.environment.push('MINE=1');
    second.docker.volumes_from.unshift('mine:ro');
    const detached = runner(detachRunners(attached), 'docker-second');
    expect(detached.pre_build_script).toBe('echo mine\n');
    expect(detached.environment).toEqual(['MINE=1']);
    expect(detached.docker.volumes_from).toEqual(['mine:ro']);
  });

  it('keeps an empty pre_build_script the user had, drops one nix-runner created', () => {
    const doc = parseRunnerConfig('[[runners]]\nname = "a"\nexecutor = "docker"\npre_build_script = ""\n[[runners]]\nname = "b"\nexecutor = "docker"\n', 'c');
    const detached = detachRunners(attachRunners(doc, ['a', 'b'], managed));
    expect(runner(detached, 'a').pre_build_script).toBe('');
    expect(runner(detached, 'b')).not.toHaveProperty('pre_build_script');
    expect(detached.table).toEqual(doc.table);
  });

  it('keeps a user script without a trailing newline byte for byte', () => {
    const doc = parseRunnerConfig('[[runners]]\nname = "a"\nexecutor = "docker"\npre_build_script = "a\\n\\nb"\n', 'c');
    const attached = attachRunners(doc, ['a'], managed);
    expect(runner(detachRunners(attached), 'a').pre_build_script).toBe('a\n\nb');
  });

  it('changes nothing in a file without managed entries', async () => {
    const doc = await fixtureDoc();
    expect(detachRunners(doc).table).toEqual(doc.table);
  });
});
