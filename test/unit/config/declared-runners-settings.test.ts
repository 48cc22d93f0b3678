import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../../src/config/load-settings.js';
import { provisionSettingsSchema } from '../../../src/config/schema.js';
import { withTempDir } from '../runner-config/helpers.js';

describe('settings: declaredRunners', () => {
  it('is absent unless given (absent: runners declared earlier are left alone)', () => {
    expect(provisionSettingsSchema.parse({}).declaredRunners).toBeUndefined();
  });

  it('reads them from a TOML settings file', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'settings.toml');
      await writeFile(
        file,
        '[[declaredRunners]]\nname = "nix-a"\nurl = "https://gitlab.example.com"\ntokenFile = "/run/secrets/a"\nlimit = 2\n[declaredRunners.docker]\nprivileged = false\n',
      );
      const settings = await loadSettings({}, file);
      expect(settings.declaredRunners).toEqual([{ name: 'nix-a', url: 'https://gitlab.example.com', tokenFile: '/run/secrets/a', limit: 2, docker: { privileged: false } }]);
    });
  });

  it('a name declared twice: an error with its path', async () => {
    const runner = { name: 'a', url: 'https://g.example', tokenFile: '/t' };
    const error = await loadSettings({ declaredRunners: [runner, runner] }).catch((e: unknown) => e as Error);
    expect(String((error as Error).message)).toMatch(/runner name "a" is declared twice at declaredRunners\[1\]\.name/);
  });
});
