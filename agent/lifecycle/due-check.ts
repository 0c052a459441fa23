// A periodic side task riding on the daemon cycle (CMC decryption key, CMP root CA key update): one look when due,
// never throwing into the cycle; a failed look waits out the persisted backoff (consecutive failures, lengthened by
// a server's Retry-After, RFC 9110 §10.2.3) before the next.
import type { PollOutcome } from './daemon.js';
import { backoffSeconds, clampRetryAfter, type Random } from './schedule.js';
import { EnrolldError } from '../util/errors.js';
import type { Logger } from '../util/log.js';

/** The backoff bounds of a side task (seconds). */
export interface DueCheckBackoff {
  backoffMinSeconds: number;
  backoffMaxSeconds: number;
  random?: Random;
}

/** Runs one look; whatever it throws is logged as `event` and swallowed (the cycle must not back off for it). */
export async function pollQuietly(log: Logger, event: string, look: () => Promise<unknown>): Promise<PollOutcome> {
  try {
    await look();
  } catch (err) {
    log.warn(event, { err });
  }
  return {};
}

/** The wait a failed response asked for (bounded by clampRetryAfter), if it carried one. */
export function serverRetryAfterSeconds(err: unknown): number | undefined {
  const v = (err as { retryAfterSeconds?: unknown } | null | undefined)?.retryAfterSeconds;
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? clampRetryAfter(v) : undefined;
}

/** ISO-8601 time `seconds` after `now` (a persisted nextCheck). */
export const isoAfter = (now: Date, seconds: number): string => new Date(now.getTime() + seconds * 1000).toISOString();

/** What a failed look persists: the failure count, the error code and when the next look is due. */
export function failedLook(err: unknown, previousFailures: number, now: Date, b: DueCheckBackoff): { failures: number; code: string; retryInSeconds: number; nextCheck: string } {
  const failures = previousFailures + 1;
  const retryInSeconds = Math.max(backoffSeconds(failures, b.backoffMinSeconds, b.backoffMaxSeconds, b.random), serverRetryAfterSeconds(err) ?? 0);
  const code = err instanceof EnrolldError ? err.code : 'internal';
  return { failures, code, retryInSeconds, nextCheck: isoAfter(now, retryInSeconds) };
}
