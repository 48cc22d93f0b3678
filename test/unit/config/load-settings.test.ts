import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_DAEMON, DEFAULT_PIDS_LIMIT, DEFAULT_RUNNER_CONFIG } from '../../../src/config/schema.js';
import { loadSettings, readSettingsFile } from '../../../src/config/load-settings.js';
import { UserError } from '../../../src/errors.js';
import { tempDir } from '../../support/temp-dir.js';

const STORE_PATH = '/nix/store/2pnnszrhiwsvj33al97fp639gjhss6db-nix-daemon-image';

async function userError(promise: Promise<unknown>): Promise<UserError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UserError);
  return error as UserError;
}

describe('settings files', () => {
  let dir: string;
  let removeDir: () => Promise<void>;
  beforeEach(async () => {
    ({ dir: dir, remove: removeDir } = await tempDir('nix-runner-settings-'));
  });
  afterEach(async () => {
    await removeDir();
  });

  async function file(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  }

  describe('readSettingsFile', () => {
    it('parses TOML', async () => {
      const path = await file('settings.toml', 'daemon = "d1"\nrunners = ["a", "b"]\n[nixSettings]\nmax-jobs = 4\n');
      expect(await readSettingsFile(path)).toEqual({ daemon: 'd1', runners: ['a', 'b'], nixSettings: { 'max-jobs': 4 } });
    });

    it('parses a .json file as JSON', async () => {
      const path = await file('settings.json', '{"daemon": "d1", "nixSettings": {"sandbox": false}}');
      expect(await readSettingsFile(path)).toEqual({ daemon: 'd1', nixSettings: { sandbox: false } });
    });

    it('names file, line and column of a TOML syntax error', async () => {
      const path = await file('settings.toml', 'daemon = "d1"\nrunners = [\n"a",\nbroken\n');
      const error = await userError(readSettingsFile(path));
      expect(error.code).toBe('config');
      expect(error.message).toMatch(new RegExp(`^${path.replaceAll('.', '\\.')}:4:\\d+: \\S`));
      expect(error.message).not.toContain('\n');
    });

    it('names the file of a JSON syntax error', async () => {
      const path = await file('settings.json', '{"daemon": }');
      const error = await userError(readSettingsFile(path));
      expect(error.code).toBe('config');
      expect(error.message.startsWith(`${path}: `)).toBe(true);
    });

    it('reports a file it cannot read', async () => {
      const error = await userError(readSettingsFile(join(dir, 'missing.toml')));
      expect(error.code).toBe('config');
      expect(error.message).toMatch(/^cannot read settings file .*missing\.toml: ENOENT/);
      expect(error.hint).toBe('check the --config path');
    });
  });

  describe('loadSettings', () => {
    it('fills in the defaults without a file', async () => {
      expect(await loadSettings({})).toEqual({
        runnerConfig: DEFAULT_RUNNER_CONFIG,
        runners: [],
        daemon: DEFAULT_DAEMON,
        nixSettings: {},
        sandbox: false,
        pidsLimit: DEFAULT_PIDS_LIMIT,
      });
    });

    it('reads a TOML file and a JSON file the same way', async () => {
      const toml = await file('s.toml', `daemon = "d1"\nimageStorePath = "${STORE_PATH}"\n[nixSettings]\nsubstituters = ["https://cache.nixos.org"]\n`);
      const json = await file('s.json', JSON.stringify({ daemon: 'd1', imageStorePath: STORE_PATH, nixSettings: { substituters: ['https://cache.nixos.org'] } }));
      const expected = {
        runnerConfig: DEFAULT_RUNNER_CONFIG,
        runners: [],
        daemon: 'd1',
        imageStorePath: STORE_PATH,
        nixSettings: { substituters: ['https://cache.nixos.org'] },
        sandbox: false,
        pidsLimit: DEFAULT_PIDS_LIMIT,
      };
      expect(await loadSettings({}, toml)).toEqual(expected);
      expect(await loadSettings({}, json)).toEqual(expected);
    });

    it('lets given flags win over the file, but not undefined flags or empty lists', async () => {
      const path = await file('s.toml', 'daemon = "from-file"\nrunnerConfig = "/etc/file.toml"\nrunners = ["file-runner"]\n');
      const settings = await loadSettings({ daemon: 'from-flag', runnerConfig: undefined, runners: [] }, path);
      expect(settings.daemon).toBe('from-flag');
      expect(settings.runnerConfig).toBe('/etc/file.toml');
      expect(settings.runners).toEqual(['file-runner']);
    });

    it('replaces the file’s image source with a flag’s', async () => {
      const path = await file('s.toml', 'imageRef = "registry.example/nix:1"\n');
      const settings = await loadSettings({ imageArchive: '/srv/nix-daemon.tar' }, path);
      expect(settings.imageArchive).toBe('/srv/nix-daemon.tar');
      expect(settings.imageRef).toBeUndefined();
    });

    it('rejects two image sources in the file', async () => {
      const path = await file('s.toml', 'imageRef = "registry.example/nix:1"\nimageFlake = ".#daemon"\n');
      const error = await userError(loadSettings({}, path));
      expect(error.code).toBe('config');
      expect(error.message).toBe(`invalid settings in ${path} or flags: • give one image source, not imageRef and imageFlake at imageFlake`);
    });

    it('rejects two image sources given as flags', async () => {
      const error = await userError(loadSettings({ imageRef: 'a:1', imageStorePath: STORE_PATH }));
      expect(error.message).toBe('invalid settings: • give one image source, not imageRef and imageStorePath at imageStorePath');
    });

    it('names an unknown key', async () => {
      const path = await file('s.json', '{"daemon": "d1", "deamon": "typo"}');
      const error = await userError(loadSettings({}, path));
      expect(error.code).toBe('config');
      expect(error.exitCode).toBe(3);
      expect(error.message).toContain('"deamon"');
      expect(error.hint).toMatch(/provision --help/);
    });

    it('lists every invalid value with its path', async () => {
      const path = await file('s.toml', 'daemon = "-bad"\n[nixSettings]\nSandbox = false\n');
      const error = await userError(loadSettings({}, path));
      expect(error.message).toMatch(/: • a container name: .* at daemon • .* at nixSettings\.Sandbox$/);
    });

    it('adds --nix-setting flags to the file\'s nixSettings, one by one', async () => {
      const path = await file('s.toml', '[nixSettings]\nmax-jobs = 4\ncores = 2\n');
      expect((await loadSettings({ nixSettings: { cores: '8' } }, path)).nixSettings).toEqual({ 'max-jobs': 4, cores: '8' });
    });

    it('explains what a nix.conf setting name must look like', async () => {
      const error = await userError(loadSettings({ nixSettings: { Sandbox: false } }));
      expect(error.message).toContain('a nix.conf setting name at nixSettings.Sandbox');
    });
  });
});
