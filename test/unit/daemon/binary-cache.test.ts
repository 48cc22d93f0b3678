import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { provisionSettingsSchema } from '../../../src/config/schema.js';
import { CACHE_CREDENTIALS, CACHE_SECRET_KEY, cacheNixSettings, daemonCache } from '../../../src/daemon/binary-cache.js';
import { daemonFileEntries } from '../../../src/daemon/daemon-files.js';
import { PUSH_SCRIPT } from '../../../src/daemon/push-script.js';
import { UserError } from '../../../src/errors.js';
import { withTempDir } from '../../support/temp-dir.js';

const PUBLIC = 'fleet-1:uNLGtN8mqbrXKmaE6PVlJEyg1bRDcrBXWmbIbxq8M+w=';
const cacheIssues = (cache: unknown) => provisionSettingsSchema.safeParse({ cache }).error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) ?? [];

describe('binary cache settings', () => {
  it('takes https, s3 and file URLs with keys; push needs a secret key outside the store', () => {
    expect(cacheIssues({ url: 'https://cache.example.com', publicKeys: [PUBLIC] })).toEqual([]);
    expect(cacheIssues({ url: 's3://ci-cache?region=eu-west-1&endpoint=minio.example.com', credentialsFile: '/run/secrets/aws' })).toEqual([]);
    expect(cacheIssues({ url: 'file:///var/cache/nix-runner', secretKeyFile: '/run/secrets/cache.sk', push: true })).toEqual([]);
    expect(cacheIssues({ url: 'https://cache.example.com', push: true })).toEqual(['cache.push: push needs secretKeyFile: only signed paths go to the cache']);
    expect(cacheIssues({ url: 'https://cache.example.com', secretKeyFile: '/nix/store/0c0sz7k4yc4kjn6dzq5nfd7wkq21j9b0-key' })[0]).toMatch(/^cache.secretKeyFile: a file outside the Nix store/);
    expect(cacheIssues({ url: "https://cache.example.com/'; rm -rf /" })[0]).toMatch(/^cache.url: a Nix store URL/);
    expect(cacheIssues({ url: 'file://relative/dir' })[0]).toMatch(/^cache.url/);
    expect(cacheIssues({ url: 'https://cache.example.com', publicKeys: ['not a key'] })[0]).toMatch(/^cache.publicKeys.0: a public key/);
  });

  it("adds the cache to the operator's substituters and trusted keys, and signs with the key only when there is one", () => {
    const consumer = cacheNixSettings({ url: 'https://cache.example.com', publicKeys: [PUBLIC], secrets: [] }, { substituters: 'https://cache.nixos.org', 'max-jobs': 4 });
    expect(consumer).toEqual({ fallback: true, 'connect-timeout': 5, substituters: ['https://cache.example.com', 'https://cache.nixos.org'], 'trusted-public-keys': [PUBLIC], 'max-jobs': 4 });
    expect(cacheNixSettings({ url: 'https://c', publicKeys: [], secrets: [] }, { fallback: false })).toMatchObject({ fallback: false });
    const producer = cacheNixSettings({ url: 'file:///c', publicKeys: [PUBLIC], secrets: [{ type: 'file', name: CACHE_SECRET_KEY.slice(1), mode: 0o600, content: 'k' }] }, {});
    expect(producer['secret-key-files']).toEqual([CACHE_SECRET_KEY]);
  });

  it('gives the daemon root-only copies of the secrets; their digest changes with them; a missing file is one line without content', async () => {
    await withTempDir(async (dir) => {
      const key = join(dir, 'cache.sk');
      const aws = join(dir, 'credentials');
      await writeFile(key, 'fleet-1:SECRETSECRET\n');
      await writeFile(aws, '[default]\naws_access_key_id = AKIA\n');
      const cache = await daemonCache({ url: 'file:///srv/cache', publicKeys: [PUBLIC], secretKeyFile: key, credentialsFile: aws, push: true });
      expect(cache.directory).toBe('/srv/cache');
      expect(cache.secrets).toEqual([
        { type: 'file', name: CACHE_SECRET_KEY.slice(1), mode: 0o600, content: 'fleet-1:SECRETSECRET' },
        { type: 'directory', name: 'root/.aws', mode: 0o700 },
        { type: 'file', name: CACHE_CREDENTIALS.slice(1), mode: 0o600, content: '[default]\naws_access_key_id = AKIA\n' },
      ]);
      await writeFile(key, 'fleet-1:OTHER\n');
      const rotated = await daemonCache({ url: 'file:///srv/cache', publicKeys: [PUBLIC], secretKeyFile: key, credentialsFile: aws, push: true });
      expect(rotated.secretsDigest).not.toBe(cache.secretsDigest);

      const error = await daemonCache({ url: 'file:///srv/cache', publicKeys: [], secretKeyFile: join(dir, 'absent'), push: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).message).toBe(`cannot read the cache's secretKeyFile ${join(dir, 'absent')}: ENOENT: no such file or directory, open '${join(dir, 'absent')}'`);
    });
  });

  it('a pushing daemon gets the uploader, started in the background by its post-build hook', () => {
    const secrets = [{ type: 'file' as const, name: CACHE_SECRET_KEY.slice(1), mode: 0o600, content: 'k' }];
    const files = daemonFileEntries({ nixConf: 'x', nixPath: '/nix/store/n-nix', shell: ['/bin/sh'], cache: { url: 'file:///c', push: true, secrets } });
    const byName = new Map(files.map((entry) => [entry.name, entry]));
    expect(byName.get(PUSH_SCRIPT.slice(1))).toMatchObject({ mode: 0o700, content: expect.stringContaining("--to 'file:///c'") });
    expect(byName.get('etc/nix-runner/post-build-hook')).toMatchObject({ content: expect.stringContaining(`${PUSH_SCRIPT} </dev/null`) });
    expect(byName.get(CACHE_SECRET_KEY.slice(1))).toMatchObject({ mode: 0o600 });
    const consumer = daemonFileEntries({ nixConf: 'x', nixPath: '/nix/store/n-nix', shell: ['/bin/sh'], cache: { url: 'file:///c', push: false, secrets: [] } });
    expect(consumer.map((entry) => entry.name)).not.toContain(PUSH_SCRIPT.slice(1));
  });
});
