import { createHash } from 'node:crypto';
import { readFile, realpath, stat } from 'node:fs/promises';
import type { DeclaredRunnerSettings } from '../config/schema.js';
import { UserError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { isTable, type Table } from './toml/toml-values.js';

/** A declared runner with its token read: what nix-runner writes as one complete [[runners]] entry. */
export interface DeclaredRunner {
  name: string;
  url: string;
  token: string;
  /** Hash of the token file's token, recorded in the managed block: tells a rotation by GitLab Runner from a new file. */
  tokenHash: string;
  image?: string;
  limit?: bigint;
  requestConcurrency?: bigint;
  /** Extra `[runners.docker]` keys, with TOML types (integers as bigint). */
  docker: Table;
}

const SECRET_HINT = 'keep the token in a file outside the Nix store that only root can read (e.g. managed by agenix or sops-nix)';

export function tokenHash(token: string): string {
  return `sha256:${createHash('sha256').update(token).digest('hex').slice(0, 32)}`;
}

/** Reads each declared runner's token file: missing, empty or in the Nix store is an error, world-readable a warning. */
export async function readDeclaredRunners(
  declared: DeclaredRunnerSettings[],
  { storeDir = '/nix/store', logger = nullLogger }: { storeDir?: string; logger?: Logger } = {},
): Promise<DeclaredRunner[]> {
  const runners: DeclaredRunner[] = [];
  for (const runner of declared) {
    const token = await readToken(runner, storeDir, logger);
    runners.push({
      name: runner.name,
      url: runner.url,
      token,
      tokenHash: tokenHash(token),
      ...(runner.image !== undefined ? { image: runner.image } : {}),
      ...(runner.limit !== undefined ? { limit: BigInt(runner.limit) } : {}),
      ...(runner.requestConcurrency !== undefined ? { requestConcurrency: BigInt(runner.requestConcurrency) } : {}),
      docker: tomlTable(runner.docker),
    });
  }
  return runners;
}

async function readToken(runner: DeclaredRunnerSettings, storeDir: string, logger: Logger): Promise<string> {
  const { tokenFile: file, name } = runner;
  const store = storeDir.endsWith('/') ? storeDir : `${storeDir}/`;
  const real = await realpath(file).catch(() => file);
  if (file.startsWith(store) || real.startsWith(store)) {
    throw new UserError('config', `the token file of declared runner "${name}" is in the Nix store (${real}), readable by every user`, SECRET_HINT);
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new UserError(
      'config',
      `cannot read the token file of declared runner "${name}": ${file}: ${code}`,
      code === 'ENOENT'
        ? 'create it with the runner authentication token (glrt-…) from GitLab (Settings > CI/CD > Runners > New runner)'
        : 'run nix-runner as root, or fix the path',
      { cause: error },
    );
  }
  const token = text.trim();
  if (token === '') throw new UserError('config', `the token file of declared runner "${name}" is empty: ${file}`, 'put the runner authentication token (glrt-…) in it, on one line');
  if (/\s/.test(token)) throw new UserError('config', `the token file of declared runner "${name}" holds more than one word: ${file}`, 'put only the runner authentication token (glrt-…) in it, on one line');
  const mode = (await stat(file)).mode;
  if (mode & 0o004) logger.warn(`the token file of declared runner "${name}" is readable by every user (${file}, mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
  return token;
}

// The settings file gives integers as numbers; GitLab Runner's int fields reject a TOML float.
function tomlValue(value: unknown): unknown {
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (Array.isArray(value)) return value.map(tomlValue);
  if (isTable(value)) return tomlTable(value);
  return value;
}

function tomlTable(table: Record<string, unknown>): Table {
  const result = Object.create(null) as Table;
  for (const [key, value] of Object.entries(table)) result[key] = tomlValue(value);
  return result;
}
