import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CronSchedule, backoffSeconds, renewAt, withJitter, clampRetryAfter, ScheduleError, RENEW_SPREAD } from '../../agent/lifecycle/schedule.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import { createTask } from 'node-cron';

// A zone with DST changes (read by Date and Intl when first used after this line): the local-time search below must
// agree with node-cron's own matcher across them.
process.env.TZ = 'Europe/Berlin';

test('cron next() is strictly after and matches the pattern', () => {
  const s = new CronSchedule('*/15 * * * *', 'UTC');
  assert.is(s.next(new Date('2026-01-01T00:00:00Z')).toISOString(), '2026-01-01T00:15:00.000Z');
  assert.is(s.next(new Date('2026-01-01T00:14:59Z')).toISOString(), '2026-01-01T00:15:00.000Z');
  assert.is(s.next(new Date('2026-01-01T23:59:00Z')).toISOString(), '2026-01-02T00:00:00.000Z');
  s.close();
  const daily = new CronSchedule('30 3 * * *', 'UTC');
  assert.is(daily.next(new Date('2026-01-01T04:00:00Z')).toISOString(), '2026-01-02T03:30:00.000Z');
  daily.close();
});

test('without a timezone, next() is the first minute node-cron itself matches, across DST changes (Europe/Berlin)', () => {
  const starts = ['2026-03-29T00:10:00Z', '2026-10-25T00:10:00Z', '2026-06-30T23:59:30Z'].flatMap((iso) => [0, 25, 50, 55, 70, 95].map((min) => new Date(Date.parse(iso) + min * 60_000)));
  for (const p of ['*/15 * * * *', '30 2 * * *', '5 1,2,3 * * *', '* 2 * * *']) {
    const s = new CronSchedule(p);
    const cron = createTask(p, () => undefined);
    for (const from of starts) {
      let t = Math.floor(from.getTime() / 60_000) * 60_000 + 60_000;
      while (!cron.match(new Date(t))) t += 60_000;
      assert.is(s.next(from).toISOString(), new Date(t).toISOString(), `${p} after ${from.toISOString()}`);
    }
    s.close();
    void cron.destroy();
  }
});

test('patterns with L/W/# tokens go to node-cron\'s matcher', () => {
  const s = new CronSchedule('0 12 L * *', 'UTC');
  assert.is(s.next(new Date('2026-02-03T00:00:00Z')).toISOString(), '2026-02-28T12:00:00.000Z');
  s.close();
  const nth = new CronSchedule('0 9 * * 1#2');
  assert.is(nth.next(new Date('2026-03-01T00:00:00Z')).toISOString(), '2026-03-09T08:00:00.000Z');
  nth.close();
});

test('invalid cron patterns are refused', () => {
  for (const p of ['', 'bad', '* * * *', '0 0 0 * * *', '61 * * * *']) {
    assert.throws(() => new CronSchedule(p), (e: unknown) => e instanceof ScheduleError, p);
  }
});

test('backoff doubles within bounds and never exceeds max', () => {
  const lo = () => 0;
  const hi = () => 0.999999;
  assert.is(backoffSeconds(1, 60, 3600, hi), 60);
  assert.is(backoffSeconds(1, 60, 3600, lo), 30);
  assert.is(backoffSeconds(3, 60, 3600, hi), 240);
  for (let a = 1; a < 100; a++) assert.ok(backoffSeconds(a, 60, 3600) <= 3600);
});

test('renewAt uses the fraction of the lifetime', () => {
  const nb = new Date('2026-01-01T00:00:00Z');
  const na = new Date('2026-01-31T00:00:00Z');
  assert.is(renewAt(nb, na, 2 / 3).toISOString(), '2026-01-21T00:00:00.000Z');
});

test('renewAt with a spread: uniform between (1 − spread)·fraction and fraction, never later', () => {
  const nb = new Date('2026-01-01T00:00:00Z');
  const na = new Date('2026-01-31T00:00:00Z');
  assert.is(renewAt(nb, na, 2 / 3, RENEW_SPREAD, () => 0).toISOString(), '2026-01-21T00:00:00.000Z');
  assert.is(renewAt(nb, na, 2 / 3, RENEW_SPREAD, () => 0.5).toISOString(), '2026-01-16T00:00:00.000Z');
  assert.is(renewAt(nb, na, 2 / 3, RENEW_SPREAD, () => 0.999999).getTime() > Date.parse('2026-01-10T23:59:00Z'), true);
  assert.is(renewAt(nb, na, 2 / 3, 0, () => 0.9).toISOString(), '2026-01-21T00:00:00.000Z');
});

test('jitter and Retry-After clamping', () => {
  const t = new Date('2026-01-01T00:00:00Z');
  assert.is(withJitter(t, 120, () => 0.5).toISOString(), '2026-01-01T00:01:00.000Z');
  assert.is(clampRetryAfter(0), 10);
  assert.is(clampRetryAfter(1e9), 86400);
  assert.is(clampRetryAfter(Number.NaN), 10);
});

test('ManualClock wakes sleepers in order', async () => {
  const c = new ManualClock('2026-01-01T00:00:00Z');
  const order: string[] = [];
  const a = c.sleepUntil(new Date('2026-01-01T00:02:00Z')).then(() => order.push('b'));
  const b = c.sleepUntil(new Date('2026-01-01T00:01:00Z')).then(() => order.push('a'));
  assert.is(c.pending, 2);
  await c.advance(90_000);
  assert.equal(order, ['a']);
  await c.advance(60_000);
  await Promise.all([a, b]);
  assert.equal(order, ['a', 'b']);
  const ac = new AbortController();
  const p = c.sleepUntil(new Date('2027-01-01T00:00:00Z'), ac.signal);
  ac.abort(new Error('stop'));
  await p.then(() => assert.unreachable(), (e: Error) => assert.is(e.message, 'stop'));
  assert.is(c.pending, 0);
});

test.run();
