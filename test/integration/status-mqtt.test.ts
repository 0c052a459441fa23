// MQTT status publisher against a real mosquitto (loopback, free port, started and stopped by this file):
// topics, CBOR payloads, MQTT 5 properties, retain flags, Last Will on an abrupt loss, reconnect, bdSeq, clean close.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.js';
import { signalPid, startProcess, type Started } from '../harness/proc.js';
import { MqttStatusSink, type MqttStatusOptions } from '../../agent/status/mqtt.js';
import { MemoryBdSeqStore, BDSEQ_FILE } from '../../agent/status/bdseq.js';
import { decodeCbor, STATUS_SCHEMA_VERSION, type DeviceStatus } from '../../agent/status/schema.js';
import { memoryLogger } from '../../agent/util/log.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';

const PREFIX = 'test/v1';
let broker: Mosquitto;
const work = mkdtempSync(path.join(tmpdir(), 'enrolld-status-mqtt-'));
const cleanups: Array<() => Promise<void> | void> = [];
const children: Started[] = [];

test.before(async () => {
  broker = await startMosquitto();
});
test.after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  for (const c of children) await c.stop(500);
  await broker?.stop();
  rmSync(work, { recursive: true, force: true });
});

interface Received {
  topic: string;
  body: Record<string, unknown>;
  retain: boolean;
  qos: number;
  props: IPublishPacket['properties'];
  size: number;
}

/** A subscriber on {PREFIX}/{deviceId}/# with retain-as-published, collecting decoded messages. */
async function subscriber(deviceId: string): Promise<{ client: MqttClient; got: Received[]; of(kind: string): Received[] }> {
  const client = mqtt.connect(broker.url, { protocolVersion: 5, clientId: `sub-${deviceId}-${Math.random().toString(16).slice(2, 8)}`, reconnectPeriod: 100 });
  const got: Received[] = [];
  client.on('error', () => undefined);
  client.on('message', (topic, payload, packet) => {
    got.push({ topic, body: decodeCbor(payload) as Record<string, unknown>, retain: packet.retain, qos: packet.qos, props: packet.properties, size: payload.length });
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => client.subscribe(`${PREFIX}/${deviceId}/#`, { qos: 1, rap: true }, (err) => (err ? reject(err) : resolve())));
  });
  cleanups.push(() => new Promise<void>((r) => client.end(true, () => r())));
  return { client, got, of: (kind) => got.filter((m) => m.topic === `${PREFIX}/${deviceId}/${kind}`) };
}

