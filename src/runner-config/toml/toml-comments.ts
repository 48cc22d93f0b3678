/**
 * Line of the first comment in a (valid) TOML text, or undefined. Used to warn that rewriting the
 * file drops comments: smol-toml does not keep them.
 */
export function firstCommentLine(text: string): number | undefined {
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\n') line++;
    else if (char === '#') return line;
    else if (char === '"' || char === "'") {
      const delimiter = text.startsWith(char.repeat(3), i) ? char.repeat(3) : char;
      i += delimiter.length;
      for (; i < text.length; i++) {
        if (text[i] === '\n') line++;
        if (char === '"' && text[i] === '\\') {
          i++;
          if (text[i] === '\n') line++;
        } else if (text.startsWith(delimiter, i)) {
          // A multi-line string may end with up to two quotes of its own before the closing three.
          while (delimiter.length === 3 && text[i + 3] === char) i++;
          i += delimiter.length - 1;
          break;
        }
      }
    }
  }
  return undefined;
}
