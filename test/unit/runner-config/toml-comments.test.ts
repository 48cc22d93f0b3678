import { describe, expect, it } from 'vitest';
import { firstCommentLine } from '../../../src/runner-config/toml/toml-comments.js';

describe('firstCommentLine', () => {
  it('finds whole-line and trailing comments', () => {
    expect(firstCommentLine('a = 1\n# note\n')).toBe(2);
    expect(firstCommentLine('a = 1\nb = "x" # note\n')).toBe(2);
  });

  it('ignores # inside strings of every kind', () => {
    const text = [
      'a = "# not"',
      "b = '# not'",
      'c = """',
      '# not a comment',
      'with \\""" inside',
      '"""',
      "d = '''",
      '# not either',
      "'''",
      'e = """ends with quotes"""""',
      'f = "escaped \\" # still a string"',
    ].join('\n');
    expect(firstCommentLine(text)).toBeUndefined();
    expect(firstCommentLine(`${text}\ng = 1 # here\n`)).toBe(12);
  });
});
