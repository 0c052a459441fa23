// Lab CMP endpoint (RFC 9483 subset) for what the `openssl cmp` mock cannot do: the freshness nonce genm
// (draft-ietf-lamps-attestation-freshness-08 §5: id-it-nonceRequest → id-it-nonceResponse) and ir/p10cr whose
// attestation evidence (CSR attribute or CRMF id-aa-attestation extension, draft-ietf-lamps-csr-attestation-28)
// is checked with deploy/lab/attestation.ts. Requests: MAC (PBM with the lab's shared secret; answered MAC'd) or, for
// kur/cr, a signature by a lab-issued certificate in extraCerts (answered signed by a lab "CMP RA" certificate).
// The messages are read and written with the lab's own codecs (deploy/lab/asn1/cmp.ts, crmf.ts), not the agent's.
// POST /.well-known/cmp, application/pkixcmp. registerCmpHandlers(lab.router, { ca: lab.ca, attestation: lab.attestation, … }).
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign as cryptoSign, timingSafeEqual, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { LabCa } from './ca.js';
import type { LabAttestation } from './attestation.js';
import type { Router, LabRequest, LabResponse } from './router.js';
import { certificateDer, parseCertificate } from './pki/cert.js';
import { DerError } from './pki/der.js';
import { validateChain } from './pki/chain.js';
import { keyObject } from './pki/issue.js';
import { buildName } from './pki/name.js';
import { csrExtensions, verifyPkcs10 } from './pki/pkcs10.js';
import { signatureAlgorithm, signatureHash, signBytes, verifyBytes } from './pki/signature.js';
import { OID } from './pki/oids.js';
import { int, raw, seq, sequenceOf as protectedPart } from './asn1/read.js';
import {
  BODY, CERT_REQ_ID_NONE, CMP_MEDIA_TYPE, CMP_OID, FAIL, type InfoTypeAndValue, type PBMParameter, type RootCaKeyUpdate, type ReceivedPKIMessage,
  body as pkiBody, bodyName, caCertsValue, certRepMessage, directoryName, errorMsgContent, genContent, header, pbmAlgorithm, pbmMac,
  pkiMessage, pkiStatusInfo, pollRepContent, readCertConfirmContent, readCertProfile, readGenContent, readPBMParameter, readPKIMessage,
  readRevReqContent, revRepContent, rootCaKeyUpdateContent, waitingErrorMsgContent,
} from './asn1/cmp.js';
import { readCertReqMessages } from './asn1/crmf.js';
import { FRESHNESS_OIDS, nonceResponse, readNonceRequest } from './asn1/freshness.js';

export const CMP_WELL_KNOWN_PATH = '/.well-known/cmp';
/** id-aa-attestation (draft-ietf-lamps-csr-attestation: the CSR attribute / CRMF extension carrying evidence). */
const OID_ID_AA_ATTESTATION = '1.2.840.113549.1.9.16.2.59';
const RA_NAME = 'CN=enrolld lab CMP RA';

export interface LabCmpOptions {
  ca: LabCa;
  attestation?: LabAttestation;
  /** InfoTypes of the nonce genm/genp (TBD1/TBD2 in freshness-08 §5): placeholders unless given. */
  nonceInfoTypes?: { request: string; response: string };
  reference: string;
  secret: Uint8Array;
  certValiditySeconds?: number;
  /** Answer to id-it-rootCaCert (RFC 9480 §2.15); absent: "no update" (rootCaKeyUpdate without value). */
  rootCaKeyUpdate?: RootCaKeyUpdate;
  /**
   * Delayed delivery (RFC 9483 §4.4): certificate requests ('cert', the default) are answered ip/cp/kup with status
   * waiting, genm/rr/certConf with an error message with status waiting; then `polls` pollReqs get a pollRep before
   * the final answer (the certificate, genp, rp or pkiConf) to the next pollReq.
   */
  waiting?: { polls: number; checkAfterSeconds?: number; bodies?: Array<'cert' | 'genm' | 'rr' | 'certConf'> };
  /** Certificate profiles accepted in generalInfo id-it-certProfile (RFC 9480 §2.4); absent: any (recorded). */
  certProfiles?: string[];
  /** An issuing CA with an Ed25519 key (RFC 8410) to issue with instead of the lab CA: certConf then needs hashAlg. */
  edIssuer?: { cert: Uint8Array; key: KeyObject };
  /** Route (default /.well-known/cmp). */
  path?: string;
  now?: () => Date;
}

