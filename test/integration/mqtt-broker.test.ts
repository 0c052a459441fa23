// Proves the mosquitto harness: a private broker on a free loopback port; a retained MQTT 5 message published by one
// client is delivered to a client that subscribes afterwards; stop() ends exactly the broker's PID.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import mqtt, { type MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.js';
import { canConnect, delay } from '../harness/proc.js';

let broker: Mosquitto | undefined;
const clients: MqttClient[] = [];

function connect(url: string, clientId: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { clientId, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
    clients.push(c);
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms).unref())]);
}

test.before(async () => {
  broker = await startMosquitto();
});

test.after(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await broker?.stop();
});

test('broker listens on 127.0.0.1 on the port it reports', async () => {
  assert.ok(broker);
  assert.is(broker.url, `mqtt://127.0.0.1:${broker.port}`);
  assert.ok(broker.pid > 0);
  assert.ok(await canConnect(broker.port));
});

test('a retained QoS1 message reaches a later subscriber, with MQTT 5 properties', async () => {
  const topic = 'dev/v1/test-device/state';
  const payload = Buffer.from([0xa1, 0x62, 0x73, 0x74, 0x63, 0x6f, 0x6b, 0x21]); // arbitrary bytes
  const pub = await connect(broker!.url, 'pub-1');
  await pub.publishAsync(topic, payload, { qos: 1, retain: true, properties: { contentType: 'application/cbor' } });
  await pub.endAsync();

  const sub = await connect(broker!.url, 'sub-1');
  const got = new Promise<{ topic: string; payload: Buffer; retain: boolean; contentType?: string }>((resolve) => {
    sub.on('message', (t, p, packet) => resolve({ topic: t, payload: p, retain: packet.retain, contentType: packet.properties?.contentType }));
  });
  await sub.subscribeAsync(topic, { qos: 1 });
  const m = await withTimeout(got, 5000, 'retained message');
  assert.is(m.topic, topic);
  assert.ok(m.payload.equals(payload));
  assert.is(m.retain, true);
  assert.is(m.contentType, 'application/cbor');
});

test('stop() ends the broker process and frees the port', async () => {
  const b = await startMosquitto();
  const { pid, port } = b;
  await b.stop();
  let alive = true;
  try {
    process.kill(pid, 0);
  } catch {
    alive = false;
  }
  assert.is(alive, false);
  for (let i = 0; i < 20 && (await canConnect(port)); i++) await delay(50);
  assert.is(await canConnect(port), false);
  await b.stop(); // idempotent
});

test.run();
