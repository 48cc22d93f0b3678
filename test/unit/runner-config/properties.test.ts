import { describe, expect, it } from 'vitest';
import { attachRunners } from '../../../src/runner-config/attach.js';
import { detachRunners } from '../../../src/runner-config/detach.js';
import { parseRunnerConfig, serializeRunnerConfig, type RunnerConfigDocument } from '../../../src/runner-config/toml/document.js';
import { BLOCK_END } from '../../../src/runner-config/managed-block.js';
import { sameMeaning, cloneValue, type Table } from '../../../src/runner-config/toml/toml-values.js';
import { managedSettings } from './helpers.js';
import { seededRandom, type Random } from './random.js';
import { randomDocument } from './random-document.js';

const ROUNDS = 200;
const managedA = managedSettings();
const managedB = managedSettings({ daemon: 'nix-daemon-b', environment: ['NIX_REMOTE=daemon', 'PATH=/nix/store/b-nix/bin:/bin'], preBuildScript: ['echo b', 'echo ü'] });

function roundTrip(doc: RunnerConfigDocument): RunnerConfigDocument {
  return parseRunnerConfig(serializeRunnerConfig(doc), doc.path);
}

function dockerNames(table: Table, random: Random): string[] {
  const runners = table.runners as Table[];
  return runners.filter((r) => r.executor === 'docker' && typeof r.name === 'string' && random.chance(0.7)).map((r) => r.name as string);
}

// The document with the keys nix-runner manages taken out of the runners it attached.
function withoutManagedKeys(table: Table, names: string[]): Table {
  const copy = cloneValue(table);
  for (const runner of copy.runners as Table[]) {
    if (!names.includes(runner.name as string)) continue;
    delete runner.environment;
    delete runner.pre_build_script;
    if (runner.docker && typeof runner.docker === 'object') {
      delete (runner.docker as Table).volumes_from;
      if (Object.keys(runner.docker as Table).length === 0) delete runner.docker;
    }
  }
  return copy;
}

function eachDocument(run: (doc: RunnerConfigDocument, random: Random, seed: number) => void): void {
  for (let seed = 1; seed <= ROUNDS; seed++) {
    const random = seededRandom(seed);
    const doc = { path: `random-${seed}.toml`, table: randomDocument(random) };
    try {
      run(doc, random, seed);
    } catch (error: unknown) {
      throw new Error(`seed ${seed}: ${error instanceof Error ? error.message : String(error)}\n${serializeRunnerConfig(doc)}`, { cause: error });
    }
  }
}

describe('runner-config properties (seeded random documents)', () => {
  it('serialize -> parse keeps the meaning', () => {
    eachDocument((doc) => {
      expect(sameMeaning(roundTrip(doc).table, doc.table)).toBe(true);
    });
  });

  it('attach -> serialize -> parse keeps every key outside the managed ones, and the user entries', () => {
    eachDocument((doc, random) => {
      const names = dockerNames(doc.table, random);
      const written = roundTrip(attachRunners(doc, names, managedA));
      expect(sameMeaning(withoutManagedKeys(written.table, names), withoutManagedKeys(doc.table, names))).toBe(true);
      for (const name of names) {
        const before = (doc.table.runners as Table[]).find((r) => r.name === name)!;
        const after = (written.table.runners as Table[]).find((r) => r.name === name)!;
        const beforeDocker = (before.docker ?? {}) as Table;
        expect(after.environment).toEqual([...((before.environment as string[] | undefined) ?? []), ...managedA.environment.filter((e) => !((before.environment as string[] | undefined) ?? []).includes(e))]);
        expect((after.docker as Table).volumes_from).toEqual(expect.arrayContaining([...((beforeDocker.volumes_from as string[] | undefined) ?? []), 'nix-daemon:ro']));
        const script = after.pre_build_script as string;
        expect(script.slice(script.indexOf(BLOCK_END) + BLOCK_END.length + 1)).toBe((before.pre_build_script as string | undefined) ?? '');
      }
    });
  });

  it('attach is idempotent, also across a serialize/parse round trip', () => {
    eachDocument((doc, random) => {
      const names = dockerNames(doc.table, random);
      const once = roundTrip(attachRunners(doc, names, managedA));
      expect(sameMeaning(attachRunners(once, names, managedA).table, once.table)).toBe(true);
    });
  });

  it('detach restores the original meaning, also after re-attaching to another daemon', () => {
    eachDocument((doc, random) => {
      const first = dockerNames(doc.table, random);
      const second = dockerNames(doc.table, random);
      const a = roundTrip(attachRunners(doc, first, managedA));
      expect(sameMeaning(detachRunners(a).table, doc.table)).toBe(true);
      const ab = roundTrip(attachRunners(a, second, managedB));
      expect(sameMeaning(detachRunners(ab).table, doc.table)).toBe(true);
      expect(sameMeaning(detachRunners(roundTrip(detachRunners(ab, 'nix-daemon-b')), 'nix-daemon').table, doc.table)).toBe(true);
    });
  });

  it('attaching another set of runners to the same daemon detaches the ones no longer listed', () => {
    eachDocument((doc, random) => {
      const first = dockerNames(doc.table, random);
      const second = dockerNames(doc.table, random);
      const next = roundTrip(attachRunners(roundTrip(attachRunners(doc, first, managedA)), second, managedA));
      expect(sameMeaning(next.table, attachRunners(doc, second, managedA).table)).toBe(true);
    });
  });
});
