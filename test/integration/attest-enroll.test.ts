// CSR attestation end to end: an AK provisioned at "manufacture" (swtpm + the lab attestation CA), the agent
// adding TPM2_Certify evidence with a fresh nonce to its CSRs, and the lab verifying it on simpleenroll and
// simplereenroll — plus one refusal per broken input, each with its own reason.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as pkijs from 'pkijs';
import { composeAgent, type AgentParts } from '../../agent/cli/compose.js';
import { memoryLogger } from '../../agent/util/log.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { pemEncode } from '../../agent/pki/pem.js';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import type { KeyRecord } from '../../agent/keystore/keystore.js';
import { buildAttestedEvidence, buildCertifyEvidence, CERTIFY_NONCE_REQUEST, tpmtPublicOf } from '../../agent/attest/evidence.js';
import { akRecordFromJson, loadProvisionedAk, type ProvisionedAk } from '../../agent/attest/provision.js';
import { AttestationBundle } from '../../agent/pki/asn1/evidence-bundle.js';
import { AttestationStatement } from '../../agent/pki/asn1/evidence-statement.js';
import { buildAttestationAttribute } from '../../agent/pki/asn1/evidence-attribute.js';
import { TcgAttestCertify } from '../../agent/pki/asn1/tcg-attest-certify.js';
import { createAttestationCa, labAkCertifier } from '../../deploy/lab/attestation.js';
import type { LabCa } from '../../deploy/lab/ca.js';
import type { LabServerOptions } from '../../deploy/lab/server.js';
import { marshalPublic2B, eccP256SigningTemplate } from '../../agent/tpm2/public.js';
import type { ReceivedNonce } from '../../agent/attest/nonce.js';
import { startAgentEnv, type AgentEnv } from '../harness/agent-env.js';
import { estRefusal, startAttestedAgent } from '../harness/attested-agent.js';

interface Ctx {
  env: AgentEnv;
  ks: TpmKeyStore;
  agent: AgentParts;
  ak: ProvisionedAk;
  attCa: LabCa;
  /** Lab clock offset in ms. */
  clock: { offsetMs: number };
}

async function start(lab: LabServerOptions = {}): Promise<Ctx> {
  const clock = { offsetMs: 0 };
  return { ...(await startAttestedAgent({ ...lab, now: () => new Date(Date.now() + clock.offsetMs) })), clock };
}

async function stop(c: Ctx): Promise<void> {
  await c.agent.close();
  await c.env.stop();
}

/** A CSR for `csrKey` carrying `attribute` (or none). */
async function csrFor(c: Ctx, csrKey: KeyRecord, attribute?: pkijs.Attribute): Promise<Uint8Array> {
  return (await buildCsr({ subject: 'CN=dev-0001,O=enrolld demo', signer: c.ks.signer(csrKey), ...(attribute ? { attributes: [attribute] } : {}) })).der;
}

/** Posts a CSR to /simpleenroll, expecting a refusal; returns the lab's text. */
const refused = (c: Ctx, csr: Uint8Array, status: number): Promise<string> => estRefusal(c.agent.protocol.enroll({ operation: 'enroll', csr }), status);

async function freshNonce(c: Ctx): Promise<Uint8Array> {
  return (await c.agent.protocol.nonce!(CERTIFY_NONCE_REQUEST)).nonce;
}

test('provisioning writes the AK record (0600) and chain; attested enroll and re-enroll succeed', async () => {
  const c = await start();
  try {
    const { akKeyFile, akCertFile } = c.env.config.attestation;
    assert.is(statSync(akKeyFile!).mode & 0o777, 0o600);
    const rec = akRecordFromJson(readFileSync(akKeyFile!, 'utf8'));
    assert.equal(rec.spki, c.ak.ak.spki);
    const loaded = await loadProvisionedAk(akKeyFile!, akCertFile!);
    assert.is(loaded.chain.length, 2);
    const akCert = new (await import('node:crypto')).X509Certificate(Buffer.from(loaded.chain[0]!));
    assert.match(akCert.toLegacyObject().ext_key_usage?.join(',') ?? '', /2\.23\.133\.8\.3/);

    const first = await c.agent.enroller.step();
    assert.is(first.action, 'issued', JSON.stringify(c.env.lab.attestation.events));
    const second = await c.agent.enroller.step({ force: true });
    assert.is(second.action, 'issued', JSON.stringify(c.env.lab.attestation.events));
    assert.equal(c.env.lab.issued.map((r) => r.operation), ['simpleenroll', 'simplereenroll']);
    assert.equal(c.env.lab.attestation.events, [{ ok: true }, { ok: true }]);
    assert.is((await c.ks.listHandles()).length, 0, 'no transient object left in the TPM');
  } finally {
    await stop(c);
  }
});

