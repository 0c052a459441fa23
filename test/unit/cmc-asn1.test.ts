// CMC ASN.1 (RFC 5272) round trips and the response checks: signature, signer trust, transactionId, recipientNonce,
// content type, failed + failInfo, malformed DER — each a typed error, and nothing stored by the client.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { LabCa } from '../../deploy/lab/ca.js';
import { SoftwareKeyStore, SoftwareSigner } from '../../agent/keystore/software.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { certificateToDer } from '../../agent/pki/cert.js';
import { Asn1DecodeError } from '../../agent/pki/asn1/errors.js';
import { encodeBase64Body } from '../../agent/protocols/est/base64-body.js';
import type { Transport, TransportRequest } from '../../agent/protocols/http/transport.js';
import {
  CMCStatusInfoV2,
  CmcEnrollment,
  CmcFailedError,
  CmcProtocolError,
  CMC_MEDIA_TYPES,
  OID_CCT_PKI_DATA,
  OID_CCT_PKI_RESPONSE,
  OID_CMC,
  OtherMsg,
  PKIData,
  PKIResponse,
  TaggedContentInfo,
  buildPkiData,
  readCmcResponse,
  readRecipientNonce,
  readSenderNonce,
  readStatusInfoV2,
  readTransactionId,
  recipientNonceControl,
  senderNonceControl,
  signCmc,
  statusInfoV2Control,
  transactionIdControl,
  type OtherStatusInfo,
  type CmcStatusName,
} from '../../agent/protocols/cmc/index.js';

const ca = await LabCa.create();
const other = await LabCa.create({ name: 'other' });
const caSigner = new SoftwareSigner(KeyObject.from(ca.issuing.privateKey));
const otherSigner = new SoftwareSigner(KeyObject.from(other.issuing.privateKey));
const device = SoftwareSigner.generate('ecc-p256');
const csr = (await buildCsr({ subject: 'CN=dev-cmc,O=enrolld test', signer: device })).der;
const issued = certificateToDer(
  await ca.issue({ subject: { CN: 'dev-cmc', O: 'enrolld test' }, spki: device.spki, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), profile: 'client' }),
);
const TID = 0x1234567890n;
const NONCE = new Uint8Array(16).fill(7);

interface RespOpts {
  tid?: bigint | null;
  nonce?: Uint8Array | null;
  status?: CmcStatusName;
  other?: OtherStatusInfo;
  body?: number;
  eContentType?: string;
  signer?: SoftwareSigner;
  signerCert?: Uint8Array;
  certs?: Uint8Array[];
}
async function response(o: RespOpts = {}): Promise<Uint8Array> {
  const controls = [statusInfoV2Control(1, new CMCStatusInfoV2({ cMCStatus: o.status ?? 'success', bodyList: [o.body ?? 1], statusString: 'text', otherInfo: o.other }))];
  if (o.tid !== null) controls.push(transactionIdControl(2, o.tid ?? TID));
  if (o.nonce !== null) controls.push(recipientNonceControl(3, o.nonce ?? NONCE));
  return signCmc({
    eContentType: o.eContentType ?? OID_CCT_PKI_RESPONSE,
    eContent: new PKIResponse({ controlSequence: controls }).toDer(),
    signer: o.signer ?? caSigner,
    certificate: o.signerCert ?? ca.issuing.der,
    extraCertificates: o.certs ?? [issued, ca.issuing.der],
  });
}
const expect = { transactionId: TID, senderNonce: NONCE, bodyPartID: 1, spki: device.spki, trustAnchors: [ca.root.der], at: new Date() };
const protocolError = (reason: string) => (e: unknown): boolean => e instanceof CmcProtocolError && e.reason === reason;

