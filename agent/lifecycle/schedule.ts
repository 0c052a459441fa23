// When the agent acts next: cron polls (node-cron matching), jitter, exponential backoff, Retry-After, renewal time.
import { createTask, validate } from 'node-cron';
import { EnrolldError } from '../util/errors.js';

const MINUTE = 60_000;
/** A cron pattern that matches less than once a year is a configuration mistake; stop searching there. */
const MAX_SEARCH_MINUTES = 366 * 24 * 60;

export class ScheduleError extends EnrolldError {}

/** A 5-field cron schedule; next() is computed from any given time, so simulated clocks work. */
export class CronSchedule {
  private readonly matcher: ReturnType<typeof createTask>;
  constructor(readonly pattern: string, timezone?: string) {
    if (pattern.trim().split(/\s+/).length !== 5 || !validate(pattern)) {
      throw new ScheduleError('schedule.cron', `invalid 5-field cron expression: ${JSON.stringify(pattern)}`);
    }
    this.matcher = createTask(pattern, () => undefined, timezone ? { timezone } : {});
  }
  /** First matching minute strictly after `after`. */
  next(after: Date): Date {
    let t = Math.floor(after.getTime() / MINUTE) * MINUTE + MINUTE;
    for (let i = 0; i < MAX_SEARCH_MINUTES; i++, t += MINUTE) {
      const d = new Date(t);
      if (this.matcher.match(d)) return d;
    }
    throw new ScheduleError('schedule.cron', `${this.pattern} does not match within a year`);
  }
  close(): void {
    void this.matcher.destroy();
  }
}

export type Random = () => number;

/** Adds uniform jitter in [0, jitterSeconds) so a fleet does not poll in lockstep. */
export function withJitter(at: Date, jitterSeconds: number, random: Random = Math.random): Date {
  return new Date(at.getTime() + Math.floor(random() * jitterSeconds * 1000));
}

/**
 * "Full jitter" exponential backoff: attempt 1 waits in [min/2, min], doubling per attempt up to max.
 * Returns seconds.
 */
export function backoffSeconds(attempt: number, minSeconds: number, maxSeconds: number, random: Random = Math.random): number {
  const exp = Math.min(maxSeconds, minSeconds * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.max(1, Math.round(exp / 2 + random() * (exp / 2)));
}

/**
 * How far renewal times are spread below the configured fraction when jitter is on: uniform in
 * [fraction·(1 − spread), fraction] of the lifetime. A fleet enrolled in one burst then renews in a window of
 * spread·fraction of the lifetime once per (1 − spread/2)·fraction of it on average: its peak rate stays near
 * (1 − spread/2)/spread = 1.5× its mean rate (bench/fleet-schedule.ts), and no device renews later than the
 * configured fraction; the price is renewing after 3/4 of the interval on average instead of all of it.
 */
export const RENEW_SPREAD = 1 / 2;

/**
 * With the fleet spread on, a renewal that failed more than once retries at a time drawn uniformly up to this share
 * of the certificate's remaining lifetime (at most RENEW_RETRY_MAX_SECONDS, never less than the plain backoff): the
 * backlog of a server outage returns spread over hours instead of in the first minutes after recovery
 * (bench/fleet-schedule.ts, the outage scenario), and the wait shrinks with the time left, so retries get denser
 * as expiry nears.
 */
export const RENEW_RETRY_SPREAD = 1 / 20;
export const RENEW_RETRY_MAX_SECONDS = 24 * 3600;

/** Renewal time: `fraction` of the validity period after notBefore (default policy 2/3), less up to `spread` of it. */
export function renewAt(notBefore: Date, notAfter: Date, fraction: number, spread = 0, random: Random = Math.random): Date {
  const span = Math.max(0, notAfter.getTime() - notBefore.getTime());
  const f = spread > 0 ? fraction * (1 - Math.min(1, spread) * random()) : fraction;
  return new Date(notBefore.getTime() + span * f);
}

/** Bounds a server-supplied Retry-After so a hostile or broken server can neither hot-loop nor park the device forever. */
export function clampRetryAfter(seconds: number, minSeconds = 10, maxSeconds = 24 * 3600): number {
  if (!Number.isFinite(seconds)) return minSeconds;
  return Math.min(maxSeconds, Math.max(minSeconds, Math.round(seconds)));
}
