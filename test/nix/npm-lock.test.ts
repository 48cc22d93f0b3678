import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evalJson, nixTool, repoRoot } from './nix-eval.js';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  name?: string;
  link?: boolean;
}
interface Lock {
  packages: Record<string, LockEntry>;
}

function completeLock(lock: object): Promise<Lock> {
  return evalJson<Lock>({
    expr: '{ lock }: import ./nix/npm-lock.nix { lock = builtins.fromJSON lock; }',
    argstr: { lock: JSON.stringify(lock) },
  });
}

const integrity = 'sha512-AAAA';

describe.skipIf(nixTool.skip)(`nix/npm-lock.nix${nixTool.note}`, () => {
  it('gives every package of package-lock.json a registry URL for importNpmLock', async () => {
    const lock = JSON.parse(await readFile(path.join(repoRoot, 'package-lock.json'), 'utf8')) as Lock;

    const completed = await completeLock(lock);

    for (const [key, entry] of Object.entries(completed.packages)) {
      if (key === '') continue;
      const name = entry.name ?? key.split('node_modules/').at(-1)!;
      const base = name.split('/').at(-1);
      expect(entry.resolved, key).toBe(`https://registry.npmjs.org/${name}/-/${base}-${entry.version}.tgz`);
      expect(entry.integrity, key).toBe(lock.packages[key]!.integrity);
    }
  });

  it('keeps the root, links, bundled packages and URLs already there', async () => {
    const lock = {
      lockfileVersion: 3,
      packages: {
        '': { name: 'app', version: '1.0.0' },
        'node_modules/zod': { version: '4.6.7', integrity },
        'node_modules/@types/node': { version: '20.19.43', integrity },
        'node_modules/a/node_modules/@scope/b': { version: '1.2.3', integrity },
        'node_modules/alias': { name: 'real-name', version: '2.0.0', integrity },
        'node_modules/git-dep': { version: '1.0.0', resolved: 'git+ssh://git@example.com/dep.git#abc', integrity },
        'node_modules/local': { resolved: 'packages/local', link: true },
        'node_modules/bundled': { version: '1.0.0', inBundle: true },
      },
    };

    const { packages } = await completeLock(lock);

    expect(packages['']).toEqual(lock.packages['']);
    expect(packages['node_modules/zod']!.resolved).toBe('https://registry.npmjs.org/zod/-/zod-4.6.7.tgz');
    expect(packages['node_modules/@types/node']!.resolved).toBe('https://registry.npmjs.org/@types/node/-/node-20.19.43.tgz');
    expect(packages['node_modules/a/node_modules/@scope/b']!.resolved).toBe('https://registry.npmjs.org/@scope/b/-/b-1.2.3.tgz');
    expect(packages['node_modules/alias']!.resolved).toBe('https://registry.npmjs.org/real-name/-/real-name-2.0.0.tgz');
    expect(packages['node_modules/git-dep']).toEqual(lock.packages['node_modules/git-dep']);
    expect(packages['node_modules/local']).toEqual(lock.packages['node_modules/local']);
    expect(packages['node_modules/bundled']).toEqual(lock.packages['node_modules/bundled']);
  });
});
