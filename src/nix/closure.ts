import { runNix, type NixTools } from './nix-tool.js';

/** The closure of store paths, dependencies first (`nix-store -qR` order). */
export async function queryClosure(paths: string[], tools: NixTools = {}): Promise<string[]> {
  const out = await runNix('nix-store', ['--query', '--requisites', ...paths], tools);
  return out.split('\n').filter(Boolean);
}

/** Registration of valid paths in the `nix-store --load-db` format. */
export async function dumpRegistration(paths: string[], tools: NixTools = {}): Promise<string> {
  return `${await runNix('nix-store', ['--dump-db', ...paths], tools)}\n`;
}

/** Store paths listed in a `--dump-db` text: each record starts with the path, then hash, size, deriver, reference count. */
export function pathsOfRegistration(registration: string): string[] {
  const lines = registration.split('\n');
  const paths: string[] = [];
  let i = 0;
  while (i < lines.length && lines[i] !== '') {
    paths.push(lines[i]!);
    const references = Number(lines[i + 4]);
    i += 5 + references;
  }
  return paths;
}
