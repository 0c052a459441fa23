// CMC over EST /fullcmc (RFC 7030 §4.3, RFC 5273) as the lifecycle's EnrollmentProtocol.
//  - enroll: the PKIData is signed by the bootstrap credential (IDevID in the TPM) with its certificate included;
//    HTTP Basic and/or TLS client auth as for /simpleenroll. The lab/CA authorizes the request by that signer.
//  - reenroll: signed by the credential being renewed (its TPM key), its certificate included (RFC 5272 §3.2.1.2,
//    RFC 7030 §4.3.1 "the certificate being renewed or rekeyed"); TLS client auth with the same credential.
//  - pending (RFC 5272 §6.13): the pendToken and transactionId are kept per CSR in the protocols' pending-transaction
//    contract (../pending.ts); when the lifecycle repeats the same request (same CSR), a queryPending PKIData is sent
//    instead of a new request. The agent persists the records in the state dir; the default is in memory.
//  - freshness nonce (draft-ietf-lamps-attestation-freshness-08 §7): nonce() sends an unsigned id-data PKIData with
//    the nonce request control; the next request continues its transactionId (the binding the draft requires).
import { bytesEqual } from '../../pki/der.js';
import type { KeyStore } from '../../keystore/keystore.js';
import { csrExtensions, csrSpki, parseCsr } from '../../pki/csr.js';
import * as asn1js from 'asn1js';
import type * as pkijs from 'pkijs';
import { pemDecode } from '../../pki/pem.js';
import type { Signer } from '../../pki/signer.js';
import { validateChain } from '../../pki/chain.js';
import { createHttpsTransport, type ClientAuthOptions, type HttpsTransportOptions, type Transport } from '../http/transport.js';
import { parseMediaType } from '../http/media-type.js';
import { decodeEstBody, encodeBase64Body } from '../est/base64-body.js';
import { estUrl } from '../est/context.js';
import type { EstOperation } from '../est/constants.js';
import { throwForStatus } from '../est/response.js';
import type { EnrollmentProtocol, EnrollRequest, EnrollResult, NonceContext } from '../protocol.js';
import { MemoryPendingTransactions, type PendingTransactions } from '../pending.js';
import type { NonceRequestParams, ReceivedNonce } from '../../attest/nonce.js';
import { CMC_FULLCMC_OPERATION, CMC_MEDIA_TYPES, OID_CMC } from './constants.js';
import { CmcFailedError, CmcPopError, CmcProtocolError, CmcUsageError } from './errors.js';
import { DecryptedPOP, EncryptedPOP } from './encrypted-pop.js';
import { openPopEnvelope, type PopRecipient } from './pop-envelope.js';
import { computeThePOP, computeWitness } from './pop-algorithms.js';
import { CMCStatusInfoV2 } from './cmc-status-info-v2.js';
import { statusInfoV2Control } from './controls.js';
import { TaggedAttribute } from './tagged-attribute.js';
import { createCmcNonceRequest, createCmcRequest, newSenderNonce, newTransactionId, REQUEST_BODY_PART_ID } from './request.js';
import { openCmcResponse, readCmcResponse } from './response.js';
import { NonceRequest } from '../../pki/asn1/nonce-request.js';
import { NonceRequestTypeInfo } from '../../pki/asn1/nonce-request-type-info.js';
import { NonceResponse } from '../../pki/asn1/nonce-response.js';
import { OID_ID_CMC_NONCE_REQ, OID_ID_CMC_NONCE_RESP } from '../../pki/asn1/oids.js';

/** What must survive a restart to resume a pending CMC request (RFC 5272 §6.13). */
export interface CmcPendingRecord {
  /** Decimal transactionId of the original request. */
  transactionId: string;
  /** base64 pendToken from the CA's PendInfo. */
  pendToken: string;
  /** ISO time the CA said to ask again (pendTime). */
  pendTime: string;
}

export const isCmcPendingRecord = (r: unknown): r is CmcPendingRecord =>
  typeof r === 'object' && r !== null && typeof (r as CmcPendingRecord).transactionId === 'string' && typeof (r as CmcPendingRecord).pendToken === 'string' && typeof (r as CmcPendingRecord).pendTime === 'string';

