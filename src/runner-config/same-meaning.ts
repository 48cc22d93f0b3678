import { isTable } from './toml-value.js';

/**
 * True when two parsed TOML values mean the same: key order and formatting do not matter, types do
 * (integers are bigint and floats number, so `1` and `1.0` differ), datetimes compare by their text.
 */
export function sameMeaning(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, index) => sameMeaning(item, b[index]));
  }
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.toISOString() === b.toISOString();
  }
  if (isTable(a) || isTable(b)) {
    if (!isTable(a) || !isTable(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && sameMeaning(a[key], b[key]));
  }
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}
