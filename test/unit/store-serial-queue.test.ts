// SerialQueue: operations run one at a time in call order; a failed one rejects its own caller only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SerialQueue } from '../../agent/store/serial-queue.js';

test('one at a time, in order; a failure does not stop the queue', async () => {
  const q = new SerialQueue();
  const log: string[] = [];
  let running = 0;
  const op = (name: string, ms: number, fail = false) =>
    q.run(async () => {
      running++;
      assert.is(running, 1, `${name} overlapped another operation`);
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
      running--;
      if (fail) throw new Error(`${name} failed`);
      return name;
    });
  const results = await Promise.allSettled([op('a', 20), op('b', 1, true), op('c', 5)]);
  assert.equal(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  assert.equal(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)), ['a', 'b failed', 'c']);
});

test.run();