export interface LabCmpRecord {
  body: string;
  outcome: 'issued' | 'rejected' | 'general' | 'confirmed' | 'error' | 'waiting' | 'polled' | 'revoked';
  detail?: string;
  pvno?: number;
  /** certConf: the hashAlg of its CertStatus. */
  hashAlg?: string;
  /** Certificate requests: generalInfo id-it-certProfile. */
  certProfile?: string[];
}

/** id-Ed25519 (RFC 8410 §3, no parameters). */
const OID_ED25519 = '1.3.101.112';
/** certHash algorithms a CertStatus hashAlg may name (RFC 9481 §2). */
const CERT_HASH: Record<string, { name: string; outputLength?: number }> = {
  [OID.sha256]: { name: 'sha256' }, '2.16.840.1.101.3.4.2.2': { name: 'sha384' }, [OID.sha512]: { name: 'sha512' }, '2.16.840.1.101.3.4.2.12': { name: 'shake256', outputLength: 64 },
};

/** A v3 certificate signed by an Ed25519 CA key (RFC 8410 §3: signatureAlgorithm id-Ed25519, PureEdDSA over the TBS). */
function issueWithEd25519(ca: { cert: Uint8Array; key: KeyObject }, subject: pkijs.RelativeDistinguishedNames, spki: pkijs.PublicKeyInfo, notBefore: Date, notAfter: Date): Uint8Array {
  const issuer = parseCertificate(ca.cert);
  const c = new pkijs.Certificate();
  c.version = 2;
  c.serialNumber = new asn1js.Integer({ valueHex: new Uint8Array([0x01, ...randomBytes(15)]) });
  c.signature = new pkijs.AlgorithmIdentifier({ algorithmId: OID_ED25519 });
  c.issuer = issuer.subject;
  c.subject = subject;
  c.notBefore = new pkijs.Time({ type: 0, value: notBefore });
  c.notAfter = new pkijs.Time({ type: 0, value: notAfter });
  c.subjectPublicKeyInfo = spki;
  const tbs = c.encodeTBS();
  const sig = cryptoSign(null, Buffer.from(tbs.toBER(false)), ca.key);
  return new Uint8Array(new asn1js.Sequence({ value: [tbs, c.signature.toSchema(), new asn1js.BitString({ valueHex: sig })] }).toBER(false));
}

class Refuse extends Error {
  constructor(readonly failBit: number, message: string) {
    super(message);
  }
}

