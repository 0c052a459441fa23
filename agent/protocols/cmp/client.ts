// Lightweight CMP client (RFC 9483 over RFC 9480/4210, CRMF RFC 4211), HTTP transfer per RFC 6712/9811 or CoAP per RFC 9482 (coap-transport.ts): each
// PKIMessage is POSTed as application/pkixcmp to the configured URL. One transaction = one transactionID; every
// response is checked for pvno, transactionID, recipNonce (= our senderNonce), body type and protection before use.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { X509Certificate, createHash, createPublicKey, randomBytes, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import { OID_ECDSA_WITH_SHA384, OID_ED25519, OID_RSASSA_PSS, OID_SHA256, OID_SHA384_WITH_RSA, OID_SHA512, digestByOid, signatureByOid } from '../../pki/algorithms.js';
import { certificateFromDer } from '../../pki/cert.js';
import { validateChain } from '../../pki/chain.js';
import { bytesEqual } from '../../pki/der.js';
import { buildName, type NameInput } from '../../pki/name.js';
import { signatureAlgorithmFor } from '../../pki/sign.js';
import type { Signer } from '../../pki/signer.js';
import { EnrolldError } from '../../util/errors.js';
import { parseDer } from '../../pki/asn1/der.js';
import { parseRetryAfter } from '../http/retry-after.js';
import { createHttpsTransport, headerValue, type Transport } from '../http/transport.js';
import { CertConfirmContent } from './asn1/cert-confirm-content.js';
import { CertRepMessage, type CertResponse } from './asn1/cert-rep-message.js';
import { CertReqMsg, certReqMessages } from './asn1/cert-req-msg.js';
import { CertTemplate } from './asn1/cert-template.js';
import { CertId } from './asn1/cert-id.js';
import { RootCaKeyUpdateContent, readCaCertsValue } from './asn1/root-ca-key-update-content.js';
import { ErrorMsgContent } from './asn1/error-msg-content.js';
import { InfoTypeAndValue, genContent, readGenContent } from './asn1/info-type-and-value.js';
import { PBMParameter } from './asn1/pbm-parameter.js';
import { PKIHeader } from './asn1/pki-header.js';
import { PKIMessage } from './asn1/pki-message.js';
import { PollRepContent, PollReqContent } from './asn1/poll-content.js';
import { RevDetails, RevRepContent } from './asn1/rev-content.js';
import {
  BodyTag, type BodyType, CERT_REQ_ID_NONE, CMP_MEDIA_TYPE, OID_ECDSA_WITH_SHA256, OID_IT_CA_CERTS, OID_IT_CERT_PROFILE, OID_IT_IMPLICIT_CONFIRM, OID_IT_ROOT_CA_CERT,
  OID_IT_ROOT_CA_KEY_UPDATE, OID_PASSWORD_BASED_MAC, OID_SHA256_WITH_RSA, PKIStatus, PVNO_CMP2000, PVNO_CMP2021, bodyName,
} from './constants.js';
import { CmpProtectionError, CmpProtocolError, CmpRejectedError, CmpUsageError } from './errors.js';
import { createLoopbackHttpTransport, isLoopbackHttpUrl } from './loopback-http.js';
import { createCoapTransport, type CoapTransportOptions } from './coap-transport.js';

/** What a config section fills in (the lead wires it into agent/config.ts). */
export interface CmpOptions {
  /** CMP server URL (https://…; coap://… for RFC 9482; http:// only to 127.0.0.1/::1 with allowLoopbackHttp). */
  url: string;
  /** MAC-based protection for ir/p10cr (RFC 9483 §4.1.5): reference → senderKID, shared secret. */
  mac?: { reference: string; secret: Uint8Array; iterations?: number };
  /** CMP-level trust anchors (DER) validating signature-protected responses (RFC 9483 §3.5). */
  trustAnchors: Uint8Array[];
  /** TLS trust anchors for https:// (defaults to trustAnchors). */
  tlsTrustAnchors?: Array<string | Uint8Array>;
  /** Ask for implicit confirmation (RFC 9483 §4.1.1); when the server grants it no certConf is sent. */
  implicitConfirm?: boolean;
  /** Permit plain HTTP to a loopback address (the openssl mock server); see loopback-http.ts. */
  allowLoopbackHttp?: boolean;
  /** Recipient name (default NULL-DN). */
  recipient?: NameInput;
  /** Certificate profile named in generalInfo id-it-certProfile of ir/cr/kur/p10cr (RFC 9480 §2.4). */
  certProfile?: string;
  /**
   * Delayed delivery of genm/rr/certConf answers (RFC 9483 §4.4): how long the client itself waits and polls before it
   * hands the waiting transaction back to its caller (CmpWaitingError / a pending result) to be persisted.
   */
  delayedDelivery?: { inlineWaitSeconds?: number; maxPolls?: number };
  /** Block size, response cap and timeout of the CoAP transport (coap:// URLs). */
  coap?: CoapTransportOptions;
  transport?: Transport;
  now?: () => Date;
  /** Waits between polls (tests inject a fake). */
  sleep?: (ms: number) => Promise<void>;
}

