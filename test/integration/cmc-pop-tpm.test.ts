// Indirect POP (RFC 5272 §6.7, RFC 10002 §6.7 / Appendix B.4) end to end with the keys in swtpm and the lab over
// TLS: every challenge form the lab issues — ktri RSAES-OAEP / RSAES-PKCS1-v1_5 (TPM2_RSA_Decrypt OAEP / RSAES),
// KEMRecipientInfo RSA-KEM (TPM2_RSA_Decrypt with the NULL scheme), kari ECDH (TPM2_ECDH_ZGen), and the
// AuthEnvelopedData (AES-GCM) that RFC 10002 §6.7 also allows — answered with the
// POP algorithm it names (HMAC-SHA256, HMAC-SHA1, KmacWithSHAKE128), the lab's EnvelopedData and the agent's
// decryptedPOP request decoded by pyasn1. Bad input: a KEM ciphertext of the wrong size, an unknown POP algorithm, a
// wrong witness (the agent aborts with popFailed/badAlg, typed error, nothing issued), and a bad KMAC from the client
// (the lab answers failed/popFailed, nothing issued).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from 'node:crypto';
import type { TpmKeyStore } from '../../agent/keystore/tpm.js';
import type { KeyRecord } from '../../agent/keystore/keystore.js';
import {
  CmcEnrollment, CmcFailedError, CmcPopError, DecryptedPOP, EncryptedPOP, OID_CMC, REQUEST_BODY_PART_ID, TaggedAttribute, buildNoSignatureCsr,
  computeThePOP, createCmcRequest, newSenderNonce, openPopEnvelope, readCmcResponse, type CmcEnrollmentOptions,
} from '../../agent/protocols/cmc/index.js';
import { createHttpsTransport } from '../../agent/protocols/http/transport.js';
import { encodeBase64Body, decodeEstBody } from '../../agent/protocols/est/base64-body.js';
import type { CmcLab } from '../../deploy/lab/cmc.js';
import type { PopChallengeOptions } from '../../deploy/lab/cmc-pop.js';
import type { AgentEnv } from '../harness/agent-env.js';
import { startCmcIdevidLab } from '../harness/tpm-idevid.js';
import { pyDecode, requirePyasn1 } from '../harness/pydecode.js';

let env: AgentEnv;
let ks: TpmKeyStore;
let lab: CmcLab;
let options: CmcEnrollmentOptions;

test.before(async () => {
  requirePyasn1();
  ({ env, ks, lab, options } = await startCmcIdevidLab());
});

test.after(async () => {
  await ks?.close().catch(() => undefined);
  await env?.stop();
});

/** The TPM operations, counted. */
function tpmOps(key: KeyRecord) {
  const calls: string[] = [];
  return {
    calls,
    decrypt: async (ct: Uint8Array, s: Parameters<TpmKeyStore['decrypt']>[2] & object) => {
      calls.push(s.scheme === 'oaep' ? `oaep-${s.hash}` : s.scheme);
      return ks.decrypt(key, ct, s);
    },
    ecdhZGen: async (p: { x: Uint8Array; y: Uint8Array }) => {
      calls.push('ecdh');
      return ks.ecdhZGen(key, p);
    },
  };
}

const FORMS: Array<{ name: string; key: 'rsa-2048' | 'ecc-p256'; pop: PopChallengeOptions; tpm: string; popOid: string; riType: string }> = [
  { name: 'ktri RSAES-OAEP-SHA-256 + HMAC-SHA256', key: 'rsa-2048', pop: {}, tpm: 'oaep-sha256', popOid: '1.2.840.113549.2.9', riType: 'ktri' },
  { name: 'ktri RSAES-OAEP-SHA-1 + AES-128-CBC + HMAC-SHA1', key: 'rsa-2048', pop: { recipient: 'ktri-oaep-sha1', content: 'aes128-cbc', pop: 'hmac-sha1' }, tpm: 'oaep-sha1', popOid: '1.2.840.113549.2.7', riType: 'ktri' },
  { name: 'ktri RSAES-PKCS1-v1_5 + HMAC-SHA256', key: 'rsa-2048', pop: { recipient: 'ktri-rsaes-pkcs1' }, tpm: 'rsaes', popOid: '1.2.840.113549.2.9', riType: 'ktri' },
  { name: 'KEMRecipientInfo RSA-KEM (KDF3) + KmacWithSHAKE128/SHAKE128', key: 'rsa-2048', pop: { recipient: 'kem-rsa-kdf3', content: 'aes128-cbc', pop: 'kmac128' }, tpm: 'raw', popOid: '2.16.840.1.101.3.4.2.19', riType: 'ori' },
  { name: 'KEMRecipientInfo RSA-KEM (HKDF-SHA256) + KmacWithSHAKE128, 80-byte y', key: 'rsa-2048', pop: { recipient: 'kem-rsa-hkdf', pop: 'kmac128', yBytes: 80 }, tpm: 'raw', popOid: '2.16.840.1.101.3.4.2.19', riType: 'ori' },
  { name: 'kari ECDH P-256 + KmacWithSHAKE128', key: 'ecc-p256', pop: { pop: 'kmac128' }, tpm: 'ecdh', popOid: '2.16.840.1.101.3.4.2.19', riType: 'kari' },
  // RFC 10002 §6.7 (rfc5272bis-11): the cms may be an AuthEnvelopedData (RFC 5083) — AES-GCM, RFC 5084
  { name: 'AuthEnvelopedData: ktri RSAES-OAEP-SHA-256 + AES-256-GCM + HMAC-SHA256', key: 'rsa-2048', pop: { content: 'aes256-gcm' }, tpm: 'oaep-sha256', popOid: '1.2.840.113549.2.9', riType: 'ktri' },
  { name: 'AuthEnvelopedData: kari ECDH P-256 + AES-128-GCM + KmacWithSHAKE128', key: 'ecc-p256', pop: { content: 'aes128-gcm', pop: 'kmac128' }, tpm: 'ecdh', popOid: '2.16.840.1.101.3.4.2.19', riType: 'kari' },
];

