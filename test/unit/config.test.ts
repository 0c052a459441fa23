import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parseConfig, ConfigError } from '../../agent/config.js';

const minimal = () => ({ deviceId: 'dev-1', est: { url: 'https://est.example:8443/', trustAnchorsFile: 'ta.pem' } });

test('minimal config gets documented defaults', () => {
  const c = parseConfig(minimal(), '/etc/enrolld');
  assert.is(c.est.url, 'https://est.example:8443');
  assert.is(c.est.trustAnchorsFile, '/etc/enrolld/ta.pem');
  assert.is(c.tpm.tcti, 'device:/dev/tpmrm0');
  assert.is(c.tpm.srkHandle, 0x81000001);
  assert.is(c.identity.subject, 'CN=dev-1');
  assert.is(c.identity.keyAlgorithm, 'ecc-p256');
  assert.is(c.schedule.renewFraction, 2 / 3);
  assert.is(c.protocol, 'est');
  assert.is(c.mqtt.enabled, false);
});

const bad: Array<[string, (d: any) => void, string]> = [
  ['missing est', (d) => delete d.est, 'est'],
  ['http url', (d) => (d.est.url = 'http://x'), 'est.url'],
  ['unknown top-level field', (d) => (d.colour = 'red'), 'colour'],
  ['unknown nested field', (d) => (d.est.proxy = 'x'), 'est.proxy'],
  ['bad device id', (d) => (d.deviceId = 'a/b'), 'deviceId'],
  ['bad handle', (d) => (d.tpm = { srkHandle: '0x80000001' }), 'tpm.srkHandle'],
  ['bad algorithm', (d) => (d.identity = { keyAlgorithm: 'dsa' }), 'identity.keyAlgorithm'],
  ['renew fraction out of range', (d) => (d.schedule = { renewFraction: 1.5 }), 'schedule.renewFraction'],
  ['backoff max below min', (d) => (d.schedule = { backoffMinSeconds: 600, backoffMaxSeconds: 60 }), 'schedule.backoffMaxSeconds'],
  ['attestation without AK', (d) => (d.attestation = { enabled: true }), 'attestation'],
  ['pcr out of range', (d) => (d.attestation = { pcrs: [24] }), 'attestation.pcrs'],
  ['mqtt without url', (d) => (d.mqtt = { enabled: true }), 'mqtt.url'],
  ['mqtts broker without its CA file', (d) => (d.mqtt = { enabled: true, url: 'mqtts://broker.example:8883' }), 'mqtt.caFile'],
  ['label with slash', (d) => (d.est.label = 'a/b'), 'est.label'],
];
for (const [name, mutate, field] of bad) {
  test(`rejects ${name} naming ${field}`, () => {
    const d = minimal();
    mutate(d);
    try {
      parseConfig(d);
      assert.unreachable('accepted');
    } catch (err) {
      assert.instance(err, ConfigError);
      assert.is((err as ConfigError).field, field);
      assert.ok((err as Error).message.startsWith(field + ':'), (err as Error).message);
    }
  });
}

test('keyPackages.serverKeygen: PKCS#1 tolerance on by default, can be turned off; key type optional and checked', () => {
  const kp = (serverKeygen?: unknown) => parseConfig({ ...minimal(), keyPackages: { trustAnchorsFile: 'kp.pem', ...(serverKeygen ? { serverKeygen } : {}) } }, '/etc/enrolld').keyPackages!;
  assert.equal(kp().serverKeygen, { acceptPkcs1: true });
  assert.equal(kp({ acceptPkcs1: false, keyAlgorithm: 'rsa-2048' }).serverKeygen, { acceptPkcs1: false, keyAlgorithm: 'rsa-2048' });
  assert.throws(() => kp({ keyAlgorithm: 'dsa' }), (e: unknown) => e instanceof ConfigError && /keyPackages\.serverKeygen\.keyAlgorithm/.test(String(e)));
  assert.throws(() => kp({ acceptPkcs1: 'yes' }), (e: unknown) => e instanceof ConfigError && /acceptPkcs1/.test(String(e)));
  assert.throws(() => kp({ strict: true }), (e: unknown) => e instanceof ConfigError && /serverKeygen\.strict/.test(String(e)));
});

