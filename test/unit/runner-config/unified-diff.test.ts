import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../../src/runner-config/toml/unified-diff.js';
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

  it('shows the displayed text in place of each compared line, and a change the display hides as a changed line', () => {
    const before = 'name = "a"\ntoken = "old-secret"\nx = 1\n';
    const after = 'name = "a"\ntoken = "new-secret"\nx = 2\n';
    const diff = unifiedDiff(before, after, 'f', { display: (text) => text.replace(/-secret/g, '') });
    expect(diff).toBe('--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n name = "a"\n-token = "old"\n-x = 1\n+token = "new"\n+x = 2\n');
  });

  it('a display that changes the line count: the displayed texts are diffed instead', () => {
    const diff = unifiedDiff('a\nb\n', 'a\nc\n', 'f', { display: (text) => text.replace('a\n', '') });
    expect(diff).toBe('--- a/f\n+++ b/f\n@@ -1,1 +1,1 @@\n-b\n+c\n');
  });

  it('a 200,000-line file: no recursion limit, a hunk per change, in well under a few seconds', () => {
    const lines = Array.from({ length: 200_000 }, (_, i) => `line ${i % 1000}`);
    const before = `${lines.join('\n')}\n`;
    const after = `${lines.map((line, i) => (i % 50_000 === 7 ? `${line} changed` : line)).join('\n')}\n`;
    const started = Date.now();
    const diff = unifiedDiff(before, after, 'f');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(diff.match(/^@@/gm)).toHaveLength(4);
    const replaced = unifiedDiff(before, `${lines.map((line) => `${line}!`).join('\n')}\n`, 'f');
    expect(replaced.split('\n')).toHaveLength(3 + 2 * 200_000 + 1);
  });

  it.skipIf(!hasPatch)('long texts past the exact-diff size: split at unique lines, still a diff patch applies, and small', () => {
    const random = seededRandom(11);
    for (let round = 0; round < 4; round++) {
      // Unique lines (like runner names and tokens) between repeated ones (like keys every runner has).
      const lines = Array.from({ length: 6_000 }, (_, i) => (i % 4 === 0 ? `name = "runner-${i}"` : random.pick(['executor = "docker"', '[runners.docker]', 'x = 1'])));
      const edited = lines.flatMap((line) => (random.chance(0.02) ? [] : random.chance(0.02) ? [line, 'added = true'] : random.chance(0.02) ? ['changed = 1'] : [line]));
      const before = `${lines.join('\n')}\n`;
      const after = `${edited.join('\n')}\n`;
      const diff = unifiedDiff(before, after, 'f');
      expect(applyDiff(before, diff)).toBe(after);
      // Far from "replace everything": about 6% of the lines change.
      expect(diff.split('\n').filter((line) => /^[-+][^-+]/.test(line)).length).toBeLessThan(1_500);
    }
  });

  it.skipIf(!hasPatch)('long texts without a unique line: a shortest diff while it has few edits, else the whole text replaced', () => {
    const random = seededRandom(13);
    for (const edits of [5, 60, 3_000]) {
      const lines = Array.from({ length: 4_000 }, () => random.pick(['a', 'b', 'c', '[[runners]]']));
      const after = [...lines];
      for (let e = 0; e < edits; e++) after.splice(random.int(0, after.length - 1), random.int(0, 1), random.pick(['a', 'b', 'd']));
      const diff = unifiedDiff(`${lines.join('\n')}\n`, `${after.join('\n')}\n`, 'f');
      expect(applyDiff(`${lines.join('\n')}\n`, diff)).toBe(`${after.join('\n')}\n`);
      const changed = diff.split('\n').filter((line) => /^[-+][^-+]/.test(line)).length;
      if (edits <= 60) expect(changed).toBeLessThanOrEqual(2 * edits);
    }
  });
});