test('every challenge form answered from the TPM; the lab EnvelopedData and the agent decryptedPOP decoded by pyasn1', async () => {
  let n = 0;
  for (const f of FORMS) {
    lab.options.pop = f.pop;
    const before = { issued: lab.issued.length, requests: lab.requests.length };
    const ke = await ks.createDecryptionKey(`ke-form-${n++}`, f.key);
    const csr = buildNoSignatureCsr({ CN: `dev-0001 ke ${n}`, O: 'enrolld demo' }, ke.spki);
    const ops = tpmOps(ke);
    const cmc = new CmcEnrollment(options);
    const r = await cmc.enrollDecryptionKey({ operation: 'enroll', csr, decrypt: ops.decrypt, ecdhZGen: ops.ecdhZGen });
    assert.is(r.kind, 'issued', f.name);
    if (r.kind === 'issued') assert.ok(new X509Certificate(r.cert).publicKey.export({ format: 'der', type: 'spki' }).equals(Buffer.from(ke.spki)), f.name);
    assert.equal(ops.calls, [f.tpm], `${f.name}: one TPM operation of the right scheme`);
    assert.equal(lab.requests.slice(before.requests).map((q) => q.status), ['popRequired', 'success'], f.name);
    assert.is(lab.issued.length, before.issued + 1);
    // The lab's EnvelopedData, decoded independently.
    const envJson = pyDecode('decode_envelope.py', lab.popEnvelopes[lab.popEnvelopes.length - 1]!);
    assert.is(envJson.recipientInfos[0].type, f.riType, f.name);
    assert.is(envJson.type, f.pop.content?.endsWith('-gcm') ? 'authEnvelopedData' : 'envelopedData', f.name);
    if (f.riType === 'ori') assert.is(envJson.recipientInfos[0].kemri.kemctBytes, 256);
    // The agent's second request: SignedData{PKIData} with encryptedPOP echoed and decryptedPOP (pyasn1 rfc6402).
    const req = pyDecode('decode_cms.py', cmc.lastRequestDer!);
    const text = JSON.stringify(req);
    assert.ok(text.includes(OID_CMC.decryptedPOP) && text.includes(OID_CMC.encryptedPOP), `${f.name}: controls in ${text.slice(0, 300)}`);
    assert.ok(text.includes(f.popOid), `${f.name}: thePOPAlgID ${f.popOid}`);
  }
  assert.is(lab.popChallenges.size, 0);
  assert.is((await ks.listHandles()).length, 0, 'no transient object left in the TPM');
});