/** Defaults of CmpOptions.delayedDelivery. */
export const DELAYED_DELIVERY_DEFAULTS = { inlineWaitSeconds: 30, maxPolls: 10 } as const;
/** Never poll more often than this, whatever checkAfter says (no hot loop against a server answering 0). */
const MIN_POLL_GAP_MS = 1000;

/** How a request is protected: the shared secret, or a signature by the current credential (cert + chain in extraCerts). */
export type Protection = { kind: 'mac' } | { kind: 'signature'; signer: Signer; certDer: Uint8Array; chainDer?: Uint8Array[] };

/** What must survive a restart to resume a "waiting" enrollment with pollReq (store it with the pending request). */
export interface CmpPendingTransaction {
  /** base64 */
  transactionID: string;
  /** base64: the server's last senderNonce, our next recipNonce. */
  recipNonce: string;
  certReqId: number;
  /** The certReqId the pollReq names when it is not certReqId: -1 after an error "waiting" (RFC 9480 §2.19: the
   *  whole response, there being no CertResponse to point at). */
  pollReqId?: number;
  /** The request that is waiting (ir, cr, kur, p10cr, genm, rr, certConf). */
  request: BodyType;
  checkAfter: number;
  /** A waiting certConf: the certificate it confirms (base64 DER), returned once the pkiConf arrives. */
  issued?: { cert: string; chain: string[]; caPubs: string[] };
}

const isB64List = (x: unknown): x is string[] => Array.isArray(x) && x.every((c) => typeof c === 'string');
export const isCmpPendingTransaction = (t: unknown): t is CmpPendingTransaction => {
  if (typeof t !== 'object' || t === null) return false;
  const p = t as CmpPendingTransaction;
  if (typeof p.transactionID !== 'string' || typeof p.recipNonce !== 'string' || !Number.isInteger(p.certReqId) || typeof p.request !== 'string' || typeof p.checkAfter !== 'number') return false;
  if (!Object.hasOwn(BodyTag, p.request) || (p.pollReqId !== undefined && !Number.isInteger(p.pollReqId))) return false;
  return p.issued === undefined || (typeof p.issued === 'object' && p.issued !== null && typeof p.issued.cert === 'string' && isB64List(p.issued.chain) && isB64List(p.issued.caPubs));
};

export type CertResult =
  | { kind: 'issued'; cert: Uint8Array; chain: Uint8Array[]; caPubs: Uint8Array[]; implicitlyConfirmed: boolean }
  | { kind: 'pending'; transaction: CmpPendingTransaction };

interface Txn {
  transactionID: Uint8Array;
  recipNonce?: Uint8Array;
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const RESPONSE_FOR: Partial<Record<BodyType, BodyType>> = { ir: 'ip', cr: 'cp', p10cr: 'cp', kur: 'kup', rr: 'rp', genm: 'genp', certConf: 'pkiconf', pollReq: 'pollRep' };
const CERT_REQUESTS: ReadonlySet<BodyType> = new Set(['ir', 'cr', 'kur', 'p10cr']);

export class CmpClient {
  private readonly transport: Transport;
  private readonly url: URL;
  private readonly now: () => Date;
  private readonly sleep: (ms: number) => Promise<void>;
  /** Statistics for tests/benchmarks. */
  readonly sent: BodyType[] = [];

  constructor(readonly opts: CmpOptions) {
    this.url = new URL(opts.url);
    this.now = opts.now ?? (() => new Date());
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    if (opts.transport) this.transport = opts.transport;
    else if (this.url.protocol === 'https:') this.transport = createHttpsTransport({ trustAnchors: opts.tlsTrustAnchors ?? opts.trustAnchors });
    else if (this.url.protocol === 'coap:') this.transport = createCoapTransport(opts.coap);
    else if (isLoopbackHttpUrl(this.url) && opts.allowLoopbackHttp) this.transport = createLoopbackHttpTransport();
    else throw new CmpUsageError(`refusing ${this.url.protocol}//${this.url.host}: https:// or coap:// is required (http:// only to 127.0.0.1/::1 with allowLoopbackHttp; coaps:// needs DTLS, which is not available)`);
  }

  // ---------------------------------------------------------------- certificate requests

  /** ir/cr/kur with a CRMF request for `newKey`, POP = signature by the new key over CertRequest (RFC 4211 §4.1). */
  async requestCertificate(
    type: 'ir' | 'cr' | 'kur',
    params: { newKey: Signer; subject?: NameInput | pkijs.RelativeDistinguishedNames; extensions?: pkijs.Extension[]; regInfo?: asn1js.AsnType[]; protection: Protection; transactionID?: Uint8Array },
  ): Promise<CertResult> {
    const subject = params.subject === undefined ? undefined : params.subject instanceof pkijs.RelativeDistinguishedNames ? params.subject : buildName(params.subject);
    const msg = new CertReqMsg({ certReqId: 0, certTemplate: new CertTemplate({ ...(subject ? { subject } : {}), publicKey: params.newKey.spki, ...(params.extensions ? { extensions: params.extensions } : {}) }) });
    if (params.regInfo) msg.regInfo = params.regInfo;
    // RFC 9483 §4.1.3: a kur names the certificate it updates (oldCertID control); OpenSSL insists on it.
    if (type === 'kur' && params.protection.kind === 'signature') msg.controls = [CertId.ofCertificate(params.protection.certDer).toControl()];
    await msg.signPop(params.newKey);
    return this.certTransaction(type, certReqMessages([msg]), params.protection, 0, params.transactionID);
  }