export interface CmcEnrollmentOptions {
  /** EST server ("https://host:port"); the request goes to /.well-known/est[/<label>]/fullcmc. */
  baseUrl: string;
  label?: string;
  /** TLS trust anchors of the EST server. */
  trustAnchors: Array<string | Uint8Array>;
  /** CA trust anchors the PKIResponse signer must validate to (default: trustAnchors). */
  responseTrustAnchors?: Array<string | Uint8Array>;
  /** When given, issued certificates must validate to these (with the response certificates as intermediates). */
  issuerTrustAnchors?: Array<string | Uint8Array>;
  basicAuth?: { username: string; password: string };
  /** Signs initial-enrollment PKIData: the device's bootstrap credential (e.g. the IDevID key in the TPM). */
  bootstrap?: { signer: Signer; certificate: Uint8Array; chain?: Uint8Array[]; clientAuth?: ClientAuthOptions };
  keystore: KeyStore;
  /** Requests waiting for queryPending (RFC 5272 §6.13), persisted by the agent in the state dir; default: in memory. */
  pending?: PendingTransactions<CmcPendingRecord>;
  /** Used when a pending response's pendTime is in the past (default 60 s). */
  defaultRetryAfterSeconds?: number;
  maxResponseBytes?: number;
  totalTimeoutMs?: number;
  now?: () => Date;
  transportFactory?: (opts: HttpsTransportOptions) => Transport;
  /** Control OIDs of the freshness nonce request/response (TBD4/TBD5 in the draft; placeholders by default). */
  nonceControls?: { request: string; response: string };
}

export class CmcEnrollment implements EnrollmentProtocol {
  readonly name = 'cmc' as const;
  readonly pending: PendingTransactions<CmcPendingRecord>;
  /** The last request DER sent (tests verify it independently with openssl). */
  lastRequestDer: Uint8Array | undefined;

  constructor(private readonly o: CmcEnrollmentOptions) {
    this.pending = o.pending ?? new MemoryPendingTransactions();
  }

  private transport(clientAuth: ClientAuthOptions | undefined): Transport {
    return (this.o.transportFactory ?? createHttpsTransport)({
      trustAnchors: this.o.trustAnchors,
      ...(clientAuth ? { clientAuth } : {}),
      ...(this.o.basicAuth ? { basicAuth: this.o.basicAuth } : {}),
      ...(this.o.maxResponseBytes !== undefined ? { maxResponseBytes: this.o.maxResponseBytes } : {}),
      ...(this.o.totalTimeoutMs !== undefined ? { totalTimeoutMs: this.o.totalTimeoutMs } : {}),
    });
  }

  /** transactionId of the last nonce exchange: the certificate request that follows continues it (freshness-08 §7). */
  private nonceTransactionId: bigint | undefined;

