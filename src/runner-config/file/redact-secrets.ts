import { isTable } from '../toml/toml-values.js';

export const REDACTED = '[redacted]';

/**
 * Keys whose values are secrets in GitLab Runner's config.toml: the runner token, the cache credentials
 * (`[runners.cache.s3]`, `.gcs`, `.azure`), the Kubernetes bearer token and SSH/autoscaler passwords.
 * Matched case-insensitively, as GitLab Runner's TOML decoder matches them.
 */
export const SECRET_KEYS: readonly string[] = ['token', 'AccessKey', 'SecretKey', 'SessionToken', 'PrivateKey', 'AccountKey', 'bearer_token', 'password'];

const SECRET = new Set(SECRET_KEYS.map((key) => key.toLowerCase()));
const SECRET_LENGTHS = new Set(SECRET_KEYS.map((key) => key.length));
const KEYS = SECRET_KEYS.join('|');
// A secret key, bare or quoted, not the tail of a longer name (`token_obtained_at`, `xtoken`), then `=`.
// Anything else may precede it: a line start, `{`, a dotted key, or the line numbers of a parser's message.
const ASSIGNMENT = new RegExp(`(?<![\\w-])(?:${KEYS}|"(?:${KEYS})"|'(?:${KEYS})')[ \\t]*=[ \\t]*`, 'gi');

/**
 * The TOML text with the value of every secret key replaced by `[redacted]` (its quotes kept). Works on
 * text that does not parse too (error messages), and keeps the number of lines, so that a diff of the
 * real texts can show the redacted lines in their place.
 */
export function redactSecrets(text: string): string {
  let out = '';
  let from = 0;
  ASSIGNMENT.lastIndex = 0;
  for (let match = ASSIGNMENT.exec(text); match; match = ASSIGNMENT.exec(text)) {
    const start = match.index + match[0].length;
    if (start < from) continue;
    const [open, end, close] = valueExtent(text, start);
    if (end === start && open === '') continue;
    const lines = text.slice(start + open.length, end).split('\n').length - 1;
    out += `${text.slice(from, start)}${open}${REDACTED}${'\n'.repeat(lines)}${close}`;
    from = end + close.length;
    ASSIGNMENT.lastIndex = from;
  }
  return out + text.slice(from);
}

// The value starting at `start`: its opening quotes, where its content ends, and its closing quotes
// (none when the text ends first, as in a broken file).
function valueExtent(text: string, start: number): [open: string, end: number, close: string] {
  for (const quote of ['"""', "'''", '"', "'"]) {
    if (!text.startsWith(quote, start)) continue;
    const multiLine = quote.length === 3;
    for (let i = start + quote.length; i < text.length; i++) {
      if (text[i] === '\\' && quote[0] === '"') i++;
      else if (text[i] === '\n' && !multiLine) return [quote, i, ''];
      else if (text.startsWith(quote, i)) return [quote, i, quote];
    }
    return [quote, text.length, ''];
  }
  // Redacted already (an error message passes here twice): left as it is, not redacted into `[redacted]]`.
  if (text.startsWith(REDACTED, start)) return ['', start + REDACTED.length, ''];
  // A bare (invalid) value, as it may stand in a file that does not parse.
  let end = start;
  while (end < text.length && !/[\s,}\]#"']/.test(text[end]!)) end++;
  return ['', end, ''];
}

// Shorter values would blank out ordinary words wherever they occur; real tokens and keys are far longer.
const MIN_SECRET_LENGTH = 8;

/** The string values of secret keys anywhere in a parsed config.toml. */
export function secretValues(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const item of value) secretValues(item, found);
  else if (isTable(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (typeof item !== 'string') secretValues(item, found);
      // The length first: lower-casing every key of a 30,000-runner file costs more than the walk itself.
      else if (item.length >= MIN_SECRET_LENGTH && SECRET_LENGTHS.has(key.length) && SECRET.has(key.toLowerCase())) found.add(item);
    }
  }
  return found;
}

/** `text` with every occurrence of the given secret values replaced: catches a token copied elsewhere (e.g. into `environment`). */
export function redactValues(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}
