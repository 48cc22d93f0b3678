import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../../src/runner-config/unified-diff.js';
import { seededRandom } from './random.js';

const hasPatch = spawnSync('patch', ['--version']).status === 0;

// Applies the diff with GNU patch: if the hunks are right, this gives `after`.
function applyDiff(before: string, diff: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'nix-runner-diff-'));
  try {
    writeFileSync(join(dir, 'f'), before);
    const result = spawnSync('patch', ['--quiet', '--force', '--no-backup-if-mismatch', join(dir, 'f')], { input: diff, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`patch failed: ${result.stdout}${result.stderr}\n${diff}`);
    return readFileSync(join(dir, 'f'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\n', 'a\n', 'x')).toBe('');
  });

  it('writes headers, hunk ranges and three lines of context', () => {
    const before = 'a\nb\nc\nd\ne\nf\ng\nh\n';
    const after = 'a\nb\nc\nd\nE\nf\ng\nh\n';
    expect(unifiedDiff(before, after, 'config.toml')).toBe(
      ['--- a/config.toml', '+++ b/config.toml', '@@ -2,7 +2,7 @@', ' b', ' c', ' d', '-e', '+E', ' f', ' g', ' h', ''].join('\n'),
    );
  });

  it.skipIf(!hasPatch)('splits distant changes into hunks and marks a missing final newline', () => {
    const before = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n');
    const after = before.replace('l1\n', 'L1\n') + '\n';
    const diff = unifiedDiff(before, after, 'f');
    expect(diff.match(/^@@/gm)).toHaveLength(2);
    expect(diff).toContain('-l19\n\\ No newline at end of file\n+l19\n');
    expect(applyDiff(before, diff)).toBe(after);
  });

  it('handles an empty side', () => {
    expect(unifiedDiff('', 'a\n', 'f')).toBe('--- a/f\n+++ b/f\n@@ -0,0 +1,1 @@\n+a\n');
    expect(unifiedDiff('a\n', '', 'f')).toBe('--- a/f\n+++ b/f\n@@ -1,1 +0,0 @@\n-a\n');
  });

  it.skipIf(!hasPatch)('produces diffs that turn the old text into the new one (random texts)', () => {
    const random = seededRandom(7);
    for (let round = 0; round < 150; round++) {
      const alphabet = ['a', 'b', 'c', 'd', '', 'x = 1', '[[runners]]'];
      const make = () => Array.from({ length: random.int(0, 30) }, () => random.pick(alphabet)).join('\n') + (random.chance(0.8) ? '\n' : '');
      const before = make();
      const after = random.chance(0.5) ? make() : before.replace(/b/g, () => (random.chance(0.5) ? 'B' : 'b'));
      const diff = unifiedDiff(before, after, 'f');
      if (before === after) expect(diff).toBe('');
      else expect(applyDiff(before, diff)).toBe(after);
    }
  });
});