/** Registers POST /.well-known/cmp; returns the log of handled messages (tests read it). */
export function registerCmpHandlers(router: Router, o: LabCmpOptions): LabCmpRecord[] {
  const records: LabCmpRecord[] = [];
  const now = o.now ?? (() => new Date());
  const nonceTypes = o.nonceInfoTypes ?? { request: FRESHNESS_OIDS.itNonceRequest, response: FRESHNESS_OIDS.itNonceResponse };
  // The RA identity that signs answers to signature-protected requests (issued lazily by the lab issuing CA).
  const raKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let raCert: Uint8Array | undefined;
  const ra = async (): Promise<Uint8Array> => {
    raCert ??= certificateDer(await o.ca.issue({
      subject: RA_NAME, spki: new Uint8Array(raKeys.publicKey.export({ type: 'spki', format: 'der' })),
      notBefore: new Date(now().getTime() - 60_000), notAfter: new Date(now().getTime() + 30 * 86400_000), profile: 'client',
    }));
    return raCert;
  };
  /** Certificates issued and not yet confirmed, by transactionID (RFC 4210 §5.3.18: certConf names them by hash). */
  const unconfirmed = new Map<string, { certReqId: number; der: Uint8Array }>();
  /** Requests answered "waiting", by transactionID: what to issue once polling is over. */
  const waiting = new Map<string, { certReqId: number; csr: pkijs.CertificationRequest; tag: number; implicit: boolean; polls: number }>();
  /** genm/rr/certConf answered with an error "waiting", by transactionID: the final answer, made on the last pollReq. */
  const delayed = new Map<string, { polls: number; body: string; final: () => Promise<{ tag: number; content: asn1js.BaseBlock }> }>();
  const delays = (b: 'cert' | 'genm' | 'rr' | 'certConf'): boolean => !!o.waiting && (o.waiting.bodies ?? ['cert']).includes(b);
  /** Certificates revoked by rr: issuer DER (hex) + serial (hex). */
  const revoked = new Set<string>();

  const handler = async (req: LabRequest): Promise<LabResponse> => {
    let msg: ReceivedPKIMessage;
    try {
      msg = readPKIMessage(new Uint8Array(req.body));
    } catch (e) {
      records.push({ body: '?', outcome: 'error', detail: (e as Error).message });
      return { status: 400, headers: { 'content-type': 'text/plain' }, body: `not a PKIMessage: ${(e as Error).message}\n` };
    }
    let signed = false;
    const name = bodyName(msg.bodyTag);
    const tid = msg.header.transactionID;
    const transactionHex = tid?.byteLength ? Buffer.from(tid).toString('hex') : undefined;
    // RFC 9483 §3.1: the response echoes transactionID, answers senderNonce in recipNonce, names the requester as recipient.
    const answer = async (tag: number, content: asn1js.BaseBlock, generalInfo?: InfoTypeAndValue[]): Promise<LabResponse> => {
      const fields = {
        recipient: msg.header.sender,
        messageTime: new Date(Math.floor(now().getTime() / 1000) * 1000),
        transactionID: tid ?? new Uint8Array(16),
        senderNonce: new Uint8Array(randomBytes(16)),
        ...(msg.header.senderNonce ? { recipNonce: msg.header.senderNonce } : {}),
        ...(generalInfo ? { generalInfo } : {}),
      };
      const b = pkiBody(tag, content);
      if (signed) {
        // RFC 9483 §3.2 / RFC 4210 §5.1.3.3: signature protection; the protection certificate is the first extraCert.
        const cert = await ra();
        const key = keyObject(raKeys.privateKey);
        const h = header({ ...fields, sender: directoryName(buildName(RA_NAME)), protectionAlg: signatureAlgorithm(key).toSchema() as asn1js.Sequence });
        return ok(pkiMessage(h, b, signBytes(key, protectedPart(h, b)), [cert, o.ca.issuing.der]));
      }
      const pbm: PBMParameter = { salt: new Uint8Array(randomBytes(16)), owf: OID.sha256, iterationCount: 1000, mac: CMP_OID.hmacSha256 };
      // RFC 4210 §5.1.1: MAC protection, sender NULL-DN, senderKID = the reference value.
      const h = header({ ...fields, sender: directoryName(new pkijs.RelativeDistinguishedNames()), senderKID: new TextEncoder().encode(o.reference), protectionAlg: pbmAlgorithm(pbm) });
      return ok(pkiMessage(h, b, pbmMac(pbm, o.secret, protectedPart(h, b)), [o.ca.issuing.der]));
    };
    const error = (bit: number, text: string): Promise<LabResponse> => {
      records.push({ body: name, outcome: 'rejected', detail: text });
      return answer(BODY.error, errorMsgContent(bit, text));
    };
    /** RFC 9483 §4.4: this answer comes late: an error "waiting" now, the final answer after polling. */
    const delay = (final: () => Promise<{ tag: number; content: asn1js.BaseBlock }>): Promise<LabResponse> => {
      delayed.set(transactionHex!, { polls: o.waiting!.polls, body: name, final });
      records.push({ body: name, outcome: 'waiting' });
      return answer(BODY.error, waitingErrorMsgContent());
    };
    const issueAnswer = async (csrLike: pkijs.CertificationRequest, certReqId: number, tag: number, implicit: boolean): Promise<LabResponse> => {
      const start = now();
      const cert = o.edIssuer ? issueWithEd25519(o.edIssuer, csrLike.subject, csrLike.subjectPublicKeyInfo, new Date(start.getTime() - 60_000), new Date(start.getTime() + (o.certValiditySeconds ?? 86400) * 1000)) : certificateDer(await o.ca.issue({
        subject: csrLike.subject,
        spki: csrLike.subjectPublicKeyInfo,
        notBefore: new Date(start.getTime() - 60_000),
        notAfter: new Date(start.getTime() + (o.certValiditySeconds ?? 86400) * 1000),
        profile: 'client',
        extensions: csrExtensions(csrLike).filter((e) => e.extnID === OID.subjectAltName),
      }));
      if (!implicit && transactionHex) unconfirmed.set(transactionHex, { certReqId, der: cert });
      records.push({ body: name, outcome: 'issued', ...(certProfile ? { certProfile } : {}) });
      const rep = certRepMessage([o.ca.root.der], [{ certReqId, status: pkiStatusInfo(0), certificate: cert }]);
      // RFC 4210 §5.1.1.1: implicitConfirm granted is signalled back in generalInfo
      return answer(tag, rep, implicit ? [{ infoType: CMP_OID.itImplicitConfirm, infoValue: new asn1js.Null() }] : undefined);
    };
    let certProfile: string[] | undefined;
    try {
      let requester: pkijs.Certificate | undefined;
      const alg = msg.header.protectionAlg;
      if (!msg.protection || !alg) throw new Refuse(FAIL.badMessageCheck, 'unprotected request');
      if (alg.id === CMP_OID.passwordBasedMac) {
        if (Buffer.from(msg.header.senderKID ?? []).toString('utf8') !== o.reference) throw new Refuse(FAIL.badMessageCheck, 'unknown senderKID');
        const mac = pbmMac(readPBMParameter(alg.params), o.secret, msg.protectedPart);
        if (mac.byteLength !== msg.protection.byteLength || !timingSafeEqual(mac, msg.protection)) throw new Refuse(FAIL.badMessageCheck, 'MAC does not verify');
      } else if (signatureHash(alg.id) && msg.extraCerts[0]) {
        signed = true;
        requester = parseCertificate(msg.extraCerts[0]);
        const algorithm = new pkijs.AlgorithmIdentifier({ algorithmId: alg.id, ...(alg.params ? { algorithmParams: alg.params } : {}) });
        if (!verifyBytes(new Uint8Array(requester.subjectPublicKeyInfo.toSchema().toBER(false)), algorithm, msg.protectedPart, msg.protection)) throw new Refuse(FAIL.badMessageCheck, 'signature protection does not verify');
        try {
          await validateChain({ leaf: requester, intermediates: [o.ca.issuing.der], trustAnchors: [o.ca.root.der], at: now() });
        } catch (e) {
          throw new Refuse(FAIL.signerNotTrusted, `requester certificate not issued by the lab: ${(e as Error).message}`);
        }
      } else throw new Refuse(FAIL.badAlg, 'MAC (PBM) or signature protection with the protection certificate in extraCerts required');
      if (msg.bodyTag === BODY.kur && !requester) throw new Refuse(FAIL.notAuthorized, 'kur must be signed by the certificate being updated');
      switch (msg.bodyTag) {
        case BODY.genm: {
          const general = async (): Promise<{ tag: number; content: asn1js.BaseBlock }> => {
          const out: InfoTypeAndValue[] = [];
          for (const itav of readGenContent(msg.body, 'genm')) {
            if (itav.infoType === CMP_OID.itCaCerts) {
              out.push({ infoType: CMP_OID.itCaCerts, infoValue: caCertsValue([o.ca.issuing.der, o.ca.root.der]) });
              continue;
            }
            if (itav.infoType === CMP_OID.itRootCaCert) {
              // RFC 9480 §2.15: no value when there is no update
              out.push({ infoType: CMP_OID.itRootCaKeyUpdate, ...(o.rootCaKeyUpdate ? { infoValue: rootCaKeyUpdateContent(o.rootCaKeyUpdate) } : {}) });
              continue;
            }
            if (itav.infoType !== nonceTypes.request) continue;
            if (!o.attestation) throw new Refuse(FAIL.addInfoNotAvailable, 'no nonce service');
            const nr = readNonceRequest(itav.infoValue, 'genm.NonceRequest');
            // §5: the nonce belongs to this transaction; the ir/cr/kur/p10cr must continue it
            const issued = o.attestation.nonces.issue({ ...(nr.len !== undefined ? { len: nr.len } : {}), ...(nr.type ? { type: nr.type } : {}) }, now(), { transaction: transactionHex });
            // reqInfo is echoed as respInfo (the lab's type-specific rule), so a client can see it passed through
            const rsp = nonceResponse({ nonce: issued.nonce, expiry: issued.ttlSeconds, ...(issued.type ? { type: issued.type, ...(nr.reqInfo ? { respInfo: nr.reqInfo } : {}) } : {}) });
            out.push({ infoType: nonceTypes.response, infoValue: rsp });
          }
          records.push({ body: 'genm', outcome: 'general' });
          return { tag: BODY.genp, content: genContent(out) };
          };
          if (delays('genm') && transactionHex) return delay(general);
          const g = await general();
          return answer(g.tag, g.content);
        }
        case BODY.rr: {
          // RFC 9483 §4.2: one RevDetails for a certificate the lab issued; signature-protected by that certificate's key
          const details = readRevReqContent(msg.body, 'rr');
          if (details.length !== 1) throw new Refuse(FAIL.badRequest, 'exactly one RevDetails expected');
          const d = details[0]!;
          const issuing = parseCertificate(o.ca.issuing.der);
          if (!Buffer.from(d.issuer).equals(Buffer.from(issuing.subject.toSchema().toBER(false)))) throw new Refuse(FAIL.badCertId, 'not a certificate of the lab issuing CA');
          if (requester && Buffer.from(requester.serialNumber.valueBlock.valueHexView).toString('hex') !== d.serialHex) throw new Refuse(FAIL.notAuthorized, 'rr not signed by the certificate to revoke');
          const revoke = async (): Promise<{ tag: number; content: asn1js.BaseBlock }> => {
            const key = `${d.serialHex}`;
            if (revoked.has(key)) throw new Refuse(FAIL.certRevoked, 'already revoked');
            revoked.add(key);
            records.push({ body: 'rr', outcome: 'revoked', detail: d.serialHex });
            return { tag: BODY.rp, content: revRepContent([pkiStatusInfo(0)]) };
          };
          if (delays('rr') && transactionHex) return delay(revoke);
          const r = await revoke();
          return answer(r.tag, r.content);
        }
        case BODY.ir:
        case BODY.cr:
        case BODY.kur:
        case BODY.p10cr: {
          let csrLike: pkijs.CertificationRequest;
          let certReqId = 0;
          if (msg.bodyTag === BODY.p10cr) {
            try {
              csrLike = verifyPkcs10(raw(msg.body)).csr;
            } catch (e) {
              throw new Refuse(FAIL.badPOP, `PKCS#10 does not verify: ${(e as Error).message}`);
            }
            certReqId = -1; // RFC 9483 §4.1.4: p10cr answers carry certReqId -1
          } else {
            const reqs = readCertReqMessages(msg.body, `${name}.CertReqMessages`);
            if (reqs.length !== 1) throw new Refuse(FAIL.badRequest, 'exactly one CertReqMsg expected');
            const r = reqs[0]!;
            certReqId = r.certReqId;
            if (!r.publicKey || !r.subject) throw new Refuse(FAIL.badCertTemplate, 'template needs subject and publicKey');
            if (r.popo?.kind !== 'signature') throw new Refuse(FAIL.badPOP, 'signature POP required');
            if (r.popo.withInput) throw new Refuse(FAIL.badPOP, 'POPOSigningKeyInput is for templates without subject/publicKey (RFC 4211 §4.1)');
            const key = createPublicKey({ key: Buffer.from(r.publicKey), format: 'der', type: 'spki' });
            let good: boolean;
            try {
              good = verifyBytes(key, r.popo.algorithm, r.certRequestDer, r.popo.signature);
            } catch (e) {
              throw new Refuse(FAIL.badAlg, (e as Error).message);
            }
            if (!good) throw new Refuse(FAIL.badPOP, 'POP signature does not verify');
            // CRMF → the shape the attestation verifier reads: CSR key + id-aa-attestation attribute from the extension.
            csrLike = new pkijs.CertificationRequest();
            csrLike.subject = r.subject;
            csrLike.subjectPublicKeyInfo = new pkijs.PublicKeyInfo({ schema: asn1js.fromBER(r.publicKey).result });
            const ev = r.extensions.find((e) => e.extnID === OID_ID_AA_ATTESTATION);
            if (ev) csrLike.attributes = [new pkijs.Attribute({ type: OID_ID_AA_ATTESTATION, values: [asn1js.fromBER(ev.extnValue.valueBlock.valueHexView).result] })];
            const rest = r.extensions.filter((e) => e.extnID !== OID_ID_AA_ATTESTATION);
            if (rest.length) csrLike.attributes = [...(csrLike.attributes ?? []), new pkijs.Attribute({ type: OID.extensionRequest, values: [new pkijs.Extensions({ extensions: rest }).toSchema()] })];
          }
          if (o.attestation) {
            const refusal = await o.attestation.checkCsr(csrLike, { transaction: transactionHex });
            if (refusal) throw new Refuse(FAIL.badPOP, `attestation refused: ${String(refusal.body ?? '').trim()}`);
          }
          // RFC 9480 §2.4: generalInfo id-it-certProfile names the profile asked for
          const profileItav = msg.header.generalInfo.find((i) => i.infoType === CMP_OID.itCertProfile);
          if (profileItav) {
            certProfile = readCertProfile(profileItav.infoValue, 'generalInfo.certProfile');
            if (o.certProfiles && !certProfile.every((p) => o.certProfiles!.includes(p))) throw new Refuse(FAIL.badCertTemplate, `unknown certificate profile ${certProfile.join(', ')}`);
          }
          const tag = msg.bodyTag === BODY.ir ? BODY.ip : msg.bodyTag === BODY.kur ? BODY.kup : BODY.cp;
          const implicit = msg.header.generalInfo.some((i) => i.infoType === CMP_OID.itImplicitConfirm);
          if (delays('cert') && transactionHex) {
            waiting.set(transactionHex, { certReqId, csr: csrLike, tag, implicit, polls: o.waiting!.polls });
            records.push({ body: name, outcome: 'waiting' });
            return answer(tag, certRepMessage([], [{ certReqId, status: pkiStatusInfo(3) }]));
          }
          return issueAnswer(csrLike, certReqId, tag, implicit);
        }
        case BODY.pollReq: {
          // RFC 4210 §5.3.22: PollReqContent ::= SEQUENCE OF SEQUENCE { certReqId INTEGER }
          const ids = seq(msg.body, 'pollReq').map((x, i) => int(seq(x, `pollReq[${i}]`)[0], `pollReq[${i}].certReqId`, -1));
          const late = transactionHex ? delayed.get(transactionHex) : undefined;
          if (late) {
            // RFC 9480 §2.19: after an error "waiting" the pollReq names -1, the whole response
            if (ids.length !== 1 || ids[0] !== CERT_REQ_ID_NONE) throw new Refuse(FAIL.badRequest, `pollReq for certReqId ${ids.join(',')}, the ${late.body} waits as a whole (-1)`);
            if (late.polls > 0) {
              late.polls--;
              records.push({ body: 'pollReq', outcome: 'polled', detail: late.body });
              return answer(BODY.pollRep, pollRepContent(CERT_REQ_ID_NONE, o.waiting?.checkAfterSeconds ?? 1));
            }
            delayed.delete(transactionHex!);
            const f = await late.final();
            return answer(f.tag, f.content);
          }
          const w = transactionHex ? waiting.get(transactionHex) : undefined;
          if (!w) throw new Refuse(FAIL.badRequest, 'pollReq for a transaction that is not waiting');
          if (ids.length !== 1 || ids[0] !== w.certReqId) throw new Refuse(FAIL.badRequest, `pollReq for certReqId ${ids.join(',')}, the request was ${w.certReqId}`);
          if (w.polls > 0) {
            w.polls--;
            records.push({ body: 'pollReq', outcome: 'polled' });
            // PollRepContent ::= SEQUENCE OF SEQUENCE { certReqId INTEGER, checkAfter INTEGER, reason PKIFreeText OPTIONAL }
            return answer(BODY.pollRep, pollRepContent(w.certReqId, o.waiting?.checkAfterSeconds ?? 1));
          }
          waiting.delete(transactionHex!);
          return issueAnswer(w.csr, w.certReqId, w.tag, w.implicit);
        }
        case BODY.certConf: {
          // RFC 4210 §5.3.18 / RFC 9480 §2.10: certHash over the issued certificate with the hash of its signature algorithm
          const statuses = readCertConfirmContent(msg.body, 'certConf');
          const pending = transactionHex ? unconfirmed.get(transactionHex) : undefined;
          if (pending) {
            for (const s of statuses) {
              // RFC 9480 §2.10: the hash of the certificate's signatureAlgorithm; hashAlg only where that names none
              // (EdDSA), and then the message is cmp2021 (pvno 3, §2.20)
              const sigHash = signatureHash(parseCertificate(pending.der).signatureAlgorithm.algorithmId);
              let hash: { name: string; outputLength?: number };
              if (s.hashAlg !== undefined) {
                if (msg.header.pvno !== 3) throw new Refuse(FAIL.unsupportedVersion, 'certConf with hashAlg must be pvno 3 (cmp2021)');
                const h = CERT_HASH[s.hashAlg];
                if (!h) throw new Refuse(FAIL.badAlg, `certConf hashAlg ${s.hashAlg} not supported`);
                hash = h;
              } else if (sigHash) hash = { name: sigHash };
              else throw new Refuse(FAIL.badAlg, 'certConf without hashAlg for a certificate whose signature algorithm names no hash');
              if (s.certReqId !== pending.certReqId) throw new Refuse(FAIL.badRequest, `certConf for certReqId ${s.certReqId}, the certificate was issued for ${pending.certReqId}`);
              const digest = (hash.outputLength ? createHash(hash.name, { outputLength: hash.outputLength }) : createHash(hash.name)).update(pending.der).digest();
              if (!Buffer.from(s.certHash).equals(digest)) throw new Refuse(FAIL.badCertId, 'certConf certHash is not the hash of the issued certificate');
            }
          }
          const confirm = async (): Promise<{ tag: number; content: asn1js.BaseBlock }> => {
            if (pending) unconfirmed.delete(transactionHex!);
            records.push({ body: 'certConf', outcome: 'confirmed', pvno: msg.header.pvno, ...(statuses[0]?.hashAlg ? { hashAlg: statuses[0].hashAlg } : {}) });
            return { tag: BODY.pkiconf, content: new asn1js.Null() };
          };
          if (delays('certConf') && transactionHex) return delay(confirm);
          const c = await confirm();
          return answer(c.tag, c.content);
        }
        default:
          throw new Refuse(FAIL.badRequest, `unsupported body ${name}`);
      }
    } catch (e) {
      if (e instanceof Refuse) return error(e.failBit, e.message);
      if (e instanceof DerError) return error(FAIL.badDataFormat, e.message);
      return error(FAIL.systemFailure, `lab failure: ${(e as Error).message}`);
    }
  };
  router.register('POST', o.path ?? CMP_WELL_KNOWN_PATH, handler);
  return records;
}

const ok = (der: Uint8Array): LabResponse => ({ status: 200, headers: { 'content-type': CMP_MEDIA_TYPE }, body: der });
