// EST as the lifecycle's EnrollmentProtocol: /simpleenroll (Basic auth and/or IDevID TLS client auth),
// /simplereenroll (TLS client auth with the credential being renewed, RFC 7030 §3.3.2; HTTP Basic added only when the
// server asks for it after that, §3.2.3), and the freshness nonce
// (draft-ietf-lamps-attestation-freshness-08 §6: GET or POST /.well-known/est/nonce). §6.1: the server binds the
// nonce to the request that carries the CSR by the TLS session or an HTTP cookie, so nonce() opens an HttpSession
// (one keep-alive connection + cookie jar) with the identity of the request the nonce is for, and enroll() sends
// that request over the same session and closes it afterwards. A request resent later (after 202, a backoff or a
// restart) has no session: it goes on a new connection, and a server that then refuses the evidence makes the
// lifecycle start again with a fresh key, nonce and session.
import type { KeyStore } from '../../keystore/keystore.js';
import { nonceHttpRequest, parseNonceResponse, type NonceRequestParams, type ReceivedNonce } from '../../attest/nonce.js';
import { EST_NONCE_OPERATION } from '../../attest/constants.js';
import { createHttpsTransport, HttpSession, type ClientAuthOptions, type HttpsTransportOptions, type Transport } from '../http/transport.js';
import { RequestRejectedError, type NonceContext, type EnrollmentProtocol, type EnrollRequest, type EnrollResult } from '../protocol.js';
import { loadCert } from '../../pki/lazy-modules.js';
import { EstClient } from './client.js';
import { estUrl } from './context.js';
import { EstHttpError, EstUsageError } from './errors.js';
import type { EstOperation } from './constants.js';

export interface EstEnrollmentOptions {
  baseUrl: string;
  label?: string;
  /** PEM/DER trust anchors of the EST server (explicit TA database, RFC 7030 §4.1.1). */
  trustAnchors: Array<string | Uint8Array>;
  /** Validate issued certificates to these anchors too (the CA's root, from /cacerts or provisioning). */
  issuerTrustAnchors?: Array<string | Uint8Array>;
  basicAuth?: { username: string; password: string };
  /** IDevID (or other existing credential) for TLS client auth on initial enrollment. */
  bootstrapClientAuth?: ClientAuthOptions;
  keystore: KeyStore;
  maxResponseBytes?: number;
  totalTimeoutMs?: number;
  now?: () => Date;
  /** For tests and other transports: builds the transport for given options. */
  transportFactory?: (opts: HttpsTransportOptions) => Transport;
}

export class EstEnrollment implements EnrollmentProtocol {
  readonly name = 'est' as const;
  /** The server asked for HTTP authentication after TLS client auth once: later re-enrollments send Basic at once. */
  private basicOnReenroll = false;
  /** The session the last nonce was fetched on, for the request it was fetched for. */
  private open: { operation: NonceContext['operation']; certPem: string | undefined; session: HttpSession } | undefined;
  constructor(private readonly o: EstEnrollmentOptions) {}

  /** The session opened by nonce() for this request, handed out once; a stale one is closed. */
  private takeSession(req: { operation: NonceContext['operation']; current?: { certPem: string } | undefined }): HttpSession | undefined {
    const open = this.open;
    this.open = undefined;
    if (!open) return undefined;
    if (open.operation === req.operation && open.certPem === req.current?.certPem) return open.session;
    open.session.close();
    return undefined;
  }

  /** Closes the session of a fetched nonce whose request will not be sent (enroll() closes its own). */
  closeSession(): void {
    this.open?.session.close();
    this.open = undefined;
  }

  private async reenrollAuth(current: NonNullable<EnrollRequest['current']>): Promise<ClientAuthOptions> {
    return { key: await this.o.keystore.tlsKeyOptions(current.key), certChain: [current.certPem, ...current.chainPem] };
  }

  private transport(clientAuth: ClientAuthOptions | undefined, basic: boolean, session?: HttpSession): Transport {
    const opts: HttpsTransportOptions = {
      trustAnchors: this.o.trustAnchors,
      ...(session ? { session } : {}),
      ...(clientAuth ? { clientAuth } : {}),
      ...(basic && this.o.basicAuth ? { basicAuth: this.o.basicAuth } : {}),
      ...(this.o.maxResponseBytes !== undefined ? { maxResponseBytes: this.o.maxResponseBytes } : {}),
      ...(this.o.totalTimeoutMs !== undefined ? { totalTimeoutMs: this.o.totalTimeoutMs } : {}),
    };
    return (this.o.transportFactory ?? createHttpsTransport)(opts);
  }

