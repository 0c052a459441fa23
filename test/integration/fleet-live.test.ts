// The fleet view's live side against a real mosquitto: two consumers in one shared-subscription group split the
// stream (MQTT 5 §4.8.2); a dropped connection is reconnected with backoff and the retained snapshot is read again,
// so a change made while the consumer was away is not missed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.js';
import { RetainedPublisher, seedFleet } from '../harness/fleet-sim.js';
import { delay } from '../harness/proc.js';
import { FleetClient } from '../../agent/cli/fleet.js';
import { fleetRow } from '../../agent/cli/fleet-view.js';
import { encodeCbor, eventPayload, statePayload } from '../../agent/status/schema.js';

const PREFIX = 'dev/v1';
const now = new Date();
let broker: Mosquitto;
const opts = { quietMs: 300, timeoutMs: 15_000, reconnectMinMs: 800, reconnectMaxMs: 2000 };

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

test.before(async () => {
  broker = await startMosquitto();
  await seedFleet(broker.url, PREFIX, 100, now);
});

test.after(async () => {
  await broker?.stop();
});

test('two consumers in one group split the live stream: every event reaches exactly one of them', async () => {
  const a = new FleetClient({ url: broker.url, prefix: PREFIX }, opts);
  const b = new FleetClient({ url: broker.url, prefix: PREFIX }, opts);
  try {
    for (const c of [a, b]) {
      const s = await c.readRetained();
      assert.is(s.complete, 'quiet');
      assert.is(c.model.devices.size, 100);
      await c.goLive('ops');
    }
    const seen = { a: 0, b: 0 };
    a.onChange = () => seen.a++;
    b.onChange = () => seen.b++;
    const pub = await RetainedPublisher.connect(broker.url);
    for (let i = 0; i < 40; i++) await pub.publish(`${PREFIX}/dev-${String(i).padStart(5, '0')}/event`, encodeCbor(eventPayload('pal.polled', { result: 'ok' }, now, 100 + i)), { retain: false });
    await pub.close();
    await until(() => seen.a + seen.b >= 40, 10_000, '40 events');
    await delay(300);
    assert.is(seen.a + seen.b, 40, `a ${seen.a} b ${seen.b}: each event once`);
    assert.ok(seen.a > 0 && seen.b > 0, `both consumers got a share (a ${seen.a}, b ${seen.b})`);
    // No retained duplicates through the shared subscription: the snapshot subscriptions are gone.
    assert.is(a.model.messages + b.model.messages, 2 * 200 + 40);
  } finally {
    await a.close();
    await b.close();
  }
});

test('connection dropped: reconnect after a backoff delay, the retained snapshot is read again, the missed change is there', async () => {
  const c = new FleetClient({ url: broker.url, prefix: PREFIX }, opts);
  try {
    await c.readRetained();
    await c.goLive('solo');
    assert.is(fleetRow(c.model.devices.get('dev-00077')!).state, 'enrolled');
    let resynced: Promise<void> | undefined;
    const retries: number[] = [];
    c.onDisconnect = (ms) => retries.push(ms);
    c.onReconnect = () => {
      resynced = c.resync();
    };
    (c.client as unknown as { stream: { destroy(): void } }).stream.destroy();
    await until(() => retries.length > 0, 5000, 'disconnect');
    // While it is away (the backoff is at least 400 ms: 800 ms with downward jitter ≤ 50 %):
    const pub = await RetainedPublisher.connect(broker.url);
    await pub.publish(`${PREFIX}/dev-00077/state`, encodeCbor(statePayload('renewing', 9, now)));
    await pub.close();
    assert.ok(retries[0]! >= 400 && retries[0]! <= 1600, `backoff ${retries[0]} ms`);
    assert.is(fleetRow(c.model.devices.get('dev-00077')!).state, 'enrolled', 'not seen while disconnected');
    await until(() => resynced !== undefined, 10_000, 'reconnect');
    await resynced;
    await until(() => fleetRow(c.model.devices.get('dev-00077')!).state === 'renewing', 10_000, 'resync');
    // Back on the shared stream only: a live change arrives once.
    const before = c.model.messages;
    const pub2 = await RetainedPublisher.connect(broker.url);
    await pub2.publish(`${PREFIX}/dev-00078/state`, encodeCbor(statePayload('lost', 9, now)));
    await pub2.close();
    await until(() => fleetRow(c.model.devices.get('dev-00078')!).state === 'lost', 10_000, 'live change after reconnect');
    await delay(300);
    assert.is(c.model.messages - before, 1);
  } finally {
    await c.close();
  }
});

test.run();
