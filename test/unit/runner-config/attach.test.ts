import { describe, expect, it } from 'vitest';
import { UserError } from '../../../src/errors.js';
import { attachRunners } from '../../../src/runner-config/attach.js';
import { detachRunners } from '../../../src/runner-config/detach.js';
import { parseRunnerConfig, serializeRunnerConfig } from '../../../src/runner-config/toml/document.js';
import { BLOCK_END, BLOCK_START } from '../../../src/runner-config/managed-block.js';
import { sameMeaning } from '../../../src/runner-config/toml/toml-values.js';
import { fixtureDoc, managedSettings, NIX_BIN, runner } from './helpers.js';

const managed = managedSettings();

describe('attachRunners', () => {
  it('adds volumes_from, environment and a managed block, keeping the user entries', async () => {
    const doc = await fixtureDoc();
    const main = runner(attachRunners(doc, ['docker-main'], managed), 'docker-main');
    expect(main.docker.volumes_from).toEqual(['cache-helper:ro', 'nix-daemon:ro']);
    expect(main.environment).toEqual(['GIT_DEPTH=10', ...managed.environment]);
    expect(main.pre_build_script).toBe(
      [
        BLOCK_START,
        `# nix-runner {"daemon":"nix-daemon","volumes_from":["nix-daemon:ro"],"environment":["NIX_REMOTE=daemon","NIX_RUNNER_BIN=${NIX_BIN}"]}`,
        ...managed.preBuildScript,
        BLOCK_END,
        'echo "user line before"',
        'export FOO=bar',
        '',
      ].join('\n'),
    );
  });

  it('keeps every other key, value and type', async () => {
    const doc = await fixtureDoc();
    const next = attachRunners(doc, ['docker-main', 'docker-second'], managed);
    const strip = (table: Record<string, any>) => {
      const copy = structuredClone({ ...table, runners: undefined });
      return { ...copy, runners: (table.runners as Array<Record<string, any>>).map(({ environment, pre_build_script, docker, ...rest }) => ({ ...rest, docker: docker && { ...docker, volumes_from: undefined } })) };
    };
    expect(strip(next.table)).toEqual(strip(doc.table));
    const main = runner(next, 'docker-main');
    expect(main.token).toBe('glrt-abcdefghijklmnopqrst');
    expect(main.token_obtained_at).toBe(runner(doc, 'docker-main').token_obtained_at);
    expect(main.future_setting).toEqual({ level: 3n, ratio: 0.5 });
    expect(runner(next, 'shell-runner')).toEqual(runner(doc, 'shell-runner'));
  });

  it('does not modify its input', async () => {
    const doc = await fixtureDoc();
    const before = serializeRunnerConfig(doc);
    attachRunners(doc, ['docker-main'], managed);
    expect(serializeRunnerConfig(doc)).toBe(before);
  });

  it('records and creates what a runner lacked', async () => {
    const second = runner(attachRunners(await fixtureDoc(), ['docker-second'], managed), 'docker-second');
    expect(second.docker).toEqual({ image: 'debian:bookworm', volumes_from: ['nix-daemon:ro'] });
    expect(second.environment).toEqual(managed.environment);
    expect(second.pre_build_script).toContain('"created":["volumes_from","environment","pre_build_script"]');
    expect(second.pre_build_script.endsWith(`${BLOCK_END}\n`)).toBe(true);
  });

  it('creates [runners.docker] when it is missing', () => {
    const doc = parseRunnerConfig('[[runners]]\nname = "a"\nexecutor = "docker"\n', 'c.toml');
    const a = runner(attachRunners(doc, ['a'], managed), 'a');
    expect(a.docker).toEqual({ volumes_from: ['nix-daemon:ro'] });
    expect(a.pre_build_script).toContain('"created":["docker","volumes_from","environment","pre_build_script"]');
  });

  it('is idempotent', async () => {
    const once = attachRunners(await fixtureDoc(), ['docker-main', 'docker-second'], managed);
    const twice = attachRunners(once, ['docker-main', 'docker-second'], managed);
    expect(twice.table).toEqual(once.table);
  });

  it('replaces the previous block when the nix path or the daemon changes, never duplicating', async () => {
    const first = attachRunners(await fixtureDoc(), ['docker-main'], managed);
    const renamed = managedSettings({ daemon: 'nix-daemon-2', environment: ['NIX_REMOTE=daemon', 'PATH=/nix/store/other-nix/bin:/bin'] });
    const main = runner(attachRunners(first, ['docker-main'], renamed), 'docker-main');
    expect(main.docker.volumes_from).toEqual(['cache-helper:ro', 'nix-daemon-2:ro']);
    expect(main.environment).toEqual(['GIT_DEPTH=10', 'NIX_REMOTE=daemon', 'PATH=/nix/store/other-nix/bin:/bin']);
    expect(main.pre_build_script.split(BLOCK_START)).toHaveLength(2);
    expect(main.pre_build_script).toContain('"daemon":"nix-daemon-2"');
    expect(main.pre_build_script).toContain('echo "user line before"\nexport FOO=bar\n');
  });

  it('replaces a block where the user moved it, leaving lines before and after alone', () => {
    const doc = parseRunnerConfig('[[runners]]\nname = "a"\nexecutor = "docker"\npre_build_script = "mine first"\n', 'c.toml');
    const first = attachRunners(doc, ['a'], managed);
    const script = runner(first, 'a').pre_build_script as string;
    const block = script.slice(0, script.indexOf(BLOCK_END) + BLOCK_END.length);
    runner(first, 'a').pre_build_script = `echo before\n${block}\necho after\nmine first`;
    const again = runner(attachRunners(first, ['a'], managedSettings({ preBuildScript: ['echo new body'] })), 'a');
    expect(again.pre_build_script).toMatch(new RegExp(`^echo before\\n${escape(BLOCK_START)}\\n.*\\necho new body\\n${escape(BLOCK_END)}\\necho after\\nmine first$`));
  });

  it('keeps a user entry equal to a managed one, and does not add it twice', () => {
    const doc = parseRunnerConfig(
      '[[runners]]\nname = "a"\nexecutor = "docker"\nenvironment = ["NIX_REMOTE=daemon"]\n[runners.docker]\nvolumes_from = ["nix-daemon:ro"]\n',
      'c.toml',
    );
    const a = runner(attachRunners(doc, ['a'], managed), 'a');
    expect(a.docker.volumes_from).toEqual(['nix-daemon:ro']);
    expect(a.environment).toEqual(['NIX_REMOTE=daemon', managed.environment[1]]);
    expect(a.pre_build_script).toContain('"volumes_from":[],"environment":["NIX_RUNNER_BIN=');
  });

  it('detaches another runner that still carries a block of the same daemon', async () => {
    const both = attachRunners(await fixtureDoc(), ['docker-main', 'docker-second'], managed);
    const onlyMain = attachRunners(both, ['docker-main'], managed);
    expect(runner(onlyMain, 'docker-second')).toEqual(runner(await fixtureDoc(), 'docker-second'));
    expect(runner(onlyMain, 'docker-main')).toEqual(runner(both, 'docker-main'));
  });

  it('leaves a block of another daemon on a runner it does not attach', async () => {
    const other = attachRunners(await fixtureDoc(), ['docker-second'], managedSettings({ daemon: 'other' }));
    const next = attachRunners(other, ['docker-main'], managed);
    expect(runner(next, 'docker-second')).toEqual(runner(other, 'docker-second'));
  });

  it('rejects an unknown runner and wrongly typed keys', () => {
    const bad = (toml: string) => () => attachRunners(parseRunnerConfig(toml, 'c.toml'), ['a'], managed);
    expect(bad('[[runners]]\nname = "b"\n')).toThrow(/no runner named "a" in c.toml/);
    expect(bad('[[runners]]\nname = "a"\nenvironment = "X=1"\n')).toThrow(/runner "a" in c.toml: environment is not a list of strings/);
    expect(bad('[[runners]]\nname = "a"\n[runners.docker]\nvolumes_from = [1]\n')).toThrow(/volumes_from is not a list of strings/);
    expect(bad('[[runners]]\nname = "a"\npre_build_script = 1\n')).toThrow(UserError);
    expect(bad('[[runners]]\nname = "a"\ndocker = 1\n')).toThrow(/\[runners.docker\] is not a table/);
  });

  it('refuses a damaged managed block', () => {
    const bad = (script: string) => () =>
      attachRunners(parseRunnerConfig(`[[runners]]\nname = "a"\npre_build_script = ${JSON.stringify(script)}\n`, 'c.toml'), ['a'], managed);
    expect(bad(`${BLOCK_START}\n# nix-runner {"daemon":"d"}\n`)).toThrow(/has no end marker/);
    expect(bad(`${BLOCK_START}\n# nix-runner {not json\n${BLOCK_END}\n`)).toThrow(/record line is damaged/);
    expect(bad(`${BLOCK_START}\n${BLOCK_END}\n`)).toThrow(/record line is damaged/);
  });

  it('serializes to a document with the same meaning as its parse', async () => {
    const next = attachRunners(await fixtureDoc(), ['docker-main', 'docker-second'], managed);
    expect(sameMeaning(parseRunnerConfig(serializeRunnerConfig(next), 'x').table, next.table)).toBe(true);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('runners whose default image is a job image', () => {
  const tagged = (pullPolicy?: string) =>
    parseRunnerConfig(
      `[[runners]]\nname = "a"\nexecutor = "docker"\n[runners.docker]\nimage = "ci/base:1"\n${pullPolicy ? `pull_policy = ${pullPolicy}\n` : ''}`,
      'c.toml',
    );
  const managedWith = managedSettings({ jobImageTags: ['ci/base:1'] });

  it('get pull_policy if-not-present (the image is in no registry), taken back on detach', () => {
    const attached = attachRunners(tagged(), ['a'], managedWith);
    expect(runner(attached, 'a').docker.pull_policy).toEqual(['if-not-present']);
    expect(runner(attachRunners(attached, ['a'], managedWith), 'a').docker.pull_policy).toEqual(['if-not-present']);
    expect(runner(detachRunners(attached, 'nix-daemon'), 'a').docker.pull_policy).toBeUndefined();
  });

  it("keep a pull_policy of their own that takes the engine's copy first, and others' images are not touched", () => {
    expect(runner(attachRunners(tagged('["never"]'), ['a'], managedWith), 'a').docker.pull_policy).toEqual(['never']);
    expect(runner(attachRunners(tagged('"if-not-present"'), ['a'], managedWith), 'a').docker.pull_policy).toEqual('if-not-present');
    expect(runner(attachRunners(tagged(), ['a'], managedSettings()), 'a').docker.pull_policy).toBeUndefined();
    expect(runner(attachRunners(tagged('["always"]'), ['a'], managedSettings()), 'a').docker.pull_policy).toEqual(['always']);
  });

  it('put if-not-present before a policy that pulls first (a public image of that name must not win), keeping theirs; detach restores it as it was', () => {
    for (const [own, expected] of [
      ['"always"', ['if-not-present', 'always']],
      ['["always"]', ['if-not-present', 'always']],
      ['["always", "if-not-present"]', ['if-not-present', 'always']],
      ['[]', ['if-not-present']],
    ] as const) {
      const attached = attachRunners(tagged(own), ['a'], managedWith);
      expect(runner(attached, 'a').docker.pull_policy, own).toEqual(expected);
      expect(runner(attachRunners(attached, ['a'], managedWith), 'a').docker.pull_policy, own).toEqual(expected);
      expect(runner(detachRunners(attached, 'nix-daemon'), 'a').docker.pull_policy, own).toEqual(JSON.parse(own));
    }
  });

  it('leave a pull_policy edited by hand after attach as it is on detach', () => {
    const attached = attachRunners(tagged('"always"'), ['a'], managedWith);
    runner(attached, 'a').docker.pull_policy = ['never'];
    expect(runner(detachRunners(attached, 'nix-daemon'), 'a').docker.pull_policy).toEqual(['never']);
  });

  it('refuse a pull_policy that is neither a string nor a list of strings', () => {
    expect(() => attachRunners(tagged('3'), ['a'], managedWith)).toThrow(/pull_policy is not a string or a list of strings/);
  });
});
