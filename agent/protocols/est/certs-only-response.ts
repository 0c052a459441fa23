// §4.1.3 / §4.2.3: a 200 application/pkcs7-mime (certs-only) EST body read into certificates. Kept apart from
// response.ts: this one needs the ASN.1 stack, the status and content-type checks there do not.
import type * as pkijs from 'pkijs';
import { parseCertsOnly } from '../../pki/certs-only.js';
import type { TransportResponse } from '../http/transport.js';
import { decodeEstBody } from './base64-body.js';
import { MEDIA_TYPES } from './constants.js';
import { EstProtocolError } from './errors.js';
import { checkContentType } from './response.js';

/**
 * 200 + application/pkcs7-mime body → certificates (typed errors for bad base64 / DER / CMS). `reuseShared`: see
 * parseCertsOnly (the certificates are then read-only).
 */
export function certsOnlyFrom(res: TransportResponse, operation: string, opts: { reuseShared?: boolean } = {}): { certificates: pkijs.Certificate[]; certificatesDer: Uint8Array[] } {
  checkContentType(res, MEDIA_TYPES.pkcs7Mime, operation);
  const der = decodeEstBody(res.body, `EST ${operation} response`);
  try {
    return parseCertsOnly(der, opts);
  } catch (e) {
    throw new EstProtocolError('certs_only', `EST ${operation}: ${(e as Error).message}`, { cause: e });
  }
}