test('bad challenges: KEM ciphertext of the wrong size, unknown POP algorithm, wrong witness → CmcPopError, an abort with popFailed/badAlg, nothing issued', async () => {
  const cases: Array<{ pop: PopChallengeOptions; failure: string; failInfo: string; tpmCalls: number }> = [
    { pop: { recipient: 'kem-rsa-kdf3', tamper: 'kem-ciphertext-size' }, failure: 'kem-ciphertext', failInfo: 'popFailed', tpmCalls: 0 },
    { pop: { recipient: 'kem-rsa-kdf3', tamper: 'kem-unknown' }, failure: 'unsupported-algorithm', failInfo: 'badAlg', tpmCalls: 0 },
    { pop: { tamper: 'pop-unknown' }, failure: 'unsupported-algorithm', failInfo: 'badAlg', tpmCalls: 1 },
    { pop: { pop: 'kmac128', tamper: 'witness' }, failure: 'witness', failInfo: 'popFailed', tpmCalls: 1 },
  ];
  let n = 0;
  for (const c of cases) {
    lab.options.pop = c.pop;
    const issued = lab.issued.length;
    const aborts = lab.popAborts.length;
    const ke = await ks.createDecryptionKey(`ke-bad-${n++}`, 'rsa-2048');
    const csr = buildNoSignatureCsr({ CN: `dev-0001 bad ${n}`, O: 'enrolld demo' }, ke.spki);
    const ops = tpmOps(ke);
    const e = await new CmcEnrollment(options).enrollDecryptionKey({ operation: 'enroll', csr, decrypt: ops.decrypt }).catch((x: unknown) => x);
    assert.ok(e instanceof CmcPopError && e.failure === c.failure, `${JSON.stringify(c.pop)}: ${String(e)}`);
    assert.is(ops.calls.length, c.tpmCalls, `${JSON.stringify(c.pop)}: TPM calls ${ops.calls.join(',')}`);
    assert.is(lab.issued.length, issued, 'nothing issued');
    assert.equal(lab.popAborts.slice(aborts).map((a) => a.failInfo), [c.failInfo], 'the client aborted as RFC 5272 §6.7 step 3 says');
  }
  assert.is(lab.popChallenges.size, 0, 'every challenge ended by the abort');
});

test('a bad KMAC from the client: the lab answers failed/popFailed and issues nothing', async () => {
  lab.options.pop = { recipient: 'kem-rsa-kdf3', pop: 'kmac128' };
  const ke = await ks.createDecryptionKey('ke-badmac', 'rsa-2048');
  const csr = buildNoSignatureCsr({ CN: 'dev-0001 bad kmac', O: 'enrolld demo' }, ke.spki);
  const cmc = new CmcEnrollment(options);
  const challenge = await cmc.enroll({ operation: 'enroll', csr }).catch((x: unknown) => x);
  assert.ok(challenge instanceof CmcFailedError && challenge.status === 'popRequired', String(challenge));
  const ep = EncryptedPOP.fromSchema((challenge as CmcFailedError).controls.find((c) => c.attrType === OID_CMC.encryptedPOP)!.single('encryptedPOP'));
  const y = await openPopEnvelope(ep.cms, { spki: ke.spki, bodyPartID: ep.request.bodyPartID, decrypt: (ct, s) => ks.decrypt(ke, ct, s) });
  const thePOP = computeThePOP({ oid: ep.thePOPAlgID }, y, csr);
  thePOP[0] ^= 0x01;
  const transactionId = cmc.lastTransactionId!;
  const senderNonce = newSenderNonce();
  const der = await createCmcRequest({
    transactionId,
    senderNonce,
    body: { csr },
    extraControls: [
      new TaggedAttribute({ bodyPartID: 10, attrType: OID_CMC.encryptedPOP, attrValues: [ep.toSchema()] }),
      new TaggedAttribute({ bodyPartID: 11, attrType: OID_CMC.decryptedPOP, attrValues: [new DecryptedPOP({ bodyPartID: REQUEST_BODY_PART_ID, thePOPAlgID: ep.thePOPAlgID, thePOP }).toSchema()] }),
    ],
    signer: options.bootstrap!.signer,
    certificate: options.bootstrap!.certificate,
    chain: options.bootstrap!.chain!,
  });
  const issued = lab.issued.length;
  const res = await createHttpsTransport({ trustAnchors: [env.lab.trustAnchorPem] }).request({
    method: 'POST',
    url: new URL('/.well-known/est/fullcmc', env.lab.url),
    headers: { 'content-type': 'application/pkcs7-mime; smime-type=CMC-request', 'content-transfer-encoding': 'base64' },
    body: encodeBase64Body(der),
  });
  assert.is(res.status, 200);
  const e = await readCmcResponse(decodeEstBody(res.body, 'CMC response'), {
    transactionId,
    senderNonce,
    bodyPartID: REQUEST_BODY_PART_ID,
    spki: ke.spki,
    trustAnchors: [env.lab.ca.root.der],
    at: new Date(),
  }).catch((x: unknown) => x);
  assert.ok(e instanceof CmcFailedError && e.status === 'failed' && e.failInfo === 'popFailed', String(e));
  assert.is(lab.issued.length, issued, 'nothing issued');
  assert.is(lab.popChallenges.size, 0, 'the challenge is spent');
});

test.run();
