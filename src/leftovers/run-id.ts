import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Which nix-runner process made a container or volume: host, boot, pid and the process's start time
 * (clock ticks since boot, /proc/<pid>/stat field 22), so a pid reused by another process later is
 * not taken for the run that is gone.
 */
export interface RunId {
  host: string;
  boot: string;
  pid: number;
  start: string;
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replace(/-/g, '').slice(0, 12);
  } catch {
    return 'unknown';
  }
}

/** Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function formatRunId({ host, boot, pid, start }: RunId): string {
  return `${host}/${boot}/${pid}/${start}`;
}

export function parseRunId(text: string): RunId | undefined {
  const match = /^([^/]+)\/([^/]+)\/(\d+)\/([^/]+)$/.exec(text);
  return match ? { host: match[1]!, boot: match[2]!, pid: Number(match[3]), start: match[4]! } : undefined;
}

let current: string | undefined;

/** This process's run id, the value of the run label on everything it creates. */
export function currentRunId(): string {
  current ??= formatRunId({ host: hostname(), boot: bootId(), pid: process.pid, start: processStart(process.pid) ?? String(Date.now()) });
  return current;
}

export type RunLiveness = 'alive' | 'dead' | 'unknown';

/**
 * Whether the run that made something still runs. Only runs of this host can be checked: another
 * host's are 'unknown' (left alone). An unreadable label is 'dead': nix-runner wrote it.
 */
export function runLiveness(text: string | undefined, self = parseRunId(currentRunId())!): RunLiveness {
  const run = text === undefined ? undefined : parseRunId(text);
  if (!run) return 'dead';
  if (run.host !== self.host) return 'unknown';
  if (run.boot !== self.boot) return 'dead';
  if (run.pid === self.pid && run.start === self.start) return 'alive';
  const start = processStart(run.pid);
  if (start !== undefined) return start === run.start ? 'alive' : 'dead';
  // No /proc (not Linux): signal 0 says whether the pid exists, not whether it is still that process.
  try {
    process.kill(run.pid, 0);
    return 'alive';
  } catch (error: unknown) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'dead';
  }
}
