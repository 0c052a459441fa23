// MQTT status follows the device credential across a renewal: the composed agent connects to mosquitto
// (require_certificate, use_identity_as_username) with its TPM-backed certificate once enrolled, and after a
// re-enrollment reconnects with the new certificate/key; the old key is dropped only after that reconnect. Proof
// that the broker sees the new certificate: the old one is short-lived (~6 s left when issued), and after it has
// expired a forced reconnect is still accepted and the published status carries the new serial.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { startMosquitto } from '../harness/mosquitto.js';
import { freePorts } from '../harness/ports.js';
import { startAgentEnv } from '../harness/agent-env.js';
import { composeAgent } from '../../agent/cli/compose.js';
import { MqttStatusSink } from '../../agent/status/mqtt.js';
import type { StatusSink } from '../../agent/status/status-sink.js';
import { decodeCbor } from '../../agent/status/schema.js';
import { memoryLogger } from '../../agent/util/log.js';

const dir = mkdtempSync(path.join(tmpdir(), 'enrolld-mqtt-renew-'));
const f = (n: string): string => path.join(dir, n);
const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe', cwd: dir });

async function waitFor(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('after a renewal the MQTT connection authenticates with the new TPM-backed certificate', async () => {
  // Broker CA, broker certificate, and a monitor client.
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=broker-ca', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  for (const [name, cn, ext] of [['server', 'broker', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'], ['monitor', 'monitor', 'extendedKeyUsage=clientAuth\n']] as const) {
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    writeFileSync(f(`${name}.ext`), ext);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`);
  }
  // 60 s certificates; the lab's clock is set 54 s back for the first one, so it expires ~6 s after issue (and is
  // past its renew point at once); the renewed one, issued with the real clock, lives 60 s.
  const labClock = { offsetMs: -54_000 };
  const env = await startAgentEnv({ lab: { certValiditySeconds: 60, now: () => new Date(Date.now() + labClock.offsetMs) }, config: { schedule: { renewFraction: 0.9, jitterSeconds: 0 } } });
  // The broker trusts its own CA (monitor) and the lab root (devices send leaf + issuing CA).
  writeFileSync(f('clients.pem'), readFileSync(f('ca.pem'), 'utf8') + env.lab.trustAnchorPem);
  chmodSync(dir, 0o755);
  for (const n of ['clients.pem', 'server.pem', 'server.key']) chmodSync(f(n), 0o644);
  const port = await freePorts(1);
  const broker = await startMosquitto({
    extraConfig: [`listener ${port} 127.0.0.1`, `cafile ${f('clients.pem')}`, `certfile ${f('server.pem')}`, `keyfile ${f('server.key')}`, 'require_certificate true', 'use_identity_as_username true'],
  });
  const url = `mqtts://127.0.0.1:${port}`;
  const monitor = mqtt.connect(url, { protocolVersion: 5, reconnectPeriod: 0, ca: readFileSync(f('ca.pem')), cert: readFileSync(f('monitor.pem')), key: readFileSync(f('monitor.key')) });
  const got: Array<{ topic: string; body: Record<string, unknown> }> = [];
  monitor.on('error', () => undefined);
  monitor.on('message', (topic, payload) => got.push({ topic, body: decodeCbor(payload) as Record<string, unknown> }));
  await new Promise<void>((resolve, reject) => {
    monitor.once('error', reject);
    monitor.once('connect', () => monitor.subscribe('dev/v1/dev-0001/#', { qos: 1 }, (err) => (err ? reject(err) : resolve())));
  });
  const log = memoryLogger('debug');
  const config = { ...env.config, mqtt: { ...env.config.mqtt, enabled: true, url, caFile: f('ca.pem') } };
  const agent = await composeAgent(config, { log });
  const mqttSink = (agent.status as unknown as { sinks: StatusSink[] }).sinks.find((s): s is MqttStatusSink => s instanceof MqttStatusSink)!;
  assert.ok(mqttSink, 'the composed status sink includes MQTT');
  // The broker logs each accepted client with its username (= certificate CN).
  const accepted = (): number => (broker.output().match(/New client connected from .* as enrolld-dev-0001 .*u'dev-0001'/g) ?? []).length;
  // Serials travel as byte strings (docs/status-schema.md); compare as lower-case hex.
  const statusSerials = (): Array<string | undefined> =>
    got.filter((m) => m.topic.endsWith('/status')).map((m) => {
      const serial = (m.body.enroll as { serial?: Uint8Array } | undefined)?.serial;
      return serial ? Buffer.from(serial).toString('hex') : undefined;
    });
  const hex = (serial: string): string => serial.replace(/:/g, '').toLowerCase();
  try {
    // Not enrolled yet: no certificate, so the broker refuses the client.
    await waitFor('a refused connection attempt', () => log.lines.some((l) => l.includes('status.mqtt.error')));
    assert.is(accepted(), 0);

    const first = await agent.enroller.step();
    assert.is(first.action, 'issued');
    const cert1 = first.state.credential!;
    await waitFor('connection with the first certificate', () => accepted() >= 1 && statusSerials().includes(hex(cert1.serial)));
    console.log(`  connected with ${cert1.serial} (key ${cert1.key.id})`);

    assert.ok(Date.parse(cert1.renewAt) <= Date.now(), 'the first certificate is due for renewal');
    labClock.offsetMs = 0;
    const second = await agent.enroller.step();
    assert.is(second.action, 'issued');
    const cert2 = second.state.credential!;
    assert.is.not(cert2.serial, cert1.serial);
    assert.is.not(cert2.key.id, cert1.key.id);
    await waitFor('reconnect with the renewed certificate', () => accepted() >= 2 && log.lines.some((l) => l.includes('status.mqtt.credential-switched') && l.includes(`credential=${cert2.serial} reconnect=true`)));
    await waitFor('status with the new serial', () => statusSerials().at(-1) === hex(cert2.serial));
    // The enroller's deletion of the old key waited for this switch (DeviceIdentity.retire); it succeeded, so nothing was kept.
    assert.not.ok(log.lines.some((l) => l.includes('key.delete-deferred')));

    // The first certificate expires; a reconnect is accepted only because the client now presents the second.
    const notAfter1 = new X509Certificate(cert1.certPem).validTo;
    await waitFor('expiry of the first certificate', () => Date.now() > Date.parse(notAfter1) + 1000, 20_000);
    const before = accepted();
    got.length = 0;
    mqttSink.stream?.destroy();
    await waitFor('reconnect after the old certificate expired', () => accepted() > before && got.some((m) => m.topic.endsWith('/state')));
    assert.is(statusSerials().at(-1) ?? hex(cert2.serial), hex(cert2.serial));
    assert.is(mqttSink.clientCredentialLabel, cert2.serial);
    console.log(`  renewed to ${cert2.serial}; ${accepted()} accepted connections; reconnect after ${notAfter1} accepted`);
  } catch (err) {
    console.log(log.lines.filter((l) => /mqtt|credential|key\./.test(l)).join('\n'));
    console.log(broker.output().split('\n').slice(-30).join('\n'));
    throw err;
  } finally {
    await agent.close();
    monitor.end(true);
    await broker.stop();
    await env.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
