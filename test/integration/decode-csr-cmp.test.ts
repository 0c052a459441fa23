// Independent decoding of what the agent puts on the wire for CSR attestation and CMP, and of CMP/nonce structures
// built outside this repository fed to the agent's parsers. Decoders: pyasn1-modules (rfc2986, rfc4210, rfc2511,
// rfc5280; the draft structures written from the draft texts in test/harness/pyasn1/drafts.py; TPM structures
// parsed by hand in tpm2.py), openssl (req -verify) and tpm2-tools (tpm2_print). One swtpm and one lab per file.
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { buildAttestedEvidence, buildCertifyEvidence, CERTIFY_NONCE_REQUEST } from '../../agent/attest/evidence.js';
import { provisionAttestationKey, type ProvisionedAk } from '../../agent/attest/provision.js';
import { CmpEnrollment } from '../../agent/protocols/cmp/enrollment.js';
import { PKIMessage } from '../../agent/protocols/cmp/asn1/pki-message.js';
import { NonceResponse } from '../../agent/pki/asn1/nonce-response.js';
import { NonceRequest } from '../../agent/pki/asn1/nonce-request.js';
import { NonceRequestTypeInfo } from '../../agent/pki/asn1/nonce-request-type-info.js';
import { OID_ID_AA_ATTESTATION, OID_TCG_ATTEST_TPM_CERTIFY, OID_ID_IT_NONCE_REQUEST, OID_ID_IT_NONCE_RESPONSE } from '../../agent/attest/constants.js';
import { createAttestationCa, labAkCertifier } from '../../deploy/lab/attestation.js';
import { createLabServer, type LabServer } from '../../deploy/lab/server.js';
import { registerCmpHandlers, CMP_WELL_KNOWN_PATH } from '../../deploy/lab/cmp.js';
import { startSwtpm, type Swtpm } from '../harness/swtpm.js';
import { hex, opensslText, pyDecode, pyDecodeMany, pyEncode, requirePyasn1, tapRouter, type Tapped } from '../harness/pydecode.js';
import type { KeyRecord } from '../../agent/keystore/keystore.js';
import { certificateToPem } from '../../agent/pki/cert.js';

const SECRET = 'lab-cmp-secret';
let tpm: Swtpm;
let ks: TpmKeyStore;
let lab: LabServer;
let ak: ProvisionedAk;
let dir: string;
let wire: Tapped[];

test.before(async () => {
  requirePyasn1();
  dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-decode-cmp-'));
  const attCa = await createAttestationCa();
  lab = await createLabServer({ attestation: { trustAnchors: [attCa.root.der], nonce: { ttlSeconds: 120 } } });
  registerCmpHandlers(lab.router, { ca: lab.ca, attestation: lab.attestation, reference: 'dev-0001', secret: new TextEncoder().encode(SECRET) });
  wire = tapRouter(lab.router);
  tpm = await startSwtpm();
  ks = await TpmKeyStore.open({ tcti: tpm.tcti });
  ak = await provisionAttestationKey({ keystore: ks, certifier: labAkCertifier(attCa), deviceId: 'dev-0001', akKeyFile: path.join(dir, 'ak.json'), akCertFile: path.join(dir, 'ak.pem') });
});

