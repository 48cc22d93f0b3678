/** A run of `n` lines: kept (' '), removed from the old text ('-') or added from the new one ('+'), at old line `a`, new line `b`. */
interface Run {
  kind: ' ' | '-' | '+';
  a: number;
  b: number;
  n: number;
}

export interface UnifiedDiffOptions {
  context?: number;
  /** Maps each text to the text shown (e.g. secrets redacted); lines are compared as they really are. */
  display?: (text: string) => string;
}

const NO_EOL = '\\ No newline at end of file';
// A changed stretch of at most this many line pairs is diffed exactly (O(n·m) time, 4 bytes a cell);
// a longer one is split at lines that occur once on each side (patience diff), else diffed with Myers'
// algorithm up to MAX_EDITS edits (O(D²) memory), else replaced whole.
const MAX_CELLS = 4_000_000;
const MAX_EDITS = 1_000;

/** A unified diff (`diff -u` style, 3 lines of context) of two texts; '' when they are equal. Iterative: any size. */
export function unifiedDiff(before: string, after: string, path: string, { context = 3, display }: UnifiedDiffOptions = {}): string {
  if (before === after) return '';
  const a = toLines(before);
  const b = toLines(after);
  let shownA = a.texts;
  let shownB = b.texts;
  if (display) {
    shownA = toLines(display(before)).texts;
    shownB = toLines(display(after)).texts;
    // A display that changed the line count cannot stand in line for line: diff what is shown instead.
    if (shownA.length !== a.texts.length || shownB.length !== b.texts.length) return unifiedDiff(display(before), display(after), path, { context });
  }
  // `patch -p0` applies an absolute path as is; a relative one gets git's a/ b/ prefixes (`patch -p1`).
  const [from, to] = path.startsWith('/') ? [path, path] : [`a/${path}`, `b/${path}`];
  const out = [`--- ${from}`, `+++ ${to}`];
  for (const hunk of groupHunks(diffRuns(a.keys, b.keys), context)) renderHunk(hunk, shownA, shownB, out);
  return `${out.join('\n')}\n`;
}

function toLines(text: string): { keys: string[]; texts: string[] } {
  const texts = text.split('\n');
  const noEol = texts[texts.length - 1] !== '';
  if (!noEol) texts.pop();
  const keys = texts.slice();
  if (noEol) {
    const last = texts.length - 1;
    keys[last] = `${texts[last]}\u0000`;
    texts[last] = `${texts[last]}\n${NO_EOL}`;
  }
  return { keys, texts };
}

type Task = { range: [a0: number, a1: number, b0: number, b1: number] } | { same: Run };

// Ranges are split with an explicit stack, never recursion: a 200,000-line file cannot exhaust the call stack.
function diffRuns(a: string[], b: string[]): Run[] {
  const runs: Run[] = [];
  const emit = (kind: Run['kind'], at: number, bt: number, n: number) => {
    if (n <= 0) return;
    const last = runs[runs.length - 1];
    if (last?.kind === kind && last.a + (kind === '+' ? 0 : last.n) === at && last.b + (kind === '-' ? 0 : last.n) === bt) last.n += n;
    else runs.push({ kind, a: at, b: bt, n });
  };
  const stack: Task[] = [{ range: [0, a.length, 0, b.length] }];
  for (let task = stack.pop(); task; task = stack.pop()) {
    if ('same' in task) {
      emit(' ', task.same.a, task.same.b, task.same.n);
      continue;
    }
    let [a0, a1, b0, b1] = task.range;
    const start = a0;
    while (a0 < a1 && b0 < b1 && a[a0] === b[b0]) {
      a0++;
      b0++;
    }
    emit(' ', start, b0 - (a0 - start), a0 - start);
    const end = a1;
    while (a1 > a0 && b1 > b0 && a[a1 - 1] === b[b1 - 1]) {
      a1--;
      b1--;
    }
    if (end > a1) stack.push({ same: { kind: ' ', a: a1, b: b1, n: end - a1 } });

    const n = a1 - a0;
    const m = b1 - b0;
    if (n === 0 || m === 0 || n * m > MAX_CELLS) {
      const anchors = n === 0 || m === 0 ? [] : uniqueAnchors(a, b, a0, a1, b0, b1);
      if (anchors.length === 0) {
        if (n > 0 && m > 0 && myersRuns(a, b, a0, a1, b0, b1, emit)) continue;
        emit('-', a0, b0, n);
        emit('+', a1, b0, m);
        continue;
      }
      let [nextA, nextB] = [a1, b1];
      for (let k = anchors.length - 1; k >= 0; k--) {
        const [ai, bi] = anchors[k]!;
        stack.push({ range: [ai + 1, nextA, bi + 1, nextB] }, { same: { kind: ' ', a: ai, b: bi, n: 1 } });
        [nextA, nextB] = [ai, bi];
      }
      stack.push({ range: [a0, nextA, b0, nextB] });
      continue;
    }
    lcsRuns(a, b, a0, a1, b0, b1, emit);
  }
  return runs;
}

function lcsRuns(a: string[], b: string[], a0: number, a1: number, b0: number, b1: number, emit: (kind: Run['kind'], at: number, bt: number, n: number) => void): void {
  const n = a1 - a0;
  const m = b1 - b0;
  // lcs[i][j] = length of the longest common subsequence of a[a0+i..a1) and b[b0+j..b1)
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[at(i, j)] = a[a0 + i] === b[b0 + j] ? lcs[at(i + 1, j + 1)]! + 1 : Math.max(lcs[at(i + 1, j)]!, lcs[at(i, j + 1)]!);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[a0 + i] === b[b0 + j]) emit(' ', a0 + i++, b0 + j++, 1);
    else if (i < n && (j === m || lcs[at(i + 1, j)]! >= lcs[at(i, j + 1)]!)) emit('-', a0 + i++, b0 + j, 1);
    else emit('+', a0 + i, b0 + j++, 1);
  }
}

