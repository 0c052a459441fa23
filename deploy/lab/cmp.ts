// Lab CMP endpoint (RFC 9483 subset) for what the `openssl cmp` mock cannot do: the freshness nonce genm
// (draft-ietf-lamps-attestation-freshness-08 §5: id-it-nonceRequest → id-it-nonceResponse) and ir/p10cr whose
// attestation evidence (CSR attribute or CRMF id-aa-attestation extension, draft-ietf-lamps-csr-attestation-28)
// is checked with deploy/lab/attestation.ts. Requests: MAC (PBM with the lab's shared secret; answered MAC'd) or, for
// kur/cr, a signature by a lab-issued certificate in extraCerts (answered signed by a lab "CMP RA" certificate).
// The messages are read and written with the lab's own codecs (deploy/lab/asn1/cmp.ts, crmf.ts), not the agent's.
// POST /.well-known/cmp, application/pkixcmp. registerCmpHandlers(lab.router, { ca: lab.ca, attestation: lab.attestation, … }).
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
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
  BODY, CMP_MEDIA_TYPE, CMP_OID, FAIL, type InfoTypeAndValue, type PBMParameter, type RootCaKeyUpdate, type ReceivedPKIMessage,
  body as pkiBody, bodyName, caCertsValue, certRepMessage, directoryName, errorMsgContent, genContent, header, pbmAlgorithm, pbmMac,
  pkiMessage, pkiStatusInfo, readCertConfirmContent, readGenContent, readPBMParameter, readPKIMessage, rootCaKeyUpdateContent,
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
  /** Answer to id-it-rootCaCert (RFC 9480 §2.14); absent: "no update" (rootCaKeyUpdate without value). */
  rootCaKeyUpdate?: RootCaKeyUpdate;
  /** Answer certificate requests with status waiting, then pollRep to `polls` pollReqs before the certificate (RFC 9483 §4.4). */
  waiting?: { polls: number; checkAfterSeconds?: number };
  /** Route (default /.well-known/cmp). */
  path?: string;
  now?: () => Date;
}