  /**
   * p10cr carrying a PKCS#10 request (RFC 9483 §4.1.4). The PKCS#10 has no certReqId, so the CertResponse names -1
   * (RFC 4210 Appendix F: "-1 is to be used if certReqId is not specified in the corresponding request") and certConf and
   * pollReq repeat it; a server answering 0 (OpenSSL 3.0's mock) is accepted, certConf naming what it named.
   */
  async requestP10(csr: Uint8Array, protection: Protection, transactionID?: Uint8Array): Promise<CertResult> {
    return this.certTransaction('p10cr', parseDer(csr, 'CertificationRequest'), protection, CERT_REQ_ID_NONE, transactionID);
  }

  /**
   * Resumes a waiting certificate transaction (ir/cr/kur/p10cr, or its certConf) with one pollReq (RFC 9483 §4.4):
   * pollRep → pending again with its checkAfter; the final ip/cp/kup (or pkiConf) → the certificate.
   */
  async poll(pending: CmpPendingTransaction, protection: Protection): Promise<CertResult> {
    const txn: Txn = { transactionID: unb64(pending.transactionID), recipNonce: unb64(pending.recipNonce) };
    if (pending.request === 'certConf') return this.pollCertConf(pending, protection, txn);
    if (!CERT_REQUESTS.has(pending.request)) throw new CmpUsageError(`poll(): ${pending.request} is not a certificate request (use resume())`);
    const pollId = pending.pollReqId ?? pending.certReqId;
    let rsp: PKIMessage;
    try {
      rsp = await this.pollOnce({ request: pending.request, certReqId: pollId }, protection, txn, BodyTag[RESPONSE_FOR[pending.request]!]);
    } catch (err) {
      // an error "waiting" in answer to the pollReq: still waiting, poll again later
      if (err instanceof CmpWaitingError) return { kind: 'pending', transaction: { ...err.transaction, request: pending.request, certReqId: pending.certReqId, pollReqId: pollId } };
      throw err;
    }
    return this.certResponse(rsp, pending.request, protection, txn, pending.certReqId, pollId);
  }

  /**
   * Resumes a waiting genm or rr (RFC 9483 §4.4, RFC 9480 §2.19) from its persisted transaction: polls (within the
   * inline budget) until the final genp/rp arrives. Still waiting after that: CmpWaitingError with the transaction.
   */
  async resume(pending: CmpPendingTransaction, protection: Protection): Promise<PKIMessage> {
    const final = RESPONSE_FOR[pending.request];
    if (pending.request !== 'genm' && pending.request !== 'rr') throw new CmpUsageError(`resume(): ${pending.request} is resumed with poll()`);
    const txn: Txn = { transactionID: unb64(pending.transactionID), recipNonce: unb64(pending.recipNonce) };
    // the caller has waited checkAfter already: the first pollReq goes now
    return this.awaitDelayed(pending.request, protection, txn, BodyTag[final!], 0, true);
  }

  /** One pollReq for `pending.certReqId`; answers pollRep (its entry checked) or the final `final` body. */
  private async pollOnce(pending: { request: BodyType; certReqId: number }, protection: Protection, txn: Txn, final: number): Promise<PKIMessage> {
    const rsp = await this.exchange('pollReq', new PollReqContent({ certReqIds: [pending.certReqId] }).toSchema(), protection, txn, [final, BodyTag.pollRep]);
    if (rsp.bodyTag === BodyTag.pollRep) {
      // RFC 9483 §4.4: the pollRep names the same certReqId
      const entries = PollRepContent.fromSchema(rsp.body, 'pollRep').entries;
      if (entries.length !== 1 || entries[0]!.certReqId !== pending.certReqId) throw new CmpProtocolError(`pollRep for certReqId ${entries.map((e) => e.certReqId).join(',') || '(none)'}, polled ${pending.certReqId}`);
    }
    return rsp;
  }