test('PKIData round trip: controls, tcr, cmsSequence, otherMsg; DER exact', () => {
  const d = buildPkiData({ transactionId: TID, senderNonce: NONCE, body: { csr } });
  const full = new PKIData({
    controlSequence: d.controlSequence,
    reqSequence: d.reqSequence,
    cmsSequence: [new TaggedContentInfo({ bodyPartID: 7, contentInfo: new Uint8Array(new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.7.1' })] }).toBER()) })],
    otherMsgSequence: [new OtherMsg({ bodyPartID: 8, otherMsgType: '1.2.3.4', otherMsgValue: new asn1js.Utf8String({ value: 'x' }) })],
  });
  const der = full.toDer();
  const back = PKIData.fromDer(der);
  assert.equal(back.toDer(), der);
  assert.is(readTransactionId(back.controlSequence), TID);
  assert.equal(readSenderNonce(back.controlSequence), NONCE);
  assert.is(back.reqSequence[0]!.bodyPartID, 1);
  assert.equal(back.reqSequence[0]!.certificationRequest, csr);
  assert.is(back.reqSequence[0]!.csr().subject.typesAndValues.length, 2);
  assert.is(back.cmsSequence[0]!.bodyPartID, 7);
  assert.is(back.otherMsgSequence[0]!.otherMsgType, '1.2.3.4');
  // tcr is [0] IMPLICIT (constructed, context 0) per the IMPLICIT TAGS module.
  assert.is(der[0], 0x30);
});

test('PKIResponse + CMCStatusInfoV2 round trip: failInfo, pendInfo, bodyPartPath', () => {
  const pendTime = new Date(Math.floor(Date.now() / 1000) * 1000);
  const s1 = new CMCStatusInfoV2({ cMCStatus: 'failed', bodyList: [1, [2, 3]], statusString: 'no', otherInfo: { failInfo: 'popRequired' } });
  const s2 = new CMCStatusInfoV2({ cMCStatus: 'pending', bodyList: [1], otherInfo: { pendInfo: { pendToken: new Uint8Array([1, 2, 3]), pendTime } } });
  const r = new PKIResponse({ controlSequence: [statusInfoV2Control(1, s1), statusInfoV2Control(2, s2), senderNonceControl(3, NONCE)] });
  const back = PKIResponse.fromDer(r.toDer());
  assert.equal(back.toDer(), r.toDer());
  const [a, b] = readStatusInfoV2(back.controlSequence);
  assert.is(a!.cMCStatus, 'failed');
  assert.equal(a!.bodyList, [1, [2, 3]]);
  assert.equal(a!.otherInfo, { failInfo: 'popRequired' });
  assert.is(a!.statusString, 'no');
  assert.is(b!.cMCStatus, 'pending');
  const pi = (b!.otherInfo as { pendInfo: { pendToken: Uint8Array; pendTime: Date } }).pendInfo;
  assert.equal(pi.pendToken, new Uint8Array([1, 2, 3]));
  assert.is(pi.pendTime.getTime(), pendTime.getTime());
  assert.is(readRecipientNonce(back.controlSequence), undefined);
});

test('malformed DER and wrong shapes → Asn1DecodeError with a reason', () => {
  assert.throws(() => PKIData.fromDer(new Uint8Array([0x30, 0x05, 0x01])), (e: unknown) => e instanceof Asn1DecodeError && e.reason === 'malformed');
  assert.throws(() => PKIResponse.fromDer(new PKIData().toDer()), (e: unknown) => e instanceof Asn1DecodeError && e.reason === 'extra-field');
  const badStatus = new asn1js.Sequence({ value: [new asn1js.Integer({ value: 1 }), new asn1js.Sequence({ value: [new asn1js.Integer({ value: 1 })] })] });
  assert.throws(() => CMCStatusInfoV2.fromSchema(badStatus), (e: unknown) => e instanceof Asn1DecodeError && e.reason === 'constraint');
  const crm = new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 1 }, value: [] });
  const d = new asn1js.Sequence({ value: [new asn1js.Sequence(), new asn1js.Sequence({ value: [crm] }), new asn1js.Sequence(), new asn1js.Sequence()] });
  assert.throws(() => PKIData.fromDer(new Uint8Array(d.toBER())), (e: unknown) => e instanceof Asn1DecodeError && /crm/.test(e.message));
  const dup = new PKIResponse({ controlSequence: [transactionIdControl(1, 1n), transactionIdControl(2, 2n)] });
  assert.throws(() => readTransactionId(dup.controlSequence), (e: unknown) => e instanceof Asn1DecodeError && e.reason === 'duplicate');
});

test('readCmcResponse: success picks the certificate for our key; chain = the rest', async () => {
  const r = await readCmcResponse(await response(), expect);
  assert.is(r.kind, 'issued');
  if (r.kind !== 'issued') return;
  assert.ok(Buffer.from(r.cert).equals(Buffer.from(issued)));
  assert.is(r.chain.length, 1);
  assert.ok(Buffer.from(r.chain[0]!).equals(Buffer.from(ca.issuing.der)));
});

test('readCmcResponse: bad inputs are typed errors', async () => {
  // Wrong signature: flip a byte of the signature value (the last bytes of the DER are the signature).
  const good = await response();
  const bad = new Uint8Array(good);
  bad[bad.length - 3] ^= 0x01;
  await readCmcResponse(bad, expect).then(() => assert.unreachable(), (e) => assert.ok(protocolError('signature')(e) || protocolError('malformed')(e), String(e)));
  // Signed by another CA (valid signature, untrusted signer).
  await readCmcResponse(await response({ signer: otherSigner, signerCert: other.issuing.der }), expect).then(() => assert.unreachable(), (e) => assert.ok(protocolError('untrusted-signer')(e), String(e)));
  await readCmcResponse(await response({ tid: 99n }), expect).then(() => assert.unreachable(), (e) => assert.ok(protocolError('transaction-id')(e), String(e)));
  await readCmcResponse(await response({ tid: null }), expect).then(() => assert.unreachable(), (e) => assert.ok(protocolError('transaction-id')(e), String(e)));
  await readCmcResponse(await response({ nonce: new Uint8Array(16) }), expect).then(() => assert.unreachable(), (e) => assert.ok(protocolError('recipient-nonce')(e), String(e)));
  await readCmcResponse(await response({ nonce: null }), expect).then(() => assert.unreachable(), (e) => assert.ok(protocolError('recipient-nonce')(e), String(e)));
  await readCmcResponse(await response({ eContentType: OID_CCT_PKI_DATA }), expect).then(() => assert.unreachable(), (e) => assert.ok(protocolError('content-type')(e), String(e)));
  await readCmcResponse(new Uint8Array([0x30, 0x03, 0x02, 0x01]), expect).then(() => assert.unreachable(), (e) => assert.ok(protocolError('malformed')(e), String(e)));
  await readCmcResponse(await response({ certs: [ca.issuing.der] }), expect).then(() => assert.unreachable(), (e) => assert.ok(protocolError('key-mismatch')(e), String(e)));
  await readCmcResponse(await response({ body: 5 }), expect).then(() => assert.unreachable(), (e) => assert.ok(protocolError('no-status')(e), String(e)));
  await readCmcResponse(await response({ status: 'failed', other: { failInfo: 'badIdentity' } }), expect).then(
    () => assert.unreachable(),
    (e) => assert.ok(e instanceof CmcFailedError && e.failInfo === 'badIdentity' && e.code === 'cmc.failed.badIdentity', String(e)),
  );
});

test('CmcEnrollment: a bad response stores nothing; pending stores the pendToken; failed clears nothing else', async () => {
  // An in-process transport that answers with a prepared body and echoes the request's transactionId/nonce.
  let answer: (tid: bigint, nonce: Uint8Array) => Promise<Uint8Array> = async () => new Uint8Array();
  const transport: Transport = {
    async request(r: TransportRequest) {
      const { openSignedCmc } = await import('../../agent/protocols/cmc/signed-message.js');
      const { decodeEstBody } = await import('../../agent/protocols/est/base64-body.js');
      const body = typeof r.body === 'string' ? new Uint8Array(Buffer.from(r.body)) : (r.body as Uint8Array);
      const d = PKIData.fromDer((await openSignedCmc(decodeEstBody(body), OID_CCT_PKI_DATA)).eContent);
      const der = await answer(readTransactionId(d.controlSequence)!, readSenderNonce(d.controlSequence)!);
      return { status: 200, headers: { 'content-type': CMC_MEDIA_TYPES.response }, body: new Uint8Array(Buffer.from(encodeBase64Body(der))), peerCertificates: [], tlsProtocol: 'TLSv1.3' };
    },
  } as Transport;
  const idevid = certificateToDer(await other.issue({ subject: { CN: 'idevid' }, spki: device.spki, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), profile: 'client' }));
  const cmc = new CmcEnrollment({
    baseUrl: 'https://127.0.0.1:1',
    trustAnchors: [ca.root.der],
    bootstrap: { signer: device, certificate: idevid },
    keystore: new SoftwareKeyStore(),
    transportFactory: () => transport,
  });
  const store = cmc.pending as unknown as { records: Map<string, unknown> };
  answer = (tid) => response({ tid, nonce: new Uint8Array(16) });
  await cmc.enroll({ operation: 'enroll', csr }).then(() => assert.unreachable(), (e) => assert.ok(protocolError('recipient-nonce')(e), String(e)));
  assert.is(store.records.size, 0);
  answer = (tid, nonce) => response({ tid, nonce, status: 'pending', other: { pendInfo: { pendToken: new Uint8Array([9, 9]), pendTime: new Date(Date.now() + 30_000) } } });
  const p = await cmc.enroll({ operation: 'enroll', csr });
  assert.is(p.kind, 'pending');
  assert.ok(p.kind === 'pending' && p.retryAfterSeconds >= 29 && p.retryAfterSeconds <= 31);
  assert.is(store.records.size, 1);
  // The resumed query is a queryPending with the same transactionId and no request.
  let sawQuery = false;
  answer = async (tid, nonce) => {
    sawQuery = true;
    return response({ tid, nonce, signer: otherSigner, signerCert: other.issuing.der });
  };
  await cmc.enroll({ operation: 'enroll', csr }).then(() => assert.unreachable(), (e) => assert.ok(protocolError('untrusted-signer')(e), String(e)));
  assert.ok(sawQuery);
  assert.is(store.records.size, 1, 'a refused answer keeps the pending record (resumable), stores nothing new');
  answer = (tid, nonce) => response({ tid, nonce });
  const ok = await cmc.enroll({ operation: 'enroll', csr });
  assert.is(ok.kind, 'issued');
  assert.is(store.records.size, 0);
  const last = PKIData.fromDer((await (await import('../../agent/protocols/cmc/signed-message.js')).openSignedCmc(cmc.lastRequestDer!, OID_CCT_PKI_DATA)).eContent);
  assert.is(last.reqSequence.length, 0);
  assert.is(last.controls(OID_CMC.queryPending).length, 1);
});

