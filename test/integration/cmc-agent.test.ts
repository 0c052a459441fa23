// The composed agent with protocol cmc and cmc.decryptionKey enabled (agent/features/cmc): enrollment by a PKIData
// signed with the TPM IDevID, then the daemon's cycle carries the decryption key — a decrypt-only P-256 TPM key
// certified with indirect POP (RFC 5272 §6.7) and stored in cmc-decryption-key.json. The key's certificate is then
// part of the retained MQTT status snapshot (`dk`, read from a real mosquitto) and of `enrolld status --json`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { akRecordToJson } from '../../agent/attest/provision.js';
import { composeAgent } from '../../agent/cli/compose.js';
import { parseConfig } from '../../agent/config.js';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { certificateToPem } from '../../agent/pki/cert.js';
import { memoryLogger } from '../../agent/util/log.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { registerCmcHandlers } from '../../deploy/lab/cmc.js';
import { CMC_DECRYPTION_KEY_FILE } from '../../agent/store/layout.js';
import { DocumentStore } from '../../agent/store/document-store.js';
import type { DecryptionKeyState } from '../../agent/features/cmc/decryption-key.js';
import mqtt from 'mqtt';
import { decodeCbor } from '../../agent/status/schema.js';
import { startAgentEnv } from '../harness/agent-env.js';
import { startMosquitto } from '../harness/mosquitto.js';
import { runCli } from '../harness/cli.js';

test('protocol cmc with decryptionKey: enrolled by the IDevID, then the cycle certifies a P-256 decryption key (kari); MQTT status and enrolld status show it', async () => {
  const broker = await startMosquitto();
  const env = await startAgentEnv({ config: { mqtt: { enabled: true, url: broker.url } } });
  const log = memoryLogger('info');
  let agent: Awaited<ReturnType<typeof composeAgent>> | undefined;
  const sub = mqtt.connect(broker.url, { protocolVersion: 5, reconnectPeriod: 0 });
  const snapshots: Array<Record<string, unknown>> = [];
  sub.on('message', (topic, payload) => {
    if (topic.endsWith('/status')) snapshots.push(decodeCbor(payload) as Record<string, unknown>);
  });
  try {
    await new Promise<void>((res, rej) => sub.once('connect', () => sub.subscribe('dev/v1/dev-0001/status', { qos: 1 }, (e) => (e ? rej(e) : res()))));
    const mfg = await LabCa.create({ name: 'enrolld manufacturer' });
    const ks = await TpmKeyStore.open({ tcti: env.tpm.tcti });
    const idevidKey = await ks.createKey('idevid', 'ecc-p256');
    const idevid = await mfg.issue({ subject: { CN: 'dev-0001 IDevID', O: 'enrolld manufacturer' }, spki: ks.signer(idevidKey).spki, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), profile: 'client' });
    await ks.close(); // the agent opens the TPM itself; the key is blobs, not resident
    writeFileSync(path.join(env.dir, 'idevid-cert.pem'), certificateToPem(idevid) + certificateToPem(mfg.issuing.der));
    writeFileSync(path.join(env.dir, 'idevid-key.json'), akRecordToJson(idevidKey));
    const doc = env.configDoc as { identity: Record<string, unknown>; est: { basicAuth?: { username: string; passwordFile: string } } };
    const basic = doc.est.basicAuth;
    const users = basic ? { [basic.username]: readFileSync(path.resolve(env.dir, basic.passwordFile), 'utf8').trim() } : {};
    const lab = registerCmcHandlers(env.lab.router, { ca: env.lab.ca, users, idevidCaDers: [mfg.root.der] }, { pop: { pop: 'kmac128' } });
    const config = parseConfig({
      ...env.configDoc, protocol: 'cmc',
      identity: { ...doc.identity, bootstrapCertFile: 'idevid-cert.pem', bootstrapKeyFile: 'idevid-key.json' },
      cmc: { decryptionKey: { enabled: true, algorithm: 'ecc-p256' } },
    }, env.dir);
    agent = await composeAgent(config, { log });
    const first = await agent.enroller.step();
    assert.is(first.action, 'issued', `${first.error?.message}\n${log.lines.join('\n')}`);
    assert.is(lab.issued[0]!.operation, 'enroll');
    await agent.daemon().iterate(first.state, { pollNow: true });
    const store = new DocumentStore<DecryptionKeyState>({ dir: config.stateDir, name: CMC_DECRYPTION_KEY_FILE, kind: 'enrolld-cmc-decryption-key', version: 1 });
    const current = (await store.load())?.current;
    assert.ok(current, log.lines.join('\n'));
    const cert = new X509Certificate(current.certPem);
    assert.is(cert.publicKey.asymmetricKeyType, 'ec');
    assert.ok(Buffer.from(cert.publicKey.export({ type: 'spki', format: 'der' })).equals(Buffer.from(current.key.spki, 'base64')));
    assert.equal(lab.requests.slice(-2).map((q) => q.status), ['popRequired', 'success']);
    assert.is(lab.issued[lab.issued.length - 1]!.operation, 'reenroll', 'the decryption key request is signed by the new credential');
    // the retained snapshot names the decryption key's certificate (serial as bytes, times as epoch seconds)
    const serialHex = current.serial.toLowerCase();
    const shows = (b: Record<string, unknown>): boolean => Buffer.from(((b.dk ?? {}) as { serial?: Uint8Array }).serial ?? []).toString('hex') === serialHex;
    const deadline = Date.now() + 5000;
    while (!snapshots.some(shows) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const snap = snapshots.find(shows);
    assert.ok(snap, JSON.stringify(snapshots.map((b) => b.dk ?? null)));
    const dk = snap.dk as Record<string, unknown>;
    assert.is(dk.notAfter, Math.floor(Date.parse(current.notAfter) / 1000));
    assert.is(dk.renewAt, Math.floor(Date.parse(current.renewAt) / 1000));
    assert.is(dk.result, 'enrolled');
    assert.ok(!('dk' in snapshots[0]!), 'no dk before the key was certified');
    // `enrolld status` reads the same record from the state directory
    const cli = await runCli('status', '--json', '--config', env.configPath);
    assert.is(cli.status, 0, cli.stderr);
    const view = JSON.parse(cli.stdout) as { decryptionKey?: { serial?: string; result?: string } };
    assert.equal([view.decryptionKey?.serial, view.decryptionKey?.result], [current.serial, 'enrolled']);
    const human = await runCli('status', '--config', env.configPath);
    assert.match(human.stdout, `decryption key: serial ${current.serial}`);
  } finally {
    await agent?.close();
    sub.end(true);
    await env.stop();
    await broker.stop();
  }
});

test.run();
