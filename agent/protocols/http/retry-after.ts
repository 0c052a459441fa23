// Retry-After (RFC 9110 §10.2.3, formerly RFC 7231 §7.1.3): delay-seconds or an HTTP-date. HTTP-date accepts the
// preferred IMF-fixdate and the two obsolete forms a recipient MUST accept (RFC 9110 §5.6.7): RFC 850 and asctime.

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const IMF = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850 = /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Za-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

function utc(y: number, monName: string, d: number, h: number, mi: number, s: number): Date | undefined {
  const mon = MONTHS.indexOf(monName.toLowerCase());
  if (mon < 0 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const t = Date.UTC(y, mon, d, h, mi, Math.min(s, 59));
  const date = new Date(t);
  return date.getUTCDate() === d ? date : undefined; // rejects Feb 30 etc.
}

/** Parses an HTTP-date; undefined if it is not one of the three forms. */
export function parseHttpDate(value: string, now: Date = new Date()): Date | undefined {
  const v = value.trim();
  let m = IMF.exec(v);
  if (m) return utc(+m[3]!, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  m = RFC850.exec(v);
  if (m) {
    // Two-digit year: the most recent year with those digits that is not more than 50 years in the future.
    let y = 1900 + +m[3]!;
    while (y < now.getUTCFullYear() - 49) y += 100;
    return utc(y, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  }
  m = ASCTIME.exec(v);
  if (m) return utc(+m[6]!, m[1]!, +m[2]!.trim(), +m[3]!, +m[4]!, +m[5]!);
  return undefined;
}

/**
 * Seconds to wait from `now`, or undefined when the header is absent or malformed. A date in the past gives 0.
 * Delay-seconds larger than Number.MAX_SAFE_INTEGER are clamped.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: Date = new Date()): number | undefined {
  if (value === undefined) return undefined;
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Math.min(Number(v), Number.MAX_SAFE_INTEGER);
  const date = parseHttpDate(v, now);
  if (!date) return undefined;
  return Math.max(0, Math.ceil((date.getTime() - now.getTime()) / 1000));
}

/** IMF-fixdate for a Date (what servers should send). */
export function formatHttpDate(d: Date): string {
  return d.toUTCString(); // "Sun, 06 Nov 1994 08:49:37 GMT" — V8 emits IMF-fixdate
}
