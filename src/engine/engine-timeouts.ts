/** Limits of engine calls, in ms. Settings and flags give them in seconds (engineTimeouts()). */
export interface EngineTimeouts {
  /** Connecting and the first ping. */
  connectMs: number;
  /**
   * Each call the engine answers promptly (inspect, create, start, remove, …); the time an image load
   * or a copy may go without progress; the time a wait may go without the engine answering a ping.
   */
  callMs: number;
}

export const DEFAULT_ENGINE_TIMEOUT = 60;
export const DEFAULT_ENGINE_CONNECT_TIMEOUT = 10;
/** setTimeout's limit is 2^31 ms (24.8 days); a day is plenty. */
export const MAX_ENGINE_TIMEOUT = 86_400;

export const ENGINE_TIMEOUT_FLAG = '--engine-timeout (engineTimeout in a settings file)';
export const ENGINE_CONNECT_TIMEOUT_FLAG = '--engine-connect-timeout (engineConnectTimeout in a settings file)';

/** Seconds → limits. The connect limit defaults to the smaller of 10 s and the call limit. */
export function engineTimeouts({ engineTimeout, engineConnectTimeout }: { engineTimeout?: number | undefined; engineConnectTimeout?: number | undefined } = {}): EngineTimeouts {
  const call = engineTimeout ?? DEFAULT_ENGINE_TIMEOUT;
  const connect = engineConnectTimeout ?? Math.min(DEFAULT_ENGINE_CONNECT_TIMEOUT, call);
  return { connectMs: Math.round(connect * 1000), callMs: Math.round(call * 1000) };
}
