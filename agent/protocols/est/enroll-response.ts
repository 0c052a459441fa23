// Common to /simpleenroll and /simplereenroll (RFC 7030 §4.2.1–§4.2.3): POST a base64 PKCS#10, then
//   200 application/pkcs7-mime certs-only → the issued certificate (+ any chain certificates),
//   202 + Retry-After → pending (repeat the same request later),
//   4xx/5xx → typed errors carrying the server's text.
// The issued certificate is the one certifying the CSR's key; if none does, the response is rejected.
import type * as pkijs from 'pkijs';
import { certificateHasKey, certificateToPem, shareCertificate } from '../../pki/cert.js';
import { validateChain } from '../../pki/chain.js';
import { csrSpki, parseCsr } from '../../pki/csr.js';
import { encodeBase64Body } from './base64-body.js';
import { MEDIA_TYPES, type EstOperation } from './constants.js';
import { estUrl, nowOf, type EstContext } from './context.js';
import { EstProtocolError, EstUsageError } from './errors.js';
import { certsOnlyFrom } from './certs-only-response.js';
import { pendingFrom, throwForStatus, type EstPending } from './response.js';

type CertInput = pkijs.Certificate | Uint8Array;

export interface EstIssued {
  kind: 'issued';
  certificate: pkijs.Certificate;
  certificateDer: Uint8Array;
  certificatePem: string;
  /** Other certificates in the response (intermediates), in server order. */
  chain: pkijs.Certificate[];
  chainDer: Uint8Array[];
}

export type EstEnrollResult = EstIssued | EstPending;

export interface EnrollOptions {
  /** When given, the issued certificate must validate to these anchors (with the response chain as intermediates). */
  validate?: { trustAnchors: CertInput[]; intermediates?: CertInput[] };
  /**
   * DER SubjectPublicKeyInfo of the CSR's key when the caller built the CSR with that key (the lifecycle's pending
   * request): the issued certificate is looked up by it and the CSR is not parsed again to read it.
   */
  csrKey?: Uint8Array;
}

/** `parsed`: the CSR as the caller already parsed it from `csrDer` (not parsed again). */
export async function postCsr(ctx: EstContext, op: EstOperation, csrDer: Uint8Array, opts: EnrollOptions = {}, parsed?: pkijs.CertificationRequest): Promise<EstEnrollResult> {
  let spki: Uint8Array;
  try {
    spki = parsed ? csrSpki(parsed) : (opts.csrKey ?? csrSpki(parseCsr(csrDer)));
  } catch (e) {
    throw new EstUsageError(`EST ${op}: the CSR is not a valid PKCS#10 request: ${(e as Error).message}`);
  }
  const res = await ctx.transport.request({
    method: 'POST',
    url: estUrl(ctx, op),
    headers: { 'content-type': MEDIA_TYPES.pkcs10 },
    body: encodeBase64Body(csrDer),
    // rides the connection /csrattrs left open for it (same TLS identity), and closes it
    keepConnection: 'close',
    ...(ctx.maxResponseBytes !== undefined ? { maxResponseBytes: ctx.maxResponseBytes } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  const now = nowOf(ctx);
  if (res.status === 202) return pendingFrom(res, op, now);
  if (res.status !== 200) throwForStatus(res, op, now);
  // The issuing chain is what the device holds with its credential (and usually its trust anchors): those
  // certificates are parsed once in the process, and the chain parsed here is shared for the validation below and
  // the lifecycle's (read-only from here on).
  const { certificates, certificatesDer } = certsOnlyFrom(res, op, { reuseShared: true });
  const idx = certificates.findIndex((c) => certificateHasKey(c, spki));
  if (idx < 0) {
    throw new EstProtocolError('key_mismatch', `EST ${op}: no returned certificate certifies the CSR's public key`);
  }
  const certificate = certificates[idx]!;
  const chain = certificates.filter((_, i) => i !== idx);
  const chainDer = certificatesDer.filter((_, i) => i !== idx);
  chain.forEach((c, i) => shareCertificate(chainDer[i]!, c));
  if (opts.validate) {
    await validateChain({
      leaf: certificate,
      intermediates: [...chain, ...(opts.validate.intermediates ?? [])],
      trustAnchors: opts.validate.trustAnchors,
      at: now,
    });
  }
  return { kind: 'issued', certificate, certificateDer: certificatesDer[idx]!, certificatePem: certificateToPem(certificatesDer[idx]!), chain, chainDer };
}
