/** One generation of a roots profile: `<profile>-<number>-link` → target, made at `time` (ms). */
export interface RootGeneration {
  profile: string;
  number: number;
  target: string;
  time: number;
}

/** What each store path weighs and refers to (from `nix-store --dump-db`). */
export interface PathRecord {
  narSize: number;
  references: string[];
}

export interface RetentionPolicy {
  /** Roots older than this go. */
  maxAgeMs?: number;
  /** Newest first, roots are kept while the closures they hold weigh at most this. */
  maxSizeBytes?: number;
}

/**
 * The build roots to drop: those older than the age limit, then, newest first, every root past the
 * point where the union of the kept roots' closures would outgrow the size limit. The newest root (the
 * profile's current generation, which nix-env will not delete) always stays.
 */
export function rootsToDrop(generations: RootGeneration[], records: Map<string, PathRecord>, policy: RetentionPolicy, now: number): RootGeneration[] {
  const newestFirst = [...generations].sort((a, b) => b.number - a.number);
  const kept = new Set<string>();
  let size = 0;
  const drop: RootGeneration[] = [];
  newestFirst.forEach((generation, index) => {
    const tooOld = policy.maxAgeMs !== undefined && now - generation.time > policy.maxAgeMs;
    if (index > 0 && (tooOld || size > (policy.maxSizeBytes ?? Infinity))) {
      drop.push(generation);
      return;
    }
    size += closureGrowth(generation.target, records, kept);
    if (index > 0 && size > (policy.maxSizeBytes ?? Infinity)) drop.push(generation);
  });
  return drop;
}

/** Adds the closure of `path` to `kept` and returns the bytes it added. */
function closureGrowth(path: string, records: Map<string, PathRecord>, kept: Set<string>): number {
  let added = 0;
  const stack = [path];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (kept.has(next)) continue;
    kept.add(next);
    const record = records.get(next);
    if (!record) continue;
    added += record.narSize;
    stack.push(...record.references);
  }
  return added;
}
