// Time is injected everywhere (ARCHITECTURE.md §Layers): the daemon uses SystemClock, tests drive a ManualClock and never sleep.

export interface Clock {
  now(): Date;
  /** Resolves at `when` (immediately if it has passed); rejects with the signal's reason when aborted. */
  sleepUntil(when: Date, signal?: AbortSignal): Promise<void>;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

export class SystemClock implements Clock {
  now(): Date {
    return new Date();
  }
  sleepUntil(when: Date, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      // setTimeout overflows past 2^31-1 ms: wake up at least every 24 days and re-check.
      const arm = (): void => {
        const ms = Math.min(when.getTime() - Date.now(), 2 ** 31 - 1);
        if (ms <= 0) {
          signal?.removeEventListener('abort', onAbort);
          resolve();
          return;
        }
        timer = setTimeout(arm, ms);
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(abortError(signal!));
      };
      let timer: NodeJS.Timeout | undefined;
      signal?.addEventListener('abort', onAbort, { once: true });
      arm();
    });
  }
}

/** A clock that moves only when told to; sleepers wake in time order as it advances. */
export class ManualClock implements Clock {
  private t: number;
  private sleepers: Array<{ at: number; resolve: () => void }> = [];
  constructor(start: Date | string = '2026-01-01T00:00:00Z') {
    this.t = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  sleepUntil(when: Date, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    if (when.getTime() <= this.t) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.sleepers = this.sleepers.filter((s) => s !== entry);
        reject(abortError(signal!));
      };
      const entry = {
        at: when.getTime(),
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.sleepers.push(entry);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
  /** Number of pending sleepers (lets a test wait until the code under test is idle). */
  get pending(): number {
    return this.sleepers.length;
  }
  /** Earliest wake-up time, if anyone sleeps. */
  nextWake(): Date | undefined {
    const at = Math.min(...this.sleepers.map((s) => s.at));
    return Number.isFinite(at) ? new Date(at) : undefined;
  }
  /** Jumps to `when`, waking every sleeper due by then (in order, yielding between them). */
  async advanceTo(when: Date): Promise<void> {
    for (;;) {
      this.sleepers.sort((a, b) => a.at - b.at);
      const next = this.sleepers[0];
      if (!next || next.at > when.getTime()) break;
      this.sleepers.shift();
      this.t = Math.max(this.t, next.at);
      next.resolve();
      await new Promise((r) => setImmediate(r));
    }
    this.t = Math.max(this.t, when.getTime());
  }
  advance(ms: number): Promise<void> {
    return this.advanceTo(new Date(this.t + ms));
  }
}
