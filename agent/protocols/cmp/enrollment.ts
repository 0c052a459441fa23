// CMP as an EnrollmentProtocol for the lifecycle (RFC 9483 profile):
//   enroll   → ir (CRMF, POP signed by the new TPM key, MAC protection with the shared secret)
//   reenroll → kur (CRMF, POP by the new key, signature protection by the CURRENT key, current cert in extraCerts)
//   request: 'p10cr' → p10cr with the lifecycle's PKCS#10 instead (same protection rules).
// Attestation evidence already in the CSR (id-aa-attestation attribute) is moved into the CRMF certTemplate as the
// id-aa-attestation extension (draft-ietf-lamps-csr-attestation-28 §4.3, the "CRMF form").
// "waiting" → {kind:'pending'}; the transaction (transactionID, certReqId, nonce) is kept per CSR in the protocols'
// pending-transaction contract (../pending.ts), so the lifecycle's retry of the same pending request becomes a pollReq.
// Over CoAP, a 5.03 with Max-Age (RFC 7252 §5.9.3.4) → {kind:'pending'} after Max-Age seconds as well.
import { randomBytes } from 'node:crypto';
import { findAttestationBundle, buildAttestationExtension } from '../../pki/asn1/evidence-attribute.js';
import { NonceRequest } from '../../pki/asn1/nonce-request.js';
import { NonceRequestTypeInfo } from '../../pki/asn1/nonce-request-type-info.js';
import { NonceResponse } from '../../pki/asn1/nonce-response.js';
import { OID_ID_IT_NONCE_REQUEST, OID_ID_IT_NONCE_RESPONSE } from '../../pki/asn1/oids.js';
import { certificatesFromPem, certificateToDer } from '../../pki/cert.js';
import { csrExtensions, parseCsr } from '../../pki/csr.js';
import type { KeyStore } from '../../keystore/keystore.js';
import type { NonceRequestParams, ReceivedNonce } from '../../attest/nonce.js';
import type { EnrollRequest, EnrollResult, EnrollmentProtocol } from '../protocol.js';
import { MemoryPendingTransactions, type PendingTransactions } from '../pending.js';
import { InfoTypeAndValue } from './asn1/info-type-and-value.js';
import { CmpClient, type CmpOptions, type CmpPendingTransaction, type Protection } from './client.js';
export { isCmpPendingTransaction } from './client.js';
import { OID_ID_AA_ATTESTATION } from '../../pki/asn1/oids.js';
import { CmpProtocolError, CmpUsageError } from './errors.js';
import { CoapResponseError } from './coap-transport.js';

export interface CmpEnrollmentOptions extends CmpOptions {
  keystore: KeyStore;
  /** 'crmf' (default: ir/kur) or 'p10cr'. */
  request?: 'crmf' | 'p10cr';
  /** Waiting transactions (RFC 9483 §4.4), persisted by the agent in the state dir; default: in memory. */
  pending?: PendingTransactions<CmpPendingTransaction>;
  /** InfoType OIDs of the nonce genm/genp (TBD1/TBD2 in the draft; placeholders by default). */
  nonceInfoTypes?: { request: string; response: string };
}

export class CmpEnrollment implements EnrollmentProtocol {
  readonly name = 'cmp' as const;
  readonly client: CmpClient;
  readonly pending: PendingTransactions<CmpPendingTransaction>;
  /** transactionID of the last nonce genm; the next certificate request continues it (attestation-freshness-08 §5). */
  private nonceTransactionID: Uint8Array | undefined;

  constructor(private readonly opts: CmpEnrollmentOptions) {
    this.client = new CmpClient(opts);
    this.pending = opts.pending ?? new MemoryPendingTransactions();
  }

  /** The waiting transactions by request id (hex SHA-256 of the CSR). */
  exportPending(): Record<string, CmpPendingTransaction> {
    return this.pending.all();
  }

  async enroll(req: EnrollRequest): Promise<EnrollResult> {
    try {
      return await this.exchangeFor(req);
    } catch (err) {
      // RFC 7252 §5.9.3.4: a 5.03 "SHOULD include a Max-Age Option to indicate the number of seconds after which to
      // retry" — the CoAP twin of EST's 202 + Retry-After, and surfaced the same way: {kind:'pending'}, which the
      // lifecycle bounds (clampRetryAfter: 10 s … 24 h) and persists as its wait; the same CSR is sent again then (a
      // waiting transaction stays stored, so that retry is the same pollReq). Without Max-Age it stays an error and
      // takes the lifecycle's exponential backoff.
      if (err instanceof CoapResponseError && err.coapCode === '5.03' && err.retryAfterSeconds !== undefined) {
        return { kind: 'pending', retryAfterSeconds: err.retryAfterSeconds };
      }
      throw err;
    }
  }