export interface LabCmpRecord {
  body: string;
  outcome: 'issued' | 'rejected' | 'general' | 'confirmed' | 'error' | 'waiting' | 'polled';
  detail?: string;
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
        // §3.2 / RFC 4210 §5.1.3.3: signature protection; the protection certificate is the first extraCert.
        const cert = await ra();
        const key = keyObject(raKeys.privateKey);
        const h = header({ ...fields, sender: directoryName(buildName(RA_NAME)), protectionAlg: signatureAlgorithm(key).toSchema() as asn1js.Sequence });
        return ok(pkiMessage(h, b, signBytes(key, protectedPart(h, b)), [cert, o.ca.issuing.der]));
      }
      const pbm: PBMParameter = { salt: new Uint8Array(randomBytes(16)), owf: OID.sha256, iterationCount: 1000, mac: CMP_OID.hmacSha256 };
      // §3.2 / RFC 9483 §6.1: MAC protection, sender NULL-DN, senderKID = the reference value.
      const h = header({ ...fields, sender: directoryName(new pkijs.RelativeDistinguishedNames()), senderKID: new TextEncoder().encode(o.reference), protectionAlg: pbmAlgorithm(pbm) });
      return ok(pkiMessage(h, b, pbmMac(pbm, o.secret, protectedPart(h, b)), [o.ca.issuing.der]));
    };
    const error = (bit: number, text: string): Promise<LabResponse> => {
      records.push({ body: name, outcome: 'rejected', detail: text });
      return answer(BODY.error, errorMsgContent(bit, text));
    };
    const issueAnswer = async (csrLike: pkijs.CertificationRequest, certReqId: number, tag: number, implicit: boolean): Promise<LabResponse> => {
      const start = now();
      const cert = certificateDer(await o.ca.issue({
        subject: csrLike.subject,
        spki: csrLike.subjectPublicKeyInfo,
        notBefore: new Date(start.getTime() - 60_000),
        notAfter: new Date(start.getTime() + (o.certValiditySeconds ?? 86400) * 1000),
        profile: 'client',
        extensions: csrExtensions(csrLike).filter((e) => e.extnID === OID.subjectAltName),
      }));
      if (!implicit && transactionHex) unconfirmed.set(transactionHex, { certReqId, der: cert });
      records.push({ body: name, outcome: 'issued' });
      const rep = certRepMessage([o.ca.root.der], [{ certReqId, status: pkiStatusInfo(0), certificate: cert }]);
      // RFC 4210 §5.1.1.1: implicitConfirm granted is signalled back in generalInfo
      return answer(tag, rep, implicit ? [{ infoType: CMP_OID.itImplicitConfirm, infoValue: new asn1js.Null() }] : undefined);
    };
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
          const out: InfoTypeAndValue[] = [];
          for (const itav of readGenContent(msg.body, 'genm')) {
            if (itav.infoType === CMP_OID.itCaCerts) {
              out.push({ infoType: CMP_OID.itCaCerts, infoValue: caCertsValue([o.ca.issuing.der, o.ca.root.der]) });
              continue;
            }
            if (itav.infoType === CMP_OID.itRootCaCert) {
              // RFC 9480 §2.14: no value when there is no update
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
          return answer(BODY.genp, genContent(out));
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
          const tag = msg.bodyTag === BODY.ir ? BODY.ip : msg.bodyTag === BODY.kur ? BODY.kup : BODY.cp;
          const implicit = msg.header.generalInfo.some((i) => i.infoType === CMP_OID.itImplicitConfirm);
          if (o.waiting && transactionHex) {
            waiting.set(transactionHex, { certReqId, csr: csrLike, tag, implicit, polls: o.waiting.polls });
            records.push({ body: name, outcome: 'waiting' });
            return answer(tag, certRepMessage([], [{ certReqId, status: pkiStatusInfo(3) }]));
          }
          return issueAnswer(csrLike, certReqId, tag, implicit);
        }
        case BODY.pollReq: {
          // RFC 4210 §5.3.22: PollReqContent ::= SEQUENCE OF SEQUENCE { certReqId INTEGER }
          const ids = seq(msg.body, 'pollReq').map((x, i) => int(seq(x, `pollReq[${i}]`)[0], `pollReq[${i}].certReqId`, -1));
          const w = transactionHex ? waiting.get(transactionHex) : undefined;
          if (!w) throw new Refuse(FAIL.badRequest, 'pollReq for a transaction that is not waiting');
          if (ids.length !== 1 || ids[0] !== w.certReqId) throw new Refuse(FAIL.badRequest, `pollReq for certReqId ${ids.join(',')}, the request was ${w.certReqId}`);
          if (w.polls > 0) {
            w.polls--;
            records.push({ body: 'pollReq', outcome: 'polled' });
            // PollRepContent ::= SEQUENCE OF SEQUENCE { certReqId INTEGER, checkAfter INTEGER, reason PKIFreeText OPTIONAL }
            return answer(BODY.pollRep, new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.Integer({ value: w.certReqId }), new asn1js.Integer({ value: o.waiting?.checkAfterSeconds ?? 1 })] })] }));
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
              const hash = s.hashAlg === OID.sha256 || s.hashAlg === undefined ? signatureHash(parseCertificate(pending.der).signatureAlgorithm.algorithmId) ?? 'sha256' : undefined;
              if (!hash) throw new Refuse(FAIL.badAlg, `certConf hashAlg ${s.hashAlg} not supported`);
              if (s.certReqId !== pending.certReqId) throw new Refuse(FAIL.badRequest, `certConf for certReqId ${s.certReqId}, the certificate was issued for ${pending.certReqId}`);
              if (!Buffer.from(s.certHash).equals(createHash(hash).update(pending.der).digest())) throw new Refuse(FAIL.badCertId, 'certConf certHash is not the hash of the issued certificate');
            }
            unconfirmed.delete(transactionHex!);
          }
          records.push({ body: 'certConf', outcome: 'confirmed' });
          return answer(BODY.pkiconf, new asn1js.Null());
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
