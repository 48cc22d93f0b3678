/** What a running engine call gets: a signal that ends its requests, and a way to report progress. */
export interface CallWatch {
  /** Aborted when the call runs out of time: requests and streams opened by the call must end with it. */
  signal: AbortSignal;
  /**
   * The call moved on. Idle limit: bytes taken, a progress event; restarts the limit. Alive limit: the
   * container runs now; from here on the call lasts as long as the engine answers. Answer limit: a no-op.
   */
  progress(): void;
}

/**
 * How long an engine call may take.
 * - answer: the whole call, e.g. inspect or create: the engine answers these promptly or not at all.
 * - idle: the time between two progress() calls, e.g. an image load that may take minutes but keeps moving.
 * - alive: like answer until the call calls progress() (its container runs); from then on no limit while
 *   `probe` (a ping) keeps being answered, checked every ms / 4. For waits that last as long as a container
 *   runs (a job, a gc), where only an engine that stopped answering is a failure, after a prompt start.
 */
export type CallLimit =
  | { kind: 'answer'; ms: number }
  | { kind: 'idle'; ms: number }
  | { kind: 'alive'; ms: number; probe: (signal: AbortSignal) => Promise<unknown> };

export class CallTimeout extends Error {
  constructor(readonly limit: CallLimit) {
    super(`${limit.kind} limit of ${limit.ms} ms exceeded`);
    this.name = 'CallTimeout';
  }
}

/**
 * Runs `fn` within `limit`. Past it, rejects with CallTimeout at once (a call that ignores its signal
 * cannot hold the caller) and aborts the signal so that the call's requests and streams are released.
 */
export async function timedCall<T>(fn: (watch: CallWatch) => Promise<T>, limit: CallLimit): Promise<T> {
  const controller = new AbortController();
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  let expire!: (error: CallTimeout) => void;
  const expired = new Promise<never>((_resolve, reject) => {
    expire = reject;
  });
  const arm = () => {
    if (settled) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      const error = new CallTimeout(limit);
      expire(error);
      controller.abort(error);
    }, limit.ms);
  };
  arm();
  let heartbeat: AbortController | undefined;
  const progress =
    limit.kind === 'idle'
      ? arm
      : limit.kind === 'alive'
        ? () => {
            if (settled || heartbeat) return;
            arm();
            heartbeat = probeWhileRunning(limit, controller.signal, arm);
          }
        : () => {};
  const running = fn({ signal: controller.signal, progress });
  // Past the limit the call's own failure (an aborted request) comes later and is not the news.
  running.catch(() => {});
  try {
    return await Promise.race([running, expired]);
  } finally {
    settled = true;
    clearTimeout(timer);
    heartbeat?.abort();
  }
}

// Pings one after another: each answer restarts the limit; an unanswered one lets it run out.
function probeWhileRunning(limit: Extract<CallLimit, { kind: 'alive' }>, callSignal: AbortSignal, answered: () => void): AbortController {
  const controller = new AbortController();
  const signal = AbortSignal.any([controller.signal, callSignal]);
  const interval = Math.max(1, Math.floor(limit.ms / 4));
  void (async () => {
    while (!signal.aborted) {
      await sleep(interval, signal);
      if (signal.aborted) return;
      try {
        await limit.probe(signal);
        answered();
      } catch {
        // no answer is the signal itself: the limit runs out unless a later probe is answered
      }
    }
  })();
  return controller;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
