import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CallTimeout, timedCall, type CallWatch } from '../../../src/engine/timed-call.js';

/** A call that never settles by itself, as a request to an engine that never answers. */
function never(watch: CallWatch, seen: { signal?: AbortSignal }): Promise<never> {
  seen.signal = watch.signal;
  return new Promise(() => {});
}

describe('timedCall', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('answer limit', () => {
    it('gives the value of a call that ends in time, and leaves no timer behind', async () => {
      const call = timedCall(async () => {
        await new Promise((resolve) => setTimeout(resolve, 900));
        return 'done';
      }, { kind: 'answer', ms: 1000 });
      await vi.advanceTimersByTimeAsync(900);
      await expect(call).resolves.toBe('done');
      expect(vi.getTimerCount()).toBe(0);
    });

    it('rejects at the limit even when the call never settles, and aborts its signal', async () => {
      const seen: { signal?: AbortSignal } = {};
      const call = timedCall((watch) => never(watch, seen), { kind: 'answer', ms: 1000 });
      const outcome = call.catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(999);
      expect(seen.signal?.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      const error = await outcome;
      expect(error).toBeInstanceOf(CallTimeout);
      expect((error as CallTimeout).limit).toEqual({ kind: 'answer', ms: 1000 });
      expect(seen.signal?.aborted).toBe(true);
    });

    it('passes the call’s own failure on as it is', async () => {
      const failure = Object.assign(new Error('(HTTP code 500) server error'), { statusCode: 500 });
      await expect(timedCall(() => Promise.reject(failure), { kind: 'answer', ms: 1000 })).rejects.toBe(failure);
    });

    it('ignores progress: a call that reports progress still ends at the limit', async () => {
      const outcome = timedCall((watch) => {
        const timer = setInterval(() => watch.progress(), 100);
        watch.signal.addEventListener('abort', () => clearInterval(timer));
        return new Promise<never>(() => {});
      }, { kind: 'answer', ms: 1000 }).catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(1000);
      expect(await outcome).toBeInstanceOf(CallTimeout);
    });

    it('a call that fails after its limit is no unhandled rejection', async () => {
      const outcome = timedCall(
        (watch) => new Promise<never>((_resolve, reject) => watch.signal.addEventListener('abort', () => setTimeout(() => reject(new Error('aborted')), 10))),
        { kind: 'answer', ms: 100 },
      ).catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(200);
      expect(await outcome).toBeInstanceOf(CallTimeout);
    });
  });

  describe('idle limit', () => {
    it('lets a call that keeps making progress run far past the limit', async () => {
      const call = timedCall(async (watch) => {
        for (let i = 0; i < 50; i++) {
          await new Promise((resolve) => setTimeout(resolve, 900));
          watch.progress();
        }
        return 'loaded';
      }, { kind: 'idle', ms: 1000 });
      await vi.advanceTimersByTimeAsync(50 * 900);
      await expect(call).resolves.toBe('loaded');
    });

    it('ends a call the limit after its last progress', async () => {
      let last = 0;
      const outcome = timedCall((watch) => {
        let count = 0;
        const timer = setInterval(() => {
          if (++count > 5) return clearInterval(timer);
          last = Date.now();
          watch.progress();
        }, 500);
        return new Promise<never>(() => {});
      }, { kind: 'idle', ms: 1000 }).then(
        () => undefined,
        (error: unknown) => ({ error, at: Date.now() }),
      );
      await vi.advanceTimersByTimeAsync(10_000);
      const result = await outcome;
      expect(result?.error).toBeInstanceOf(CallTimeout);
      expect(result!.at - last).toBe(1000);
    });
  });

  describe('alive limit', () => {
    it('is an answer limit until the container runs', async () => {
      const probe = vi.fn(() => Promise.resolve());
      const outcome = timedCall((watch) => never(watch, {}), { kind: 'alive', ms: 1000, probe }).catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(1000);
      expect(await outcome).toBeInstanceOf(CallTimeout);
      expect(probe).not.toHaveBeenCalled();
    });

    it('then has no limit while the engine answers its probes', async () => {
      const probe = vi.fn(() => new Promise((resolve) => setTimeout(resolve, 10)));
      const call = timedCall(async (watch) => {
        watch.progress();
        await new Promise((resolve) => setTimeout(resolve, 60_000)); // a job of a minute, limit 1 s
        return 0;
      }, { kind: 'alive', ms: 1000, probe });
      await vi.advanceTimersByTimeAsync(60_000);
      await expect(call).resolves.toBe(0);
      expect(probe.mock.calls.length).toBeGreaterThan(100);
      // the probes end with the call
      await vi.advanceTimersByTimeAsync(10_000);
      const after = probe.mock.calls.length;
      await vi.advanceTimersByTimeAsync(10_000);
      expect(probe.mock.calls.length).toBe(after);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('ends the call once the engine stops answering its probes', async () => {
      let answering = true;
      const probeSignals: AbortSignal[] = [];
      const probe = (signal: AbortSignal) => {
        probeSignals.push(signal);
        return answering ? Promise.resolve() : new Promise<never>(() => {});
      };
      const seen: { signal?: AbortSignal } = {};
      const outcome = timedCall(
        (watch) => {
          watch.progress();
          return never(watch, seen);
        },
        { kind: 'alive', ms: 1000, probe },
      ).then(
        () => undefined,
        (error: unknown) => ({ error, at: Date.now() }),
      );
      await vi.advanceTimersByTimeAsync(5000);
      answering = false;
      const stopped = Date.now();
      await vi.advanceTimersByTimeAsync(5000);
      const result = await outcome;
      expect(result?.error).toBeInstanceOf(CallTimeout);
      // the last answer came at most a probe interval (ms / 4) before the engine stopped
      expect(result!.at - stopped).toBeGreaterThan(1000 - 250 - 1);
      expect(result!.at - stopped).toBeLessThanOrEqual(1000);
      expect(seen.signal?.aborted).toBe(true);
      expect(probeSignals.at(-1)?.aborted).toBe(true);
    });

    it('does not count a failed probe as an answer', async () => {
      const probe = () => Promise.reject(new Error('connect ECONNREFUSED'));
      const outcome = timedCall(
        (watch) => {
          watch.progress();
          return never(watch, {});
        },
        { kind: 'alive', ms: 1000, probe },
      ).catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(1000);
      expect(await outcome).toBeInstanceOf(CallTimeout);
    });
  });
});
