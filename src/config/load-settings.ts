import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { UserError, errorMessage } from '../errors.js';
import { formatIssues } from './format-issues.js';
import { provisionSettingsSchema, type ProvisionSettings, type ProvisionSettingsInput } from './schema.js';

/** Parses a settings file: JSON when it ends in .json, TOML otherwise. */
export async function readSettingsFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error: unknown) {
    throw new UserError('config', `cannot read settings file ${path}: ${errorMessage(error)}`, 'check the --config path', { cause: error });
  }
  try {
    if (extname(path) === '.json') return JSON.parse(text) as Record<string, unknown>;
    return parseToml(text) as Record<string, unknown>;
  } catch (error: unknown) {
    const where = error instanceof TomlError ? `${path}:${error.line}:${error.column}` : path;
    const what = errorMessage(error).split('\n')[0];
    throw new UserError('config', `${where}: ${what}`, 'fix the syntax of the settings file (TOML, or JSON when it ends in .json)', { cause: error });
  }
}

/** The file's settings, overridden by the flags that were given, validated. */
export async function loadSettings(flags: ProvisionSettingsInput, configFile?: string): Promise<ProvisionSettings> {
  const file = configFile ? await readSettingsFile(configFile) : {};
  const given = Object.fromEntries(Object.entries(flags).filter(([, value]) => value !== undefined && !(Array.isArray(value) && value.length === 0)));
  // One image source in total: a flag's source replaces the file's.
  const sourceKeys = ['imageRef', 'imageArchive', 'imageStorePath', 'imageFlake'];
  const fromFlags = sourceKeys.some((key) => key in given);
  const base = fromFlags ? Object.fromEntries(Object.entries(file).filter(([key]) => !sourceKeys.includes(key))) : file;
  // --nix-setting flags add to the file's nixSettings, one by one.
  const nixSettings = given.nixSettings && typeof base.nixSettings === 'object' ? { nixSettings: { ...(base.nixSettings as object), ...(given.nixSettings as object) } } : {};
  // --cache-* flags set the cache's fields over the file's cache
  const cache = given.cache && typeof base.cache === 'object' ? { cache: { ...(base.cache as object), ...(given.cache as object) } } : {};
  const result = provisionSettingsSchema.safeParse({ ...base, ...given, ...nixSettings, ...cache });
  if (!result.success) {
    const lines = formatIssues(result.error);
    throw new UserError('config', `invalid settings${configFile ? ` in ${configFile} or flags` : ''}: ${lines.join(' ')}`, 'see `nix-runner provision --help` for the settings and their types');
  }
  return result.data;
}