  /**
   * The attestation freshness nonce by the CMC nonce controls (draft-ietf-lamps-attestation-freshness-08 §7): an
   * unsigned id-data PKIData {transactionId, senderNonce, nonceReq} → a signed PKIResponse with nonceResp; the
   * next request reuses that transactionId, which is what binds the nonce to it. `reqInfo` (DER) and respInfo pass
   * through. The request goes with the identity of the request it is for (TLS client auth, Basic).
   */
  async nonce(params: NonceRequestParams, ctx?: NonceContext): Promise<ReceivedNonce> {
    const now = (this.o.now ?? (() => new Date()))();
    const ctl = this.o.nonceControls ?? { request: OID_ID_CMC_NONCE_REQ, response: OID_ID_CMC_NONCE_RESP };
    if (params.reqInfo !== undefined && !(params.reqInfo instanceof Uint8Array)) throw new CmcUsageError('CMC NonceRequest reqInfo must be DER bytes (ANY DEFINED BY type)');
    const nr = new NonceRequest({
      ...(params.len !== undefined ? { len: params.len } : {}),
      ...(params.type !== undefined ? { reqTypeInfo: new NonceRequestTypeInfo({ type: params.type, ...(params.reqInfo !== undefined ? { reqInfo: params.reqInfo as Uint8Array } : {}) }) } : {}),
    });
    const transactionId = newTransactionId();
    const senderNonce = newSenderNonce();
    this.nonceTransactionId = undefined;
    const clientAuth = ctx?.operation === 'reenroll' && ctx.current
      ? { key: await this.o.keystore.tlsKeyOptions(ctx.current.key), certChain: [ctx.current.certPem, ...ctx.current.chainPem] }
      : this.o.bootstrap?.clientAuth;
    const body = await this.post(createCmcNonceRequest({ transactionId, senderNonce, nonceRequest: nr.toSchema(), controlType: ctl.request }), clientAuth, now);
    const { res, statuses } = await openCmcResponse(body, { transactionId, senderNonce, trustAnchors: (this.o.responseTrustAnchors ?? this.o.trustAnchors).map(toDer), at: now });
    const failed = statuses.find((st) => st.cMCStatus !== 'success');
    if (failed) throw new CmcFailedError(failed.cMCStatus, failed.otherInfo && 'failInfo' in failed.otherInfo ? failed.otherInfo.failInfo : undefined, failed.statusString, res.controlSequence);
    const found = res.controlSequence.filter((c) => c.attrType === ctl.response);
    if (found.length !== 1) throw new CmcProtocolError('nonce', `${found.length} nonce response controls (${ctl.response}) in the answer, exactly 1 expected`);
    let rsp: NonceResponse;
    try {
      rsp = NonceResponse.fromSchema(found[0]!.single('nonceResp'));
    } catch (e) {
      throw new CmcProtocolError('nonce', `malformed NonceResponse: ${(e as Error).message}`, { cause: e });
    }
    const n = rsp.nonce.byteLength;
    if (n !== 0 && (n < 8 || n > 64 || (params.len !== undefined && n < params.len))) throw new CmcProtocolError('nonce', `nonce of ${n} bytes (8..64${params.len !== undefined ? `, at least ${params.len}` : ''} expected)`);
    this.nonceTransactionId = transactionId;
    const expirySeconds = rsp.expiry ?? null;
    return {
      nonce: rsp.nonce,
      freshnessRequired: n > 0,
      receivedAt: now,
      expiry: expirySeconds === null ? null : new Date(now.getTime() + expirySeconds * 1000),
      expirySeconds,
      ...(rsp.respTypeInfo ? { type: rsp.respTypeInfo.type, ...(rsp.respTypeInfo.respInfo !== undefined ? { respInfo: new Uint8Array(rsp.respTypeInfo.respInfo.toBER(false)) } : {}) } : {}),
    };
  }

  /** POSTs a CMC request to /fullcmc and returns the decoded response body (RFC 7030 §4.3). */
  private async post(der: Uint8Array, clientAuth: ClientAuthOptions | undefined, now: Date): Promise<Uint8Array> {
    const res = await this.transport(clientAuth).request({
      method: 'POST',
      url: estUrl({ baseUrl: this.o.baseUrl, ...(this.o.label !== undefined ? { label: this.o.label } : {}) }, CMC_FULLCMC_OPERATION as EstOperation),
      headers: { 'content-type': CMC_MEDIA_TYPES.request, 'content-transfer-encoding': 'base64', accept: CMC_MEDIA_TYPES.response },
      body: encodeBase64Body(der),
      ...(this.o.maxResponseBytes !== undefined ? { maxResponseBytes: this.o.maxResponseBytes } : {}),
    });
    if (res.status !== 200) throwForStatus(res, CMC_FULLCMC_OPERATION, now);
    const ct = res.headers['content-type'];
    const mt = parseMediaType(Array.isArray(ct) ? ct[0] : ct);
    if (!mt || mt.essence !== CMC_MEDIA_TYPES.essence || (mt.params['smime-type'] !== undefined && mt.params['smime-type'].toLowerCase() !== 'cmc-response')) {
      throw new CmcProtocolError('media-type', `expected ${CMC_MEDIA_TYPES.response}, got ${String(ct)}`);
    }
    try {
      return decodeEstBody(res.body, 'CMC response');
    } catch (e) {
      throw new CmcProtocolError('malformed', `CMC response body: ${(e as Error).message}`, { cause: e });
    }
  }

  /** The transactionId of the last request sent. */
  lastTransactionId: bigint | undefined;

  enroll(req: EnrollRequest): Promise<EnrollResult> {
    return this.run(req, []);
  }