test('non-object document', () => {
  assert.throws(() => parseConfig([]), (e: unknown) => e instanceof ConfigError);
});

test('the shipped example config (deploy/examples/config.json) is valid', () => {
  const c = parseConfig(JSON.parse(readFileSync('deploy/examples/config.json', 'utf8')), '/etc/enrolld');
  assert.is(c.firmware?.hardware.serialHex, '00c0ffee');
  assert.is(c.firmware?.trustAnchorsFile, '/etc/enrolld/firmware-ta.pem');
  assert.ok(c.attestation.enabled);
});

test('protocol acme needs an acme section; the section is validated and defaulted', () => {
  assert.throws(() => parseConfig({ ...minimal(), protocol: 'acme' }, '/etc/enrolld'), /acme: required/);
  const c = parseConfig({ ...minimal(), protocol: 'acme', acme: { directoryUrl: 'https://acme.example/dir', trustAnchorsFile: 'acme-ta.pem' } }, '/etc/enrolld');
  assert.equal(c.acme?.challengePreference, ['remote-attest-01', 'dns-01', 'http-01']);
  assert.equal(c.acme?.remoteAttestation, []);
  assert.is(c.acme?.trustAnchorsFile, '/etc/enrolld/acme-ta.pem');
  assert.throws(() => parseConfig({ ...minimal(), protocol: 'acme', acme: { directoryUrl: 'http://acme.example/dir', trustAnchorsFile: 'x' } }, '/etc/enrolld'), /acme.directoryUrl: must use https/);
});

test('cmp and cmc sections: required with their protocol; http only to loopback with allowLoopbackHttp', () => {
  assert.throws(() => parseConfig({ ...minimal(), protocol: 'cmp' }, '/etc/enrolld'), /cmp: required/);
  const c = parseConfig({ ...minimal(), protocol: 'cmp', cmp: { url: 'https://ca.example/.well-known/cmp', trustAnchorsFile: 'cmp-ta.pem', mac: { reference: 'dev-1', secretFile: 'cmp-secret' } } }, '/etc/enrolld');
  assert.is(c.cmp?.request, 'crmf');
  assert.is(c.cmp?.mac?.secretFile, '/etc/enrolld/cmp-secret');
  assert.throws(() => parseConfig({ ...minimal(), protocol: 'cmp', cmp: { url: 'http://ca.example/cmp', trustAnchorsFile: 'x' } }, '/etc/enrolld'), /cmp.url/);
  assert.ok(parseConfig({ ...minimal(), protocol: 'cmp', cmp: { url: 'http://127.0.0.1:8080/cmp', trustAnchorsFile: 'x', allowLoopbackHttp: true } }, '/etc/enrolld').cmp);
  assert.throws(() => parseConfig({ ...minimal(), protocol: 'cmc' }, '/etc/enrolld'), /identity.bootstrapCertFile/);
});

test('cmp over CoAP (RFC 9482): a coap:// url, cmp.coap defaults, block size a power of two; coaps:// refused', () => {
  const cmp = (extra: Record<string, unknown>) => parseConfig({ ...minimal(), protocol: 'cmp', cmp: { url: 'coap://ca.example/.well-known/cmp', trustAnchorsFile: 'x', ...extra } }, '/etc/enrolld');
  assert.equal(cmp({}).cmp?.coap, { blockSize: 1024, timeoutMs: 60_000, maxResponseBytes: 1 << 20 });
  assert.is(cmp({ coap: { blockSize: 64 } }).cmp?.coap.blockSize, 64);
  assert.throws(() => cmp({ coap: { blockSize: 100 } }), /cmp.coap.blockSize: must be a power of two/);
  assert.throws(() => cmp({ url: 'coaps://ca.example/.well-known/cmp' }), /cmp.url: must use https or coap/);
});

test.run();
