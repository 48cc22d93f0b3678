import { describe, expect, it } from 'vitest';
import { layerOrder, type PathFacts } from '../../../../src/image/archive/layer-order.js';

const p = (name: string) => `/nix/store/${'a'.repeat(32)}-${name}`;

// glibc ← openssl ← curl ← nix; glibc ← sqlite ← nix; a big data path and a small config, both used by nix only
const facts = new Map<string, PathFacts>([
  [p('glibc'), { narSize: 30, references: [p('glibc')] }],
  [p('openssl'), { narSize: 10, references: [p('glibc')] }],
  [p('curl'), { narSize: 5, references: [p('openssl'), p('glibc')] }],
  [p('sqlite'), { narSize: 8, references: [p('glibc')] }],
  [p('big-data'), { narSize: 300, references: [] }],
  [p('small-conf'), { narSize: 1, references: [] }],
  [p('nix'), { narSize: 20, references: [p('curl'), p('sqlite'), p('glibc'), p('big-data'), p('small-conf')] }],
]);
const closure = [...facts.keys()];

describe('layerOrder', () => {
  it('puts what most of the closure depends on first, then the largest, and the root last', () => {
    // glibc has 4 referrers; the rest 1 each, so by size
    expect(layerOrder(closure, facts, p('nix'))).toEqual([p('glibc'), p('big-data'), p('openssl'), p('sqlite'), p('curl'), p('small-conf'), p('nix')]);
  });

  it('puts a small path that changes after an unchanged large one next to it', () => {
    const order = layerOrder(closure, facts, p('nix'));
    expect(order.indexOf(p('small-conf'))).toBeGreaterThan(order.indexOf(p('big-data')));
  });

  it('is the same whatever order the closure comes in', () => {
    expect(layerOrder([...closure].reverse(), facts, p('nix'))).toEqual(layerOrder(closure, facts, p('nix')));
  });

  it('orders paths it knows nothing about by name, stably', () => {
    expect(layerOrder([p('b'), p('a'), p('root')], new Map(), p('root'))).toEqual([p('a'), p('b'), p('root')]);
  });
});
