// Defaults and small parsers that --help shows: kept apart from the schema so that help loads no zod.
export const DEFAULT_RUNNER_CONFIG = '/etc/gitlab-runner/config.toml';
export const DEFAULT_DAEMON = 'nix-daemon';
export const DEFAULT_PIDS_LIMIT = 16384;
/** Build roots older than this many days are dropped by `nix-runner gc`. */
export const DEFAULT_MAX_AGE_DAYS = 30;
/** A job container stopped for longer than this is a leftover, not a user (gc, status). */
export const DEFAULT_STALE_AFTER_MS = 3_600_000;

/** "512m", "8g", "1073741824" or a number → bytes (k, m, g, t: powers of 1024). */
export function parseByteSize(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  const match = /^(\d+)\s*([kmgt]?)i?b?$/i.exec(value.trim());
  if (!match) return undefined;
  const bytes = Number(match[1]) * 1024 ** ' kmgt'.indexOf(match[2]!.toLowerCase() || ' ');
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}
