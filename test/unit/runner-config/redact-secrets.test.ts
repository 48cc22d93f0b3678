import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyRunnerConfig, removeFromRunnerConfig } from '../../../src/runner-config/apply.js';
import type { DeclaredRunner } from '../../../src/runner-config/read-declarations.js';
import { parseRunnerConfig } from '../../../src/runner-config/toml/document.js';
import { REDACTED, redactSecrets, redactValues, secretValues } from '../../../src/runner-config/file/redact-secrets.js';
import { FIXTURE, managedSettings, withTempDir } from './helpers.js';

const FIXTURE_TOKENS = ['glrt-abcdefghijklmnopqrst', 'glrt-second', 'glrt-shell'];

// Every secret GitLab Runner's config.toml documents, in the sections it documents them in.
const SECRETS_TOML = `concurrent = 1
[[runners]]
  name = "all-secrets"
  url = "https://gitlab.example.com"
  token = "glrt-RUNNERTOKEN0123456789"
  token_obtained_at = 2024-05-01T10:00:00Z
  token_expires_at = 0001-01-01T00:00:00Z
  executor = "docker"
  [runners.cache]
    Type = "s3"
    [runners.cache.s3]
      AccessKey = "AKIAS3ACCESSKEY0001"
      SecretKey = "s3-secret/key+material=="
      SessionToken = "s3-session-token-000111"
      BucketName = "cache-bucket"
    [runners.cache.gcs]
      AccessID = "cache@project.iam.gserviceaccount.com"
      PrivateKey = "-----BEGIN PRIVATE KEY-----\\nGCSPRIVATEKEY\\n-----END PRIVATE KEY-----\\n"
    [runners.cache.azure]
      AccountName = "cacheaccount"
      AccountKey = "AZUREACCOUNTKEY0000=="
  [runners.docker]
    image = "alpine:3.20"
  [runners.kubernetes]
    bearer_token = "K8SBEARERTOKEN00000"
  [runners.ssh]
    password = "SSHPASSWORD000000"
`;
const SECRETS = [
  'glrt-RUNNERTOKEN0123456789',
  'AKIAS3ACCESSKEY0001',
  's3-secret/key+material==',
  's3-session-token-000111',
  'GCSPRIVATEKEY',
  'AZUREACCOUNTKEY0000==',
  'K8SBEARERTOKEN00000',
  'SSHPASSWORD000000',
];

function expectNoSecret(text: string, secrets: string[]): void {
  for (const secret of secrets) expect(text).not.toContain(secret);
}

describe('redactSecrets', () => {
  it('redacts every documented secret key, keeping the rest of the file', () => {
    const redacted = redactSecrets(SECRETS_TOML);
    expectNoSecret(redacted, SECRETS);
    expect(redacted).toContain('  token = "[redacted]"\n');
    expect(redacted).toContain('      SecretKey = "[redacted]"\n');
    expect(redacted).toContain('      AccountKey = "[redacted]"\n');
    for (const kept of ['token_obtained_at = 2024-05-01T10:00:00Z', 'AccessID = "cache@project.iam.gserviceaccount.com"', 'BucketName = "cache-bucket"', 'AccountName = "cacheaccount"', 'name = "all-secrets"']) {
      expect(redacted).toContain(kept);
    }
    expect(redacted.split('\n')).toHaveLength(SECRETS_TOML.split('\n').length);
  });

  it('handles every TOML way of writing a value, and keys in any case (as GitLab Runner reads them)', () => {
    expect(redactSecrets(`token='lit-secret'`)).toBe(`token='${REDACTED}'`);
    expect(redactSecrets(`"token" = "quoted-key"`)).toBe(`"token" = "${REDACTED}"`);
    expect(redactSecrets(`runners.token = "dotted-key"`)).toBe(`runners.token = "${REDACTED}"`);
    expect(redactSecrets(`s3 = { SecretKey = "inline", AccessKey = 'x1234567' }`)).toBe(`s3 = { SecretKey = "${REDACTED}", AccessKey = '${REDACTED}' }`);
    expect(redactSecrets(`TOKEN = "upper-case"`)).toBe(`TOKEN = "${REDACTED}"`);
    expect(redactSecrets(`token = "with \\" escaped quote"`)).toBe(`token = "${REDACTED}"`);
    expect(redactSecrets(`PrivateKey = """\nline 1\nline 2"""\nnext = 1`)).toBe(`PrivateKey = """${REDACTED}\n\n"""\nnext = 1`);
  });

  it('leaves keys that only contain a secret word alone', () => {
    const text = 'token_obtained_at = 2024-05-01T10:00:00Z\ntoken_expires_at = 0001-01-01T00:00:00Z\nmytoken = "kept"\nbearer_token_overwrite_allowed = true\n';
    expect(redactSecrets(text)).toBe(text);
  });

  it('redacts in text that does not parse: bare and unterminated values', () => {
    expect(redactSecrets('token = glrt-bare-value junk')).toBe(`token = ${REDACTED} junk`);
    expect(redactSecrets('token = "glrt-unterminated\nnext = 1')).toBe(`token = "${REDACTED}\nnext = 1`);
    expect(redactSecrets('2:  token = "glrt-in-a-parser-message"')).toBe(`2:  token = "${REDACTED}"`);
  });

  it('gives the same text when run again on its own output', () => {
    for (const text of ['token = glrt-bare', 'token = "q-secret"', "x = { token = 'l-secret' }", SECRETS_TOML]) {
      const once = redactSecrets(text);
      expect(redactSecrets(once)).toBe(once);
    }
  });
});

