import { runNix, type NixTools } from './nix-tool.js';

/** The closure of store paths, dependencies first (`nix-store -qR` order). */
export async function queryClosure(paths: string[], tools: NixTools = {}): Promise<string[]> {
  const out = await runNix('nix-store', ['--query', '--requisites', ...paths], tools);
  return out.split('\n').filter(Boolean);
}

/** What the paths weigh in the store: the sum of their NAR sizes (`nix-store --query --size`). */
export async function storeSize(paths: string[], tools: NixTools = {}): Promise<number> {
  if (paths.length === 0) return 0;
  const out = await runNix('nix-store', ['--query', '--size', ...paths], tools);
  return out.split('\n').reduce((sum, line) => sum + (Number(line) || 0), 0);
}

/** Registration of valid paths in the `nix-store --load-db` format. */
export async function dumpRegistration(paths: string[], tools: NixTools = {}): Promise<string> {
  return `${await runNix('nix-store', ['--dump-db', ...paths], tools)}\n`;
}

/** Store paths listed in a `--dump-db` text, in its order. */
export function pathsOfRegistration(registration: string): string[] {
  return [...registrationRecords(registration).keys()];
}

/** The records of a `--dump-db` text: path, then narHash, narSize, deriver, reference count, references. */
export function registrationRecords(registration: string): Map<string, { narSize: number; references: string[] }> {
  const lines = registration.split('\n');
  const records = new Map<string, { narSize: number; references: string[] }>();
  let i = 0;
  while (i < lines.length && lines[i] !== '') {
    const count = Number(lines[i + 4]);
    records.set(lines[i]!, { narSize: Number(lines[i + 2]), references: lines.slice(i + 5, i + 5 + count) });
    i += 5 + count;
  }
  return records;
}
