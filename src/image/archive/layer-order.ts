import { compareBytes } from './layer-tar.js';

export interface PathFacts {
  narSize: number;
  references: string[];
}

/**
 * The order of a closure's layers. Docker names a layer by everything below it (chain ids), so a changed
 * path re-sends every layer above it: the paths least likely to change go first. Those are the ones most
 * of the closure depends on (a change to them changes their dependents anyway), then the largest, then
 * by name so the order is stable across runs; the root (nix itself) goes last.
 */
export function layerOrder(closure: string[], facts: Map<string, PathFacts>, root: string): string[] {
  const referrers = new Map<string, number>(closure.map((path) => [path, 0]));
  for (const path of closure) {
    for (const reference of facts.get(path)?.references ?? []) {
      if (reference !== path && referrers.has(reference)) referrers.set(reference, referrers.get(reference)! + 1);
    }
  }
  const rest = closure.filter((path) => path !== root);
  rest.sort(
    (a, b) =>
      referrers.get(b)! - referrers.get(a)! ||
      (facts.get(b)?.narSize ?? 0) - (facts.get(a)?.narSize ?? 0) ||
      compareBytes(a, b),
  );
  return closure.includes(root) ? [...rest, root] : rest;
}
