// Lightweight CMP client (RFC 9483 over RFC 9480/4210, CRMF RFC 4211), HTTP transfer per RFC 6712/9811 or CoAP per RFC 9482 (coap-transport.ts): each
// PKIMessage is POSTed as application/pkixcmp to the configured URL. One transaction = one transactionID; every
// response is checked for pvno, transactionID, recipNonce (= our senderNonce), body type and protection before use.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { X509Certificate, createHash, createPublicKey, randomBytes, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import { OID_ECDSA_WITH_SHA384, OID_SHA384_WITH_RSA, signatureByOid } from '../../pki/algorithms.js';
import { certificateFromDer } from '../../pki/cert.js';
import { validateChain } from '../../pki/chain.js';
import { bytesEqual } from '../../pki/der.js';
import { buildName, type NameInput } from '../../pki/name.js';
import { signatureAlgorithmFor } from '../../pki/sign.js';
import type { Signer } from '../../pki/signer.js';
import { EnrolldError } from '../../util/errors.js';
import { parseDer } from '../../pki/asn1/der.js';
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
import { BodyTag, type BodyType, CMP_MEDIA_TYPE, OID_ECDSA_WITH_SHA256, OID_IT_CA_CERTS, OID_IT_IMPLICIT_CONFIRM, OID_IT_ROOT_CA_CERT, OID_IT_ROOT_CA_KEY_UPDATE, OID_PASSWORD_BASED_MAC, OID_SHA256_WITH_RSA, PKIStatus, PVNO_CMP2000, bodyName } from './constants.js';
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
  /** Block size, response cap and timeout of the CoAP transport (coap:// URLs). */
  coap?: CoapTransportOptions;
  transport?: Transport;
  now?: () => Date;
}

/** How a request is protected: the shared secret, or a signature by the current credential (cert + chain in extraCerts). */
export type Protection = { kind: 'mac' } | { kind: 'signature'; signer: Signer; certDer: Uint8Array; chainDer?: Uint8Array[] };

/** What must survive a restart to resume a "waiting" enrollment with pollReq (store it with the pending request). */
export interface CmpPendingTransaction {
  /** base64 */
  transactionID: string;
  /** base64: the server's last senderNonce, our next recipNonce. */
  recipNonce: string;
  certReqId: number;
  /** The request that is waiting (ir, cr, kur, p10cr, genm, rr). */
  request: BodyType;
  checkAfter: number;
}

export const isCmpPendingTransaction = (t: unknown): t is CmpPendingTransaction =>
  typeof t === 'object' && t !== null && typeof (t as CmpPendingTransaction).transactionID === 'string' && typeof (t as CmpPendingTransaction).recipNonce === 'string' && Number.isInteger((t as CmpPendingTransaction).certReqId) && typeof (t as CmpPendingTransaction).request === 'string' && typeof (t as CmpPendingTransaction).checkAfter === 'number';

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

export class CmpClient {
  private readonly transport: Transport;
  private readonly url: URL;
  private readonly now: () => Date;
  /** Statistics for tests/benchmarks. */
  readonly sent: BodyType[] = [];

