// CMC over EST /fullcmc end to end: swtpm keys, the lab server over TLS with registerCmcHandlers on lab.router.
// Initial enrollment signed by a TPM-held IDevID, re-enrollment signed by the current TPM credential, pending →
// queryPending → issued, the shared Enroller driving CmcEnrollment (enroll + renew), and one agent-produced
// SignedData{PKIData} checked independently with `openssl cms -verify`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { certificateToDer, certificateToPem } from '../../agent/pki/cert.js';
import { pemEncode } from '../../agent/pki/pem.js';
import { validateChain } from '../../agent/pki/chain.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import { Enroller, type StateAccess } from '../../agent/lifecycle/enroller.js';
import type { AgentState } from '../../agent/lifecycle/state.js';
import { memoryLogger } from '../../agent/util/log.js';
import type { KeyRecord } from '../../agent/keystore/keystore.js';
import { CmcEnrollment, CmcFailedError, CmcProtocolError, buildNoSignatureCsr, type CmcEnrollmentOptions } from '../../agent/protocols/cmc/index.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { registerCmcHandlers, type CmcLabOptions } from '../../deploy/lab/cmc.js';
import { startAgentEnv, type AgentEnv } from '../harness/agent-env.js';

const SUBJECT = 'CN=dev-0001,O=enrolld demo';

async function setup(opts: CmcLabOptions = {}) {
  const env = await startAgentEnv();
  const ks = await TpmKeyStore.open({ tcti: env.tpm.tcti });
  // The manufacturer CA that issued the device's IDevID; its key lives in the TPM.
  const mfg = await LabCa.create({ name: 'enrolld manufacturer' });
  const idevidKey = await ks.createKey('idevid', 'ecc-p256');
  const idevid = certificateToDer(
    await mfg.issue({ subject: { CN: 'dev-0001 IDevID', O: 'enrolld manufacturer' }, spki: ks.signer(idevidKey).spki, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), profile: 'client' }),
  );
  const cmcLab = registerCmcHandlers(env.lab.router, { ca: env.lab.ca, users: { 'dev-0001': 'factory-secret' }, idevidCaDers: [mfg.root.der] }, opts);
  const options: CmcEnrollmentOptions = {
    baseUrl: env.lab.url,
    trustAnchors: [env.lab.trustAnchorPem],
    issuerTrustAnchors: [env.lab.trustAnchorPem],
    basicAuth: { username: 'dev-0001', password: 'factory-secret' },
    bootstrap: { signer: ks.signer(idevidKey), certificate: idevid, chain: [mfg.issuing.der] },
    keystore: ks,
  };
  return { env, ks, mfg, cmcLab, options, idevidKey };
}

async function teardown(s: { env: AgentEnv; ks: TpmKeyStore }): Promise<void> {
  await s.ks.close().catch(() => undefined);
  await s.env.stop();
}