/**
 * Myers' greedy shortest edit script, when it has at most MAX_EDITS edits; false (nothing emitted) when
 * it has more. Keeps the furthest point of each diagonal per edit count to walk back from the end.
 */
function myersRuns(a: string[], b: string[], a0: number, a1: number, b0: number, b1: number, emit: (kind: Run['kind'], at: number, bt: number, n: number) => void): boolean {
  const n = a1 - a0;
  const m = b1 - b0;
  const limit = Math.min(MAX_EDITS, n + m);
  const offset = limit + 1;
  const v = new Int32Array(2 * limit + 3);
  // trace[d]: v before step d, for diagonals -d-1..d+1 (index k + d + 1).
  const trace: Int32Array[] = [];
  let edits = -1;
  search: for (let d = 0; d <= limit; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[a0 + x] === b[b0 + y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        edits = d;
        break search;
      }
    }
  }
  if (edits < 0) return false;

  const moves: Array<[kind: Run['kind'], x: number, y: number]> = [];
  let x = n;
  let y = m;
  for (let d = edits; d > 0; d--) {
    const before = trace[d]!;
    const at = (k: number) => before[k + d + 1]!;
    const k = x - y;
    const previous = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const px = at(previous);
    const py = px - previous;
    for (; x > px && y > py; x--, y--) moves.push([' ', x - 1, y - 1]);
    moves.push(x === px ? ['+', x, y - 1] : ['-', x - 1, y]);
    [x, y] = [px, py];
  }
  for (; x > 0 && y > 0; x--, y--) moves.push([' ', x - 1, y - 1]);
  for (let i = moves.length - 1; i >= 0; i--) {
    const [kind, mx, my] = moves[i]!;
    emit(kind, a0 + mx, b0 + my, 1);
  }
  return true;
}

/** Lines that occur exactly once in each range, as [old, new] index pairs, the longest run of them in the same order on both sides. */
function uniqueAnchors(a: string[], b: string[], a0: number, a1: number, b0: number, b1: number): Array<[number, number]> {
  const seen = new Map<string, { inA: number; inB: number; at: number; bt: number }>();
  for (let i = a0; i < a1; i++) {
    const entry = seen.get(a[i]!);
    if (entry) entry.inA++;
    else seen.set(a[i]!, { inA: 1, inB: 0, at: i, bt: -1 });
  }
  for (let j = b0; j < b1; j++) {
    const entry = seen.get(b[j]!);
    if (entry && ++entry.inB === 1) entry.bt = j;
  }
  const pairs: Array<[number, number]> = [];
  for (let i = a0; i < a1; i++) {
    const entry = seen.get(a[i]!)!;
    if (entry.inA === 1 && entry.inB === 1) pairs.push([i, entry.bt]);
  }
  return longestIncreasing(pairs);
}

// Patience sorting: the longest subsequence of pairs whose new indices increase, in O(k log k).
function longestIncreasing(pairs: Array<[number, number]>): Array<[number, number]> {
  const tails: number[] = [];
  const previous = new Int32Array(pairs.length);
  for (let k = 0; k < pairs.length; k++) {
    const value = pairs[k]![1];
    let low = 0;
    let high = tails.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (pairs[tails[mid]!]![1] < value) low = mid + 1;
      else high = mid;
    }
    previous[k] = low > 0 ? tails[low - 1]! : -1;
    tails[low] = k;
  }
  const result: Array<[number, number]> = [];
  for (let k = tails.length > 0 ? tails[tails.length - 1]! : -1; k >= 0; k = previous[k]!) result.push(pairs[k]!);
  return result.reverse();
}

/** Changes with up to `context` kept lines around them; changes at most 2·context lines apart share a hunk. */
function groupHunks(runs: Run[], context: number): Run[][] {
  const hunks: Run[][] = [];
  let current: Run[] | undefined;
  runs.forEach((run, index) => {
    if (run.kind !== ' ') {
      if (!current) {
        current = [];
        const before = runs[index - 1];
        const n = Math.min(context, before?.n ?? 0);
        if (before && n > 0) current.push({ kind: ' ', a: before.a + before.n - n, b: before.b + before.n - n, n });
        hunks.push(current);
      }
      current.push(run);
    } else if (current) {
      if (run.n <= 2 * context && index < runs.length - 1) current.push(run);
      else {
        if (context > 0) current.push({ ...run, n: Math.min(context, run.n) });
        current = undefined;
      }
    }
  });
  return hunks;
}

function renderHunk(hunk: Run[], oldLines: string[], newLines: string[], out: string[]): void {
  const first = hunk[0]!;
  let oldCount = 0;
  let newCount = 0;
  for (const run of hunk) {
    if (run.kind !== '+') oldCount += run.n;
    if (run.kind !== '-') newCount += run.n;
  }
  // By convention an empty range starts at the line before it.
  const oldStart = oldCount === 0 ? first.a : first.a + 1;
  const newStart = newCount === 0 ? first.b : first.b + 1;
  out.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`);
  for (const run of hunk) {
    for (let k = 0; k < run.n; k++) out.push(`${run.kind}${run.kind === '+' ? newLines[run.b + k] : oldLines[run.a + k]}`);
  }
}
