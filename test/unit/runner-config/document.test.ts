import { describe, expect, it } from 'vitest';
import { TomlDate } from 'smol-toml';
import { UserError } from '../../../src/errors.js';
import { parseRunnerConfig, serializeRunnerConfig } from '../../../src/runner-config/toml/document.js';
import { sameMeaning } from '../../../src/runner-config/toml/toml-values.js';
import { fixtureDoc, runner } from './helpers.js';

describe('parseRunnerConfig / serializeRunnerConfig', () => {
  it('keeps integers, floats and datetimes apart', async () => {
    const doc = await fixtureDoc();
    const main = runner(doc, 'docker-main');
    expect(doc.table.concurrent).toBe(4n);
    expect(main.id).toBe(42n);
    expect(main.docker.memory_swappiness).toBe(1);
    expect(main.future_setting.ratio).toBe(0.5);
    expect(main.token_obtained_at).toBeInstanceOf(TomlDate);
  });

  it('writes 1.0 as a float, 4 as an integer and datetimes as datetimes', async () => {
    const text = serializeRunnerConfig(await fixtureDoc());
    expect(text).toMatch(/^memory_swappiness = 1\.0$/m);
    expect(text).toMatch(/^concurrent = 4$/m);
    expect(text).toMatch(/^id = 42$/m);
    expect(text).toMatch(/^token_obtained_at = 2024-05-01T10:00:00\.000Z$/m);
    expect(text).toMatch(/^token_expires_at = 0001-01-01T00:00:00\.000Z$/m);
  });

  it('round-trips the fixture to the same meaning', async () => {
    const doc = await fixtureDoc();
    const again = parseRunnerConfig(serializeRunnerConfig(doc), 'again.toml');
    expect(sameMeaning(doc.table, again.table)).toBe(true);
    expect(again.table).toEqual(doc.table);
  });

  it('keeps local dates, local times and offsets', () => {
    const text = 'a = 2024-05-01\nb = 07:32:00\nc = 2024-05-01T10:00:00\nd = 2024-05-01T10:00:00+02:00\n';
    const out = serializeRunnerConfig(parseRunnerConfig(text, 'x'));
    expect(out).toBe('a = 2024-05-01\nb = 07:32:00.000\nc = 2024-05-01T10:00:00.000\nd = 2024-05-01T10:00:00.000+02:00\n');
  });

  it('reports a parse error with path, line and column, quoting the line', () => {
    const parse = () => parseRunnerConfig('concurrent = 1\n[[runners]]\nname = = "x"\n', '/etc/gitlab-runner/config.toml');
    expect(parse).toThrow(UserError);
    expect(parse).toThrow(/^\/etc\/gitlab-runner\/config\.toml:3:8: invalid value: name = = "x"$/);
    try {
      parse();
    } catch (error: unknown) {
      expect((error as UserError).code).toBe('runnerConfig');
      expect((error as UserError).hint).toMatch(/previous configuration/);
    }
  });
});

describe('parse errors never quote a secret', () => {
  const message = (text: string) => {
    try {
      parseRunnerConfig(text, 'config.toml');
    } catch (error: unknown) {
      return (error as UserError).message;
    }
    throw new Error('parsed');
  };

  it('redacts the token on the line it quotes', () => {
    const text = '[[runners]]\nname = "a"\ntoken = "glrt-SECRET0123456789" junk\n';
    expect(message(text)).toBe('config.toml:3:33: each key-value declaration must be followed by an end-of-line: token = "[redacted]" junk');
  });

  it('redacts a bare or unterminated token, and a line inside a multi-line secret', () => {
    expect(message('token = glrt-SECRET0123456789\n')).toBe('config.toml:1:9: invalid value: token = [redacted]');
    expect(message('token = "glrt-SECRET0123456789\n')).not.toContain('SECRET');
    const text = message('[runners.cache.gcs]\nPrivateKey = """\n-----BEGIN KEY-----\nSECRETKEYMATERIAL \\q\n"""\n');
    expect(text).toMatch(/^config\.toml:4:\d+: /);
    expect(text).not.toContain('SECRETKEYMATERIAL');
  });

  it('cuts a long line short and keeps the message on one line (CRLF too)', () => {
    const text = message(`a = = "${'x'.repeat(300)}"\r\nb = 1\r\n`);
    expect(text).not.toMatch(/[\r\n]/);
    expect(text.endsWith('…')).toBe(true);
    expect(text.length).toBeLessThan(180);
  });
});

describe('sameMeaning', () => {
  const parse = (text: string) => parseRunnerConfig(text, 'x').table;

  it('ignores key order and formatting', () => {
    expect(sameMeaning(parse('a = 1\nb = "x"\n'), parse('b = \'x\'\n  a = 0x1\n'))).toBe(true);
  });

  it('tells integers from floats, and datetimes by their text', () => {
    expect(sameMeaning(parse('a = 1'), parse('a = 1.0'))).toBe(false);
    expect(sameMeaning(parse('a = 2024-05-01'), parse('a = 2024-05-01T00:00:00Z'))).toBe(false);
    expect(sameMeaning(parse('a = nan'), parse('a = nan'))).toBe(true);
  });

  it('sees a missing key, an extra key and a reordered array', () => {
    expect(sameMeaning(parse('a = 1\nb = 2'), parse('a = 1'))).toBe(false);
    expect(sameMeaning(parse('a = [1, 2]'), parse('a = [2, 1]'))).toBe(false);
    expect(sameMeaning(parse('a = {}'), parse('a = []'))).toBe(false);
  });
});