  /**
   * Enrollment of a key-establishment (decryption-only) key with indirect POP (RFC 5272 §6.7, rfc5272bis §6.7): `req.csr`
   * is a noSignature PKCS#10 (buildNoSignatureCsr) and the PKIData is signed by the device's signing credential. When
   * the CA answers popRequired + encryptedPOP, the envelope is opened with the key inside the TPM (`decrypt`: ktri
   * RSAES-OAEP / RSAES-PKCS1-v1_5, KEMRecipientInfo RSA-KEM raw RSA; `ecdhZGen`: kari ECDH), the witness
   * witnessAlgID(y) is checked, and the request is resent — same transactionId — with the encryptedPOP echoed and
   * decryptedPOP { thePOPAlgID copied, thePOP = thePOPAlgID(y, certificationRequest) }. A challenge that cannot be
   * answered is aborted as the text says (a Status Info control with popFailed; badAlg for an unknown algorithm)
   * and raised as CmcPopError; nothing is stored.
   */
  async enrollDecryptionKey(req: EnrollRequest & Pick<PopRecipient, 'decrypt' | 'ecdhZGen'>): Promise<EnrollResult> {
    let challenge: CmcFailedError;
    try {
      return await this.run(req, []);
    } catch (e) {
      if (!(e instanceof CmcFailedError) || (e.status !== 'popRequired' && e.failInfo !== 'popRequired')) throw e;
      challenge = e;
    }
    const transactionId = this.lastTransactionId!;
    const ctl = challenge.controls.filter((c) => c.attrType === OID_CMC.encryptedPOP);
    if (ctl.length !== 1) throw new CmcProtocolError('pop', `popRequired with ${ctl.length} encryptedPOP controls (exactly 1 expected)`);
    let ep: EncryptedPOP;
    try {
      ep = EncryptedPOP.fromSchema(ctl[0]!.single('encryptedPOP'));
    } catch (e) {
      throw new CmcProtocolError('pop', `malformed encryptedPOP: ${(e as Error).message}`, { cause: e });
    }
    if (!bytesEqual(ep.request.certificationRequest, req.csr)) throw new CmcProtocolError('pop', 'encryptedPOP names another certification request');
    let thePOP: Uint8Array;
    try {
      const parsed = parseCsr(req.csr);
      const ski = csrSubjectKeyIdentifier(parsed);
      const y = await openPopEnvelope(ep.cms, {
        spki: csrSpki(parsed),
        bodyPartID: ep.request.bodyPartID,
        ...(ski ? { subjectKeyIdentifier: ski } : {}),
        ...(req.decrypt ? { decrypt: req.decrypt } : {}),
        ...(req.ecdhZGen ? { ecdhZGen: req.ecdhZGen } : {}),
      });
      try {
        const pop = { oid: ep.thePOPAlgID, ...(ep.thePOPAlgParams ? { params: ep.thePOPAlgParams } : {}) };
        const witness = computeWitness({ oid: ep.witnessAlgID, ...(ep.witnessAlgParams ? { params: ep.witnessAlgParams } : {}) }, y);
        thePOP = computeThePOP(pop, y, req.csr); // the algorithm is known before the witness verdict
        if (!bytesEqual(witness, ep.witness)) throw new CmcPopError('witness', 'encryptedPOP witness does not match the decrypted value');
      } finally {
        y.fill(0);
      }
    } catch (e) {
      if (e instanceof CmcPopError) await this.abortPop(req, transactionId, ep.request.bodyPartID, e);
      throw e;
    }
    const controls = [
      new TaggedAttribute({ bodyPartID: 10, attrType: OID_CMC.encryptedPOP, attrValues: [ep.toSchema()] }),
      new TaggedAttribute({
        bodyPartID: 11,
        attrType: OID_CMC.decryptedPOP,
        attrValues: [new DecryptedPOP({ bodyPartID: REQUEST_BODY_PART_ID, thePOPAlgID: ep.thePOPAlgID, thePOP, ...(ep.thePOPAlgParams ? { thePOPAlgParams: ep.thePOPAlgParams } : {}) }).toSchema()],
      }),
    ];
    return this.run(req, controls, transactionId);
  }

  /** The abort of RFC 5272 §6.7 step 3: a signed PKIData of controls only, Status Info failed + CMCFailInfo. */
  lastAbortDer: Uint8Array | undefined;
  private async abortPop(req: EnrollRequest, transactionId: bigint, bodyPartID: number, why: CmcPopError): Promise<void> {
    try {
      const { signer, certificate, chain, clientAuth } = await this.credential(req);
      const status = new CMCStatusInfoV2({ cMCStatus: 'failed', bodyList: [bodyPartID], statusString: why.message.slice(0, 200), otherInfo: { failInfo: why.cmcFailInfo } });
      const der = await createCmcRequest({ transactionId, senderNonce: newSenderNonce(), body: { none: true }, extraControls: [statusInfoV2Control(10, status)], signer, certificate, chain });
      this.lastAbortDer = der;
      await this.post(der, clientAuth, (this.o.now ?? (() => new Date()))());
    } catch {
      /* the abort is a courtesy to the server; the typed error below is what the caller sees */
    }
  }