  private client(transport: Transport): EstClient {
    return new EstClient({
      baseUrl: this.o.baseUrl,
      transport,
      ...(this.o.label !== undefined ? { label: this.o.label } : {}),
      ...(this.o.now ? { now: this.o.now } : {}),
      ...(this.o.maxResponseBytes !== undefined ? { maxResponseBytes: this.o.maxResponseBytes } : {}),
    });
  }

  async enroll(req: EnrollRequest): Promise<EnrollResult> {
    const validate = this.o.issuerTrustAnchors?.length ? { validate: { trustAnchors: this.o.issuerTrustAnchors.map(toDer) } } : {};
    const session = this.takeSession(req);
    try {
      return await this.enrollOn(req, validate, session);
    } finally {
      session?.close();
    }
  }

  private async enrollOn(req: EnrollRequest, validate: { validate?: { trustAnchors: Uint8Array[] } }, session: HttpSession | undefined): Promise<EnrollResult> {
    let result;
    if (req.operation === 'reenroll') {
      if (!req.current) throw new Error('re-enrollment needs the current credential');
      const clientAuth = await this.reenrollAuth(req.current);
      // pki/cert.ts (the ASN.1 stack) for the certificate being renewed: loaded at the first re-enrollment
      const { sharedCertificatesFromPem } = await loadCert();
      const opts = { ...validate, currentCertificate: sharedCertificatesFromPem(req.current.certPem)[0]! };
      const send = (basic: boolean) => this.client(this.transport(clientAuth, basic, session)).simpleReenroll(req.csr, opts);
      const withBasic = this.basicOnReenroll;
      try {
        result = await send(withBasic);
      } catch (err) {
        // §4.2.2: a CSR whose Subject/SAN differ from the certificate being renewed is never acceptable.
        if (err instanceof EstUsageError) throw new RequestRejectedError(err.code, err.message, { cause: err });
        // §3.2.3: the server may still ask for HTTP authentication after TLS client auth: one retry of the same
        // request with the configured credentials in addition to the client certificate.
        if (withBasic || !(err instanceof EstHttpError) || err.status !== 401 || !this.o.basicAuth) throw err;
        this.basicOnReenroll = true;
        result = await send(true);
      }
    } else {
      result = await this.client(this.transport(this.o.bootstrapClientAuth, true, session)).simpleEnroll(req.csr, { ...validate, ...(req.key ? { csrKey: req.key.spki } : {}) });
    }
    if (result.kind === 'pending') return { kind: 'pending', retryAfterSeconds: result.retryAfterSeconds };
    return { kind: 'issued', cert: result.certificateDer, chain: result.chainDer, parsed: { cert: result.certificate, chain: result.chain } };
  }

  /**
   * Fetches a nonce on a new session with the identity of the request in `ctx` (default: an initial enrollment):
   * TLS client auth with the credential being renewed for a re-enrollment, else the bootstrap identity and Basic.
   * The session stays open for the enroll() of that request (any earlier unused session is closed).
   */
  async nonce(req: NonceRequestParams, ctx: NonceContext = { operation: 'enroll' }): Promise<ReceivedNonce> {
    this.closeSession();
    const session = new HttpSession();
    try {
      const transport = ctx.operation === 'reenroll' && ctx.current
        ? this.transport(await this.reenrollAuth(ctx.current), this.basicOnReenroll, session)
        : this.transport(this.o.bootstrapClientAuth, true, session);
      const n = await this.fetchNonce(transport, req);
      this.open = { operation: ctx.operation, certPem: ctx.operation === 'reenroll' ? ctx.current?.certPem : undefined, session };
      return n;
    } catch (err) {
      session.close();
      throw err;
    }
  }

  private async fetchNonce(transport: Transport, req: NonceRequestParams): Promise<ReceivedNonce> {
    const http = nonceHttpRequest(req);
    const url = estUrl({ baseUrl: this.o.baseUrl, ...(this.o.label !== undefined ? { label: this.o.label } : {}) }, EST_NONCE_OPERATION as EstOperation);
    const res = await transport.request({
      method: http.method,
      url,
      ...(http.method === 'POST' ? { headers: { 'content-type': http.contentType, accept: 'application/json, ' + http.contentType }, body: http.body } : {}),
      maxResponseBytes: 16 * 1024,
    });
    if (res.status !== 200) {
      throw new EstHttpError(res.status, Buffer.from(res.body).toString('utf8').replace(/[^\x20-\x7e]+/g, ' ').slice(0, 200), 'nonce');
    }
    return parseNonceResponse(Buffer.from(res.body).toString('utf8'), req, (this.o.now ?? (() => new Date()))());
  }
}

function toDer(c: string | Uint8Array): Uint8Array {
  if (typeof c !== 'string') return c;
  const b64 = c.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(b64, 'base64'));
}
