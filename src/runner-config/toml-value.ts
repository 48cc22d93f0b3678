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
