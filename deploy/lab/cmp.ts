// Lab CMP endpoint (RFC 9483 subset) for what the `openssl cmp` mock cannot do: the freshness nonce genm
// (draft-ietf-lamps-attestation-freshness-08 §5: id-it-nonceRequest → id-it-nonceResponse) and ir/p10cr whose
// attestation evidence (CSR attribute or CRMF id-aa-attestation extension, draft-ietf-lamps-csr-attestation-28)
// is checked with deploy/lab/attestation.ts. Requests: MAC (PBM with the lab's shared secret; answered MAC'd) or, for
// kur/cr, a signature by a lab-issued certificate in extraCerts (answered signed by a lab "CMP RA" certificate).
// POST /.well-known/cmp, application/pkixcmp. registerCmpHandlers(lab.router, { ca: lab.ca, attestation: lab.attestation, … }).
import { generateKeyPairSync, sign as cryptoSign, X509Certificate, createPublicKey, randomBytes, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { LabCa } from './ca.js';
import type { LabAttestation } from './attestation.js';
import type { Router, LabRequest, LabResponse } from './router.js';
import { certificateToDer } from '../../agent/pki/cert.js';
import { validateChain } from '../../agent/pki/chain.js';
import { buildName } from '../../agent/pki/name.js';
import { signatureAlgorithmFor } from '../../agent/pki/sign.js';
import { verifyCsr, csrExtensions } from '../../agent/pki/csr.js';
import { NonceRequest } from '../../agent/pki/asn1/nonce-request.js';
import { NonceResponse } from '../../agent/pki/asn1/nonce-response.js';
import { NonceResponseTypeInfo } from '../../agent/pki/asn1/nonce-response-type-info.js';
import { OID_ID_AA_ATTESTATION, OID_ID_IT_NONCE_REQUEST, OID_ID_IT_NONCE_RESPONSE } from '../../agent/pki/asn1/oids.js';
import { PKIMessage } from '../../agent/protocols/cmp/asn1/pki-message.js';
import { PKIHeader } from '../../agent/protocols/cmp/asn1/pki-header.js';
import { PKIStatusInfo } from '../../agent/protocols/cmp/asn1/pki-status-info.js';
import { PBMParameter } from '../../agent/protocols/cmp/asn1/pbm-parameter.js';
import { CertRepMessage } from '../../agent/protocols/cmp/asn1/cert-rep-message.js';
import { readCertReqMessages } from '../../agent/protocols/cmp/asn1/cert-req-msg.js';
import { ErrorMsgContent } from '../../agent/protocols/cmp/asn1/error-msg-content.js';
import { InfoTypeAndValue, genContent, readGenContent } from '../../agent/protocols/cmp/asn1/info-type-and-value.js';
import { RootCaKeyUpdateContent, caCertsValue } from '../../agent/protocols/cmp/asn1/root-ca-key-update-content.js';
import { BodyTag, OID_ECDSA_WITH_SHA256, CMP_MEDIA_TYPE, OID_IT_CA_CERTS, OID_IT_IMPLICIT_CONFIRM, OID_IT_ROOT_CA_CERT, OID_IT_ROOT_CA_KEY_UPDATE, OID_PASSWORD_BASED_MAC } from '../../agent/protocols/cmp/constants.js';

export const CMP_WELL_KNOWN_PATH = '/.well-known/cmp';

export interface LabCmpOptions {
  ca: LabCa;
  attestation?: LabAttestation;
  /** InfoTypes of the nonce genm/genp (TBD1/TBD2 in freshness-08 §5): placeholders unless given. */
  nonceInfoTypes?: { request: string; response: string };
  reference: string;
  secret: Uint8Array;
  certValiditySeconds?: number;
  /** Answer to id-it-rootCaCert (RFC 9480 §2.14); absent: "no update" (rootCaKeyUpdate without value). */
  rootCaKeyUpdate?: RootCaKeyUpdateContent;
  /** Route (default /.well-known/cmp). */
  path?: string;
  now?: () => Date;
}

export interface LabCmpRecord {
  body: string;
  outcome: 'issued' | 'rejected' | 'general' | 'confirmed' | 'error';
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
  const nonceTypes = o.nonceInfoTypes ?? { request: OID_ID_IT_NONCE_REQUEST, response: OID_ID_IT_NONCE_RESPONSE };
  // The RA identity that signs answers to signature-protected requests (issued lazily by the lab issuing CA).
  const raKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let raCert: Uint8Array | undefined;
  const ra = async (): Promise<Uint8Array> => {
    raCert ??= certificateToDer(await o.ca.issue({
      subject: 'CN=enrolld lab CMP RA', spki: new Uint8Array(raKeys.publicKey.export({ type: 'spki', format: 'der' })),
      notBefore: new Date(now().getTime() - 60_000), notAfter: new Date(now().getTime() + 30 * 86400_000), profile: 'client',
    }));
    return raCert;
  };
  const handler = async (req: LabRequest): Promise<LabResponse> => {
    let msg: PKIMessage;
    try {
      msg = PKIMessage.fromBER(new Uint8Array(req.body));
    } catch (e) {
      records.push({ body: '?', outcome: 'error', detail: (e as Error).message });
      return { status: 400, headers: { 'content-type': 'text/plain' }, body: `not a PKIMessage: ${(e as Error).message}\n` };
    }
    let signed = false;
    const transactionHex = msg.header.transactionID?.byteLength ? Buffer.from(msg.header.transactionID).toString('hex') : undefined;
    const answer = async (tag: number, body: asn1js.AsnType, generalInfo?: InfoTypeAndValue[]): Promise<LabResponse> => {
      const h = new PKIHeader({
        pvno: 2,
        messageTime: new Date(Math.floor(now().getTime() / 1000) * 1000),
        senderKID: new TextEncoder().encode(o.reference),
        transactionID: msg.header.transactionID ?? new Uint8Array(16),
        senderNonce: new Uint8Array(randomBytes(16)),
        ...(msg.header.senderNonce ? { recipNonce: msg.header.senderNonce } : {}),
        ...(generalInfo ? { generalInfo } : {}),
      });
      let out: PKIMessage;
      if (signed) {
        const cert = await ra();
        h.senderKID = undefined;
        h.sender = new pkijs.GeneralName({ type: 4, value: buildName('CN=enrolld lab CMP RA') });
        h.protectionAlg = signatureAlgorithmFor('ecc-p256');
        out = new PKIMessage({ header: h, bodyType: tag, body, extraCerts: [cert, o.ca.issuing.der] });
        out.protection = new Uint8Array(cryptoSign('sha256', out.protectedPart(), raKeys.privateKey));
      } else {
        const pbm = new PBMParameter(new Uint8Array(randomBytes(16)), undefined, 1000);
        h.protectionAlg = pbm.toAlgorithmIdentifier();
        out = new PKIMessage({ header: h, bodyType: tag, body, extraCerts: [o.ca.issuing.der] });
        out.protection = pbm.compute(o.secret, out.protectedPart());
      }
      return { status: 200, headers: { 'content-type': CMP_MEDIA_TYPE }, body: out.toDER() };
    };
    const error = (bit: number, text: string): Promise<LabResponse> => {
      records.push({ body: msg.bodyType, outcome: 'rejected', detail: text });
      return answer(BodyTag.error, new ErrorMsgContent(new PKIStatusInfo(2, [text], [bit])).toSchema());
    };
    try {
      // protection: PBM with the shared secret, senderKID = reference
      if (!msg.protection) throw new Refuse(1, 'unprotected request');
      let requester: X509Certificate | undefined;
      if (msg.header.protectionAlg?.algorithmId === OID_ECDSA_WITH_SHA256 && msg.extraCerts[0]) {
        signed = true;
        requester = new X509Certificate(Buffer.from(msg.extraCerts[0]));
        if (!cryptoVerify('sha256', msg.protectedPart(), requester.publicKey, msg.protection)) throw new Refuse(1, 'signature protection does not verify');
        try {
          await validateChain({ leaf: msg.extraCerts[0], intermediates: [o.ca.issuing.der], trustAnchors: [o.ca.root.der], at: now() });
        } catch (e) {
          throw new Refuse(20, `requester certificate not issued by the lab: ${(e as Error).message}`);
        }
      } else {
        if (msg.header.protectionAlg?.algorithmId !== OID_PASSWORD_BASED_MAC) throw new Refuse(0, 'MAC (PBM) or ecdsa-with-SHA256 protection required');
        if (Buffer.from(msg.header.senderKID ?? []).toString('utf8') !== o.reference) throw new Refuse(1, 'unknown senderKID');
        const mac = PBMParameter.fromSchema(msg.header.protectionAlg.algorithmParams).compute(o.secret, msg.protectedPart());
        if (mac.byteLength !== msg.protection.byteLength || !timingSafeEqual(mac, msg.protection)) throw new Refuse(1, 'MAC does not verify');
      }
      if (msg.bodyTag === BodyTag.kur && !requester) throw new Refuse(23, 'kur must be signed by the certificate being updated');
      switch (msg.bodyTag) {
        case BodyTag.genm: {
          const out: InfoTypeAndValue[] = [];
          for (const itav of readGenContent(msg.body, 'genm')) {
            if (itav.infoType === OID_IT_CA_CERTS) {
              out.push(new InfoTypeAndValue(OID_IT_CA_CERTS, caCertsValue([o.ca.issuing.der, o.ca.root.der])));
              continue;
            }
            if (itav.infoType === OID_IT_ROOT_CA_CERT) {
              out.push(new InfoTypeAndValue(OID_IT_ROOT_CA_KEY_UPDATE, o.rootCaKeyUpdate?.toSchema()));
              continue;
            }
            if (itav.infoType !== nonceTypes.request) continue;
            if (!o.attestation) throw new Refuse(17, 'no nonce service');
            const nr = NonceRequest.fromInfoTypeAndValue(itav.toSchema(), 'InfoTypeAndValue', nonceTypes.request);
            const type = nr.reqTypeInfo?.type;
            // §5: the nonce belongs to this transaction; the ir/cr/kur/p10cr must continue it
            const issued = o.attestation.nonces.issue({ ...(nr.len !== undefined ? { len: nr.len } : {}), ...(type ? { type } : {}) }, now(), { transaction: transactionHex });
            // reqInfo is echoed as respInfo (the lab's type-specific rule), so a client can see it passed through
            const reqInfo = nr.reqTypeInfo?.reqInfo;
            const rsp = new NonceResponse({ nonce: issued.nonce, expiry: issued.ttlSeconds, ...(issued.type ? { respTypeInfo: new NonceResponseTypeInfo({ type: issued.type, ...(reqInfo ? { respInfo: reqInfo } : {}) }) } : {}) });
            out.push(InfoTypeAndValue.fromSchema(rsp.toInfoTypeAndValue(nonceTypes.response)));
          }
          records.push({ body: 'genm', outcome: 'general' });
          return answer(BodyTag.genp, genContent(out));
        }
        case BodyTag.ir:
        case BodyTag.cr:
        case BodyTag.kur:
        case BodyTag.p10cr: {
          let csrLike: pkijs.CertificationRequest;
          let certReqId = 0;
          if (msg.bodyTag === BodyTag.p10cr) {
            const der = new Uint8Array(msg.body.toBER(false));
            try {
              csrLike = await verifyCsr(der);
            } catch (e) {
              throw new Refuse(9, `PKCS#10 does not verify: ${(e as Error).message}`);
            }
          } else {
            const reqs = readCertReqMessages(msg.body);
            if (reqs.length !== 1) throw new Refuse(2, 'exactly one CertReqMsg expected');
            const r = reqs[0]!;
            certReqId = r.certReqId;
            const t = r.certTemplate;
            if (!t.publicKey || !t.subject) throw new Refuse(19, 'template needs subject and publicKey');
            if (!r.popo || r.popo === 'raVerified') throw new Refuse(9, 'signature POP required');
            const key = createPublicKey({ key: Buffer.from(t.publicKey), format: 'der', type: 'spki' });
            if (!cryptoVerify('sha256', r.certRequestDer(), key, r.popo.signature)) throw new Refuse(9, 'POP signature does not verify');
            // CRMF → the shape the attestation verifier reads: CSR key + id-aa-attestation attribute from the extension.
            csrLike = new pkijs.CertificationRequest();
            csrLike.subject = t.subject;
            csrLike.subjectPublicKeyInfo = new pkijs.PublicKeyInfo({ schema: asn1js.fromBER(new Uint8Array(t.publicKey)).result });
            const ev = t.extensions?.find((e) => e.extnID === OID_ID_AA_ATTESTATION);
            if (ev) csrLike.attributes = [new pkijs.Attribute({ type: OID_ID_AA_ATTESTATION, values: [asn1js.fromBER(ev.extnValue.valueBlock.valueHexView).result] })];
            const rest = (t.extensions ?? []).filter((e) => e.extnID !== OID_ID_AA_ATTESTATION);
            if (rest.length) csrLike.attributes = [...(csrLike.attributes ?? []), new pkijs.Attribute({ type: '1.2.840.113549.1.9.14', values: [new pkijs.Extensions({ extensions: rest }).toSchema()] })];
          }
          if (o.attestation) {
            const refusal = await o.attestation.checkCsr(csrLike, { transaction: transactionHex });
            if (refusal) throw new Refuse(9, `attestation refused: ${String(refusal.body ?? '').trim()}`);
          }
          const start = now();
          const cert = await o.ca.issue({
            subject: csrLike.subject,
            spki: csrLike.subjectPublicKeyInfo,
            notBefore: new Date(start.getTime() - 60_000),
            notAfter: new Date(start.getTime() + (o.certValiditySeconds ?? 86400) * 1000),
            profile: 'client',
            extensions: csrExtensions(csrLike).filter((e) => e.extnID === '2.5.29.17'),
          });
          const implicit = msg.header.generalInfo?.some((i) => i.infoType === OID_IT_IMPLICIT_CONFIRM);
          records.push({ body: msg.bodyType, outcome: 'issued' });
          const rep = new CertRepMessage([{ certReqId, status: new PKIStatusInfo(0), certificate: certificateToDer(cert) }], [o.ca.root.der]);
          return answer(msg.bodyTag === BodyTag.ir ? BodyTag.ip : msg.bodyTag === BodyTag.kur ? BodyTag.kup : BodyTag.cp, rep.toSchema(), implicit ? [new InfoTypeAndValue(OID_IT_IMPLICIT_CONFIRM, new asn1js.Null())] : undefined);
        }
        case BodyTag.certConf:
          records.push({ body: 'certConf', outcome: 'confirmed' });
          return answer(BodyTag.pkiconf, new asn1js.Null());
        default:
          throw new Refuse(2, `unsupported body ${msg.bodyType}`);
      }
    } catch (e) {
      if (e instanceof Refuse) return error(e.failBit, e.message);
      return error(25, `lab failure: ${(e as Error).message}`);
    }
  };
  router.register('POST', o.path ?? CMP_WELL_KNOWN_PATH, handler);
  return records;
}