  private async exchangeFor(req: EnrollRequest): Promise<EnrollResult> {
    const protection = this.protectionFor(req);
    const waiting = this.pending.get(req.csr);
    let result;
    if (waiting) {
      result = await this.client.poll(waiting, protection);
    } else if ((this.opts.request ?? 'crmf') === 'p10cr' || !req.key) {
      result = await this.client.requestP10(req.csr, protection, this.takeNonceTransaction());
    } else {
      const csr = parseCsr(req.csr);
      const extensions = csrExtensions(csr);
      const bundle = findAttestationBundle(csr);
      if (bundle) extensions.push(buildAttestationExtension(bundle));
      if (Buffer.compare(Buffer.from(req.key.spki), Buffer.from(csr.subjectPublicKeyInfo.toSchema().toBER(false))) !== 0) {
        throw new CmpUsageError('the CSR is not for the key being certified');
      }
      result = await this.client.requestCertificate(req.operation === 'enroll' ? 'ir' : 'kur', {
        newKey: this.opts.keystore.signer(req.key),
        subject: csr.subject,
        extensions: extensions.filter((e, i, all) => e.extnID !== OID_ID_AA_ATTESTATION || all.findIndex((x) => x.extnID === OID_ID_AA_ATTESTATION) === i),
        protection,
        transactionID: this.takeNonceTransaction(),
      });
    }
    if (result.kind === 'pending') {
      await this.pending.put(req.csr, result.transaction);
      return { kind: 'pending', retryAfterSeconds: result.transaction.checkAfter };
    }
    if (waiting) await this.pending.clear(req.csr);
    return { kind: 'issued', cert: result.cert, chain: result.chain };
  }

  /**
   * Freshness nonce by genm id-it-nonceRequest → genp id-it-nonceResponse (draft-ietf-lamps-attestation-freshness-08
   * §5); the certificate request that follows continues the genm's transactionID. `reqInfo` (DER) and the
   * response's respInfo (DER) pass through.
   */
  async nonce(params: NonceRequestParams): Promise<ReceivedNonce> {
    const types = this.opts.nonceInfoTypes ?? { request: OID_ID_IT_NONCE_REQUEST, response: OID_ID_IT_NONCE_RESPONSE };
    if (params.reqInfo !== undefined && !(params.reqInfo instanceof Uint8Array)) throw new CmpUsageError('CMP NonceRequest reqInfo must be DER bytes (ANY DEFINED BY type)');
    const req = new NonceRequest({
      ...(params.len !== undefined ? { len: params.len } : {}),
      ...(params.type !== undefined ? { reqTypeInfo: new NonceRequestTypeInfo({ type: params.type, ...(params.reqInfo !== undefined ? { reqInfo: params.reqInfo as Uint8Array } : {}) }) } : {}),
    });
    const transactionID = new Uint8Array(randomBytes(16));
    this.nonceTransactionID = undefined;
    const itavs = await this.client.generalMessage([new InfoTypeAndValue({ infoType: types.request, infoValue: req.toSchema() })], { kind: 'mac' }, transactionID);
    const it = itavs.find((i) => i.infoType === types.response);
    if (!it?.infoValue) throw new CmpProtocolError(`genp without the nonce response InfoType ${types.response}`);
    const rsp = NonceResponse.fromInfoTypeAndValue(it.toSchema(), 'InfoTypeAndValue', types.response);
    this.nonceTransactionID = transactionID;
    const receivedAt = this.opts.now?.() ?? new Date();
    const expirySeconds = rsp.expiry ?? null;
    return {
      nonce: rsp.nonce,
      freshnessRequired: rsp.nonce.byteLength > 0,
      receivedAt,
      expiry: expirySeconds === null ? null : new Date(receivedAt.getTime() + expirySeconds * 1000),
      expirySeconds,
      ...(rsp.respTypeInfo ? { type: rsp.respTypeInfo.type, ...(rsp.respTypeInfo.respInfo !== undefined ? { respInfo: new Uint8Array(rsp.respTypeInfo.respInfo.toBER(false)) } : {}) } : {}),
    };
  }

  private takeNonceTransaction(): Uint8Array | undefined {
    const t = this.nonceTransactionID;
    this.nonceTransactionID = undefined;
    return t;
  }

  private protectionFor(req: EnrollRequest): Protection {
    if (req.operation === 'enroll') {
      if (!this.opts.mac) throw new CmpUsageError('initial enrollment over CMP needs a shared secret (mac.reference/secret)');
      return { kind: 'mac' };
    }
    if (!req.current) throw new CmpUsageError('re-enrollment over CMP needs the current credential');
    const certs = certificatesFromPem(req.current.certPem);
    if (!certs[0]) throw new CmpUsageError('current credential has no certificate');
    return {
      kind: 'signature',
      signer: this.opts.keystore.signer(req.current.key),
      certDer: certificateToDer(certs[0]),
      chainDer: req.current.chainPem.flatMap((p) => certificatesFromPem(p)).map(certificateToDer),
    };
  }
}