  /**
   * Delayed delivery of a non-certificate answer (RFC 9483 §4.4, RFC 9480 §2.19): after an error "waiting" the EE
   * sends pollReq with certReqId -1 and waits checkAfter between polls; the answer to a pollReq is a pollRep or the
   * final response to the original request (genp, rp, pkiConf, or an error). Bounded: at most `maxPolls` polls and
   * `inlineWaitSeconds` of waiting in this call, never more often than once a second; beyond that CmpWaitingError
   * carries the transaction (and the server's checkAfter) for the caller to persist and resume.
   */
  private async awaitDelayed(request: BodyType, protection: Protection, txn: Txn, final: number, firstCheckAfter = 0, pollNow = false): Promise<PKIMessage> {
    const limits = { ...DELAYED_DELIVERY_DEFAULTS, ...this.opts.delayedDelivery };
    let budgetMs = limits.inlineWaitSeconds * 1000;
    let checkAfter = firstCheckAfter;
    for (let polls = 0; ; polls++) {
      const waitMs = polls === 0 && pollNow ? 0 : Math.max(MIN_POLL_GAP_MS, checkAfter * 1000);
      if (polls >= limits.maxPolls || waitMs > budgetMs) {
        throw new CmpWaitingError({ transactionID: b64(txn.transactionID), recipNonce: b64(txn.recipNonce!), certReqId: CERT_REQ_ID_NONE, request, checkAfter });
      }
      budgetMs -= waitMs;
      if (waitMs > 0) await this.sleep(waitMs);
      let rsp: PKIMessage;
      try {
        rsp = await this.pollOnce({ request, certReqId: CERT_REQ_ID_NONE }, protection, txn, final);
      } catch (err) {
        if (!(err instanceof CmpWaitingError)) throw err;
        checkAfter = 0;
        continue;
      }
      if (rsp.bodyTag !== BodyTag.pollRep) return rsp;
      checkAfter = PollRepContent.fromSchema(rsp.body, 'pollRep').entries[0]!.checkAfter;
    }
  }

  /** `transactionID`: continue the transaction of an earlier genm (the freshness nonce, attestation-freshness §5). */
  private async certTransaction(type: BodyType, body: asn1js.AsnType, protection: Protection, certReqId: number, transactionID?: Uint8Array): Promise<CertResult> {
    const txn: Txn = { transactionID: transactionID ?? new Uint8Array(randomBytes(16)) };
    const generalInfo: InfoTypeAndValue[] = [];
    if (this.opts.implicitConfirm) generalInfo.push(new InfoTypeAndValue({ infoType: OID_IT_IMPLICIT_CONFIRM, infoValue: new asn1js.Null() }));
    // RFC 9480 §2.4: CertProfileValue (a p10cr names one profile at most) ::= SEQUENCE SIZE (1..MAX) OF UTF8String
    if (this.opts.certProfile !== undefined) generalInfo.push(new InfoTypeAndValue({ infoType: OID_IT_CERT_PROFILE, infoValue: new asn1js.Sequence({ value: [new asn1js.Utf8String({ value: this.opts.certProfile })] }) }));
    let rsp: PKIMessage;
    try {
      rsp = await this.exchange(type, body, protection, txn, [BodyTag[RESPONSE_FOR[type]!]], generalInfo.length ? generalInfo : undefined);
    } catch (err) {
      // RFC 9483 §4.4: an error message with status waiting instead of ip/cp/kup — resume by polling this certReqId.
      // (the pollReq then names the whole response, -1, RFC 9483 §4.4)
      if (err instanceof CmpWaitingError) return { kind: 'pending', transaction: { ...err.transaction, certReqId, pollReqId: CERT_REQ_ID_NONE } };
      throw err;
    }
    return this.certResponse(rsp, type, protection, txn, certReqId);
  }

  private async certResponse(rsp: PKIMessage, request: BodyType, protection: Protection, txn: Txn, certReqId: number, pollId = certReqId): Promise<CertResult> {
    const pending = (checkAfter: number, id: number): CertResult => ({
      kind: 'pending',
      transaction: { transactionID: b64(txn.transactionID), recipNonce: b64(txn.recipNonce!), certReqId, ...(id !== certReqId ? { pollReqId: id } : {}), request, checkAfter },
    });
    if (rsp.bodyTag === BodyTag.pollRep) return pending(PollRepContent.fromSchema(rsp.body, 'pollRep').entries[0]!.checkAfter, pollId);
    const rep = CertRepMessage.fromSchema(rsp.body, rsp.bodyType);
    if (rep.response.length !== 1) throw new CmpProtocolError(`${rsp.bodyType}: expected exactly one CertResponse, got ${rep.response.length}`);
    const r: CertResponse = rep.response[0]!;
    // p10cr: -1 (RFC 9483 §4.1.4), or 0 from a server that predates it
    const idOk = r.certReqId === certReqId || (request === 'p10cr' && (r.certReqId === CERT_REQ_ID_NONE || r.certReqId === 0));
    if (!idOk) throw new CmpProtocolError(`${rsp.bodyType}: certReqId ${r.certReqId}, expected ${certReqId}`);
    if (r.status.status === PKIStatus.waiting) return pending(0, r.certReqId);
    if (r.status.status !== PKIStatus.accepted && r.status.status !== PKIStatus.grantedWithMods) throw new CmpRejectedError(r.status.failInfoNames(), r.status.statusString, rsp.bodyType);
    if (!r.certificate) throw new CmpProtocolError(`${rsp.bodyType}: accepted without a certificate`);
    const cert = r.certificate;
    // RFC 9483 §4.1.1: extraCerts carry the chain of the new certificate, next to the protection certificate of a
    // signed answer; only CA certificates are kept as the chain.
    const chain = rsp.extraCerts.filter((c) => !bytesEqual(c, cert) && isCaCertificate(c));
    const implicit = !!this.opts.implicitConfirm && !!rsp.header.generalInfo?.some((i) => i.infoType === OID_IT_IMPLICIT_CONFIRM);
    if (!implicit) {
      // RFC 9480 §2.10: certHash with the hash of the certificate's signature algorithm; where that names none
      // (EdDSA) the hash is given in hashAlg, and the certConf is then cmp2021 (pvno 3, §2.20).
      const h = certHashAlgorithm(cert);
      const certHash = certDigest(h.node, cert);
      const confirm = new CertConfirmContent({ statuses: [{ certHash, certReqId: r.certReqId, ...(h.hashAlg ? { hashAlg: h.hashAlg } : {}) }] }).toSchema();
      try {
        await this.exchange('certConf', confirm, protection, txn, [BodyTag.pkiconf], undefined, h.hashAlg ? PVNO_CMP2021 : PVNO_CMP2000);
      } catch (err) {
        if (!(err instanceof CmpWaitingError)) throw err;
        // RFC 9483 §4.4: the pkiConf is delayed: poll for it (certReqId -1), then persist what is still waiting
        try {
          await this.awaitDelayed('certConf', protection, txn, BodyTag.pkiconf, err.transaction.checkAfter);
        } catch (still) {
          if (!(still instanceof CmpWaitingError)) throw still;
          return { kind: 'pending', transaction: { ...still.transaction, issued: { cert: b64(cert), chain: chain.map(b64), caPubs: rep.caPubs.map(b64) } } };
        }
      }
    }
    return { kind: 'issued', cert, chain, caPubs: rep.caPubs, implicitlyConfirmed: implicit };
  }

