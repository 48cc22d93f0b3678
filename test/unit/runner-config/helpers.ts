import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseRunnerConfig, type RunnerConfigDocument } from '../../../src/runner-config/toml/document.js';
import type { ManagedSettings } from '../../../src/runner-config/managed-settings.js';
import { jobSettings } from '../../../src/provision/job-settings.js';

export const FIXTURE = fileURLToPath(new URL('../../fixtures/runner-config/config.toml', import.meta.url));

export const NIX_BIN = '/nix/store/0c0000000000000000000000000000ab-nix-2.24.9/bin';

/** What provision attaches: the real jobSettings (never PATH in environment), over `overrides`. */
export function managedSettings(overrides: Partial<ManagedSettings> = {}): ManagedSettings {
  return { ...jobSettings(overrides.daemon ?? 'nix-daemon', NIX_BIN.replace(/\/bin$/, '')), ...overrides };
}

export async function fixtureText(): Promise<string> {
  return readFile(FIXTURE, 'utf8');
}

export async function fixtureDoc(): Promise<RunnerConfigDocument> {
  return parseRunnerConfig(await fixtureText(), 'config.toml');
}

export function runner(doc: RunnerConfigDocument, name: string): Record<string, any> {
  const found = (doc.table.runners as Array<Record<string, any>>).find((entry) => entry.name === name);
  if (!found) throw new Error(`no runner ${name}`);
  return found;
}

export { withTempDir } from '../../support/temp-dir.js';
