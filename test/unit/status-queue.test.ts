// Bounded buffers of the MQTT status publisher: event ring (drop oldest, count) and latest-wins slot.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LatestSlot, Ring } from '../../agent/status/queue.js';

test('ring keeps insertion order below capacity', () => {
  const r = new Ring<number>(4);
  for (const n of [1, 2, 3]) assert.is(r.push(n), undefined);
  assert.is(r.size, 3);
  assert.equal(r.toArray(), [1, 2, 3]);
  assert.is(r.shift(), 1);
  assert.is(r.peek(), 2);
  assert.is(r.dropped, 0);
});

test('ring drops the oldest when full and counts the drops', () => {
  const r = new Ring<number>(3);
  const dropped: number[] = [];
  for (let i = 0; i < 10; i++) {
    const d = r.push(i);
    if (d !== undefined) dropped.push(d);
  }
  assert.is(r.size, 3);
  assert.equal(r.toArray(), [7, 8, 9]);
  assert.is(r.dropped, 7);
  assert.equal(dropped, [0, 1, 2, 3, 4, 5, 6]);
  assert.equal([r.shift(), r.shift(), r.shift(), r.shift()], [7, 8, 9, undefined]);
  assert.is(r.size, 0);
});

test('ring wraps around correctly under mixed push/shift', () => {
  const r = new Ring<number>(5);
  const model: number[] = [];
  let dropped = 0;
  let x = 0;
  for (let step = 0; step < 2000; step++) {
    if ((step * 7919) % 3 !== 0) {
      r.push(x);
      model.push(x++);
      if (model.length > 5) {
        model.shift();
        dropped++;
      }
    } else {
      assert.is(r.shift(), model.shift());
    }
    assert.is(r.size, model.length);
  }
  assert.equal(r.toArray(), model);
  assert.is(r.dropped, dropped);
});

test('ring unshift puts an entry back at the front, or drops it when full', () => {
  const r = new Ring<string>(2);
  r.push('a');
  r.push('b');
  const a = r.shift()!;
  assert.ok(r.unshift(a));
  assert.equal(r.toArray(), ['a', 'b']);
  assert.not.ok(r.unshift('z'));
  assert.is(r.dropped, 1);
  r.clear();
  assert.is(r.size, 0);
});

test('ring rejects a non-positive capacity', () => {
  assert.throws(() => new Ring(0), RangeError);
  assert.throws(() => new Ring(1.5), RangeError);
});

test('latest slot: latest wins, superseded values counted, resend after reconnect', () => {
  const s = new LatestSlot<number>();
  assert.is(s.take(), undefined);
  s.resend();
  assert.not.ok(s.isPending);
  for (let i = 0; i < 100; i++) s.set(i);
  assert.is(s.replaced, 99);
  assert.ok(s.isPending);
  assert.is(s.take(), 99);
  assert.is(s.take(), undefined);
  assert.is(s.latest, 99);
  s.resend();
  assert.is(s.take(), 99);
  s.set(100);
  assert.is(s.replaced, 99, 'a value already taken is not "replaced"');
});

test.run();
