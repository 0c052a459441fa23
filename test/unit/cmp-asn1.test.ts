// CMP/CRMF ASN.1 round trips and the client's checks on crafted answers: wrong MAC, wrong signature, untrusted signer,
// mismatched transactionID/recipNonce, unexpected body, rejection with failInfo, malformed DER → typed errors.
// The "server" here is a Transport function that builds answers with the same ASN.1 types (no network).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import { LabCa } from '../../deploy/lab/ca.js';
import { SoftwareKeyStore } from '../../agent/keystore/software.js';
import type { KeyRecord } from '../../agent/keystore/keystore.js';
import { certificateToDer } from '../../agent/pki/cert.js';
import { signatureAlgorithmFor } from '../../agent/pki/sign.js';
import { Asn1DecodeError } from '../../agent/pki/asn1/errors.js';
import type { Transport } from '../../agent/protocols/http/transport.js';
import { CmpClient } from '../../agent/protocols/cmp/client.js';
import { PKIMessage } from '../../agent/protocols/cmp/asn1/pki-message.js';
import { PKIHeader } from '../../agent/protocols/cmp/asn1/pki-header.js';
import { PKIStatusInfo } from '../../agent/protocols/cmp/asn1/pki-status-info.js';
import { CertRepMessage } from '../../agent/protocols/cmp/asn1/cert-rep-message.js';
import { CertReqMsg, readCertReqMessages } from '../../agent/protocols/cmp/asn1/cert-req-msg.js';
import { CertConfirmContent } from '../../agent/protocols/cmp/asn1/cert-confirm-content.js';
import { PollRepContent, PollReqContent } from '../../agent/protocols/cmp/asn1/poll-content.js';
import { ErrorMsgContent } from '../../agent/protocols/cmp/asn1/error-msg-content.js';
import { PBMParameter } from '../../agent/protocols/cmp/asn1/pbm-parameter.js';
import { CertTemplate } from '../../agent/protocols/cmp/asn1/cert-template.js';
import { BodyTag } from '../../agent/protocols/cmp/constants.js';
import { CmpProtectionError, CmpProtocolError, CmpRejectedError } from '../../agent/protocols/cmp/errors.js';
import { buildName } from '../../agent/pki/name.js';
import { verify as cryptoVerify, createPublicKey } from 'node:crypto';
import { RootCaKeyUpdateContent } from '../../agent/protocols/cmp/asn1/root-ca-key-update-content.js';
import { CmpEnrollment } from '../../agent/protocols/cmp/enrollment.js';
import { Enroller } from '../../agent/lifecycle/enroller.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import type { AgentState } from '../../agent/lifecycle/state.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { memoryLogger } from '../../agent/util/log.js';

const SECRET = new TextEncoder().encode('s3cret');
const ks = new SoftwareKeyStore();
let ca: LabCa;
let devKey: KeyRecord;
let devCert: Uint8Array;
let raKey: KeyRecord;
let raCert: Uint8Array;

test.before(async () => {
  ca = await LabCa.create({ name: 'cmp unit' });
  const now = new Date();
  const later = new Date(now.getTime() + 86400_000);
  devKey = await ks.createKey('dev', 'ecc-p256');
  devCert = certificateToDer(await ca.issue({ subject: 'CN=dev', spki: devKey.spki, notBefore: new Date(now.getTime() - 60_000), notAfter: later, profile: 'client' }));
  raKey = await ks.createKey('ra', 'ecc-p256');
  raCert = certificateToDer(await ca.issue({ subject: 'CN=cmp ra', spki: raKey.spki, notBefore: new Date(now.getTime() - 60_000), notAfter: later, profile: 'client' }));
});

type Tamper = {
  protection?: 'mac' | 'sig' | 'none';
  badMac?: boolean;
  badSig?: boolean;
  txid?: Uint8Array;
  recipNonce?: Uint8Array;
  body?: (req: PKIMessage) => { tag: number; node: asn1js.AsnType };
  raw?: Uint8Array;
  iterations?: number;
  pvno?: number;
  /** HTTP status and extra headers of the answer (default 200). */
  http?: { status: number; headers?: Record<string, string> };
};