  /** A waiting certConf resumed: one pollReq(-1); the pkiConf releases the certificate kept with the transaction. */
  private async pollCertConf(pending: CmpPendingTransaction, protection: Protection, txn: Txn): Promise<CertResult> {
    if (!pending.issued) throw new CmpUsageError('a waiting certConf without the certificate it confirms');
    const issued = pending.issued;
    let rsp: PKIMessage;
    try {
      rsp = await this.pollOnce({ request: 'certConf', certReqId: CERT_REQ_ID_NONE }, protection, txn, BodyTag.pkiconf);
    } catch (err) {
      if (err instanceof CmpWaitingError) return { kind: 'pending', transaction: { ...err.transaction, request: 'certConf', issued } };
      throw err;
    }
    if (rsp.bodyTag === BodyTag.pollRep) {
      return { kind: 'pending', transaction: { transactionID: pending.transactionID, recipNonce: b64(txn.recipNonce!), certReqId: CERT_REQ_ID_NONE, request: 'certConf', checkAfter: PollRepContent.fromSchema(rsp.body, 'pollRep').entries[0]!.checkAfter, issued } };
    }
    return { kind: 'issued', cert: unb64(issued.cert), chain: issued.chain.map(unb64), caPubs: issued.caPubs.map(unb64), implicitlyConfirmed: false };
  }

  // ---------------------------------------------------------------- general messages, revocation

  /**
   * genm → genp (RFC 9483 §4.3): returns the InfoTypeAndValues of the answer. A delayed genp (error "waiting",
   * §4.4) is polled for; CmpWaitingError when it is still not there after the inline budget (resume() continues).
   */
  async generalMessage(itavs: InfoTypeAndValue[], protection: Protection, transactionID?: Uint8Array): Promise<InfoTypeAndValue[]> {
    const txn: Txn = { transactionID: transactionID ?? new Uint8Array(randomBytes(16)) };
    const rsp = await this.delayable('genm', genContent(itavs), protection, txn, BodyTag.genp);
    return readGenContent(rsp.body, 'genp');
  }

  /** The genp of a resumed genm transaction (see resume()). */
  async resumeGeneralMessage(pending: CmpPendingTransaction, protection: Protection): Promise<InfoTypeAndValue[]> {
    return readGenContent((await this.resume(pending, protection)).body, 'genp');
  }

  /** One request whose final answer may be delivered late (genm, rr). */
  private async delayable(type: 'genm' | 'rr', body: asn1js.AsnType, protection: Protection, txn: Txn, final: number): Promise<PKIMessage> {
    try {
      return await this.exchange(type, body, protection, txn, [final]);
    } catch (err) {
      if (!(err instanceof CmpWaitingError)) throw err;
      return this.awaitDelayed(type, protection, txn, final, err.transaction.checkAfter);
    }
  }

  /** genm id-it-caCerts (RFC 9483 §4.3.1): the CA certificates the server publishes (empty when it has none). */
  async caCerts(protection: Protection): Promise<Uint8Array[]> {
    const itavs = await this.generalMessage([new InfoTypeAndValue({ infoType: OID_IT_CA_CERTS })], protection);
    const it = itavs.find((i) => i.infoType === OID_IT_CA_CERTS);
    if (!it) throw new CmpProtocolError('genp without id-it-caCerts');
    return it.infoValue ? readCaCertsValue(it.infoValue, 'genp.caCerts') : [];
  }