test('the attested CSR verifies with openssl; the attribute parses with asn1parse; its size', async () => {
  const c = await start();
  try {
    const key = await c.ks.createKey('size-probe', 'ecc-p256');
    const ev = await buildAttestedEvidence({ keystore: c.ks, key, ak: c.ak.ak, akChain: c.ak.chain, nonces: { nonce: (r) => c.agent.protocol.nonce!(r) }, now: () => new Date() });
    const plain = await csrFor(c, key);
    const attested = await csrFor(c, key, ev.attribute);
    const attrDer = new Uint8Array(ev.attribute.toSchema().toBER(false));
    const bundleDer = ev.bundle.toDER();
    console.log(
      `attestation attribute: ${attrDer.byteLength} bytes (bundle ${bundleDer.byteLength}: statement ${ev.statement.toDER().byteLength}, ` +
        `AK chain ${c.ak.chain.reduce((n, d) => n + d.byteLength, 0)}); CSR ${plain.byteLength} → ${attested.byteLength} bytes (+${attested.byteLength - plain.byteLength})`,
    );
    const file = path.join(c.env.dir, 'attested.csr.pem');
    writeFileSync(file, pemEncode('CERTIFICATE REQUEST', attested));
    const out = execFileSync('sh', ['-c', `openssl req -in '${file}' -noout -verify 2>&1`]).toString();
    assert.match(out, /verify OK/i);
    assert.not.match(out, /fail/i);
    const derFile = path.join(c.env.dir, 'attr.der');
    writeFileSync(derFile, attrDer);
    const parsed = execFileSync('sh', ['-c', `openssl asn1parse -inform DER -i -in '${derFile}' 2>&1; echo "rc=$?"`]).toString();
    assert.match(parsed, /rc=0\s*$/, parsed);
    assert.not.match(parsed, /error/i, parsed);
    assert.match(parsed, /1\.2\.840\.113549\.1\.9\.16\.2\.59|id-aa/i, parsed);
    assert.match(parsed, /2\.23\.133\.20\.1/, parsed);
    // nonce is spent only when the lab sees it: enroll with it once
    const r = await c.agent.protocol.enroll({ operation: 'enroll', csr: attested });
    assert.is(r.kind, 'issued');
  } finally {
    await stop(c);
  }
});

test('each broken input is refused with its own reason', async () => {
  const c = await start();
  try {
    const key = await c.ks.createKey('k1', 'ecc-p256');
    const other = await c.ks.createKey('k2', 'ecc-p256');
    const evidence = async (certified: KeyRecord, nonce: Uint8Array, akChain = c.ak.chain) =>
      buildCertifyEvidence({ keystore: c.ks, key: certified, ak: c.ak.ak, akChain, nonce });

    // missing evidence
    assert.match(await refused(c, await csrFor(c, key), 403), /^attest\.missing:/);

    // a nonce the lab never issued
    assert.match(await refused(c, await csrFor(c, key, (await evidence(key, randomBytes(32))).attribute), 403), /^attest\.nonce-unknown:/);

    // replayed nonce: first use succeeds, the same nonce for another key is refused
    const n1 = await freshNonce(c);
    assert.is((await c.agent.protocol.enroll({ operation: 'enroll', csr: await csrFor(c, key, (await evidence(key, n1)).attribute) })).kind, 'issued');
    assert.match(await refused(c, await csrFor(c, other, (await evidence(other, n1)).attribute), 403), /^attest\.nonce-replayed:/);

    // expired nonce (lab clock moves past the 120 s TTL)
    const n2 = await freshNonce(c);
    const expiredCsr = await csrFor(c, key, (await evidence(key, n2)).attribute);
    c.clock.offsetMs = 121_000;
    assert.match(await refused(c, expiredCsr, 403), /^attest\.nonce-expired:/);
    c.clock.offsetMs = 0;

    // evidence for another key: TPM2_Certify of `other`, CSR for `key`
    assert.match(await refused(c, await csrFor(c, key, (await evidence(other, await freshNonce(c))).attribute), 403), /^attest\.wrong-key:/);

    // AK certificate from a CA the lab does not trust
    const rogue = await createAttestationCa();
    const rogueChain = await labAkCertifier(rogue)({ spki: c.ak.ak.spki, tpmtPublic: tpmtPublicOf(c.ak.ak), deviceId: 'dev-0001' });
    assert.match(await refused(c, await csrFor(c, key, (await evidence(key, await freshNonce(c), rogueChain)).attribute), 403), /^attest\.ak-untrusted:/);

    // tampered tpmSAttest (one bit of the clock info)
    const good = await evidence(key, await freshNonce(c));
    const tampered = new Uint8Array(good.statement.tpmSAttest);
    tampered[tampered.byteLength - 80]! ^= 0x01;
    const tStmt = new TcgAttestCertify({ tpmSAttest: tampered, signature: good.statement.signature, tpmTPublic: good.statement.tpmTPublic! });
    const tBundle = new AttestationBundle({ attestations: [tStmt.toAttestationStatement()], certs: good.bundle.certs! });
    assert.match(await refused(c, await csrFor(c, key, buildAttestationAttribute(tBundle)), 403), /^attest\.bad-signature:/);

    // unknown statement type
    const ev2 = await evidence(key, await freshNonce(c));
    const unknown = new AttestationStatement({ type: '1.3.6.1.4.1.99999.1', stmt: ev2.statement.toSchema() });
    const uBundle = new AttestationBundle({ attestations: [unknown], certs: ev2.bundle.certs! });
    assert.match(await refused(c, await csrFor(c, key, buildAttestationAttribute(uBundle)), 400), /^attest\.unknown-type:/);

    // a statement that does not decode
    const bad = new AttestationStatement({ type: '2.23.133.20.1', stmt: new Uint8Array([0x04, 0x01, 0x00]) });
    const bBundle = new AttestationBundle({ attestations: [bad], certs: ev2.bundle.certs! });
    assert.match(await refused(c, await csrFor(c, key, buildAttestationAttribute(bBundle)), 400), /^attest\.bad-structure:/);

    const reasons = c.env.lab.attestation.events.map((e) => e.reason ?? 'ok');
    assert.equal(reasons, [
      'attest.missing',
      'attest.nonce-unknown',
      'ok',
      'attest.nonce-replayed',
      'attest.nonce-expired',
      'attest.wrong-key',
      'attest.ak-untrusted',
      'attest.bad-signature',
      'attest.unknown-type',
      'attest.bad-structure',
    ]);
    assert.is(c.env.lab.issued.length, 1);
  } finally {
    await stop(c);
  }
});

