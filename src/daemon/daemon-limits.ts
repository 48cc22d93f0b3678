import { totalmem } from 'node:os';
import type { DaemonLimits } from './daemon-spec.js';

/** The daemon's limits: the settings', else all the pids it asks for and half the host's memory (so builds cannot starve the jobs). */
export function daemonLimits(settings: { pidsLimit: number; memoryLimit?: number | undefined }, hostMemory = totalmem()): DaemonLimits {
  const halfHost = Math.floor(hostMemory / 2 / (1024 * 1024)) * 1024 * 1024;
  return { pids: settings.pidsLimit, memoryBytes: settings.memoryLimit ?? halfHost };
}