/** A responder: answers ir/cr/kur with ip/cp/kup holding devCert, certConf with pkiconf, tampered as asked. */
function responder(t: Tamper = {}): Transport & { seen: PKIMessage[] } {
  const seen: PKIMessage[] = [];
  return {
    seen,
    async request(req) {
      const m = PKIMessage.fromBER(req.body as Uint8Array);
      seen.push(m);
      const reply = async (): Promise<Uint8Array> => {
        if (t.raw) return t.raw;
        let tag: number;
        let node: asn1js.AsnType;
        if (t.body) ({ tag, node } = t.body(m));
        else if (m.bodyTag === BodyTag.certConf) ({ tag, node } = { tag: BodyTag.pkiconf, node: new asn1js.Null() });
        else ({ tag, node } = { tag: m.bodyTag + 1, node: new CertRepMessage({ response: [{ certReqId: 0, status: new PKIStatusInfo({ status: 0 }), certificate: devCert }] }).toSchema() });
        const h = new PKIHeader({ pvno: t.pvno ?? 2, transactionID: t.txid ?? m.header.transactionID!, senderNonce: new Uint8Array(randomBytes(16)), recipNonce: t.recipNonce ?? m.header.senderNonce! });
        const out = new PKIMessage({ header: h, bodyType: tag, body: node });
        const mode = t.protection ?? 'mac';
        if (mode === 'mac') {
          const pbm = new PBMParameter({ salt: new Uint8Array(randomBytes(8)), iterationCount: t.iterations ?? 500 });
          h.protectionAlg = pbm.toAlgorithmIdentifier();
          out.protection = pbm.compute(t.badMac ? new TextEncoder().encode('other') : SECRET, out.protectedPart());
        } else if (mode === 'sig') {
          h.protectionAlg = signatureAlgorithmFor('ecc-p256');
          h.sender = new (await import('pkijs')).GeneralName({ type: 4, value: buildName('CN=cmp ra') });
          out.extraCerts = [raCert, ca.issuing.der];
          const sig = await ks.signer(raKey).sign(out.protectedPart());
          if (t.badSig) sig[sig.length - 2]! ^= 1;
          out.protection = sig;
        }
        return out.toDER();
      };
      return { status: t.http?.status ?? 200, headers: { 'content-type': 'application/pkixcmp', ...t.http?.headers }, body: await reply(), peerCertificates: [], tlsProtocol: undefined };
    },
  };
}

function client(transport: Transport, anchors: Uint8Array[] = [ca.root.der]): CmpClient {
  return new CmpClient({ url: 'https://ca.example/.well-known/cmp', transport, mac: { reference: 'ref-1', secret: SECRET, iterations: 500 }, trustAnchors: anchors });
}
const ir = (c: CmpClient) => c.requestCertificate('ir', { newKey: ks.signer(devKey), subject: 'CN=dev', protection: { kind: 'mac' } });
const kur = (c: CmpClient) => c.requestCertificate('kur', { newKey: ks.signer(devKey), subject: 'CN=dev', protection: { kind: 'signature', signer: ks.signer(devKey), certDer: devCert } });

async function rejects(p: Promise<unknown>, cls: new (...a: never[]) => Error, match?: RegExp): Promise<Error> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.instance(err, cls, `expected ${cls.name}, got ${String(err)}`);
  if (match) assert.match((err as Error).message, match);
  return err as Error;
}

test('request round trip: CertReqMsg with POP verifies over the DER CertRequest; header fields survive', async () => {
  const t = responder();
  const r = await ir(client(t));
  assert.is(r.kind, 'issued');
  const req = t.seen[0]!;
  assert.is(req.bodyType, 'ir');
  assert.is(Buffer.from(req.header.senderKID!).toString(), 'ref-1');
  const back = PKIMessage.fromBER(req.toDER());
  assert.equal(back.toDER(), req.toDER());
  const [msg] = readCertReqMessages(req.body);
  assert.equal(msg!.certTemplate.publicKey, devKey.spki);
  const popo = msg!.popo as { signature: Uint8Array };
  const pub = createPublicKey({ key: Buffer.from(devKey.spki), format: 'der', type: 'spki' });
  assert.ok(cryptoVerify('sha256', msg!.certRequestDer(), pub, popo.signature), 'POP signature over CertRequest');
  const conf = CertConfirmContent.fromSchema(t.seen[1]!.body);
  assert.is(conf.statuses[0]!.certReqId, 0);
  assert.equal(t.seen[1]!.header.transactionID, req.header.transactionID, 'certConf in the same transaction');
});

