// /crls — Distribute CRLs and ARLs (RFC 8295 §4): GET; "the response, and the processing of that response, are
// identical to what is described in Section 4.1.3 of [RFC7030], except that instead of providing the issued
// certificate one or more CRLs are returned in the crls-only message" (§4.2). So: 200, application/pkcs7-mime
// (§1.5; Appendix A labels it smime-type=crls-only), a base64 degenerate SignedData whose `crls` holds the CRLs.
// Nothing here trusts a CRL: §4.2 "Clients MUST reject CRLs that do not validate to an authorized TA" is the CRL
// store's job (agent/store/crl-store.ts). Certificates a server adds to the message are returned as untrusted
// intermediates for that validation.
import type * as pkijs from 'pkijs';
import { parseCertsOnly } from '../../pki/certs-only.js';
import { parseMediaType } from '../http/media-type.js';
import { headerValue } from '../http/transport.js';
import { decodeEstBody } from './base64-body.js';
import { EST_EXT_OPERATIONS, MEDIA_TYPES, SMIME_TYPE_CRLS_ONLY } from './constants.js';
import { nowOf, type EstContext } from './context.js';
import { EstProtocolError } from './errors.js';
import { resolvePackageUri, type PackageUriOptions } from './package-uri.js';
import { throwForStatus } from './response.js';

export interface CrlsOptions extends PackageUriOptions {
  /** The PAL entry's URI; default the server's /crls. */
  uri?: string | URL;
  maxBytes?: number;
  signal?: AbortSignal;
}

export interface CrlsResult {
  crls: pkijs.CertificateRevocationList[];
  /** DER of each CRL, same order. */
  crlsDer: Uint8Array[];
  /** Certificates the message carried too (untrusted; may help build the CRL issuer's path). */
  certificatesDer: Uint8Array[];
}

/**
 * smime-type values accepted on a /crls response: crls-only (Appendix A), none, and certs-only (RFC 5751 has no
 * crls-only value, and some servers label every degenerate SignedData certs-only). signed-data, enveloped-data, …
 * are refused: those are not CRL packages.
 */
const ACCEPTED_SMIME = new Set([SMIME_TYPE_CRLS_ONLY, 'certs-only']);

/** GET /crls (§4.1) → the CRLs of the crls-only response (§4.2), parsed but not yet validated. */
export async function getCrls(ctx: EstContext, opts: CrlsOptions = {}): Promise<CrlsResult> {
  const op = EST_EXT_OPERATIONS.crls;
  const { url } = resolvePackageUri(ctx, opts.uri, [op], opts);
  const signal = opts.signal ?? ctx.signal;
  const maxBytes = opts.maxBytes ?? ctx.maxResponseBytes;
  const res = await ctx.transport.request({
    method: 'GET',
    url,
    ...(maxBytes !== undefined ? { maxResponseBytes: maxBytes } : {}),
    ...(signal ? { signal } : {}),
  });
  if (res.status !== 200) throwForStatus(res, op, nowOf(ctx));
  const ct = headerValue(res, 'content-type');
  const mt = parseMediaType(ct);
  if (!mt || mt.essence !== MEDIA_TYPES.pkcs7Mime) {
    throw new EstProtocolError('content_type', `EST ${op}: expected ${MEDIA_TYPES.pkcs7Mime}, got ${ct ?? 'no Content-Type'}`);
  }
  const smime = mt.params['smime-type']?.toLowerCase();
  if (smime !== undefined && !ACCEPTED_SMIME.has(smime)) {
    throw new EstProtocolError('content_type', `EST ${op}: smime-type=${smime} is not crls-only`);
  }
  const der = decodeEstBody(res.body, `EST ${op} response`);
  let parsed;
  try {
    parsed = parseCertsOnly(der, { allowEmpty: true });
  } catch (e) {
    throw new EstProtocolError('crls_only', `EST ${op}: ${(e as Error).message}`, { cause: e });
  }
  if (parsed.crls.length === 0) throw new EstProtocolError('crls_only', `EST ${op}: the crls-only message contains no CRL`);
  // Keep the exact received encoding: pkijs re-encodes a parsed CRL from its retained TBS and signature.
  const crlsDer = parsed.crls.map((c) => new Uint8Array(c.toSchema(false).toBER(false)));
  return { crls: parsed.crls, crlsDer, certificatesDer: parsed.certificatesDer };
}
