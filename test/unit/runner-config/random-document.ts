import { TomlDate } from 'smol-toml';
import type { Table } from '../../../src/runner-config/toml/toml-values.js';
import type { Random } from './random.js';

const KEYS = ['image', 'limit', 'x', 'with space', 'dotted.key', 'ключ', '鍵', 'emoji🚀', '"quoted"', "it's", '', '__proto__', 'constructor', '10', 'a-b_c'];
const TEXTS = ['', 'plain', 'ünïcödé', '日本語', '🚀 rocket', 'tab\there', 'quote " and \' both', 'back\\slash', '"""', "'''", '# not a comment', 'line1\nline2\n', '\r\nwindows', 'nul\u0001ctl', 'e\u0301 combining', '\u007f del'];
const FLOATS = [0.5, -2.25, 1, 3, 1e300, -1e-300, 6.02e23, Infinity, -Infinity, NaN, 1e21, 123456.789];
const DATES = ['2024-05-01T10:00:00Z', '2024-05-01T10:00:00.123+05:30', '0001-01-01T00:00:00Z', '2024-05-01', '07:32:00', '07:32:00.5', '2024-05-01T10:00:00', '1999-12-31T23:59:59-08:00'];

function scalar(random: Random): unknown {
  switch (random.int(0, 4)) {
    case 0:
      return random.pick(TEXTS) + (random.chance(0.3) ? random.pick(TEXTS) : '');
    case 1:
      return BigInt(random.pick([0, 1, -1, 42, 1800, 2 ** 31, -(2 ** 40)])) * (random.chance(0.1) ? 2n ** 20n : 1n);
    case 2:
      return random.pick(FLOATS);
    case 3:
      return random.chance(0.5);
    default:
      return new TomlDate(random.pick(DATES));
  }
}

function value(random: Random, depth: number): unknown {
  const roll = random.next();
  if (depth > 2 || roll < 0.6) return scalar(random);
  if (roll < 0.8) return Array.from({ length: random.int(0, 4) }, () => value(random, depth + 1));
  return table(random, depth + 1, 3);
}

export function table(random: Random, depth: number, maxKeys: number): Table {
  const result: Table = Object.create(null) as Table;
  for (let i = random.int(0, maxKeys); i > 0; i--) result[random.pick(KEYS)] = value(random, depth);
  return result;
}

function tableList(random: Random): Table[] {
  return Array.from({ length: random.int(1, 3) }, () => table(random, 2, 3));
}

function script(random: Random): string {
  return Array.from({ length: random.int(0, 4) }, () => random.pick(['echo hi', 'export A="b c"', '# comment line', '', 'if true; then :; fi', random.pick(TEXTS)])).join('\n') +
    (random.chance(0.5) ? '\n' : '');
}

function runner(random: Random, index: number): Table {
  const result = table(random, 1, 2);
  if (random.chance(0.95)) result.name = `runner-${index}${random.pick(['', '-ü', ' 空', '🚀'])}`;
  result.url = 'https://gitlab.example.com';
  result.id = BigInt(index + 1);
  if (random.chance(0.8)) result.token = `glrt-${index}`;
  if (random.chance(0.7)) result.token_obtained_at = new TomlDate(random.pick(DATES.slice(0, 3)));
  result.executor = random.pick(['docker', 'docker', 'docker', 'shell', 'kubernetes', 'docker+machine']);
  if (random.chance(0.5)) result.environment = Array.from({ length: random.int(0, 3) }, (_, i) => random.pick([`K${i}=v`, 'NIX_REMOTE=daemon', 'PATH=/usr/bin', 'Ü=ü']));
  if (random.chance(0.5)) result.pre_build_script = script(random);
  if (random.chance(0.8)) {
    const docker = table(random, 2, 3);
    if (random.chance(0.5)) docker.volumes_from = Array.from({ length: random.int(0, 2) }, () => random.pick(['cache:ro', 'nix-daemon:ro', 'x']));
    if (random.chance(0.3)) docker.services = tableList(random);
    result.docker = docker;
  }
  if (random.chance(0.3)) result.cache = { Type: 's3', s3: table(random, 3, 2) };
  if (random.chance(0.2)) result.custom_list = tableList(random);
  return result;
}

/** A random config.toml table, already in parsed form (integers bigint, floats number, TomlDate). */
export function randomDocument(random: Random): Table {
  const doc = table(random, 1, 4);
  doc.concurrent = BigInt(random.int(1, 8));
  if (random.chance(0.5)) doc.session_server = { session_timeout: 1800n, listen_address: '[::]:8093' };
  if (random.chance(0.3)) doc.extra_tables = tableList(random);
  doc.runners = Array.from({ length: random.int(0, 12) }, (_, i) => runner(random, i));
  return doc;
}
