import type { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo } from '../engine/engine-types.js';
import { UserError } from '../errors.js';
import { nullLogger, type Logger } from '../log.js';
import { checkDaemon } from './check-daemon.js';
import { LABEL_MANAGED, LABEL_SPEC_HASH, candidateName, isDaemonGeneration } from '../names/daemon-names.js';
import type { DaemonAction, DaemonOutcome, PreparedDaemon } from './daemon-outcome.js';
import { daemonSpecHash, type DaemonInputs } from './daemon-spec.js';
import { noSwap } from './daemon-swap.js';
import { waitDaemonReady, type ReadyOptions } from './wait-ready.js';

export interface PlanOptions {
  dryRun?: boolean;
  logger?: Logger;
  ready?: ReadyOptions;
}

/** The running daemon is what is wanted and passes its check: nothing to start, nothing to swap. */
export type KeepDaemon = { kind: 'keep' } & PreparedDaemon;

/** A new generation is needed: there is none yet, its spec changed, or it failed its check (`repair`: its modified paths). */
export interface NewGeneration {
  kind: 'new';
  current?: ContainerInfo;
  reason?: string;
  repair: string[];
  outcome: (action: DaemonAction, id?: string, extra?: Partial<DaemonOutcome>) => DaemonOutcome;
}

/**
 * The daemon step's decision, from the running container's labels: its spec hash equal to the wanted
 * one means it is kept if it answers and its nix verifies (a stopped one is started); anything else
 * means a new generation. Nothing is created here, and a name taken by a container nix-runner did not
 * make is an error before anything is.
 */
export async function planDaemon(engine: EngineClient, inputs: DaemonInputs, { dryRun = false, logger = nullLogger, ready }: PlanOptions = {}): Promise<KeepDaemon | NewGeneration> {
  const hash = daemonSpecHash(inputs);
  let reason: string | undefined;
  const outcome = (action: DaemonAction, id?: string, extra: Partial<DaemonOutcome> = {}): DaemonOutcome => ({
    name: inputs.daemon,
    ...(id ? { id } : {}),
    image: inputs.imageId,
    nix: inputs.nixPath,
    action,
    seeded: 0,
    ...(reason ? { reason } : {}),
    ...extra,
  });
  const keep = (result: DaemonOutcome, kept: string[] = []): KeepDaemon => ({ kind: 'keep', outcome: result, pending: noSwap(engine, inputs.daemon, kept, logger, dryRun) });
  const current = await engine.inspectContainer(inputs.daemon);
  if (current && current.labels[LABEL_MANAGED] !== 'true') {
    throw new UserError(
      'daemon',
      `a container named ${inputs.daemon} exists and was not made by nix-runner`,
      `nix-runner never removes what it did not create: rename or remove it (docker rm ${inputs.daemon}), or choose another --daemon`,
    );
  }
  let repair: string[] = [];
  if (current && current.labels[LABEL_SPEC_HASH] === hash) {
    if (!current.running) {
      if (dryRun) return keep(outcome('started', current.id));
      await engine.startContainer(current.id);
      await waitDaemonReady(engine, current.id, inputs.nixPath, ready);
    }
    const health = await checkDaemon(engine, current.id, inputs.nixPath);
    // Old daemons kept for their running jobs go once those jobs have ended.
    if (health.ok) return keep(outcome(current.running ? 'unchanged' : 'started', current.id), [current.id]);
    reason = health.reason;
    repair = health.modified;
    logger.warn(`daemon ${inputs.daemon}: ${reason}; replacing it (the store is kept)`);
  }
  // Before anything is created: a new generation starts under <daemon>-next.
  await candidateSlot(engine, inputs.daemon);
  return { kind: 'new', ...(current ? { current } : {}), ...(reason ? { reason } : {}), repair, outcome };
}

/**
 * The container under the candidate name, if nix-runner made it (a leftover: removeLeftovers takes a
 * killed run's first). One nix-runner did not make is never removed: an error says so.
 */
export async function candidateSlot(engine: EngineClient, daemon: string): Promise<string | undefined> {
  const name = candidateName(daemon);
  const stale = await engine.inspectContainer(name);
  if (!stale) return undefined;
  if (isDaemonGeneration(stale.labels, daemon)) return stale.id;
  throw new UserError(
    'daemon',
    `a container named ${name} exists and was not made by nix-runner`,
    `nix-runner never removes what it did not create, and starts each new daemon generation under that name: rename or remove it (docker rm ${name}), or choose another --daemon`,
  );
}