async function waitFor(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function sink(deviceId: string, extra: Partial<MqttStatusOptions> = {}): MqttStatusSink {
  const s = new MqttStatusSink({ url: broker.url, deviceId, topicPrefix: PREFIX, reconnectMinMs: 100, reconnectMaxMs: 400, ...extra });
  cleanups.push(() => s.close());
  return s;
}

const STATUS: DeviceStatus = {
  phase: 'enrolled',
  enroll: { serial: '0A1B2C', notAfter: '2026-06-01T00:00:00Z', renewAt: '2026-05-01T00:00:00Z', subject: 'CN=dev-a' },
  pal: { lastPoll: '2026-03-01T00:00:00Z', result: 'ok' },
  tpm: { ok: true },
};

test('state, status and event arrive as CBOR with MQTT 5 properties and the right retain flags', async () => {
  const sub = await subscriber('dev-a');
  const clock = new ManualClock('2026-03-01T00:00:10Z');
  const s = sink('dev-a', { clock, bdSeq: new MemoryBdSeqStore(41), eventExpirySeconds: 120 });
  s.state('enrolled');
  s.snapshot(STATUS);
  s.event('enroll.issued', { serial: '0a1b2c', attempt: 1 });
  await waitFor('three messages', () => sub.of('state').length >= 1 && sub.of('status').length >= 1 && sub.of('event').length >= 1);

  const [state] = sub.of('state');
  assert.equal(state!.body, { st: 'enrolled', bd: 42, ts: 1772323210 });
  assert.ok(state!.retain, 'state is retained');
  assert.is(state!.qos, 1);

  const [status] = sub.of('status');
  assert.ok(status!.retain, 'status is retained');
  assert.is(status!.qos, 1);
  assert.is(status!.body.v, STATUS_SCHEMA_VERSION);
  assert.is(status!.body.st, 'enrolled');
  assert.is(Buffer.from((status!.body.enroll as { serial: Uint8Array }).serial).toString('hex'), '0a1b2c');

  const [event] = sub.of('event');
  assert.not.ok(event!.retain, 'event is not retained');
  assert.is(event!.qos, 1);
  assert.equal(event!.body, { ts: 1772323210, seq: 1, ev: 'enroll.issued', serial: '0a1b2c', attempt: 1 });
  const expiry = event!.props?.messageExpiryInterval;
  assert.ok(expiry !== undefined && expiry > 100 && expiry <= 120, `expiry ${expiry}`);

  for (const m of sub.got) {
    assert.is(m.props?.contentType, 'application/cbor', m.topic);
    assert.equal({ ...m.props?.userProperties }, { schema: String(STATUS_SCHEMA_VERSION) }, m.topic);
  }
  assert.is(state!.props?.messageExpiryInterval, undefined, 'retained topics do not expire');
  console.log(`  wire sizes: state ${state!.size} B, status ${status!.size} B, event ${event!.size} B`);

  // A late subscriber gets the retained state and status (flagged retained), not the event.
  const late = await subscriber('dev-a');
  await waitFor('retained messages', () => late.of('state').length === 1 && late.of('status').length === 1);
  assert.ok(late.of('state')[0]!.retain && late.of('status')[0]!.retain);
  await new Promise((r) => setTimeout(r, 100));
  assert.is(late.of('event').length, 0);
});

test('deferConnect: nothing reaches the broker before start(); what was given before is published after it', async () => {
  const sub = await subscriber('dev-defer');
  const log = memoryLogger();
  const s = sink('dev-defer', { deferConnect: true, bdSeq: new MemoryBdSeqStore(6), log });
  s.state('enrolled');
  s.snapshot(STATUS);
  s.event('pal.polled', { entries: 0 });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal([sub.got.length, s.stats().connected, s.stats().connects], [0, false, 0], 'no connection before start()');
  s.start();
  s.start(); // a second call is a no-op
  await waitFor('the queued messages after start()', () => sub.of('state').length >= 1 && sub.of('status').length >= 1 && sub.of('event').length >= 1);
  assert.is(sub.of('state')[0]!.body.st, 'enrolled');
  assert.is(s.stats().connects, 1);
  // a sink closed without ever starting says nothing and does not hang
  const never = sink('dev-never', { deferConnect: true, bdSeq: new MemoryBdSeqStore(), closeTimeoutMs: 500 });
  never.event('x');
  const t0 = Date.now();
  await never.close();
  assert.ok(Date.now() - t0 < 400, 'close of an unstarted sink returns at once');
});

test('last will: killing the publisher process publishes retained {st:lost, bd} after the will delay', async () => {
  const sub = await subscriber('dev-will');
  const moduleUrl = new URL('../../agent/status/mqtt.js', import.meta.url).href;
  const code = `
    const { MqttStatusSink } = await import(${JSON.stringify(moduleUrl)});
    const sink = new MqttStatusSink({ url: ${JSON.stringify(broker.url)}, deviceId: 'dev-will', topicPrefix: ${JSON.stringify(PREFIX)},
      willDelaySeconds: 1, bdSeq: { load: () => 6, save() {} } });
    sink.state('renewing');
    sink.snapshot({ phase: 'renewing', tpm: { ok: true } });
    const t = setInterval(() => {
      const st = sink.stats();
      if (st.connected && st.published >= 2 && st.inflight === 0) { console.log('READY bd=' + st.bd); clearInterval(t); }
    }, 20);
    setInterval(() => {}, 60000);
  `;
  const child = await startProcess(process.execPath, ['--input-type=module', '-e', code]);
  children.push(child);
  await waitFor('child publisher ready', () => /READY bd=7/.test(child.output()) || child.hasExited(), 10_000);
  assert.not.ok(child.hasExited(), child.output());
  await waitFor('renewing state', () => sub.of('state').some((m) => m.body.st === 'renewing'));
  const killedAt = Date.now();
  signalPid(child.pid, 'SIGKILL');
  await child.exited;
  await waitFor('will message', () => sub.of('state').some((m) => m.body.st === 'lost'), 8000);
  const lost = sub.of('state').find((m) => m.body.st === 'lost')!;
  const after = Date.now() - killedAt;
  assert.is(lost.body.bd, 7);
  assert.type(lost.body.ts, 'number');
  assert.ok(lost.retain, 'will is retained');
  assert.is(lost.props?.contentType, 'application/cbor');
  assert.equal({ ...lost.props?.userProperties }, { schema: String(STATUS_SCHEMA_VERSION) });
  assert.ok(after >= 900, `will published after the delay (${after} ms)`);
  console.log(`  will {st:lost, bd:7} arrived ${after} ms after SIGKILL (will delay 1 s), ${lost.size} B`);
  // The retained status is untouched; a new subscriber sees lost + the last status.
  const late = await subscriber('dev-will');
  await waitFor('retained', () => late.of('state').length === 1 && late.of('status').length === 1);
  assert.is(late.of('state')[0]!.body.st, 'lost');
  assert.is(late.of('status')[0]!.body.st, 'renewing');
});

test('abrupt socket loss: reconnects within the will delay (no st=lost), bd+1, latest state and status republished', async () => {
  const sub = await subscriber('dev-re');
  const store = new MemoryBdSeqStore(0);
  const s = sink('dev-re', { bdSeq: store, willDelaySeconds: 5, reconnectMinMs: 150, reconnectMaxMs: 150, reconnectJitter: 0 });
  s.state('enrolled');
  s.snapshot(STATUS);
  await waitFor('first status', () => sub.of('status').length === 1 && s.stats().inflight === 0);
  assert.is(store.load(), 1);
  assert.is(sub.of('state')[0]!.body.bd, 1);

  s.stream!.destroy();
  await waitFor('disconnect seen', () => !s.stats().connected, 2000);
  // While down: the agent keeps reporting; nothing throws, nothing blocks.
  s.snapshot({ ...STATUS, fw: { running: '2.0' } });
  await waitFor('reconnect', () => s.stats().connects === 2, 5000);
  await waitFor('republished state and status', () => sub.of('state').length >= 2 && sub.of('status').length >= 2);
  const states = sub.of('state');
  assert.equal(states.map((m) => [m.body.st, m.body.bd]), [['enrolled', 1], ['enrolled', 2]]);
  assert.is(store.load(), 2, 'bdSeq persisted once per connection');
  assert.is(store.saves, 2);
  const statuses = sub.of('status');
  assert.ok((statuses[1]!.body.seq as number) > (statuses[0]!.body.seq as number));
  assert.equal(statuses[1]!.body.fw, { running: '2.0' });

  // A brand-new subscriber after the reconnect gets the latest retained status.
  const late = await subscriber('dev-re');
  await waitFor('retained status', () => late.of('status').length === 1 && late.of('state').length === 1);
  assert.ok(late.of('status')[0]!.retain);
  assert.equal(late.of('status')[0]!.body.fw, { running: '2.0' });
  assert.equal([late.of('state')[0]!.body.st, late.of('state')[0]!.body.bd], ['enrolled', 2]);
  await new Promise((r) => setTimeout(r, 200));
  assert.not.ok(sub.of('state').some((m) => m.body.st === 'lost'), 'no will within the delay');
});

test('bdSeq is persisted in the state dir (0600) and increments across publisher restarts', async () => {
  const stateDir = path.join(work, 'state');
  const log = memoryLogger();
  const sub = await subscriber('dev-bd');
  const bds: number[] = [];
  for (let run = 0; run < 3; run++) {
    const s = new MqttStatusSink({ url: broker.url, deviceId: 'dev-bd', topicPrefix: PREFIX, stateDir, log });
    s.state('enrolled');
    await waitFor(`state of run ${run}`, () => sub.of('state').filter((m) => m.body.st === 'enrolled').length === run + 1);
    await s.close();
    bds.push(Number(readFileSync(path.join(stateDir, BDSEQ_FILE), 'utf8')));
  }
  assert.equal(bds, [1, 2, 3]);
  assert.equal(sub.of('state').filter((m) => m.body.st === 'enrolled').map((m) => m.body.bd), [1, 2, 3]);
});

test('clean close publishes retained {st:offline} and no will follows', async () => {
  const sub = await subscriber('dev-off');
  const s = sink('dev-off', { bdSeq: new MemoryBdSeqStore(9), willDelaySeconds: 0 });
  s.state('enrolled');
  for (let i = 0; i < 5; i++) s.event('tick', { i });
  await s.close();
  await s.close(); // idempotent
  s.state('renewing'); // after close: ignored, no throw
  s.event('late');
  await waitFor('offline', () => sub.of('state').some((m) => m.body.st === 'offline'));
  assert.equal(sub.of('event').map((m) => m.body.i), [0, 1, 2, 3, 4], 'queued events flushed before offline');
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(sub.of('state').map((m) => m.body.st), ['enrolled', 'offline']);
  assert.equal(sub.of('state').at(-1)!.body.bd, 10);
  assert.ok(sub.of('state').at(-1)!.retain);
});

test('close against an unreachable broker resolves within its bound and never throws', async () => {
  const s = new MqttStatusSink({ url: 'mqtt://127.0.0.1:1', deviceId: 'dev-none', topicPrefix: PREFIX, reconnectMinMs: 50, closeTimeoutMs: 500 });
  for (let i = 0; i < 100; i++) {
    s.state('enrolling');
    s.snapshot(STATUS);
    s.event('e', { i });
  }
  await new Promise((r) => setTimeout(r, 150));
  const st = s.stats();
  assert.is(st.connected, false);
  assert.is(st.queuedEvents, 64);
  assert.is(st.droppedEvents, 36);
  const t0 = Date.now();
  await s.close();
  assert.ok(Date.now() - t0 < 1000);
});

test.run();
