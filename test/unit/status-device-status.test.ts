// The status board: parts merged, the keystore's health as `tpm`, and only the newest MAX_ERRORS errors kept.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeviceStatusBoard } from '../../agent/status/device-status.js';
import { MAX_ERRORS, type DeviceStatus } from '../../agent/status/schema.js';
import { NullSink, type StatusSink } from '../../agent/status/status-sink.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import { initialState } from '../../agent/lifecycle/state.js';
import type { KeyStoreHealth } from '../../agent/keystore/keystore.js';

function board(health: () => KeyStoreHealth | undefined): { b: DeviceStatusBoard; snaps: DeviceStatus[] } {
  const snaps: DeviceStatus[] = [];
  const sink: StatusSink = { ...new NullSink(), state: () => undefined, event: () => undefined, close: async () => undefined, snapshot: (s) => void snaps.push(s) };
  const b = new DeviceStatusBoard({ sink, clock: new ManualClock(new Date('2026-01-01T00:00:00Z')), health, load: async () => initialState() });
  return { b, snaps };
}

test('errors: a bounded ring of the newest MAX_ERRORS, oldest first', () => {
  const { b, snaps } = board(() => ({ ok: true }));
  for (let i = 0; i < 1000; i++) b.error(`e.${i}`, new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
  b.publish(initialState());
  const errors = snaps.at(-1)!.errors!;
  assert.is(errors.length, MAX_ERRORS);
  assert.equal(errors.map((e) => e.code), Array.from({ length: MAX_ERRORS }, (_, i) => `e.${1000 - MAX_ERRORS + i}`));
});

test('tpm reports the keystore health; parts merge field by field', () => {
  let h: KeyStoreHealth = { ok: true };
  const { b, snaps } = board(() => h);
  b.add({ current: () => ({ ta: { digest: 'aa' } }) });
  b.add({ current: () => ({ ta: { digest: 'aa', tampSeq: 7 }, fw: { running: '1.0' } }) });
  b.publish(initialState());
  assert.equal(snaps.at(-1), { phase: 'unprovisioned', tpm: { ok: true }, fw: { running: '1.0' }, ta: { digest: 'aa', tampSeq: 7 } });
  h = { ok: false, rc: 0x902 };
  b.publish(initialState());
  assert.equal(snaps.at(-1)!.tpm, { ok: false, rc: 0x902 });
});

test.run();
