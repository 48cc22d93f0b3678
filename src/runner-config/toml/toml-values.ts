// Values of a parsed config.toml as smol-toml gives them: tables, string lists, copies, and what
// "the same meaning" is (the test for writing config.toml only when it changes).
export type Table = Record<string, unknown>;

export function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

export function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

// Not structuredClone: it turns smol-toml's TomlDate into a plain Date, and a local date would then
// be written back as a full offset datetime. Dates are never mutated, so they are shared. Tables get
// no prototype, like smol-toml's, so that a key named "__proto__" stays a key.
export function cloneValue<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => cloneValue(item)) as T;
  if (isTable(value)) {
    const copy: Table = Object.create(null) as Table;
    for (const [key, item] of Object.entries(value)) copy[key] = cloneValue(item);
    return copy as T;
  }
  return value;
}

/** Removes the last occurrence of each value (nix-runner appends its entries). */
export function removeEach(list: string[], values: string[]): string[] {
  const result = [...list];
  for (const value of values) {
    const index = result.lastIndexOf(value);
    if (index >= 0) result.splice(index, 1);
  }
  return result;
}

export function missingFrom(list: string[], values: string[]): string[] {
  return [...new Set(values)].filter((value) => !list.includes(value));
}

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