  private async credential(req: EnrollRequest): Promise<{ signer: Signer; certificate: Uint8Array; chain: Uint8Array[]; clientAuth: ClientAuthOptions | undefined }> {
    if (req.operation === 'reenroll') {
      if (!req.current) throw new CmcUsageError('re-enrollment needs the current credential');
      return {
        signer: this.o.keystore.signer(req.current.key),
        certificate: pemDecode(req.current.certPem, 'CERTIFICATE'),
        chain: req.current.chainPem.map((p) => pemDecode(p, 'CERTIFICATE')),
        clientAuth: { key: await this.o.keystore.tlsKeyOptions(req.current.key), certChain: [req.current.certPem, ...req.current.chainPem] },
      };
    }
    if (!this.o.bootstrap) throw new CmcUsageError('initial CMC enrollment needs a bootstrap credential to sign the PKIData');
    return { signer: this.o.bootstrap.signer, certificate: this.o.bootstrap.certificate, chain: this.o.bootstrap.chain ?? [], clientAuth: this.o.bootstrap.clientAuth };
  }

  private async run(req: EnrollRequest, extraControls: TaggedAttribute[], sameTransaction?: bigint): Promise<EnrollResult> {
    const now = (this.o.now ?? (() => new Date()))();
    let spki: Uint8Array;
    try {
      spki = csrSpki(parseCsr(req.csr));
    } catch (e) {
      throw new CmcUsageError(`the CSR is not a valid PKCS#10 request: ${(e as Error).message}`);
    }
    const { signer, certificate, chain, clientAuth } = await this.credential(req);
    const prior = this.pending.get(req.csr);
    const fromNonce = this.nonceTransactionId;
    this.nonceTransactionId = undefined;
    const transactionId = prior ? BigInt(prior.transactionId) : (sameTransaction ?? fromNonce ?? newTransactionId());
    this.lastTransactionId = transactionId;
    const senderNonce = newSenderNonce();
    const der = await createCmcRequest({
      transactionId,
      senderNonce,
      body: prior ? { pendToken: new Uint8Array(Buffer.from(prior.pendToken, 'base64')) } : { csr: req.csr },
      extraControls,
      signer,
      certificate,
      chain,
    });
    this.lastRequestDer = der;
    const body = await this.post(der, clientAuth, now);
    const result = await readCmcResponse(body, {
      transactionId,
      senderNonce,
      bodyPartID: REQUEST_BODY_PART_ID,
      spki,
      trustAnchors: (this.o.responseTrustAnchors ?? this.o.trustAnchors).map(toDer),
      at: now,
    });
    if (result.kind === 'pending') {
      const { pendToken, pendTime } = result.pendInfo;
      await this.pending.put(req.csr, { transactionId: transactionId.toString(), pendToken: Buffer.from(pendToken).toString('base64'), pendTime: pendTime.toISOString() });
      const secs = Math.ceil((pendTime.getTime() - now.getTime()) / 1000);
      return { kind: 'pending', retryAfterSeconds: secs > 0 ? secs : (this.o.defaultRetryAfterSeconds ?? 60) };
    }
    if (this.o.issuerTrustAnchors?.length) {
      await validateChain({ leaf: result.cert, intermediates: result.chain, trustAnchors: this.o.issuerTrustAnchors.map(toDer), at: now });
    }
    if (prior) await this.pending.clear(req.csr);
    return { kind: 'issued', cert: result.cert, chain: result.chain };
  }
}

/** The CSR's subjectKeyIdentifier extension (RFC 5280 §4.2.1.2), the recipient identifier the CA SHOULD use. */
function csrSubjectKeyIdentifier(csr: pkijs.CertificationRequest): Uint8Array | undefined {
  const ext = csrExtensions(csr).find((e) => e.extnID === '2.5.29.14');
  if (!ext) return undefined;
  const inner = asn1js.fromBER(ext.extnValue.valueBlock.valueHexView).result;
  return inner instanceof asn1js.OctetString ? new Uint8Array(inner.valueBlock.valueHexView) : undefined;
}

function toDer(c: string | Uint8Array): Uint8Array {
  return typeof c === 'string' ? pemDecode(c, 'CERTIFICATE') : c;
}
