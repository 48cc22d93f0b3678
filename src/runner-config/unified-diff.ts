interface Line {
  text: string;
  key: string;
}
type Op = { kind: ' ' | '-' | '+'; line: Line; oldIndex: number; newIndex: number };

const NO_EOL = '\\ No newline at end of file';
// Above this many cells of the LCS table, fall back to replacing the whole changed middle.
const MAX_CELLS = 25_000_000;

/** A unified diff (`diff -u` style, 3 lines of context) of two texts; '' when they are equal. */
export function unifiedDiff(before: string, after: string, path: string, context = 3): string {
  if (before === after) return '';
  const ops = diffLines(toLines(before), toLines(after));
  const hunks = groupHunks(ops, context);
  // `patch -p0` applies an absolute path as is; a relative one gets git's a/ b/ prefixes (`patch -p1`).
  const [from, to] = path.startsWith('/') ? [path, path] : [`a/${path}`, `b/${path}`];
  return [`--- ${from}`, `+++ ${to}`, ...hunks.flatMap((hunk) => renderHunk(hunk))].join('\n') + '\n';
}

function toLines(text: string): Line[] {
  const parts = text.split('\n');
  const noEol = parts[parts.length - 1] !== '';
  if (!noEol) parts.pop();
  return parts.map((text, index) => {
    const last = noEol && index === parts.length - 1;
    return { text: last ? `${text}\n${NO_EOL}` : text, key: last ? `${text}\u0000` : text };
  });
}

function diffLines(a: Line[], b: Line[]): Op[] {
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix]!.key === b[prefix]!.key) prefix++;
  let suffix = 0;
  while (suffix < a.length - prefix && suffix < b.length - prefix && a[a.length - 1 - suffix]!.key === b[b.length - 1 - suffix]!.key) suffix++;

  const ops: Op[] = [];
  for (let i = 0; i < prefix; i++) ops.push({ kind: ' ', line: a[i]!, oldIndex: i, newIndex: i });
  ops.push(...diffMiddle(a.slice(prefix, a.length - suffix), b.slice(prefix, b.length - suffix), prefix));
  for (let i = suffix; i > 0; i--) ops.push({ kind: ' ', line: a[a.length - i]!, oldIndex: a.length - i, newIndex: b.length - i });
  return ops;
}

function diffMiddle(a: Line[], b: Line[], offset: number): Op[] {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) {
    return [
      ...a.map((line, i): Op => ({ kind: '-', line, oldIndex: offset + i, newIndex: offset })),
      ...b.map((line, j): Op => ({ kind: '+', line, oldIndex: offset + n, newIndex: offset + j })),
    ];
  }
  // lcs[i][j] = length of the longest common subsequence of a[i..] and b[j..]
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => i * (m + 1) + j;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[at(i, j)] = a[i]!.key === b[j]!.key ? lcs[at(i + 1, j + 1)]! + 1 : Math.max(lcs[at(i + 1, j)]!, lcs[at(i, j + 1)]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i]!.key === b[j]!.key) {
      ops.push({ kind: ' ', line: a[i]!, oldIndex: offset + i++, newIndex: offset + j++ });
    } else if (i < n && (j === m || lcs[at(i + 1, j)]! >= lcs[at(i, j + 1)]!)) {
      ops.push({ kind: '-', line: a[i]!, oldIndex: offset + i++, newIndex: offset + j });
    } else {
      ops.push({ kind: '+', line: b[j]!, oldIndex: offset + i, newIndex: offset + j++ });
    }
  }
  return ops;
}

function groupHunks(ops: Op[], context: number): Op[][] {
  const ranges: Array<[number, number]> = [];
  ops.forEach((op, index) => {
    if (op.kind === ' ') return;
    const start = Math.max(0, index - context);
    const end = Math.min(ops.length - 1, index + context);
    const last = ranges[ranges.length - 1];
    if (last && start <= last[1] + 1) last[1] = end;
    else ranges.push([start, end]);
  });
  return ranges.map(([start, end]) => ops.slice(start, end + 1));
}

function renderHunk(hunk: Op[]): string[] {
  const first = hunk[0]!;
  const oldCount = hunk.filter((op) => op.kind !== '+').length;
  const newCount = hunk.filter((op) => op.kind !== '-').length;
  // By convention an empty range starts at the line before it.
  const oldStart = oldCount === 0 ? first.oldIndex : first.oldIndex + 1;
  const newStart = newCount === 0 ? first.newIndex : first.newIndex + 1;
  return [`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`, ...hunk.map((op) => `${op.kind}${op.line.text}`)];
}
