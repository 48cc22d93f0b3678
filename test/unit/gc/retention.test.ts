import { describe, expect, it } from 'vitest';
import { rootsToDrop, type PathRecord, type RootGeneration } from '../../../src/gc/retention.js';

const DAY = 24 * 3600 * 1000;
const NOW = 100 * DAY;
const path = (name: string) => `/nix/store/${'a'.repeat(32)}-${name}`;

function generation(number: number, name: string, ageDays: number): RootGeneration {
  return { profile: 'builds', number, target: path(name), time: NOW - ageDays * DAY };
}

// lib (100) ← app1 (10), app2 (20); big (1000) stands alone
const records = new Map<string, PathRecord>([
  [path('lib'), { narSize: 100, references: [] }],
  [path('app1'), { narSize: 10, references: [path('lib'), path('app1')] }],
  [path('app2'), { narSize: 20, references: [path('lib')] }],
  [path('big'), { narSize: 1000, references: [] }],
]);

const numbers = (dropped: RootGeneration[]) => dropped.map((g) => g.number).sort();

describe('rootsToDrop', () => {
  it('keeps everything without a policy', () => {
    expect(rootsToDrop([generation(1, 'app1', 90), generation(2, 'app2', 1)], records, {}, NOW)).toEqual([]);
  });

  it('drops roots older than the age limit, but never the newest', () => {
    const generations = [generation(1, 'app1', 40), generation(2, 'big', 31), generation(3, 'app2', 35)];
    expect(numbers(rootsToDrop(generations, records, { maxAgeMs: 30 * DAY }, NOW))).toEqual([1, 2]);
  });

  it('counts a closure shared by several roots once, newest first, and drops the older ones past the size', () => {
    // newest first: app2 (20 + lib 100 = 120), app1 (+10 = 130), big (+1000 = 1130)
    const generations = [generation(1, 'big', 3), generation(2, 'app1', 2), generation(3, 'app2', 1)];
    expect(numbers(rootsToDrop(generations, records, { maxSizeBytes: 130 }, NOW))).toEqual([1]);
    expect(numbers(rootsToDrop(generations, records, { maxSizeBytes: 125 }, NOW))).toEqual([1, 2]);
    expect(numbers(rootsToDrop(generations, records, { maxSizeBytes: 2000 }, NOW))).toEqual([]);
  });

  it('keeps the newest root even when it alone is over the size', () => {
    expect(numbers(rootsToDrop([generation(1, 'app1', 2), generation(2, 'big', 1)], records, { maxSizeBytes: 50 }, NOW))).toEqual([1]);
  });

  it('treats a root whose path is unknown (gone) as weighing nothing', () => {
    expect(rootsToDrop([generation(1, 'gone', 1), generation(2, 'app1', 0)], records, { maxSizeBytes: 110 }, NOW)).toEqual([]);
  });
});
