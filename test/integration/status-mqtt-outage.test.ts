// Broker outage: stop mosquitto, keep reporting (many statuses and events), restart a broker on the SAME port.
// Expect: the publisher never throws, its buffers stay bounded (latest-wins status/state, event ring dropping the
// oldest), and after the broker returns a subscriber gets exactly the latest state + status (with the drop count)
// and the newest events only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt, { type MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.js';
import { freePorts } from '../harness/ports.js';
import { MqttStatusSink } from '../../agent/status/mqtt.js';
import { MemoryBdSeqStore } from '../../agent/status/bdseq.js';
import { decodeCbor, type DeviceStatus } from '../../agent/status/schema.js';
import { memoryLogger } from '../../agent/util/log.js';

const PREFIX = 'outage/v1';
const DEVICE = 'dev-outage';
const RING = 16;
const RECONNECT_MS = 1500;
let port = 0;
let broker: Mosquitto | undefined;
const cleanups: Array<() => Promise<void> | void> = [];

// The harness picks its own free port; the publisher needs the broker back on the same one, so every broker in
// this file also listens on a second, fixed loopback port chosen once here.
async function startBrokerOnFixedPort(): Promise<Mosquitto> {
  return startMosquitto({ extraConfig: [`listener ${port} 127.0.0.1`] });
}

test.before(async () => {
  port = await freePorts(1);
  broker = await startBrokerOnFixedPort();
});
test.after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  await broker?.stop();
});

interface Msg {
  kind: string;
  body: Record<string, unknown>;
  retain: boolean;
}

async function subscriber(url: string): Promise<{ client: MqttClient; got: Msg[]; of(kind: string): Msg[] }> {
  const client = mqtt.connect(url, { protocolVersion: 5, clientId: `sub-${Math.random().toString(16).slice(2, 10)}`, reconnectPeriod: 0 });
  const got: Msg[] = [];
  client.on('error', () => undefined);
  client.on('message', (topic, payload, packet) => {
    got.push({ kind: topic.split('/').at(-1)!, body: decodeCbor(payload) as Record<string, unknown>, retain: packet.retain });
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => client.subscribe(`${PREFIX}/${DEVICE}/#`, { qos: 1, rap: true }, (err) => (err ? reject(err) : resolve())));
  });
  cleanups.push(() => new Promise<void>((r) => client.end(true, () => r())));
  return { client, got, of: (kind) => got.filter((m) => m.kind === kind) };
}

async function waitFor(what: string, cond: () => boolean, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const status = (i: number): DeviceStatus => ({ phase: 'enrolled', fw: { running: `v${i}` }, tpm: { ok: true } });

test('broker down → bounded buffers, no throw; broker back on the same port → only the latest state/status', async () => {
  const url = `mqtt://127.0.0.1:${port}`;
  const log = memoryLogger();
  const bd = new MemoryBdSeqStore(100);
  const sink = new MqttStatusSink({
    url,
    deviceId: DEVICE,
    topicPrefix: PREFIX,
    bdSeq: bd,
    log,
    eventQueue: RING,
    maxInflight: 4,
    reconnectMinMs: RECONNECT_MS,
    reconnectMaxMs: RECONNECT_MS,
    reconnectJitter: 0,
    willDelaySeconds: 60,
  });
  cleanups.push(() => sink.close());
  const sub1 = await subscriber(url);
  sink.state('enrolled');
  sink.snapshot(status(-1));
  await waitFor('initial status', () => sub1.of('status').length === 1 && sink.stats().inflight === 0);
  assert.is(sub1.of('state')[0]!.body.bd, 101);

  await broker!.stop();
  broker = undefined;
  await waitFor('publisher notices the outage', () => !sink.stats().connected);

  const N = 500;
  let threw: unknown;
  let maxQueued = 0;
  for (let i = 0; i < N; i++) {
    try {
      sink.state(i % 2 ? 'renewing' : 'enrolled', i % 2 ? { retry: 'waiting', until: new Date(Date.UTC(2026, 0, 1, 0, i)) } : undefined);
      sink.snapshot(status(i));
      sink.event('tick', { i, half: 0 });
      sink.event('tick', { i, half: 1 });
    } catch (err) {
      threw = err;
    }
    maxQueued = Math.max(maxQueued, sink.stats().queuedEvents);
    if (i % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  assert.is(threw, undefined, 'the sink never throws into the caller');
  const down = sink.stats();
  assert.is(down.connected, false);
  assert.ok(maxQueued <= RING, `queue bounded (max ${maxQueued})`);
  assert.is(down.queuedEvents, RING);
  assert.is(down.droppedEvents, 2 * N - RING);
  assert.ok(down.replacedStatus >= N - 1, `latest-wins status (${down.replacedStatus} superseded)`);
  assert.is(down.inflight, 0, 'nothing handed to mqtt.js while disconnected');

  // Restart right after a failed attempt, so the subscriber is in place before the publisher's next attempt.
  const attempts = sink.stats().connectAttempts;
  await waitFor('a reconnect attempt', () => sink.stats().connectAttempts > attempts, RECONNECT_MS * 3);
  await new Promise((r) => setTimeout(r, 50));
  broker = await startBrokerOnFixedPort();
  const sub2 = await subscriber(url);
  assert.is(sink.stats().connects, 1, 'subscriber was ready before the publisher came back (timing of this test)');

  await waitFor('events flushed after reconnect', () => sub2.of('event').length >= RING && sub2.of('status').length >= 1, RECONNECT_MS * 4);
  await new Promise((r) => setTimeout(r, 300));

  const states = sub2.of('state');
  assert.is(states.length, 1, JSON.stringify(states));
  assert.equal(states[0]!.body.st, 'renewing');
  assert.is(states[0]!.body.bd, 102, 'bdSeq incremented for the new connection');
  assert.is(states[0]!.body.sub, 'waiting');
  assert.is(bd.load(), 102);

  const statuses = sub2.of('status');
  assert.is(statuses.length, 1, 'only the latest status');
  assert.equal(statuses[0]!.body.fw, { running: `v${N - 1}` });
  assert.is(statuses[0]!.body.dr, 2 * N - RING, 'drops reported in the next snapshot');

  const events = sub2.of('event');
  assert.is(events.length, RING);
  assert.equal(
    events.map((e) => `${e.body.i}.${e.body.half}`),
    Array.from({ length: RING }, (_, k) => {
      const n = 2 * N - RING + k;
      return `${Math.floor(n / 2)}.${n % 2}`;
    }),
    'the newest events, in order',
  );
  const seqs = events.map((e) => e.body.seq as number);
  assert.ok(seqs.every((s, k) => k === 0 || s > seqs[k - 1]!), 'seq increases');
  assert.not.ok(states.some((m) => m.body.st === 'lost'));

  // A new subscriber now sees the retained latest state and status.
  const sub3 = await subscriber(url);
  await waitFor('retained', () => sub3.of('state').length === 1 && sub3.of('status').length === 1);
  assert.ok(sub3.of('status')[0]!.retain);
  assert.equal(sub3.of('status')[0]!.body.fw, { running: `v${N - 1}` });
  assert.is(sink.stats().internalErrors, 0);
  const warnings = log.lines.filter((l) => / warn status\.mqtt\.error /.test(l));
  assert.ok(warnings.length <= 3, `outage logged once per kind of failure, not per attempt:\n${warnings.join('\n')}`);
  console.log(`  outage: ${2 * N} events + ${N} statuses while down → queue ${down.queuedEvents}, dropped ${down.droppedEvents}, statuses superseded ${down.replacedStatus}; after return: 1 state, 1 status, ${events.length} events`);
});

test.run();
