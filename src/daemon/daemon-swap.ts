import type { EngineClient } from '../engine/engine-client.js';
import type { ContainerInfo } from '../engine/engine-types.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { candidateName, generationOf, retiredName } from '../names/daemon-names.js';
import { removeDrainedDaemons, retireDaemon } from './retire-daemon.js';

/**
 * A new daemon generation that answers under `<daemon>-next`, waiting for config.toml: `swap` gives it
 * the daemon's name (the old one keeps serving under its retired name), `abandon` undoes whatever was
 * done so far, `finish` retires the old generation once config.toml points at the new one.
 */
export interface PendingSwap {
  swap(): Promise<void>;
  abandon(): Promise<void>;
  finish(): Promise<void>;
}

/** Nothing to swap (the daemon is already what is wanted, or a dry run): only drained generations go. */
export function noSwap(engine: EngineClient, daemon: string, keep: string[], logger: Logger, dryRun = false): PendingSwap {
  return {
    swap: async () => {},
    abandon: async () => {},
    finish: async () => {
      if (!dryRun) await removeDrainedDaemons(engine, daemon, keep, logger);
    },
  };
}

export interface SwapInput {
  daemon: string;
  current?: ContainerInfo;
  candidate: string;
  candidateSocket: string;
  logger: Logger;
}

export function pendingSwap(engine: EngineClient, { daemon, current, candidate, candidateSocket, logger }: SwapInput): PendingSwap {
  let swapped = false;
  const retired = current ? retiredName(daemon, generationOf(daemon, current) ?? current.id.slice(0, 12)) : undefined;
  const discard = async () => {
    // A job created in the moment it had the daemon's name uses it: it drains like any retired generation.
    const users = await engine.listContainers({ volume: [candidateSocket] });
    if (users.some((user) => user.id !== candidate)) {
      const info = await engine.inspectContainer(candidate);
      if (info) await engine.renameContainer(candidate, retiredName(daemon, generationOf(daemon, info) ?? candidate.slice(0, 12)));
      logger.info(`the abandoned daemon generation serves jobs that started on it; a later run removes it once they are gone`);
      return;
    }
    await engine.removeContainer(candidate);
    await engine.removeVolume(candidateSocket);
  };
  return {
    async swap() {
      if (swapped) return;
      if (current && retired) {
        await engine.renameContainer(current.id, retired);
        try {
          await engine.renameContainer(candidate, daemon);
        } catch (error: unknown) {
          await engine.renameContainer(current.id, daemon);
          throw error;
        }
      } else {
        await engine.renameContainer(candidate, daemon);
      }
      swapped = true;
    },
    async abandon() {
      try {
        // The old generation takes its name back before the new one goes, so `<daemon>` is gone only for a moment.
        if (swapped) {
          await engine.renameContainer(candidate, candidateName(daemon));
          if (current) await engine.renameContainer(current.id, daemon);
          swapped = false;
        }
        await discard();
      } catch (error: unknown) {
        logger.warn(`could not put the old daemon back: ${errorMessage(error)}; run provision again`);
      }
    },
    async finish() {
      if (current && retired) await retireDaemon(engine, { ...current, name: retired }, logger);
      await removeDrainedDaemons(engine, daemon, [candidate], logger);
    },
  };
}
