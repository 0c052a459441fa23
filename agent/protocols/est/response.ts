// Shared EST response handling: status classes (§4.2.3: 200 issued, 202 + Retry-After pending, 4xx/5xx errors with
// text) and content-type checks. The certs-only body itself is read by certs-only-response.ts (it needs the ASN.1 stack).
import { parseMediaType } from '../http/media-type.js';
import { parseRetryAfter } from '../http/retry-after.js';
import { headerValue, type TransportResponse } from '../http/transport.js';
import { EST_ERROR_TEXT_MAX, MEDIA_TYPES } from './constants.js';
import { EstAuthError, EstHttpError, EstProtocolError } from './errors.js';

/** §4.2.3 202 result: the request was accepted for manual processing; repeat the SAME request after the delay. */
export interface EstPending {
  kind: 'pending';
  retryAfterSeconds: number;
  /** now + retryAfterSeconds. */
  retryAt: Date;
}

/** Printable, single-line, truncated server text for error messages and logs. */
export function serverText(body: Uint8Array): string {
  const text = Buffer.from(body.buffer, body.byteOffset, Math.min(body.byteLength, EST_ERROR_TEXT_MAX * 4)).toString('utf8');
  const clean = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  return clean.length > EST_ERROR_TEXT_MAX ? clean.slice(0, EST_ERROR_TEXT_MAX) + '…' : clean;
}

/** Throws the typed error for a non-2xx response. */
export function throwForStatus(res: TransportResponse, operation: string, now: Date): never {
  const text = serverText(res.body);
  if (res.status === 401 || res.status === 403) {
    throw new EstAuthError(res.status, text, operation, headerValue(res, 'www-authenticate'));
  }
  if (res.status >= 300 && res.status < 400) {
    // EST clients do not follow redirects automatically (§3.2.1 requires the redirect target to be re-authorized).
    throw new EstHttpError(res.status, `redirect to ${headerValue(res, 'location') ?? '?'} not followed`, operation, undefined, 'est.redirect');
  }
  throw new EstHttpError(res.status, text, operation, parseRetryAfter(res.headers['retry-after'], now));
}

/** §4.2.3: 202 must carry Retry-After; both delay-seconds and HTTP-date are accepted. */
export function pendingFrom(res: TransportResponse, operation: string, now: Date): EstPending {
  const raw = res.headers['retry-after'];
  const secs = parseRetryAfter(raw, now);
  if (secs === undefined) {
    throw new EstProtocolError('retry_after', `EST ${operation}: 202 Accepted without a valid Retry-After (${raw === undefined ? 'missing' : JSON.stringify(raw)})`);
  }
  return { kind: 'pending', retryAfterSeconds: secs, retryAt: new Date(now.getTime() + secs * 1000) };
}

/** Checks the response media type (parameters other than smime-type are ignored). */
export function checkContentType(res: TransportResponse, expected: string, operation: string): void {
  const mt = parseMediaType(headerValue(res, 'content-type'));
  if (!mt || mt.essence !== expected) {
    throw new EstProtocolError('content_type', `EST ${operation}: expected ${expected}, got ${headerValue(res, 'content-type') ?? 'no Content-Type'}`);
  }
  if (expected === MEDIA_TYPES.pkcs7Mime && mt.params['smime-type'] !== undefined && mt.params['smime-type'].toLowerCase() !== 'certs-only') {
    throw new EstProtocolError('content_type', `EST ${operation}: smime-type=${mt.params['smime-type']} is not certs-only`);
  }
}