test('enroll a TPM key (PKIData signed by the TPM IDevID), then re-enroll signed by the current TPM credential', async () => {
  const s = await setup();
  try {
    const cmc = new CmcEnrollment(s.options);
    const key1 = await s.ks.createKey('cred-1', 'ecc-p256');
    const csr1 = (await buildCsr({ subject: SUBJECT, signer: s.ks.signer(key1), san: { dns: ['dev-0001.devices.example'] } })).der;
    const r1 = await cmc.enroll({ operation: 'enroll', csr: csr1 });
    assert.is(r1.kind, 'issued');
    if (r1.kind !== 'issued') return;
    assert.is(s.cmcLab.issued[0]!.operation, 'enroll');
    assert.match(s.cmcLab.issued[0]!.authenticatedAs, /cmc-signer:idevid:.*IDevID.*basic:dev-0001/);
    const cert1 = new X509Certificate(r1.cert);
    assert.match(cert1.subject, /CN=dev-0001/);
    assert.ok(cert1.publicKey.export({ format: 'der', type: 'spki' }).equals(Buffer.from(s.ks.signer(key1).spki)));

    // The agent-produced request verifies with openssl (signature over the signed attributes, TPM ECDSA).
    const reqFile = path.join(s.env.dir, 'fullcmc-req.der');
    writeFileSync(reqFile, cmc.lastRequestDer!);
    const out = execFileSync('sh', ['-c', `openssl cms -verify -inform DER -in '${reqFile}' -noverify -out /dev/null 2>&1`]).toString();
    assert.match(out, /Verification successful/);
    // … and a tampered one does not.
    const bad = Buffer.from(cmc.lastRequestDer!);
    bad[bad.length - 3] ^= 1;
    writeFileSync(reqFile, bad);
    const badOut = execFileSync('sh', ['-c', `openssl cms -verify -inform DER -in '${reqFile}' -noverify -out /dev/null 2>&1; true`]).toString();
    assert.not.match(badOut, /Verification successful/);

    // Re-enrollment: a new TPM key, the PKIData signed by key1 with cert1 included.
    const key2 = await s.ks.createKey('cred-2', 'ecc-p256');
    const csr2 = (await buildCsr({ subject: SUBJECT, signer: s.ks.signer(key2), san: { dns: ['dev-0001.devices.example'] } })).der;
    const current = { key: key1, certPem: certificateToPem(r1.cert), chainPem: r1.chain.map((c) => certificateToPem(c)) };
    const r2 = await cmc.enroll({ operation: 'reenroll', csr: csr2, current });
    assert.is(r2.kind, 'issued');
    assert.is(s.cmcLab.issued[1]!.operation, 'reenroll');
    assert.match(s.cmcLab.issued[1]!.authenticatedAs, /^cmc-signer:lab:.*CN=dev-0001/);
    if (r2.kind === 'issued') assert.is.not(new X509Certificate(r2.cert).serialNumber, cert1.serialNumber);

    // A re-enrollment whose CSR subject differs from the signing credential: CMC failed/badIdentity, typed.
    const csr3 = (await buildCsr({ subject: 'CN=someone-else,O=enrolld demo', signer: s.ks.signer(key2) })).der;
    await cmc.enroll({ operation: 'reenroll', csr: csr3, current }).then(
      () => assert.unreachable(),
      (e) => assert.ok(e instanceof CmcFailedError && e.failInfo === 'badIdentity', String(e)),
    );
    assert.is(s.cmcLab.issued.length, 2);
    assert.is((await s.ks.listHandles()).length, 0, 'no transient object left in the TPM');
  } finally {
    await teardown(s);
  }
});

test('pending → queryPending with the pendToken → issued', async () => {
  const s = await setup({ pending: { approveAfterPolls: 2, retryAfterSeconds: 5 } });
  try {
    const cmc = new CmcEnrollment(s.options);
    const key = await s.ks.createKey('cred-p', 'ecc-p256');
    const csr = (await buildCsr({ subject: SUBJECT, signer: s.ks.signer(key) })).der;
    const p1 = await cmc.enroll({ operation: 'enroll', csr });
    assert.is(p1.kind, 'pending');
    assert.ok(p1.kind === 'pending' && p1.retryAfterSeconds >= 4 && p1.retryAfterSeconds <= 6, JSON.stringify(p1));
    const rec = [...(cmc.pending as unknown as { records: Map<string, { transactionId: string; pendToken: string }> }).records.values()][0]!;
    assert.ok(rec.pendToken.length > 0);
    const p2 = await cmc.enroll({ operation: 'enroll', csr });
    assert.is(p2.kind, 'pending');
    assert.is(s.cmcLab.pending.size, 1);
    const r = await cmc.enroll({ operation: 'enroll', csr });
    assert.is(r.kind, 'issued');
    assert.is(s.cmcLab.issued.length, 1);
    assert.is(s.cmcLab.issued[0]!.transactionId.toString(), rec.transactionId, 'the same transaction throughout');
    assert.is(s.cmcLab.pending.size, 0);
    assert.equal(s.cmcLab.requests.map((q) => `${q.query ? 'query' : 'request'}:${q.status}`), ['request:pending', 'query:pending', 'query:success']);
  } finally {
    await teardown(s);
  }
});