  /**
   * genm id-it-rootCaCert(old root) → id-it-rootCaKeyUpdate (RFC 9483 §4.3.2). Returns undefined when there is no
   * update. The new root is accepted only when newWithOld (new key certified by the old root) verifies with the
   * old root's key — the trust transfer of RFC 4210 §4.4; the caller then replaces its trust anchor.
   */
  async rootCaKeyUpdate(oldRootDer: Uint8Array, protection: Protection): Promise<RootCaKeyUpdateContent | undefined> {
    const itavs = await this.generalMessage(rootCaKeyUpdateRequest(oldRootDer), protection);
    return verifyRootCaKeyUpdate(itavs, oldRootDer);
  }

  /** rr for one certificate (RFC 9483 §4.2), signature-protected by the key of that certificate (or MAC); a delayed
   *  rp is polled for as in generalMessage(). */
  async revoke(certDer: Uint8Array, reasonCode: number, protection: Protection): Promise<void> {
    const cert = certificateFromDer(certDer);
    const body = new asn1js.Sequence({ value: [new RevDetails({ issuer: cert.issuer, serialNumber: cert.serialNumber, reasonCode }).toSchema()] });
    const txn: Txn = { transactionID: new Uint8Array(randomBytes(16)) };
    this.checkRevocation(await this.delayable('rr', body, protection, txn, BodyTag.rp));
  }

  /** The rp of a resumed rr transaction (see resume()). */
  async resumeRevocation(pending: CmpPendingTransaction, protection: Protection): Promise<void> {
    this.checkRevocation(await this.resume(pending, protection));
  }

  private checkRevocation(rsp: PKIMessage): void {
    const st = RevRepContent.fromSchema(rsp.body, 'rp').status;
    if (st.length !== 1) throw new CmpProtocolError(`rp: expected one status, got ${st.length}`);
    if (st[0]!.status !== PKIStatus.accepted && st[0]!.status !== PKIStatus.grantedWithMods) throw new CmpRejectedError(st[0]!.failInfoNames(), st[0]!.statusString, 'rp');
  }

  // ---------------------------------------------------------------- one request/response

  /** Builds, protects and sends one message; verifies the answer (and turns an error message into a typed error). */
  async exchange(type: BodyType, body: asn1js.AsnType, protection: Protection, txn: Txn, expect: number[], generalInfo?: InfoTypeAndValue[], pvno: number = PVNO_CMP2000): Promise<PKIMessage> {
    const req = await this.build(type, body, protection, txn, generalInfo, pvno);
    this.sent.push(type);
    const res = await this.transport.request({ method: 'POST', url: this.url, headers: { 'content-type': CMP_MEDIA_TYPE, accept: CMP_MEDIA_TYPE }, body: req.toDER() });
    const ct = headerValue(res, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    // RFC 9110 §15.6.4/RFC 6585 §4: a 503 or 429 may say with Retry-After when to come back (delay-seconds or HTTP-date)
    const retryAfterSeconds = res.status === 503 || res.status === 429 ? parseRetryAfter(headerValue(res, 'retry-after'), this.now()) : undefined;
    if (ct !== CMP_MEDIA_TYPE) throw new CmpProtocolError(`HTTP ${res.status} with content-type ${ct ?? '(none)'}, expected ${CMP_MEDIA_TYPE}`, { status: res.status, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) });
    const rsp = PKIMessage.fromBER(res.body);
    await this.verifyResponse(rsp, req, protection);
    txn.recipNonce = rsp.header.senderNonce;
    if (rsp.bodyTag === BodyTag.error) {
      const e = ErrorMsgContent.fromSchema(rsp.body, 'error');
      if (e.status.status === PKIStatus.waiting) {
        // RFC 9483 §4.4: delayed delivery announced by an error message: poll with certReqId -1 (the whole message)
        throw new CmpWaitingError({ transactionID: b64(txn.transactionID), recipNonce: b64(txn.recipNonce!), certReqId: CERT_REQ_ID_NONE, request: type, checkAfter: 0 });
      }
      throw new CmpRejectedError(e.status.failInfoNames(), [...e.status.statusString, ...(e.errorDetails ?? [])], `error response to ${type}`, retryAfterSeconds);
    }
    if (!expect.includes(rsp.bodyTag)) throw new CmpProtocolError(`unexpected body ${rsp.bodyType} in answer to ${type}`);
    return rsp;
  }