describe('secretValues / redactValues', () => {
  it('finds the values of secret keys and replaces their copies elsewhere', () => {
    const table = parseRunnerConfig(SECRETS_TOML, 'x').table;
    const values = secretValues(table);
    expect([...values].sort()).toEqual([...SECRETS.slice(0, 4), '-----BEGIN PRIVATE KEY-----\nGCSPRIVATEKEY\n-----END PRIVATE KEY-----\n', ...SECRETS.slice(5)].sort());
    expect(redactValues('AWS_SECRET_ACCESS_KEY=s3-secret/key+material== and more', values)).toBe(`AWS_SECRET_ACCESS_KEY=${REDACTED} and more`);
  });

  it('ignores values too short to be secrets', () => {
    expect(secretValues(parseRunnerConfig('token = "abc"\n', 'x').table).size).toBe(0);
  });
});

describe('config.toml diffs never show a secret', () => {
  it('provision --dry-run: tokens redacted, the changes shown', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await copyFile(FIXTURE, path);
      const result = await applyRunnerConfig({ path, runners: [], managed: managedSettings(), dryRun: true });
      expectNoSecret(result.diff, FIXTURE_TOKENS);
      expect(result.diff).toContain('-  token = "[redacted]"\n');
      expect(result.diff).toContain('+token = "[redacted]"\n');
      expect(result.diff).toContain('+volumes_from = [ "cache-helper:ro", "nix-daemon:ro" ]');
    });
  });

  it('the diff of a real write and of a removal: redacted too', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await writeFile(path, SECRETS_TOML);
      const attached = await applyRunnerConfig({ path, runners: [], managed: managedSettings() });
      expect(attached.changed).toBe(true);
      expectNoSecret(attached.diff, SECRETS);
      const removed = await removeFromRunnerConfig({ path, dryRun: true });
      expect(removed.changed).toBe(true);
      expectNoSecret(removed.diff, SECRETS);
    });
  });

  it('a token copied into environment is redacted there too', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      await writeFile(path, SECRETS_TOML.replace('executor = "docker"', 'executor = "docker"\n  environment = ["MY_COPY=glrt-RUNNERTOKEN0123456789"]'));
      const result = await applyRunnerConfig({ path, runners: [], managed: managedSettings(), dryRun: true });
      expectNoSecret(result.diff, SECRETS);
      expect(result.diff).toContain('MY_COPY=[redacted]');
    });
  });

  it('a declared runner whose token changes: a changed line, both sides redacted', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'config.toml');
      const declared = (token: string): DeclaredRunner[] => [{ name: 'decl', url: 'https://gitlab.example.com', token, tokenHash: `sha256:${token}`, docker: {} }];
      await applyRunnerConfig({ path, runners: [], managed: managedSettings(), declared: declared('glrt-FIRSTTOKEN000000') });
      const result = await applyRunnerConfig({ path, runners: [], managed: managedSettings(), declared: declared('glrt-SECONDTOKEN00000'), dryRun: true });
      expectNoSecret(result.diff, ['glrt-FIRSTTOKEN000000', 'glrt-SECONDTOKEN00000']);
      expect(result.diff).toMatch(/^-token = "\[redacted\]"\n\+token = "\[redacted\]"$/m);
    });
  });
});
