// MQTT status over TLS with client-certificate authentication (the device's credential), against mosquitto with
// require_certificate. Wrong CA / missing client certificate: no connection, logged, nothing thrown.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.js';
import { freePorts } from '../harness/ports.js';
import { MqttStatusConfigError, MqttStatusSink } from '../../agent/status/mqtt.js';
import { MemoryBdSeqStore } from '../../agent/status/bdseq.js';
import { decodeCbor } from '../../agent/status/schema.js';
import { memoryLogger } from '../../agent/util/log.js';
import { createRequire } from 'node:module';
import { ensureBundle } from '../harness/deb.js';

const dir = mkdtempSync(path.join(tmpdir(), 'enrolld-status-tls-'));
const f = (n: string): string => path.join(dir, n);
let broker: Mosquitto;
let tlsPort = 0;
const cleanups: Array<() => Promise<void> | void> = [];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe', cwd: dir });
}

function makeCa(name: string): void {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/CN=${name}`, '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
}

function issue(name: string, ca: string, cn: string, ext: string): void {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  writeFileSync(f(`${name}.ext`), ext);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`);
}

test.before(async () => {
  makeCa('ca');
  makeCa('other-ca');
  issue('server', 'ca', 'broker', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  issue('device', 'ca', 'dev-tls', 'extendedKeyUsage=clientAuth\n');
  issue('monitor', 'ca', 'monitor', 'extendedKeyUsage=clientAuth\n');
  // mosquitto started as root drops to its own user before reading the certificates: test-only keys, readable.
  chmodSync(dir, 0o755);
  for (const n of ['ca.pem', 'server.pem', 'server.key']) chmodSync(f(n), 0o644);
  tlsPort = await freePorts(1);
  broker = await startMosquitto({
    extraConfig: [`listener ${tlsPort} 127.0.0.1`, `cafile ${f('ca.pem')}`, `certfile ${f('server.pem')}`, `keyfile ${f('server.key')}`, 'require_certificate true', 'use_identity_as_username true'],
  });
});
test.after(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor(what: string, cond: () => boolean, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('publishes over mutual TLS with the CA file and a client certificate', async () => {
  const url = `mqtts://127.0.0.1:${tlsPort}`;
  const sub = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, ...tlsFiles('monitor') });
  const got: Array<{ topic: string; body: Record<string, unknown> }> = [];
  sub.on('error', () => undefined);
  sub.on('message', (topic, payload) => got.push({ topic, body: decodeCbor(payload) as Record<string, unknown> }));
  cleanups.push(() => new Promise<void>((r) => sub.end(true, () => r())));
  await new Promise<void>((resolve, reject) => {
    sub.once('error', reject);
    sub.once('connect', () => sub.subscribe('dev/v1/dev-tls/#', { qos: 1 }, (err) => (err ? reject(err) : resolve())));
  });

  const log = memoryLogger();
  const sink = new MqttStatusSink({
    url,
    deviceId: 'dev-tls',
    log,
    bdSeq: new MemoryBdSeqStore(),
    tls: { caFile: f('ca.pem'), certFile: f('device.pem'), keyFile: f('device.key') },
  });
  cleanups.push(() => sink.close());
  sink.state('enrolled');
  sink.event('tls.ok');
  await waitFor('state and event over TLS', () => got.some((m) => m.topic.endsWith('/state')) && got.some((m) => m.topic.endsWith('/event')));
  assert.is(got.find((m) => m.topic.endsWith('/state'))!.body.st, 'enrolled');

  // A renewed credential is taken for the next connection; a broken one is refused and the old one kept.
  assert.ok(sink.setClientCredential({ caFile: f('ca.pem'), certFile: f('device.pem'), keyFile: f('device.key') }));
  assert.not.ok(sink.setClientCredential({ caFile: f('ca.pem'), certFile: f('device.pem'), keyFile: f('monitor.key') }));
  assert.ok(log.lines.some((l) => l.includes('status.mqtt.credential-rejected')));
  await sink.close();
  await waitFor('offline', () => got.some((m) => m.body.st === 'offline'));
});

function tlsFiles(name: string): { ca: Buffer; cert: Buffer; key: Buffer } {
  return { ca: readFileSync(f('ca.pem')), cert: readFileSync(f(`${name}.pem`)), key: readFileSync(f(`${name}.key`)) };
}

test('wrong CA or no client certificate: no connection, a logged error, nothing thrown', async () => {
  const url = `mqtts://127.0.0.1:${tlsPort}`;
  for (const [label, tls] of [
    ['untrusted broker', { caFile: f('other-ca.pem'), certFile: f('device.pem'), keyFile: f('device.key') }],
    ['no client certificate', { caFile: f('ca.pem') }],
  ] as const) {
    const log = memoryLogger();
    const sink = new MqttStatusSink({ url, deviceId: 'dev-tls-bad', log, bdSeq: new MemoryBdSeqStore(), tls, reconnectMinMs: 200, closeTimeoutMs: 300 });
    sink.state('enrolled');
    sink.snapshot({ phase: 'enrolled', tpm: { ok: true } });
    await waitFor(`${label}: error logged`, () => log.lines.some((l) => l.includes('status.mqtt.error')));
    const st = sink.stats();
    console.log(`  ${label}: ${log.lines.find((l) => l.includes('status.mqtt.error'))!.replace(/^.*status\.mqtt\.error /, '')}`);
    assert.is(st.connects, 0, label);
    assert.is(st.internalErrors, 0, label);
    await sink.close();
  }
});

test('an mqtts:// broker without configured anchors is a configuration error: node\'s default store is never used', () => {
  assert.throws(
    () => new MqttStatusSink({ url: `mqtts://127.0.0.1:${tlsPort}`, deviceId: 'dev-noca', bdSeq: new MemoryBdSeqStore(), tls: { certFile: f('device.pem'), keyFile: f('device.key') } }),
    (err: unknown) => err instanceof MqttStatusConfigError && /trust anchors/.test((err as Error).message),
  );
});

test('a renewed client credential keeps the broker anchors given at construction (reconnects with them)', async () => {
  const log = memoryLogger();
  const sink = new MqttStatusSink({ url: `mqtts://127.0.0.1:${tlsPort}`, deviceId: 'dev-keepca', log, bdSeq: new MemoryBdSeqStore(), tls: { caFile: f('ca.pem'), certFile: f('device.pem'), keyFile: f('device.key') }, reconnectMinMs: 100, closeTimeoutMs: 300 });
  cleanups.push(() => sink.close());
  await waitFor('first connection', () => sink.stats().connects >= 1);
  // the renewed credential names no CA: the broker must still be verified with ca.pem, not node's default store
  assert.ok(sink.setClientCredential({ certFile: f('device.pem'), keyFile: f('device.key') }));
  sink.stream?.destroy();
  await waitFor('reconnected with the new credential and the constructor\'s anchors', () => sink.stats().connects >= 2);
  await sink.close();
});

test('the bundle\'s vendored mqtt.js (TCP and TLS transports only) publishes over mutual TLS; a ws:// URL is refused by name', async () => {
  ensureBundle();
  const vendored = createRequire(import.meta.url)(path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../bundle/vendor/mqtt.cjs')) as typeof mqtt;
  const url = `mqtts://127.0.0.1:${tlsPort}`;
  const sub = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, ...tlsFiles('monitor') });
  const got: string[] = [];
  sub.on('error', () => undefined);
  sub.on('message', (topic, payload) => got.push(`${topic}=${payload.toString()}`));
  cleanups.push(() => new Promise<void>((r) => sub.end(true, () => r())));
  await new Promise<void>((resolve, reject) => {
    sub.once('error', reject);
    sub.once('connect', () => sub.subscribe('bundle/#', { qos: 1 }, (err) => (err ? reject(err) : resolve())));
  });
  const pub = vendored.connect(url, { protocolVersion: 5, reconnectPeriod: 0, writeCache: false, ...tlsFiles('device') });
  cleanups.push(() => new Promise<void>((r) => pub.end(true, () => r())));
  pub.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    pub.once('error', reject);
    pub.once('connect', () => pub.publish('bundle/x', 'from the bundle', { qos: 1 }, (err) => (err ? reject(err) : resolve())));
  });
  await waitFor('the monitor got the message', () => got.includes('bundle/x=from the bundle'));
  assert.throws(() => vendored.connect('ws://127.0.0.1:1/mqtt', { reconnectPeriod: 0 }), /mqtt transport \.\/ws is not in enrolld's bundle/);
});

test('a key engine that cannot be loaded is a configuration error at construction, not a crash later', () => {
  assert.throws(
    () => new MqttStatusSink({ url: `mqtts://127.0.0.1:${tlsPort}`, deviceId: 'dev-eng', bdSeq: new MemoryBdSeqStore(), tls: { caFile: f('ca.pem'), certFile: f('device.pem'), privateKeyEngine: 'enrolld-no-such-engine', privateKeyIdentifier: 'handle:0x81000002' } }),
    (err: unknown) => err instanceof MqttStatusConfigError && /TLS client configuration rejected/.test((err as Error).message),
  );
  assert.throws(
    () => new MqttStatusSink({ url: `mqtts://127.0.0.1:${tlsPort}`, deviceId: 'dev-eng', bdSeq: new MemoryBdSeqStore(), tls: { privateKeyEngine: 'x' } }),
    (err: unknown) => err instanceof MqttStatusConfigError,
  );
});

test.run();