test('type round trips: PKIStatusInfo failInfo bits, PollReq/PollRep, ErrorMsgContent, CertTemplate, PBM', () => {
  const si = PKIStatusInfo.fromSchema(new PKIStatusInfo({ status: 2, statusString: ['no'], failInfo: [9, 26] }).toSchema());
  assert.equal(si.failInfoNames(), ['badPOP', 'duplicateCertReq']);
  assert.equal(si.statusString, ['no']);
  assert.equal(PollReqContent.fromSchema(new PollReqContent({ certReqIds: [0] }).toSchema()).certReqIds, [0]);
  assert.equal(PollRepContent.fromSchema(new PollRepContent({ entries: [{ certReqId: 0, checkAfter: 30, reason: ['busy'] }] }).toSchema()).entries, [{ certReqId: 0, checkAfter: 30, reason: ['busy'] }]);
  const e = ErrorMsgContent.fromSchema(new ErrorMsgContent({ status: new PKIStatusInfo({ status: 2, failInfo: [1] }), errorCode: 7, errorDetails: ['x'] }).toSchema());
  assert.equal([e.errorCode, e.errorDetails, e.status.failInfoNames()], [7, ['x'], ['badMessageCheck']]);
  const tmpl = CertTemplate.fromSchema(new CertTemplate({ subject: buildName('CN=a'), publicKey: devKey.spki }).toSchema());
  assert.equal(tmpl.publicKey, devKey.spki);
  const pbm = PBMParameter.fromSchema(new PBMParameter({ salt: new Uint8Array(8), iterationCount: 777 }).toSchema());
  assert.is(pbm.iterationCount, 777);
  const m = new CertReqMsg({ certTemplate: new CertTemplate({ publicKey: devKey.spki }), popo: 'raVerified' });
  assert.is(CertReqMsg.fromSchema(m.toSchema()).popo, 'raVerified');
});

test('signature-protected answer to kur validates to the trust anchor', async () => {
  const r = await kur(client(responder({ protection: 'sig' })));
  assert.is(r.kind, 'issued');
});

test('wrong MAC → CmpProtectionError', async () => {
  await rejects(ir(client(responder({ badMac: true }))), CmpProtectionError, /MAC/);
});

test('wrong signature → CmpProtectionError', async () => {
  await rejects(kur(client(responder({ protection: 'sig', badSig: true }))), CmpProtectionError, /signature/);
});

test('signer not under the trust anchor → CmpProtectionError', async () => {
  const other = await LabCa.create({ name: 'other' });
  await rejects(kur(client(responder({ protection: 'sig' }), [other.root.der])), CmpProtectionError, /not trusted/);
});

test('unprotected answer, or MAC answer to a signature-protected request → CmpProtectionError', async () => {
  await rejects(ir(client(responder({ protection: 'none' }))), CmpProtectionError, /unprotected/);
  await rejects(kur(client(responder({ protection: 'mac' }))), CmpProtectionError, /MAC-protected response/);
});

test('mismatched transactionID / recipNonce → CmpProtocolError', async () => {
  await rejects(ir(client(responder({ txid: new Uint8Array(16) }))), CmpProtocolError, /transactionID/);
  await rejects(ir(client(responder({ recipNonce: new Uint8Array(16) }))), CmpProtocolError, /recipNonce/);
});

test('unexpected body type → CmpProtocolError', async () => {
  await rejects(ir(client(responder({ body: () => ({ tag: BodyTag.kup, node: new CertRepMessage({ response: [] }).toSchema() }) }))), CmpProtocolError, /unexpected body kup/);
});

test('rejection with failInfo (in ip and in an error message) → CmpRejectedError', async () => {
  const e1 = (await rejects(ir(client(responder({ body: () => ({ tag: BodyTag.ip, node: new CertRepMessage({ response: [{ certReqId: 0, status: new PKIStatusInfo({ status: 2, statusString: ['bad template'], failInfo: [19] }) }] }).toSchema() }) }))), CmpRejectedError)) as CmpRejectedError;
  assert.equal(e1.failInfo, ['badCertTemplate']);
  assert.is(e1.status, 400, 'permanent: the lifecycle drops the request');
  const e2 = (await rejects(ir(client(responder({ body: () => ({ tag: BodyTag.error, node: new ErrorMsgContent({ status: new PKIStatusInfo({ status: 2, failInfo: [24] }) }).toSchema() }) }))), CmpRejectedError)) as CmpRejectedError;
  assert.equal(e2.failInfo, ['systemUnavail']);
  assert.is(e2.status, 503, 'transient');
});

test('HTTP 503/429 with Retry-After (RFC 9110 §10.2.3) → the wait on the typed error; other statuses carry none', async () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const plain = (status: number, retryAfter: string): Transport => ({
    request: async () => ({ status, headers: { 'content-type': 'text/plain', 'retry-after': retryAfter }, body: new TextEncoder().encode('down'), peerCertificates: [], tlsProtocol: undefined }),
  });
  const at = (transport: Transport): CmpClient => new CmpClient({ url: 'https://ca.example/.well-known/cmp', transport, mac: { reference: 'ref-1', secret: SECRET, iterations: 500 }, trustAnchors: [ca.root.der], now: () => now });
  const e1 = (await rejects(ir(at(plain(503, '7200'))), CmpProtocolError)) as CmpProtocolError;
  assert.equal([e1.status, e1.retryAfterSeconds], [503, 7200]);
  const e2 = (await rejects(ir(at(plain(429, 'Sun, 01 Mar 2026 13:30:00 GMT'))), CmpProtocolError)) as CmpProtocolError;
  assert.equal([e2.status, e2.retryAfterSeconds], [429, 5400], 'HTTP-date: seconds from the client clock');
  assert.is(((await rejects(ir(at(plain(503, 'soon'))), CmpProtocolError)) as CmpProtocolError).retryAfterSeconds, undefined, 'malformed: none');
  assert.is(((await rejects(ir(at(plain(500, '60'))), CmpProtocolError)) as CmpProtocolError).retryAfterSeconds, undefined, 'only 503 and 429');
  // a protected error message (systemUnavail) carried on a 503 with Retry-After
  const e3 = (await rejects(ir(client(responder({ http: { status: 503, headers: { 'retry-after': '600' } }, body: () => ({ tag: BodyTag.error, node: new ErrorMsgContent({ status: new PKIStatusInfo({ status: 2, failInfo: [24] }) }).toSchema() }) }))), CmpRejectedError)) as CmpRejectedError;
  assert.equal([e3.status, e3.retryAfterSeconds], [503, 600]);
});

