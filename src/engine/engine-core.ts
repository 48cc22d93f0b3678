import { AsyncLocalStorage } from 'node:async_hooks';
import type Docker from 'dockerode';
import type { Logger } from '../log.js';
import type { EngineAddress } from './engine-address.js';
import { engineFailure, engineStatus } from './engine-failure.js';
import type { EngineKind } from './engine-kind.js';
import { ENGINE_TIMEOUT_FLAG, type EngineTimeouts } from './engine-timeouts.js';
import type { EngineVariant } from './engine-variant.js';
import { timedCall, type CallLimit, type CallWatch } from './timed-call.js';

// The signal of the engine call under way: every request dockerode makes during a call carries it, so a call
// past its limit releases its sockets (a hanging socket would keep the process alive after the error).
const callSignal = new AsyncLocalStorage<AbortSignal>();

export function signalRequests(docker: Docker): Docker {
  const modem = docker.modem;
  const dial = modem.dial.bind(modem);
  modem.dial = (options, callback) => dial({ ...options, abortSignal: options.abortSignal ?? callSignal.getStore() }, callback);
  return docker;
}

/**
 * What every call to the engine goes through (images.ts, containers.ts, processes.ts, volumes.ts,
 * copy.ts): dockerode, the limits of engine-timeouts.ts, the log, and the engine's variant. Only
 * engine/ sees it; the rest of nix-runner talks to EngineClient.
 */
export class EngineCore {
  constructor(
    readonly docker: Docker,
    readonly address: EngineAddress,
    readonly logger: Logger,
    readonly timeouts: EngineTimeouts,
    readonly variant: EngineVariant,
  ) {}

  get kind(): EngineKind {
    return this.variant.kind;
  }

  /** The engine answers promptly: the whole call within the call limit (plus `extraMs`). */
  answer(extraMs = 0): CallLimit {
    return { kind: 'answer', ms: this.timeouts.callMs + extraMs };
  }

  /** The call may take minutes, but never the call limit without progress. */
  idle(): CallLimit {
    return { kind: 'idle', ms: this.timeouts.callMs };
  }

  /** As long as a container runs (a job, a gc): no limit while the engine answers a ping within the call limit. */
  alive(): CallLimit {
    return { kind: 'alive', ms: this.timeouts.callMs, probe: (signal) => callSignal.run(signal, () => this.docker.ping()) };
  }

  /** One engine call, logged and held to `limit`; any failure is an engine UserError naming it. */
  async call<T>(what: string, fn: (watch: CallWatch) => Promise<T>, limit: CallLimit = this.answer()): Promise<T> {
    this.logger.debug(`engine: ${what}`);
    try {
      return await timedCall((watch) => callSignal.run(watch.signal, () => fn(watch)), limit);
    } catch (error: unknown) {
      throw engineFailure(what, error, { address: this.address.display, limitSetting: ENGINE_TIMEOUT_FLAG, kind: this.kind });
    }
  }

  /** undefined when the engine answers 404. */
  async optional<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    return this.call(what, async () => {
      try {
        return await fn();
      } catch (error: unknown) {
        if (engineStatus(error) === 404) return undefined;
        throw error;
      }
    });
  }
}