  constructor(readonly opts: CmpOptions) {
    this.url = new URL(opts.url);
    this.now = opts.now ?? (() => new Date());
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

  /** p10cr carrying a PKCS#10 request (RFC 9483 §4.1.4); certReqId of the answer is 0 (RFC 9480 §2.x: -1 only for polling without a CertReqMsg). */
  async requestP10(csr: Uint8Array, protection: Protection, transactionID?: Uint8Array): Promise<CertResult> {
    return this.certTransaction('p10cr', parseDer(csr, 'CertificationRequest'), protection, 0, transactionID);
  }

  /** Resumes a waiting transaction with pollReq (RFC 9483 §4.4). */
  async poll(pending: CmpPendingTransaction, protection: Protection): Promise<CertResult> {
    const txn: Txn = { transactionID: unb64(pending.transactionID), recipNonce: unb64(pending.recipNonce) };
    const rsp = await this.exchange('pollReq', new PollReqContent({ certReqIds: [pending.certReqId] }).toSchema(), protection, txn, [BodyTag[RESPONSE_FOR[pending.request] ?? 'cp'], BodyTag.pollRep]);
    return this.certResponse(rsp, pending.request, protection, txn, pending.certReqId);
  }

  /** `transactionID`: continue the transaction of an earlier genm (the freshness nonce, attestation-freshness §5). */
  private async certTransaction(type: BodyType, body: asn1js.AsnType, protection: Protection, certReqId: number, transactionID?: Uint8Array): Promise<CertResult> {
    const txn: Txn = { transactionID: transactionID ?? new Uint8Array(randomBytes(16)) };
    const generalInfo = this.opts.implicitConfirm ? [new InfoTypeAndValue({ infoType: OID_IT_IMPLICIT_CONFIRM, infoValue: new asn1js.Null() })] : undefined;
    let rsp: PKIMessage;
    try {
      rsp = await this.exchange(type, body, protection, txn, [BodyTag[RESPONSE_FOR[type]!]], generalInfo);
    } catch (err) {
      // RFC 9483 §4.4: an error message with status waiting instead of ip/cp/kup — resume by polling this certReqId.
      if (err instanceof CmpWaitingError) return { kind: 'pending', transaction: { ...err.transaction, certReqId } };
      throw err;
    }
    return this.certResponse(rsp, type, protection, txn, certReqId);
  }

  private async certResponse(rsp: PKIMessage, request: BodyType, protection: Protection, txn: Txn, certReqId: number): Promise<CertResult> {
    const pending = (checkAfter: number, id: number): CertResult => ({
      kind: 'pending',
      transaction: { transactionID: b64(txn.transactionID), recipNonce: b64(txn.recipNonce!), certReqId: id, request, checkAfter },
    });
    if (rsp.bodyTag === BodyTag.pollRep) {
      const entries = PollRepContent.fromSchema(rsp.body, 'pollRep').entries;
      const e = entries.find((x) => x.certReqId === certReqId) ?? entries[0];
      if (!e) throw new CmpProtocolError('pollRep without entries');
      return pending(e.checkAfter, certReqId);
    }
    const rep = CertRepMessage.fromSchema(rsp.body, rsp.bodyType);
    if (rep.response.length !== 1) throw new CmpProtocolError(`${rsp.bodyType}: expected exactly one CertResponse, got ${rep.response.length}`);
    const r: CertResponse = rep.response[0]!;
    if (r.certReqId !== certReqId && !(request === 'p10cr' && r.certReqId === -1)) throw new CmpProtocolError(`${rsp.bodyType}: certReqId ${r.certReqId}, expected ${certReqId}`);
    if (r.status.status === PKIStatus.waiting) return pending(0, r.certReqId);
    if (r.status.status !== PKIStatus.accepted && r.status.status !== PKIStatus.grantedWithMods) throw new CmpRejectedError(r.status.failInfoNames(), r.status.statusString, rsp.bodyType);
    if (!r.certificate) throw new CmpProtocolError(`${rsp.bodyType}: accepted without a certificate`);
    const cert = r.certificate;
    // RFC 9483 §4.1.1: extraCerts carry the chain of the new certificate, next to the protection certificate of a
    // signed answer; only CA certificates are kept as the chain.
    const chain = rsp.extraCerts.filter((c) => !bytesEqual(c, cert) && isCaCertificate(c));
    const implicit = !!this.opts.implicitConfirm && !!rsp.header.generalInfo?.some((i) => i.infoType === OID_IT_IMPLICIT_CONFIRM);
    if (!implicit) {
      // RFC 4210 §5.3.18 (pvno 2): certHash with the hash of the certificate's signature algorithm (SHA-256 here).
      const certHash = new Uint8Array(createHash(certHashAlgorithm(cert)).update(cert).digest());
      await this.exchange('certConf', new CertConfirmContent({ statuses: [{ certHash, certReqId: r.certReqId }] }).toSchema(), protection, txn, [BodyTag.pkiconf]);
    }
    return { kind: 'issued', cert, chain, caPubs: rep.caPubs, implicitlyConfirmed: implicit };
  }

  // ---------------------------------------------------------------- general messages, revocation

  /** genm → genp (RFC 9483 §4.3): returns the InfoTypeAndValues of the answer. */
  async generalMessage(itavs: InfoTypeAndValue[], protection: Protection, transactionID?: Uint8Array): Promise<InfoTypeAndValue[]> {
    const txn: Txn = { transactionID: transactionID ?? new Uint8Array(randomBytes(16)) };
    const rsp = await this.exchange('genm', genContent(itavs), protection, txn, [BodyTag.genp]);
    return readGenContent(rsp.body, 'genp');
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
    const itavs = await this.generalMessage([new InfoTypeAndValue({ infoType: OID_IT_ROOT_CA_CERT, infoValue: parseDer(oldRootDer, 'oldRoot') })], protection);
    const it = itavs.find((i) => i.infoType === OID_IT_ROOT_CA_KEY_UPDATE);
    if (!it) throw new CmpProtocolError('genp without id-it-rootCaKeyUpdate');
    if (!it.infoValue) return undefined;
    const upd = RootCaKeyUpdateContent.fromSchema(it.infoValue, 'genp.rootCaKeyUpdate');
    const oldRoot = new X509Certificate(Buffer.from(oldRootDer));
    if (!upd.newWithOld || !new X509Certificate(Buffer.from(upd.newWithOld)).verify(oldRoot.publicKey)) {
      throw new CmpProtectionError('root CA key update: newWithOld is missing or not signed by the current root');
    }
    const nwn = new X509Certificate(Buffer.from(upd.newWithNew));
    if (!nwn.verify(nwn.publicKey) || !nwn.publicKey.equals(new X509Certificate(Buffer.from(upd.newWithOld)).publicKey)) {
      throw new CmpProtectionError('root CA key update: newWithNew is not self-signed by the certified new key');
    }
    return upd;
  }

  /** rr for one certificate (RFC 9483 §4.2), signature-protected by the key of that certificate (or MAC). */
  async revoke(certDer: Uint8Array, reasonCode: number, protection: Protection): Promise<void> {
    const cert = certificateFromDer(certDer);
    const body = new asn1js.Sequence({ value: [new RevDetails({ issuer: cert.issuer, serialNumber: cert.serialNumber, reasonCode }).toSchema()] });
    const txn: Txn = { transactionID: new Uint8Array(randomBytes(16)) };
    const rsp = await this.exchange('rr', body, protection, txn, [BodyTag.rp]);
    const st = RevRepContent.fromSchema(rsp.body, 'rp').status;
    if (st.length !== 1) throw new CmpProtocolError(`rp: expected one status, got ${st.length}`);
    if (st[0]!.status !== PKIStatus.accepted && st[0]!.status !== PKIStatus.grantedWithMods) throw new CmpRejectedError(st[0]!.failInfoNames(), st[0]!.statusString, 'rp');
  }

  // ---------------------------------------------------------------- one request/response

  /** Builds, protects and sends one message; verifies the answer (and turns an error message into a typed error). */
  async exchange(type: BodyType, body: asn1js.AsnType, protection: Protection, txn: Txn, expect: number[], generalInfo?: InfoTypeAndValue[]): Promise<PKIMessage> {
    const req = await this.build(type, body, protection, txn, generalInfo);
    this.sent.push(type);
    const res = await this.transport.request({ method: 'POST', url: this.url, headers: { 'content-type': CMP_MEDIA_TYPE, accept: CMP_MEDIA_TYPE }, body: req.toDER() });
    const ct = headerValue(res, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    if (ct !== CMP_MEDIA_TYPE) throw new CmpProtocolError(`HTTP ${res.status} with content-type ${ct ?? '(none)'}, expected ${CMP_MEDIA_TYPE}`, { status: res.status });
    const rsp = PKIMessage.fromBER(res.body);
    await this.verifyResponse(rsp, req, protection);
    txn.recipNonce = rsp.header.senderNonce;
    if (rsp.bodyTag === BodyTag.error) {
      const e = ErrorMsgContent.fromSchema(rsp.body, 'error');
      if (e.status.status === PKIStatus.waiting) {
        // RFC 9483 §4.4 delayed delivery of a non-certificate answer: poll with certReqId -1 — reported as pending.
        throw new CmpWaitingError({ transactionID: b64(txn.transactionID), recipNonce: b64(txn.recipNonce!), certReqId: -1, request: type, checkAfter: 0 });
      }
      throw new CmpRejectedError(e.status.failInfoNames(), [...e.status.statusString, ...(e.errorDetails ?? [])], `error response to ${type}`);
    }
    if (!expect.includes(rsp.bodyTag)) throw new CmpProtocolError(`unexpected body ${rsp.bodyType} in answer to ${type}`);
    return rsp;
  }

  private async build(type: BodyType, body: asn1js.AsnType, protection: Protection, txn: Txn, generalInfo?: InfoTypeAndValue[]): Promise<PKIMessage> {
    const header = new PKIHeader({
      pvno: PVNO_CMP2000,
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

/** Thrown by exchange() when an error message says "waiting" (RFC 9483 §4.4); carries what poll() needs. */
export class CmpWaitingError extends EnrolldError {
  constructor(readonly transaction: CmpPendingTransaction) {
    super('cmp.waiting', `server is processing the ${transaction.request}: poll later`);
  }
}

function isCaCertificate(der: Uint8Array): boolean {
  try {
    return new X509Certificate(Buffer.from(der)).ca;
  } catch {
    return false;
  }
}

function certHashAlgorithm(certDer: Uint8Array): string {
  const alg = certificateFromDer(certDer).signatureAlgorithm.algorithmId;
  return signatureByOid(alg)?.hash ?? 'sha256';
}

export { bodyName };