test('a 202-pending attested request is resent as is: evidence checked once, nonce not counted as replayed', async () => {
  const c = await start({ manualApproval: { approveAfterPolls: 1, retryAfterSeconds: 1 } });
  try {
    const first = await c.agent.enroller.step();
    assert.is(first.action, 'pending');
    const second = await c.agent.enroller.step({ force: true });
    assert.is(second.action, 'issued', JSON.stringify(c.env.lab.attestation.events));
    assert.equal(c.env.lab.attestation.events, [{ ok: true }]);
  } finally {
    await stop(c);
  }
});

test('nonce flow: a nonce that would expire before use is refetched; certify runs once with the usable one', async () => {
  const t0 = new Date('2026-11-22T10:00:00Z');
  const served: ReceivedNonce[] = [
    { nonce: new Uint8Array(32).fill(1), freshnessRequired: true, receivedAt: t0, expiry: new Date(t0.getTime() + 5_000), expirySeconds: 5 },
    { nonce: new Uint8Array(32).fill(2), freshnessRequired: true, receivedAt: t0, expiry: new Date(t0.getTime() + 300_000), expirySeconds: 300 },
  ];
  const requests: unknown[] = [];
  const certified: Uint8Array[] = [];
  const pub = Buffer.from(marshalPublic2B(eccP256SigningTemplate())).toString('base64');
  const fakeKey: KeyRecord = { id: 'k', algorithm: 'ecc-p256', spki: new Uint8Array(), location: { parent: 0x81000001, public: pub, private: '' } };
  const attCa = await createAttestationCa();
  const ev = await buildAttestedEvidence({
    keystore: {
      async certify(_k, _a, qd) {
        certified.push(qd);
        return { attest: new Uint8Array([0xff, 0x54, 0x43, 0x47]), signature: new Uint8Array([0, 0x10]), signatureDer: new Uint8Array() };
      },
    },
    key: fakeKey,
    ak: fakeKey,
    akChain: [attCa.issuing.der],
    nonces: { async nonce(req) { requests.push(req); return served.shift()!; } },
    now: () => t0,
  });
  assert.equal(requests, [{ len: 32, type: '2.23.133.20.1' }, { len: 32, type: '2.23.133.20.1' }]);
  assert.is(certified.length, 1);
  assert.equal([...certified[0]!.slice(0, 2)], [2, 2]);
  assert.equal([...ev.nonce.nonce.slice(0, 1)], [2]);
  assert.equal(ev.statement.tpmTPublic, tpmtPublicOf(fakeKey));
  assert.is(ev.bundle.x509Certificates().length, 1);
});

test('without attestation CA the lab still serves /nonce and issues unattested CSRs', async () => {
  const env = await startAgentEnv({ lab: { attestation: {} } });
  const agent = await composeAgent(env.config, { log: memoryLogger('warn') });
  try {
    const n = await agent.protocol.nonce!(CERTIFY_NONCE_REQUEST);
    assert.is(n.nonce.byteLength, 32);
    assert.is(n.expirySeconds, 300);
    assert.is((await agent.enroller.step()).action, 'issued');
  } finally {
    await agent.close();
    await env.stop();
  }
});

test.run();