test('indirect POP for a TPM decryption key: popRequired + encryptedPOP → TPM2_RSA_Decrypt → decryptedPOP → issued', async () => {
  const s = await setup();
  try {
    const cmc = new CmcEnrollment(s.options);
    const ke = await s.ks.createDecryptionKey('ke-1', 'rsa-2048');
    const csr = buildNoSignatureCsr({ CN: 'dev-0001 key establishment', O: 'enrolld demo' }, ke.spki);
    // The TPM key really cannot sign its own request.
    await s.ks.signDigest(ke, new Uint8Array(32)).then(() => assert.unreachable(), () => undefined);
    let decrypts = 0;
    const r = await cmc.enrollDecryptionKey({
      operation: 'enroll',
      csr,
      decrypt: async (ct) => {
        decrypts++;
        return s.ks.decrypt(ke, ct);
      },
    });
    assert.is(r.kind, 'issued');
    assert.is(decrypts, 1, 'the envelope was opened inside the TPM once');
    if (r.kind === 'issued') {
      const cert = new X509Certificate(r.cert);
      assert.ok(cert.publicKey.export({ format: 'der', type: 'spki' }).equals(Buffer.from(ke.spki)));
    }
    assert.equal(s.cmcLab.requests.map((q) => q.status), ['popRequired', 'success']);
    assert.is(s.cmcLab.requests[0]!.transactionId, s.cmcLab.requests[1]!.transactionId, 'one transaction');
    assert.is(s.cmcLab.popChallenges.size, 0);

    // Without the private key (another TPM key decrypts): the device cannot answer; nothing is issued.
    const other = await s.ks.createDecryptionKey('ke-2', 'rsa-2048');
    const ke3 = await s.ks.createDecryptionKey('ke-3', 'rsa-2048');
    const csr3 = buildNoSignatureCsr({ CN: 'dev-0001 ke 3', O: 'enrolld demo' }, ke3.spki);
    await cmc.enrollDecryptionKey({ operation: 'enroll', csr: csr3, decrypt: (ct) => s.ks.decrypt(other, ct) }).then(
      () => assert.unreachable(),
      (e) => assert.ok(e instanceof CmcProtocolError || /RSA_Decrypt/.test(String(e)), String(e)),
    );
    assert.is(s.cmcLab.issued.length, 1);

    // RFC 10002 Appendix C.1: the NoSignatureValue "SHOULD be ignored" — a request whose value is not SHA-1 of the
    // request info (here its last byte flipped) still gets the indirect POP and its certificate.
    const ke4 = await s.ks.createDecryptionKey('ke-4', 'rsa-2048');
    const csr4 = buildNoSignatureCsr({ CN: 'dev-0001 ke 4', O: 'enrolld demo' }, ke4.spki);
    csr4[csr4.length - 1] ^= 0xff;
    const r4 = await cmc.enrollDecryptionKey({ operation: 'enroll', csr: csr4, decrypt: (ct) => s.ks.decrypt(ke4, ct) });
    assert.is(r4.kind, 'issued');
    assert.is(s.cmcLab.issued.length, 2);
    assert.is((await s.ks.listHandles()).length, 0);
  } finally {
    await teardown(s);
  }
});

function memoryState(): StateAccess & { doc?: AgentState } {
  const s: StateAccess & { doc?: AgentState } = {
    async load() {
      return s.doc ? structuredClone(s.doc) : undefined;
    },
    async save(doc) {
      s.doc = structuredClone(doc);
    },
  };
  return s;
}

test('the shared Enroller drives CmcEnrollment: enroll, then renew (TPM keys, lab over TLS)', async () => {
  const s = await setup();
  try {
    const clock = new ManualClock(new Date());
    const log = memoryLogger('info');
    const state = memoryState();
    const anchors = [s.env.lab.ca.root.der];
    const enroller = new Enroller({
      clock,
      log,
      keystore: s.ks,
      protocol: new CmcEnrollment({ ...s.options, now: () => clock.now() }),
      state,
      buildCsr: async (_key: KeyRecord, signer) => (await buildCsr({ subject: SUBJECT, signer })).der,
      verifyIssued: async (cert, chain, at) => {
        await validateChain({ leaf: cert, intermediates: chain, trustAnchors: anchors, at });
      },
      policy: { keyAlgorithm: 'ecc-p256', renewFraction: 2 / 3, backoffMinSeconds: 60, backoffMaxSeconds: 3600 },
      random: () => 0.5,
    });
    const first = await enroller.step();
    assert.is(first.action, 'issued', log.lines.join('\n'));
    const second = await enroller.step({ force: true });
    assert.is(second.action, 'issued', log.lines.join('\n'));
    assert.equal(s.cmcLab.issued.map((r) => r.operation), ['enroll', 'reenroll']);
    assert.is.not(second.state.credential!.serial, first.state.credential!.serial);
    assert.is.not(second.state.credential!.key.id, first.state.credential!.key.id);
    void pemEncode;
  } finally {
    await teardown(s);
  }
});

test.run();