test.after(async () => {
  await ks?.close();
  await tpm?.stop();
  await lab?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const spkiPoint = (key: KeyRecord): string => hex(key.spki).slice(-130); // uncompressed P-256 point 04||x||y

/** Checks a decoded Tcg-csr-tpm-certify statement against the key, the AK and the nonce it must carry. */
function assertCertifyStatement(stmt: any, key: KeyRecord, nonce: Uint8Array): void {
  assert.is(stmt.attest.magic, 'ff544347', 'TPM_GENERATED_VALUE');
  assert.is(stmt.attest.type, 'ATTEST_CERTIFY');
  assert.is(stmt.attest.extraData, hex(nonce), 'qualifyingData = the freshness nonce');
  assert.is(stmt.public.type, 'ECC');
  assert.is(stmt.public.parameters.curveID, 'NIST_P256');
  assert.is(`04${stmt.public.unique.x}${stmt.public.unique.y}`, spkiPoint(key), 'tpmTPublic is the CSR key');
  assert.is(stmt.attest.certify.name, stmt.public.name, 'TPMS_CERTIFY_INFO.name = nameAlg || H(tpmTPublic)');
  // restricted bit clear, sign bit set (TPMA_OBJECT bits 16 and 18)
  const attrs = parseInt(stmt.public.objectAttributes, 16);
  assert.ok((attrs & (1 << 18)) !== 0 && (attrs & (1 << 16)) === 0, stmt.public.objectAttributes);
  assert.is(stmt.tpmtSignature.sigAlg, 'ECDSA');
  assert.is(stmt.tpmtSignature.hash, 'SHA256');
}

test('CSR with the attestation attribute: every field decoded by pyasn1 (rfc2986 + the draft ASN.1), openssl and tpm2_print agree', async () => {
  const key = await ks.createKey('csr-att', 'ecc-p256');
  const nonce = new Uint8Array(randomBytes(32));
  const ev = await buildCertifyEvidence({ keystore: ks, key, ak: ak.ak, akChain: ak.chain, nonce });
  const { der } = await buildCsr({ subject: 'CN=dev-0001,O=enrolld', signer: ks.signer(key), san: { dns: ['dev-0001.devices.example'] }, attributes: [ev.attribute] });
  const csr = pyDecode('decode_csr.py', der);
  assert.is(csr.version, 0);
  // RFC 4514 string in, RDNSequence out most general first (decoder prints the encoded order)
  assert.is(csr.subject, 'O=enrolld,CN=dev-0001');
  assert.is(csr.spki.algorithm, '1.2.840.10045.2.1');
  assert.is(csr.spki.parameters, '1.2.840.10045.3.1.7');
  assert.is(csr.spki.publicKey, spkiPoint(key));
  assert.is(csr.signatureAlgorithm.algorithm, '1.2.840.10045.4.3.2');
  assert.not.ok(csr.signatureAlgorithm.parametersHex, 'ecdsa-with-SHA256 has absent parameters (RFC 5758 §3.2)');
  const ext = csr.attributes.find((a: any) => a.type === '1.2.840.113549.1.9.14');
  assert.equal(ext.extensions.find((e: any) => e.extnID === '2.5.29.17').value, [{ dNSName: 'dev-0001.devices.example' }]);
  const att = csr.attributes.filter((a: any) => a.type === OID_ID_AA_ATTESTATION);
  assert.is(att.length, 1, 'COUNTS MAX 1');
  assert.is(att[0].count, 1, 'exactly one AttestationBundle value');
  const bundle = att[0].bundles[0];
  assert.is(bundle.attestations.length, 1);
  assert.is(bundle.attestations[0].type, OID_TCG_ATTEST_TPM_CERTIFY);
  assertCertifyStatement(bundle.attestations[0].stmt, key, nonce);
  // certs: the AK certificate (EKU tcg-kp-AIKCertificate) then its chain, as LimitedCertChoices.certificate
  assert.equal(bundle.certs.map((c: any) => c.der), ak.chain.map((c) => hex(c)));
  const eku = bundle.certs[0].extensions.find((e: any) => e.extnID === '2.5.29.37');
  assert.ok(eku.value.includes('2.23.133.8.3'), JSON.stringify(eku));
  assert.is(bundle.certs[0].spki.publicKey, hex(ak.ak.spki).slice(-130), 'AK certificate certifies the AK');
  // tpmTPublic through tpm2-tools' own unmarshaller (tpm2_print 5.x prints TPMS_ATTEST only for quotes)
  const stmt = bundle.attestations[0].stmt;
  const tpmt = Buffer.from(stmt.tpmTPublic, 'hex');
  const pubFile = path.join(dir, 'public.tpm2b');
  writeFileSync(pubFile, Buffer.concat([Buffer.from([tpmt.length >> 8, tpmt.length & 0xff]), tpmt]));
  const pr = spawnSync('tpm2_print', ['-t', 'TPM2B_PUBLIC', pubFile], { encoding: 'utf8', timeout: 30_000 });
  assert.is(pr.status, 0, pr.stderr);
  assert.match(pr.stdout, /name-alg:\s*\n?\s*value: sha256/, pr.stdout);
  assert.match(pr.stdout, /curve-id:\s*\n?\s*value: NIST p256/, pr.stdout);
  assert.match(pr.stdout, /value: fixedtpm\|fixedparent\|sensitivedataorigin\|userwithauth\|sign\n/, 'a non-restricted signing key');
  assert.match(pr.stdout, new RegExp(`x: ${stmt.public.unique.x}`));
  assert.match(pr.stdout, new RegExp(`y: ${stmt.public.unique.y}`));
  // openssl: the self-signature verifies and the attribute is listed under its OID
  const req = opensslText(['req', '-inform', 'DER', '-in', '{dir}/csr.der', '-verify', '-noout', '-text'], { 'csr.der': der });
  assert.match(req, /1\.2\.840\.113549\.1\.9\.16\.2\.59/);
  assert.match(req, /DNS:dev-0001\.devices\.example/);
  assert.match(req, /Subject: O = enrolld, CN = dev-0001/);
  assert.equal(await ks.listHandles(), []);
});

const decoded = new WeakMap<Tapped, { req: any; res: any; t: Tapped }>();
const cmpMessages = (): Array<{ req: any; res: any; t: Tapped }> => {
  const cmp = wire.filter((t) => t.path === CMP_WELL_KNOWN_PATH);
  const todo = cmp.filter((t) => !decoded.has(t));
  const json = pyDecodeMany('decode_cmp.py', todo.flatMap((t) => [t.request, t.response]), [`--secret=${SECRET}`]);
  todo.forEach((t, i) => decoded.set(t, { t, req: json[2 * i], res: json[2 * i + 1] }));
  return cmp.map((t) => decoded.get(t)!);
};

test('CMP on the wire: genm nonce request/genp response, attested ir, ip, certConf, pkiconf — decoded by pyasn1 rfc4210, MAC recomputed', async () => {
  wire.length = 0;
  const cmp = new CmpEnrollment({ url: `${lab.url}${CMP_WELL_KNOWN_PATH}`, tlsTrustAnchors: [lab.trustAnchorPem], trustAnchors: [lab.ca.root.der], mac: { reference: 'dev-0001', secret: new TextEncoder().encode(SECRET), iterations: 1000 }, keystore: ks });
  const key = await ks.createKey('cmp-att', 'ecc-p256');
  const ev = await buildAttestedEvidence({ keystore: ks, key, ak: ak.ak, akChain: ak.chain, nonces: cmp, now: () => new Date() });
  const { der } = await buildCsr({ subject: 'CN=dev-0001,O=enrolld', signer: ks.signer(key), attributes: [ev.attribute] });
  const r = await cmp.enroll({ operation: 'enroll', csr: der, key });
  assert.is(r.kind, 'issued');
  const msgs = cmpMessages();
  assert.equal(msgs.map((m) => [m.req.body.type, m.res.body.type]), [['genm', 'genp'], ['ir', 'ip'], ['certConf', 'pkiconf']]);
  for (const m of msgs) {
    assert.is(m.t.contentType, 'application/pkixcmp');
    assert.is(m.req.header.pvno, 2, `${m.req.body.type}: pvno cmp2000 (RFC 9480 §2.20: 3 only with a v3 feature such as hashAlg)`);
    assert.is(m.req.header.protectionAlg.algorithm, '1.2.840.113533.7.66.13', 'PasswordBasedMac');
    assert.is(m.req.pbm.iterationCount, 1000);
    assert.is(m.req.protectionOk, true, `${m.req.body.type}: MAC over ProtectedPart verifies with the shared secret`);
    assert.is(m.req.header.senderKID, hex(new TextEncoder().encode('dev-0001')));
    assert.is(m.req.header.senderNonce.length, 32, '128-bit senderNonce (RFC 4210 §5.1.1)');
    assert.is(m.res.header.recipNonce, m.req.header.senderNonce);
  }
  const [nonce, ir, conf] = msgs as [(typeof msgs)[0], (typeof msgs)[0], (typeof msgs)[0]];
  // RFC 9480 §2.20 / freshness-08 §5: genm id-it-nonceRequest { len 32, reqTypeInfo { tcg-attest-tpm-certify } }
  assert.equal(nonce.req.body.itav, [{ infoType: OID_ID_IT_NONCE_REQUEST, nonceRequest: { len: 32, reqTypeInfo: { type: OID_TCG_ATTEST_TPM_CERTIFY } } }]);
  assert.is(nonce.res.body.itav[0].infoType, OID_ID_IT_NONCE_RESPONSE);
  assert.is(nonce.res.body.itav[0].nonceResponse.nonce, hex(ev.nonce.nonce));
  assert.is(nonce.res.body.itav[0].nonceResponse.expiry, 120);
  // the ir continues the transaction of the nonce (same transactionID)
  assert.is(ir.req.header.transactionID, nonce.req.header.transactionID);
  const crm = ir.req.body.certReqMessages[0];
  assert.is(crm.certReqId, 0);
  assert.is(crm.certTemplate.subject, 'O=enrolld,CN=dev-0001');
  assert.is(crm.certTemplate.publicKey.publicKey, spkiPoint(key));
  assert.is(crm.pop.type, 'signature');
  assert.is(crm.pop.algorithmIdentifier, '1.2.840.10045.4.3.2');
  const attExt = crm.certTemplate.extensions.find((e: any) => e.extnID === OID_ID_AA_ATTESTATION);
  assert.ok(attExt, 'id-aa-attestation as a CRMF extension (csr-attestation §4.3)');
  assertCertifyStatement(attExt.attestationBundle.attestations[0].stmt, key, ev.nonce.nonce);
  assert.is(ir.res.body.response[0].status.status, 0);
  assert.is(ir.res.body.response[0].certificate.der, hex(r.kind === 'issued' ? r.cert : new Uint8Array()));
  // certConf: certHash = SHA-256(cert) with hashAlg (RFC 9480 §2.10) → pvno 3
  const cs = conf.req.body.certStatus[0];
  assert.is(cs.certReqId, 0);
  assert.is(cs.certHash, createHash('sha256').update(Buffer.from(ir.res.body.response[0].certificate.der, 'hex')).digest('hex'));
  assert.not.ok(cs.hashAlg, 'no hashAlg with pvno 2 (the certificate signature hash, SHA-256, applies)');
  assert.equal(await ks.listHandles(), []);
});

test('CMP p10cr, kur signed by the TPM credential (extraCerts, oldCertID), and a rejection — decoded by pyasn1 rfc4210', async () => {
  const opts = { url: `${lab.url}${CMP_WELL_KNOWN_PATH}`, tlsTrustAnchors: [lab.trustAnchorPem], trustAnchors: [lab.ca.root.der], mac: { reference: 'dev-0001', secret: new TextEncoder().encode(SECRET), iterations: 1000 }, keystore: ks };
  wire.length = 0;
  const p10 = new CmpEnrollment({ ...opts, request: 'p10cr' });
  const key = await ks.createKey('cmp-p10', 'ecc-p256');
  const ev = await buildAttestedEvidence({ keystore: ks, key, ak: ak.ak, akChain: ak.chain, nonces: p10, now: () => new Date() });
  const { der } = await buildCsr({ subject: 'CN=dev-0001', signer: ks.signer(key), attributes: [ev.attribute] });
  const r1 = await p10.enroll({ operation: 'enroll', csr: der, key });
  assert.is(r1.kind, 'issued');
  if (r1.kind !== 'issued') return;
  const p10msg = cmpMessages().find((m) => m.req.body.type === 'p10cr')!;
  assert.is(p10msg.req.protectionOk, true);
  assert.is(p10msg.req.body.csr.spki.publicKey, spkiPoint(key), 'the PKCS#10 request inside p10cr [4]');
  assert.ok(p10msg.req.body.csr.attributes.some((a: any) => a.type === OID_ID_AA_ATTESTATION));

  // kur: signature protection by the current TPM key, its certificate first in extraCerts (RFC 9483 §3.3, §4.1.3)
  wire.length = 0;
  const kur = new CmpEnrollment(opts);
  const key2 = await ks.createKey('cmp-kur', 'ecc-p256');
  const ev2 = await buildAttestedEvidence({ keystore: ks, key: key2, ak: ak.ak, akChain: ak.chain, nonces: kur, now: () => new Date() });
  const csr2 = (await buildCsr({ subject: 'CN=dev-0001', signer: ks.signer(key2), attributes: [ev2.attribute] })).der;
  const current = { key, certPem: certificateToPem(r1.cert), chainPem: r1.chain.map((c) => certificateToPem(c)) };
  const r2 = await kur.enroll({ operation: 'reenroll', csr: csr2, key: key2, current });
  assert.is(r2.kind, 'issued');
  const k = cmpMessages().find((m) => m.req.body.type === 'kur')!;
  assert.is(k.req.header.protectionAlg.algorithm, '1.2.840.10045.4.3.2');
  assert.is(k.req.extraCerts[0].der, hex(r1.cert), 'the protecting certificate first');
  const oldCertId = k.req.body.certReqMessages[0].controls.find((c: any) => c.type === '1.3.6.1.5.5.7.5.1.5');
  assert.ok(oldCertId, 'regCtrl-oldCertID');
  assert.is(k.req.body.certReqMessages[0].certTemplate.publicKey.publicKey, spkiPoint(key2));
  assert.is(k.res.body.type, 'kup');
  assert.is(k.req.header.transactionID, cmpMessages().find((m) => m.req.body.type === 'genm')!.req.header.transactionID, 'kur continues the nonce transaction');

  // rejection: evidence over a nonce the lab never issued → ip with status rejection and failInfo badPOP
  wire.length = 0;
  const key3 = await ks.createKey('cmp-bad', 'ecc-p256');
  const ev3 = await buildCertifyEvidence({ keystore: ks, key: key3, ak: ak.ak, akChain: ak.chain, nonce: new Uint8Array(randomBytes(32)) });
  const csr3 = (await buildCsr({ subject: 'CN=dev-0001', signer: ks.signer(key3), attributes: [ev3.attribute] })).der;
  await new CmpEnrollment(opts).enroll({ operation: 'enroll', csr: csr3, key: key3 }).then(() => assert.unreachable('accepted'), () => undefined);
  const rej = cmpMessages().at(-1)!;
  const st = rej.res.body.type === 'error' ? rej.res.body.value.pKIStatusInfo : rej.res.body.response[0].status;
  assert.is(st.status, 2, `rejection: ${JSON.stringify(rej.res.body)}`);
  assert.is(st.failInfo[9], '1', 'PKIFailureInfo bit 9 = badPOP (RFC 4210 §5.2.3)');
  assert.equal(await ks.listHandles(), []);
});

test('agent parses what pyasn1 builds: NonceResponse/NonceRequest DER and a genp PKIMessage with id-it-nonceResponse', () => {
  const n = new Uint8Array(randomBytes(24));
  const res = NonceResponse.fromBER(pyEncode('nonce-response', [`--nonce=${hex(n)}`, '--expiry=90', `--type=${OID_TCG_ATTEST_TPM_CERTIFY}`]));
  assert.is(hex(res.nonce), hex(n));
  assert.is(res.expiry, 90);
  assert.is(res.respTypeInfo?.type, OID_TCG_ATTEST_TPM_CERTIFY);
  const empty = NonceResponse.fromBER(pyEncode('nonce-response', ['--nonce=']));
  assert.not.ok(empty.freshnessRequired, 'zero-length nonce: no freshness proof required');
  const req = NonceRequest.fromBER(pyEncode('nonce-request', ['--len=48', `--type=${OID_TCG_ATTEST_TPM_CERTIFY}`]));
  assert.is(req.len, 48);
  assert.is(req.reqTypeInfo?.type, OID_TCG_ATTEST_TPM_CERTIFY);
  // and the agent's own encoding of the same values is byte-identical to pyasn1's DER
  assert.is(hex(new NonceRequest({ len: 48, reqTypeInfo: new NonceRequestTypeInfo({ type: OID_TCG_ATTEST_TPM_CERTIFY }) }).toDER()), hex(pyEncode('nonce-request', ['--len=48', `--type=${OID_TCG_ATTEST_TPM_CERTIFY}`])));
  assert.is(hex(new NonceResponse({ nonce: n, expiry: 90 }).toDER()), hex(pyEncode('nonce-response', [`--nonce=${hex(n)}`, '--expiry=90'])));
  const tid = new Uint8Array(randomBytes(16));
  const msg = PKIMessage.fromBER(pyEncode('genp-nonce', [`--txid=${hex(tid)}`, '--recip-nonce=00112233445566778899aabbccddeeff', `--nonce=${hex(n)}`, '--expiry=30']));
  assert.is(msg.bodyTag, 22, 'genp');
  assert.is(hex(msg.header.transactionID!), hex(tid));
  const kids = (msg.body as unknown as { valueBlock: { value: unknown[] } }).valueBlock.value;
  const parsed = NonceResponse.fromInfoTypeAndValue(kids[0] as never);
  assert.is(hex(parsed.nonce), hex(n));
  assert.is(parsed.expiry, 30);
  // out-of-range values built independently are refused with a typed error
  // a 2-byte nonce (outside SIZE(0 | 8..64); pyasn1 refuses to encode it, so it is written by hand) → typed error
  assert.throws(() => NonceResponse.fromBER(new Uint8Array([0x30, 0x04, 0x04, 0x02, 0x01, 0x02])), /SIZE/);
});

test.run();