  private async build(type: BodyType, body: asn1js.AsnType, protection: Protection, txn: Txn, generalInfo: InfoTypeAndValue[] | undefined, pvno: number): Promise<PKIMessage> {
    const header = new PKIHeader({
      pvno,
      messageTime: new Date(Math.floor(this.now().getTime() / 1000) * 1000),
      transactionID: txn.transactionID,
      senderNonce: new Uint8Array(randomBytes(16)),
      ...(txn.recipNonce ? { recipNonce: txn.recipNonce } : {}),
      ...(generalInfo ? { generalInfo } : {}),
    });
    if (this.opts.recipient !== undefined) header.recipient = new pkijs.GeneralName({ type: 4, value: buildName(this.opts.recipient) });
    let extraCerts: Uint8Array[] = [];
    if (protection.kind === 'mac') {
      if (!this.opts.mac) throw new CmpUsageError('MAC protection requested but no shared secret is configured');
      header.senderKID = new Uint8Array(Buffer.from(this.opts.mac.reference, 'utf8'));
      header.protectionAlg = new PBMParameter({ salt: new Uint8Array(randomBytes(16)), iterationCount: this.opts.mac.iterations ?? 10_000 }).toAlgorithmIdentifier();
    } else {
      const cert = certificateFromDer(protection.certDer);
      header.sender = new pkijs.GeneralName({ type: 4, value: cert.subject });
      const skid = cert.extensions?.find((e) => e.extnID === '2.5.29.14');
      if (skid) header.senderKID = new Uint8Array((skid.parsedValue as asn1js.OctetString).valueBlock.valueHexView);
      header.protectionAlg = signatureAlgorithmFor(protection.signer.algorithm);
      extraCerts = [protection.certDer, ...(protection.chainDer ?? [])];
    }
    const msg = new PKIMessage({ header, bodyType: type, body, extraCerts });
    const part = msg.protectedPart();
    if (protection.kind === 'mac') msg.protection = PBMParameter.fromSchema(header.protectionAlg!.algorithmParams).compute(this.opts.mac!.secret, part);
    else msg.protection = await protection.signer.sign(part);
    return msg;
  }

  /** RFC 9483 §3.5: pvno, transactionID, recipNonce, then protection (MAC with our secret, or signature to the trust anchor). */
  private async verifyResponse(rsp: PKIMessage, req: PKIMessage, protection: Protection): Promise<void> {
    const h = rsp.header;
    if (h.pvno !== 2 && h.pvno !== 3) throw new CmpProtocolError(`unsupported pvno ${h.pvno}`);
    if (!h.transactionID || !bytesEqual(h.transactionID, req.header.transactionID!)) throw new CmpProtocolError('transactionID of the response does not match the request');
    if (!h.recipNonce || !bytesEqual(h.recipNonce, req.header.senderNonce!)) throw new CmpProtocolError('recipNonce of the response does not match our senderNonce');
    if (!h.senderNonce || h.senderNonce.byteLength < 16) throw new CmpProtocolError('response without a senderNonce of at least 128 bits');
    if (!rsp.protection || !h.protectionAlg) throw new CmpProtectionError(`unprotected ${rsp.bodyType} response`);
    const part = rsp.protectedPart();
    const alg = h.protectionAlg.algorithmId;
    if (alg === OID_PASSWORD_BASED_MAC) {
      // RFC 9483 §3.5: a MAC-protected response is acceptable only to a MAC-protected request.
      if (protection.kind !== 'mac' || !this.opts.mac) throw new CmpProtectionError('MAC-protected response to a signature-protected request');
      const mac = PBMParameter.fromSchema(h.protectionAlg.algorithmParams, 'protectionAlg.PBMParameter').compute(this.opts.mac.secret, part);
      if (mac.byteLength !== rsp.protection.byteLength || !timingSafeEqual(mac, rsp.protection)) throw new CmpProtectionError('response MAC does not verify with the shared secret');
      return;
    }
    if (alg !== OID_ECDSA_WITH_SHA256 && alg !== OID_SHA256_WITH_RSA && alg !== OID_ECDSA_WITH_SHA384 && alg !== OID_SHA384_WITH_RSA) {
      throw new CmpProtectionError(`unsupported protection algorithm ${alg}`);
    }
    const signerDer = this.findSigner(rsp);
    if (!signerDer) throw new CmpProtectionError('no certificate matching the response sender in extraCerts');
    const x = new X509Certificate(Buffer.from(signerDer));
    const hash = alg.endsWith('.3.3') || alg.endsWith('.1.12') ? 'sha384' : 'sha256';
    if (!cryptoVerify(hash, part, createPublicKey(x.publicKey.export({ type: 'spki', format: 'pem' })), rsp.protection)) throw new CmpProtectionError('response signature does not verify');
    try {
      await validateChain({ leaf: signerDer, intermediates: rsp.extraCerts, trustAnchors: this.opts.trustAnchors, at: this.now() });
    } catch (cause) {
      throw new CmpProtectionError(`response signer is not trusted: ${(cause as Error).message}`, { cause });
    }
  }