test('indirect POP pieces: noSignature CSR, EncryptedPOP/DecryptedPOP round trip, envelope opened by openssl and by us', async () => {
  const { generateKeyPairSync, privateDecrypt, constants: c } = await import('node:crypto');
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { buildNoSignatureCsr, checkNoSignatureCsr, isNoSignatureCsr, createPopEnvelope, openPopEnvelope, EncryptedPOP, DecryptedPOP, TaggedCertificationRequest, OID_HMAC_SHA256, OID_SHA256 } = await import('../../agent/protocols/cmc/index.js');
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  const csrDer = buildNoSignatureCsr({ CN: 'ke' }, spki);
  const tcr = new TaggedCertificationRequest({ bodyPartID: 1, certificationRequest: csrDer });
  const parsed = tcr.csr();
  assert.ok(isNoSignatureCsr(parsed) && checkNoSignatureCsr(parsed));
  const tampered = new Uint8Array(csrDer);
  tampered[tampered.length - 1] ^= 1;
  assert.not.ok(checkNoSignatureCsr(new TaggedCertificationRequest({ bodyPartID: 1, certificationRequest: tampered }).csr()));
  // RFC 10002 Appendix C.1, decoded by pyasn1 (rfc2986) and hashed by Python: parameters present and NULL, the value
  // is SHA-1 of the certification request info.
  const { pyDecode, requirePyasn1 } = await import('../harness/pydecode.js');
  requirePyasn1();
  const j = pyDecode('decode_csr.py', csrDer);
  assert.equal(j.signatureAlgorithm, { algorithm: '1.3.6.1.5.5.7.6.2', parametersHex: '0500' });
  assert.is(j.signatureHex, j.infoSha1Hex, 'NoSignatureValue = SHA-1(certificationRequestInfo)');

  const y = new Uint8Array(32).fill(5);
  const env = createPopEnvelope(spki, y);
  const ep = new EncryptedPOP({ request: tcr, cms: env, thePOPAlgID: OID_HMAC_SHA256, witnessAlgID: OID_SHA256, witness: new Uint8Array(32).fill(1) });
  const epBack = EncryptedPOP.fromSchema((await import('asn1js')).fromBER(ep.toSchema().toBER()).result);
  assert.equal(epBack.cms, env);
  assert.equal(epBack.request.certificationRequest, csrDer);
  assert.is(epBack.thePOPAlgID, OID_HMAC_SHA256);
  const dp = new DecryptedPOP({ bodyPartID: 1, thePOPAlgID: OID_HMAC_SHA256, thePOP: new Uint8Array(32).fill(2) });
  const dpBack = DecryptedPOP.fromSchema((await import('asn1js')).fromBER(dp.toSchema().toBER()).result);
  assert.equal(dpBack.thePOP, dp.thePOP);

  // Our opener (RSA step by node here; by the TPM in the integration test).
  const opened = await openPopEnvelope(env, async (k) => new Uint8Array(privateDecrypt({ key: privateKey, padding: c.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, k)));
  assert.equal(opened, y);
  // openssl cms -decrypt opens the same EnvelopedData independently.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cmc-env-'));
  try {
    writeFileSync(path.join(dir, 'env.der'), env);
    writeFileSync(path.join(dir, 'key.pem'), privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    const out = execFileSync('openssl', ['cms', '-decrypt', '-inform', 'DER', '-in', path.join(dir, 'env.der'), '-inkey', path.join(dir, 'key.pem')]);
    assert.equal(new Uint8Array(out), y);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // A content-encryption key of the wrong size yields a typed error (deterministically).
  await openPopEnvelope(env, async () => new Uint8Array(16)).then(() => assert.unreachable(), (e) => assert.ok(e instanceof CmcProtocolError, String(e)));
});

test.run();
