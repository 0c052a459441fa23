// /eecerts — Distribute EE Certificates (RFC 8295 §3): GET; the response and its error handling are RFC 7030
// §4.1.3's (200, certs-only application/pkcs7-mime) except that the certificates are the client's peers'. §3.2:
// "Clients MUST reject EE certificates that do not validate to an authorized TA" — with `validate`, each end-entity
// certificate is validated here (the CA certificates in the message serve as untrusted intermediates); without it
// the caller must validate (the package handler does, against the TA store).
import * as pkijs from 'pkijs';
import { findExtension } from '../../pki/cert.js';
import { validateChain } from '../../pki/chain.js';
import { EST_EXT_OPERATIONS } from './constants.js';
import { nowOf, type EstContext } from './context.js';
import { resolvePackageUri, type PackageUriOptions } from './package-uri.js';
import { certsOnlyFrom } from './certs-only-response.js';
import { throwForStatus } from './response.js';

type CertInput = pkijs.Certificate | Uint8Array;

export interface EeCertsOptions extends PackageUriOptions {
  /** The PAL entry's URI; default the server's /eecerts. */
  uri?: string | URL;
  maxBytes?: number;
  signal?: AbortSignal;
  /** Validate every EE certificate to these anchors (extra intermediates optional; CRLs optional). */
  validate?: { trustAnchors: CertInput[]; intermediates?: CertInput[]; crls?: pkijs.CertificateRevocationList[] };
}

export interface EeCertsResult {
  /** Everything the server returned, in order. */
  certificates: pkijs.Certificate[];
  certificatesDer: Uint8Array[];
  /** Indexes (into certificates) of CA certificates (basicConstraints cA=TRUE): intermediates, not peers. */
  caIndexes: number[];
  /** Indexes of end-entity certificates: the peers. */
  eeIndexes: number[];
  /** With `validate`: EE indexes that validated, and the ones that did not (with the reason). */
  accepted?: number[];
  rejected?: Array<{ index: number; error: Error }>;
}

const OID_BASIC_CONSTRAINTS = '2.5.29.19';

/** True for a certificate whose basicConstraints says cA (RFC 5280 §4.2.1.9). */
export function isCaCertificate(cert: pkijs.Certificate): boolean {
  const ext = findExtension(cert.extensions, OID_BASIC_CONSTRAINTS);
  const bc = ext?.parsedValue;
  return bc instanceof pkijs.BasicConstraints && bc.cA === true;
}

/** GET /eecerts (§3.1) → the certs-only payload (§3.2), optionally validated. */
export async function getEeCerts(ctx: EstContext, opts: EeCertsOptions = {}): Promise<EeCertsResult> {
  const op = EST_EXT_OPERATIONS.eecerts;
  const { url } = resolvePackageUri(ctx, opts.uri, [op], opts);
  const signal = opts.signal ?? ctx.signal;
  const maxBytes = opts.maxBytes ?? ctx.maxResponseBytes;
  const res = await ctx.transport.request({
    method: 'GET',
    url,
    ...(maxBytes !== undefined ? { maxResponseBytes: maxBytes } : {}),
    ...(signal ? { signal } : {}),
  });
  const now = nowOf(ctx);
  if (res.status !== 200) throwForStatus(res, op, now);
  const { certificates, certificatesDer } = certsOnlyFrom(res, op);
  const caIndexes: number[] = [];
  const eeIndexes: number[] = [];
  certificates.forEach((c, i) => (isCaCertificate(c) ? caIndexes : eeIndexes).push(i));
  const result: EeCertsResult = { certificates, certificatesDer, caIndexes, eeIndexes };
  if (opts.validate) {
    const accepted: number[] = [];
    const rejected: Array<{ index: number; error: Error }> = [];
    const intermediates = [...caIndexes.map((i) => certificates[i]!), ...(opts.validate.intermediates ?? [])];
    for (const i of eeIndexes) {
      try {
        await validateChain({
          leaf: certificates[i]!,
          intermediates,
          trustAnchors: opts.validate.trustAnchors,
          at: now,
          ...(opts.validate.crls ? { crls: opts.validate.crls } : {}),
        });
        accepted.push(i);
      } catch (e) {
        rejected.push({ index: i, error: e as Error });
      }
    }
    result.accepted = accepted;
    result.rejected = rejected;
  }
  return result;
}