test('error with status waiting (RFC 9483 §4.4) → pending, resumable', async () => {
  const r = await ir(client(responder({ body: () => ({ tag: BodyTag.error, node: new ErrorMsgContent({ status: new PKIStatusInfo({ status: 3 }) }).toSchema() }) })));
  assert.is(r.kind, 'pending');
  assert.ok(r.kind === 'pending' && r.transaction.request === 'ir' && r.transaction.certReqId === 0);
});

test('PBM iterationCount above the cap (CPU bomb) → Asn1DecodeError; pvno 1 → CmpProtocolError', async () => {
  const err = await rejects(ir(client(responder({ iterations: 100_001 }))), Asn1DecodeError);
  assert.is((err as Asn1DecodeError).reason, 'constraint');
  await rejects(ir(client(responder({ pvno: 1 }))), CmpProtocolError, /pvno/);
});

test('malformed DER and trailing bytes → Asn1DecodeError', async () => {
  await rejects(ir(client(responder({ raw: new Uint8Array([0x30, 0x05, 0x02]) }))), Asn1DecodeError);
  const good = new PKIMessage({ header: new PKIHeader(), bodyType: 'pkiconf', body: new asn1js.Null() }).toDER();
  assert.throws(() => PKIMessage.fromBER(new Uint8Array([...good, 0])), (e: unknown) => e instanceof Asn1DecodeError && e.reason === 'malformed');
  assert.throws(() => PKIMessage.fromBER(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x02])), (e: unknown) => e instanceof Asn1DecodeError);
});

test('RootCaKeyUpdateContent round trip; bad tag → Asn1DecodeError', () => {
  const u = RootCaKeyUpdateContent.fromSchema(new RootCaKeyUpdateContent({ newWithNew: ca.root.der, newWithOld: devCert, oldWithNew: raCert }).toSchema());
  assert.equal([u.newWithNew, u.newWithOld, u.oldWithNew], [ca.root.der, devCert, raCert]);
  const bad = new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [] }), new asn1js.Integer({ value: 1 })] });
  assert.throws(() => RootCaKeyUpdateContent.fromSchema(bad), (e: unknown) => e instanceof Asn1DecodeError);
});

test('Enroller + CmpEnrollment: a permanent rejection abandons the request, deletes the new key, stores no credential', async () => {
  let doc: AgentState | undefined;
  const store = new SoftwareKeyStore();
  const t = responder({ body: (m) => ({ tag: m.bodyTag + 1, node: new CertRepMessage({ response: [{ certReqId: 0, status: new PKIStatusInfo({ status: 2, statusString: ['no'], failInfo: [9] }) }] }).toSchema() }) });
  const protocol = new CmpEnrollment({ url: 'https://ca.example/.well-known/cmp', transport: t, mac: { reference: 'ref-1', secret: SECRET, iterations: 500 }, trustAnchors: [ca.root.der], keystore: store });
  let created: KeyRecord | undefined;
  const enroller = new Enroller({
    clock: new ManualClock(new Date()),
    log: memoryLogger('error'),
    keystore: store,
    protocol,
    state: { load: async () => (doc ? structuredClone(doc) : undefined), save: async (d) => void (doc = structuredClone(d)) },
    buildCsr: async (k, signer) => {
      created = k;
      return (await buildCsr({ subject: 'CN=dev', signer })).der;
    },
    verifyIssued: async () => undefined,
    policy: { keyAlgorithm: 'ecc-p256', renewFraction: 2 / 3, backoffMinSeconds: 60, backoffMaxSeconds: 3600 },
    random: () => 0.5,
  });
  const out = await enroller.step();
  assert.is(out.action, 'abandoned');
  assert.is(out.error?.code, 'cmp.rejected');
  assert.is(doc?.credential, undefined);
  assert.is(doc?.pending, undefined);
  assert.equal(protocol.exportPending(), {});
  assert.throws(() => store.signer(created!), 'the new key was deleted');
});

test.run();
