import type { PendingSwap } from './daemon-swap.js';

export type DaemonAction = 'unchanged' | 'started' | 'created' | 'replaced';

export interface DaemonOutcome {
  name: string;
  /** Container id; absent in a dry run that would create one. */
  id?: string;
  image: string;
  nix: string;
  action: DaemonAction;
  seeded: number;
  /** Why a daemon whose spec had not changed was replaced (it failed its check). */
  reason?: string;
  /** Store paths of its nix that had been modified and were restored. */
  repaired?: string[];
  /** Store paths streamed from this host's store into the store volume (store-path daemons), and their tar bytes. */
  delivered?: { paths: number; bytes: number };
  /** Whether each build's outputs are rooted, so that a job's GC cannot delete them (needs a shell in the daemon). */
  rootsBuilds?: boolean;
}

export interface PreparedDaemon {
  outcome: DaemonOutcome;
  /** What is left to do once config.toml is ready: see daemon-swap.ts. */
  pending: PendingSwap;
}
