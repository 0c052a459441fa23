// A fleet provisioned in one factory shift, run through the real Daemon/Enroller/schedule code on one simulated
// clock (bench/fleet-schedule.ts; `npm run bench` runs 10,000 devices over 90 days): with jitter on, the server's
// peak enrollment rate stays within 3× its mean, also after a 12-hour outage; with jitter off it does not.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { describeFleet, simulateFleet, type FleetOptions } from '../../bench/fleet-schedule.js';

// 250 devices, 30 days of 10-day certificates (renewal about every 5 days): three renewal generations. The size keeps
// the file well inside the runner's per-file timeout on a loaded 2-core machine (pure CPU: ~20 s at load 10).
const DEVICES = 250;
const base: Omit<FleetOptions, 'jitter'> = { devices: DEVICES, days: 30, lifetimeDays: 10, windowMinutes: 24 * 60, seed: 11 };

test('jitter on: peak ≤ 3× mean, every device renews before expiry', async () => {
  const r = await simulateFleet({ ...base, jitter: true });
  console.log(`  jitter on: ${describeFleet(r)}`);
  assert.is(r.provisioning, DEVICES, 'every device enrolled on day 0');
  assert.ok(r.issued > DEVICES * 4, `renewals happened (${r.issued} issued)`);
  assert.is(r.lapsed, 0);
  assert.ok(r.ratio <= 3, `peak/mean ${r.ratio.toFixed(2)}`);
});

test('jitter off: the renewal waves stay as sharp as the provisioning day (the check above can fail)', async () => {
  const r = await simulateFleet({ ...base, jitter: false });
  console.log(`  jitter off: ${describeFleet(r)}`);
  assert.is(r.lapsed, 0);
  assert.ok(r.ratio > 3, `peak/mean ${r.ratio.toFixed(2)}`);
});

test('12-hour server outage, jitter on: refused requests are retried with backoff, no storm, nothing lapses', async () => {
  const r = await simulateFleet({ ...base, jitter: true, outage: { startDay: 15, hours: 12 } });
  console.log(`  outage: ${describeFleet(r)}`);
  assert.ok(r.refused > 0, 'the outage hit renewals');
  assert.is(r.lapsed, 0);
  assert.ok(r.ratio <= 3, `peak/mean ${r.ratio.toFixed(2)}`);
});

test.run();
