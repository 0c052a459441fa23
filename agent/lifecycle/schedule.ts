// When the agent acts next: cron polls (node-cron's parser), jitter, exponential backoff, Retry-After, renewal time.
import { createTask, parse, validate, type ScheduledTask } from 'node-cron';
import { EnrolldError } from '../util/errors.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** A cron pattern that matches less than once a year is a configuration mistake; stop searching there. */
const MAX_SEARCH_DAYS = 366;

export class ScheduleError extends EnrolldError {}

/** node-cron's matcher (a TimeMatcher) as its tasks hold it: getNextMatch walks day by day (node-cron ≥ 4.6). */
type NodeCronTask = ScheduledTask & { timeMatcher?: { getNextMatch?(after: Date): Date } };

/**
 * A 5-field cron schedule; next() is computed from any given time, so simulated clocks work.
 *
 * node-cron parses and validates the pattern and expands its fields. Without a timezone and with plain numeric
 * fields (no L, W or # tokens: every pattern the agent ships), next() searches node-cron's expanded fields with
 * Date's local-time fields, day by day: node-cron's own matcher reads every candidate through
 * Intl.DateTimeFormat#formatToParts, and its first use initialises ICU's date formatting (+8 MB resident,
 * 15–40 ms). Patterns with tokens, or a timezone, go to node-cron's matcher.
 */
export class CronSchedule {
  private readonly fields?: { minutes: number[]; hours: number[]; days: Set<number>; months: Set<number>; weekdays: Set<number> };
  private task?: NodeCronTask;
  constructor(readonly pattern: string, private readonly timezone?: string) {
    if (pattern.trim().split(/\s+/).length !== 5 || !validate(pattern)) {
      throw new ScheduleError('schedule.cron', `invalid 5-field cron expression: ${JSON.stringify(pattern)}`);
    }
    const f = parse(pattern);
    const numbers = (xs: Array<number | string>): number[] | undefined => (xs.every((x) => typeof x === 'number') ? (xs as number[]) : undefined);
    const [days, weekdays] = [numbers(f.dayOfMonth), numbers(f.dayOfWeek)];
    if (!timezone && days && weekdays) {
      const asc = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
      this.fields = { minutes: asc(f.minute), hours: asc(f.hour), days: new Set(days), months: new Set(f.month), weekdays: new Set(weekdays) };
    }
  }
  /** First matching minute strictly after `after`. */
  next(after: Date): Date {
    const found = this.fields ? this.nextLocal(after) : this.nextByNodeCron(after);
    if (!found || found.getTime() - after.getTime() > MAX_SEARCH_DAYS * 24 * 60 * MINUTE) {
      throw new ScheduleError('schedule.cron', `${this.pattern} does not match within a year`);
    }
    return found;
  }
  /**
   * node-cron's semantics over local time: day of month AND day of week, second 0; a wall time a DST change skips
   * does not occur, one it repeats occurs twice (as node-cron's matcher sees it, minute by minute).
   */
  private nextLocal(after: Date): Date | undefined {
    const f = this.fields!;
    const [y, m, d] = [after.getFullYear(), after.getMonth(), after.getDate()];
    for (let i = 0; i <= MAX_SEARCH_DAYS; i++) {
      const day = new Date(y, m, d + i);
      if (!f.months.has(day.getMonth() + 1) || !f.days.has(day.getDate()) || !f.weekdays.has(day.getDay())) continue;
      let best: number | undefined;
      for (const h of f.hours) {
        for (const min of f.minutes) {
          const t = new Date(day.getFullYear(), day.getMonth(), day.getDate(), h, min).getTime();
          // Date takes the earlier instant of a repeated wall time; the later one is the clock shift after it
          const shift = (new Date(t + 3 * HOUR).getTimezoneOffset() - new Date(t).getTimezoneOffset()) * MINUTE;
          for (const c of shift > 0 ? [t, t + shift] : [t]) {
            const at = new Date(c);
            if (c > after.getTime() && (best === undefined || c < best) && at.getHours() === h && at.getMinutes() === min) best = c;
          }
        }
      }
      if (best !== undefined) return new Date(best);
    }
    return undefined;
  }
  private nextByNodeCron(after: Date): Date | undefined {
    const task = (this.task ??= createTask(this.pattern, () => undefined, this.timezone ? { timezone: this.timezone } : {}) as NodeCronTask);
    const walker = task.timeMatcher;
    if (typeof walker?.getNextMatch === 'function') {
      try {
        return walker.getNextMatch(after); // the first match after `after`'s whole second: a minute with second 0 after it
      } catch {
        return undefined; // node-cron gives up after 100 years
      }
    }
    // an older node-cron: its public match(), minute by minute
    let t = Math.floor(after.getTime() / MINUTE) * MINUTE + MINUTE;
    for (let i = 0; i < MAX_SEARCH_DAYS * 24 * 60; i++, t += MINUTE) if (task.match(new Date(t))) return new Date(t);
    return undefined;
  }
  close(): void {
    if (this.task) void this.task.destroy();
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
