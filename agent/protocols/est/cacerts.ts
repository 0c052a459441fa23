// /cacerts — Distribution of CA certificates (RFC 7030 §4.1): GET, no client authentication required (§4.1.2),
// 200 with a certs-only application/pkcs7-mime body (§4.1.3). Two modes:
//  - explicit TA database (§3.6.1): the transport authenticates the server against the configured trust anchors;
//  - bootstrap (§4.1.1): no TA yet; the TLS handshake completes unauthenticated, and the received CA certificates
//    are accepted ONLY if the caller's out-of-band check (e.g. a SHA-256 fingerprint from the device label or an
//    operator) approves them. Then the server's own TLS chain must validate to the accepted roots and name the host.
import { X509Certificate } from 'node:crypto';
import type * as pkijs from 'pkijs';
import { certificateFingerprint, certificateToDer, describeName, isSelfIssued } from '../../pki/cert.js';
import { validateChain } from '../../pki/chain.js';
import { createHttpsTransport, type Transport } from '../http/transport.js';
import { EST_OPERATIONS } from './constants.js';
import { estUrl, nowOf, type EstContext } from './context.js';
import { EstBootstrapError, EstProtocolError } from './errors.js';
import { certsOnlyFrom } from './certs-only-response.js';
import { throwForStatus } from './response.js';
import { isIP } from '../../util/net.js';

type CertInput = pkijs.Certificate | Uint8Array;

export interface CaCertsResult {
  /** Everything the server returned, in order. */
  certificates: pkijs.Certificate[];
  certificatesDer: Uint8Array[];
  /** Self-signed certificates: trust-anchor candidates (§4.1.3: the current root MUST be included). */
  roots: pkijs.Certificate[];
  /** Non-self-signed certificates that validate to a returned root or a configured TA (§4.1.3 last paragraph). */
  intermediates: pkijs.Certificate[];
  /** Certificates that failed that validation (e.g. expired rollover certificates); never to be used. */
  rejected: Array<{ certificate: pkijs.Certificate; error: Error }>;
  /** §4.1.3 root key update links (NewWithOld, OldWithNew): a returned root's subject and key under another root. */
  links: pkijs.Certificate[];
}

/**
 * True for a §4.1.3 link certificate: not self-issued, same subject and key as one of `roots`. Links are kept out
 * of chain building (with both directions present, the two roots certify each other: a cycle).
 */
export function isRootLink(c: pkijs.Certificate, roots: pkijs.Certificate[]): boolean {
  if (isSelfIssued(c)) return false;
  const spki = Buffer.from(c.subjectPublicKeyInfo.toSchema().toBER(false));
  return roots.some((r) => r.subject.isEqual(c.subject) && spki.equals(Buffer.from(r.subjectPublicKeyInfo.toSchema().toBER(false))));
}

/** Splits and validates a /cacerts payload. */
async function classify(certs: pkijs.Certificate[], der: Uint8Array[], at: Date, extraAnchors: CertInput[]): Promise<CaCertsResult> {
  const roots = certs.filter(isSelfIssued);
  const links = certs.filter((c) => isRootLink(c, roots));
  const others = certs.filter((c) => !isSelfIssued(c) && !links.includes(c));
  const intermediates: pkijs.Certificate[] = [];
  const rejected: CaCertsResult['rejected'] = [];
  for (const c of others) {
    try {
      await validateChain({ leaf: c, intermediates: others.filter((o) => o !== c), trustAnchors: [...roots, ...extraAnchors], at });
      intermediates.push(c);
    } catch (e) {
      rejected.push({ certificate: c, error: e as Error });
    }
  }
  return { certificates: certs, certificatesDer: der, roots, intermediates, rejected, links };
}

