import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nixTool, parseNix, repoRoot } from './nix-eval.js';

const skipped = new Set(['node_modules', '.git', 'dist']);

async function nixFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries
      .filter((entry) => !skipped.has(entry.name))
      .map(async (entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) return nixFiles(full);
        return entry.name.endsWith('.nix') ? [full] : [];
      }),
  );
  return nested.flat();
}

const files = (await nixFiles(repoRoot)).map((file) => path.relative(repoRoot, file)).sort();

describe('nix files', () => {
  it('include the flake, the module and its pure config function', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'flake.nix',
        'nix/module.nix',
        'nix/provision-config.nix',
        'nix/package.nix',
        'nix/image.nix',
        'nix/vm-test.nix',
        'nix/npm-lock.nix',
        'nix/daemon-nix-conf.nix',
      ]),
    );
  });

  it.skipIf(nixTool.skip).each(files)(`%s parses with nix-instantiate --parse${nixTool.note}`, async (file) => {
    await parseNix(file);
  });
});