  private findSigner(rsp: PKIMessage): Uint8Array | undefined {
    const kid = rsp.header.senderKID;
    for (const c of [...rsp.extraCerts, ...this.opts.trustAnchors]) {
      const cert = certificateFromDer(c);
      if (kid) {
        const skid = cert.extensions?.find((e) => e.extnID === '2.5.29.14');
        if (skid && bytesEqual(new Uint8Array((skid.parsedValue as asn1js.OctetString).valueBlock.valueHexView), kid)) return c;
        continue;
      }
      if (rsp.header.sender.type === 4 && cert.subject.isEqual(rsp.header.sender.value)) return c;
    }
    return undefined;
  }
}


/** genm content asking for a root CA key update (RFC 9483 §4.3.2: id-it-rootCaCert with the current root). */
export function rootCaKeyUpdateRequest(oldRootDer: Uint8Array): InfoTypeAndValue[] {
  return [new InfoTypeAndValue({ infoType: OID_IT_ROOT_CA_CERT, infoValue: parseDer(oldRootDer, 'oldRoot') })];
}

/**
 * The genp of a root CA key update (RFC 9483 §4.3.2), checked: undefined when the server has no update; the new root
 * only when newWithOld verifies with the old root's key and newWithNew is self-signed by the same new key (the trust
 * transfer of RFC 4210 §4.4); oldWithNew, when present, must carry the old key signed by the new one.
 */
export function verifyRootCaKeyUpdate(itavs: InfoTypeAndValue[], oldRootDer: Uint8Array): RootCaKeyUpdateContent | undefined {
    const it = itavs.find((i) => i.infoType === OID_IT_ROOT_CA_KEY_UPDATE);
    if (!it) throw new CmpProtocolError('genp without id-it-rootCaKeyUpdate');
    if (!it.infoValue) return undefined;
    const upd = RootCaKeyUpdateContent.fromSchema(it.infoValue, 'genp.rootCaKeyUpdate');
    const x509 = (der: Uint8Array, what: string): X509Certificate => {
      try {
        return new X509Certificate(Buffer.from(der));
      } catch (cause) {
        throw new CmpProtocolError(`root CA key update: ${what} is not a certificate`, { cause });
      }
    };
    const oldRoot = x509(oldRootDer, 'the current root');
    if (!upd.newWithOld || !x509(upd.newWithOld, 'newWithOld').verify(oldRoot.publicKey)) {
      throw new CmpProtectionError('root CA key update: newWithOld is missing or not signed by the current root');
    }
    const nwn = x509(upd.newWithNew, 'newWithNew');
    if (!nwn.verify(nwn.publicKey) || !nwn.publicKey.equals(x509(upd.newWithOld, 'newWithOld').publicKey)) {
      throw new CmpProtectionError('root CA key update: newWithNew is not self-signed by the certified new key');
    }
    if (upd.oldWithNew) {
      const own = x509(upd.oldWithNew, 'oldWithNew');
      if (!own.verify(nwn.publicKey) || !own.publicKey.equals(oldRoot.publicKey)) throw new CmpProtectionError('root CA key update: oldWithNew is not the old key certified by the new one');
    }
    return upd;
}


/** Thrown by exchange() when an error message says "waiting" (RFC 9483 §4.4); carries what poll() needs. */
export class CmpWaitingError extends EnrolldError {
  /** Transient (the lifecycle backs off and retries): 503 as for an unavailable server. */
  readonly status = 503;
  constructor(readonly transaction: CmpPendingTransaction) {
    super('cmp.waiting', `server is processing the ${transaction.request}: poll after ${transaction.checkAfter} s`);
  }
  get retryAfterSeconds(): number {
    return this.transaction.checkAfter;
  }
}

function isCaCertificate(der: Uint8Array): boolean {
  try {
    return new X509Certificate(Buffer.from(der)).ca;
  } catch {
    return false;
  }
}

/** RFC 9481 §2 / RFC 8419 §3: id-Ed448 is confirmed with SHAKE256 (512-bit output). */
const OID_ED448 = '1.3.101.113';
const OID_SHAKE256 = '2.16.840.1.101.3.4.2.12';

/**
 * The certHash algorithm for a certificate (RFC 9480 §2.10): the hash of its signatureAlgorithm (RSASSA-PSS: the one
 * in its parameters) with no hashAlg; for an algorithm that names none — Ed25519 (SHA-512) and Ed448 (SHAKE256) per
 * RFC 9481 §2, any other unknown one SHA-256 — the hash is named in hashAlg.
 */
export function certHashAlgorithm(certDer: Uint8Array): { node: string; hashAlg?: string } {
  const sig = certificateFromDer(certDer).signatureAlgorithm;
  const alg = sig.algorithmId;
  const known = signatureByOid(alg)?.hash;
  if (known) return { node: known };
  if (alg === OID_RSASSA_PSS && sig.algorithmParams instanceof asn1js.Sequence) {
    const d = digestByOid(new pkijs.RSASSAPSSParams({ schema: sig.algorithmParams }).hashAlgorithm.algorithmId);
    if (d && d.node !== 'sha1') return { node: d.node };
  }
  if (alg === OID_ED25519) return { node: 'sha512', hashAlg: OID_SHA512 };
  if (alg === OID_ED448) return { node: 'shake256', hashAlg: OID_SHAKE256 };
  return { node: 'sha256', hashAlg: OID_SHA256 };
}

function certDigest(node: string, der: Uint8Array): Uint8Array {
  return new Uint8Array((node === 'shake256' ? createHash(node, { outputLength: 64 }) : createHash(node)).update(der).digest());
}

export { bodyName };