/** GET /cacerts over a transport that authenticates the server with the explicit TA database. */
export async function getCaCerts(ctx: EstContext, opts: { trustAnchors?: CertInput[] } = {}): Promise<CaCertsResult> {
  const op = EST_OPERATIONS.cacerts;
  const res = await ctx.transport.request({
    method: 'GET',
    url: estUrl(ctx, op),
    ...(ctx.maxResponseBytes !== undefined ? { maxResponseBytes: ctx.maxResponseBytes } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  const now = nowOf(ctx);
  if (res.status !== 200) throwForStatus(res, op, now);
  const { certificates, certificatesDer } = certsOnlyFrom(res, op);
  return classify(certificates, certificatesDer, now, opts.trustAnchors ?? []);
}

export interface BootstrapCandidate {
  certificate: pkijs.Certificate;
  der: Uint8Array;
  /** e.g. "CN=Lab Root CA, O=enrolld lab". */
  subject: string;
  /** Lower-case hex digests of the whole DER certificate (§4.1.1 "fingerprint"). */
  sha256: string;
  sha512: string;
}

/** Out-of-band check (§4.1.1). Return true ONLY when every candidate root was confirmed out of band. */
export type BootstrapVerifier = (candidates: BootstrapCandidate[]) => boolean | Promise<boolean>;

export interface BootstrapOptions {
  baseUrl: string;
  label?: string;
  verify: BootstrapVerifier;
  /** Default: an https transport in unauthenticated-bootstrap mode (no Basic credentials, ever). */
  transport?: Transport;
  now?: () => Date;
  maxResponseBytes?: number;
  connectTimeoutMs?: number;
  totalTimeoutMs?: number;
  /** Expected server name when it differs from the URL host. */
  servername?: string;
}

/** §4.1.1 bootstrap: fetch /cacerts without a TA, accept only what `verify` confirms; returns the validated set. */
export async function bootstrapCaCerts(opts: BootstrapOptions): Promise<CaCertsResult> {
  const transport =
    opts.transport ??
    createHttpsTransport({
      trustAnchors: [],
      unauthenticatedBootstrap: true,
      ...(opts.maxResponseBytes !== undefined ? { maxResponseBytes: opts.maxResponseBytes } : {}),
      ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
      ...(opts.totalTimeoutMs !== undefined ? { totalTimeoutMs: opts.totalTimeoutMs } : {}),
      ...(opts.servername !== undefined ? { servername: opts.servername } : {}),
    });
  const ctx: EstContext = { baseUrl: opts.baseUrl, transport, ...(opts.label !== undefined ? { label: opts.label } : {}), ...(opts.now ? { now: opts.now } : {}) };
  const op = EST_OPERATIONS.cacerts;
  const url = estUrl(ctx, op);
  const res = await transport.request({ method: 'GET', url, basicAuth: false, peerCertificates: true });
  const now = nowOf(ctx);
  if (res.status !== 200) throwForStatus(res, op, now);
  const { certificates, certificatesDer } = certsOnlyFrom(res, op);
  const roots = certificates.filter(isSelfIssued);
  if (roots.length === 0) throw new EstProtocolError('no_root', 'EST cacerts: the response contains no self-signed CA certificate');
  const candidates: BootstrapCandidate[] = roots.map((c) => ({
    certificate: c,
    der: certificateToDer(c),
    subject: describeName(c.subject),
    sha256: certificateFingerprint(c, 'sha256'),
    sha512: certificateFingerprint(c, 'sha512'),
  }));
  let accepted = false;
  try {
    accepted = (await opts.verify(candidates)) === true;
  } catch (e) {
    throw new EstBootstrapError('verifier_failed', `out-of-band verification failed: ${(e as Error).message}`, { cause: e });
  }
  if (!accepted) throw new EstBootstrapError('rejected', 'out-of-band verification rejected the CA certificates');

  // The TLS server we talked to must itself chain to the accepted roots and be named by the URL (§3.6.1 rules,
  // applied now that a TA exists); otherwise anything it sent is untrusted and discarded.
  const [leaf, ...presented] = res.peerCertificates;
  if (!leaf) throw new EstBootstrapError('server_chain', 'no server certificate recorded by the transport');
  try {
    await validateChain({ leaf, intermediates: [...presented, ...certificatesDer], trustAnchors: roots, at: now });
  } catch (e) {
    throw new EstBootstrapError('server_chain', `the EST server's certificate does not chain to the accepted CA: ${(e as Error).message}`, { cause: e });
  }
  const host = opts.servername ?? url.hostname.replace(/^\[|\]$/g, '');
  const x = new X509Certificate(Buffer.from(leaf));
  const named = isIP(host) ? x.checkIP(host) !== undefined : x.checkHost(host) !== undefined;
  if (!named) throw new EstBootstrapError('server_identity', `the EST server's certificate does not name ${host}`);
  return classify(certificates, certificatesDer, now, []);
}
