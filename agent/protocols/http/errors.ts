// Typed transport failures. Every error the HTTPS transport raises is one of these (never a bare node error).
import { EnrolldError } from '../../util/errors.js';

export class TransportError extends EnrolldError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** TLS handshake/verification failure: untrusted server chain, name mismatch, protocol/alert errors, client cert refused. */
export class TlsError extends TransportError {
  /** The underlying OpenSSL/node code, e.g. UNABLE_TO_VERIFY_LEAF_SIGNATURE, ERR_TLS_CERT_ALTNAME_INVALID. */
  readonly tlsCode: string | undefined;
  constructor(message: string, tlsCode?: string, options?: { cause?: unknown }) {
    super('transport.tls', message, options);
    this.tlsCode = tlsCode;
  }
}

export class ConnectionError extends TransportError {
  readonly sysCode: string | undefined;
  constructor(message: string, sysCode?: string, options?: { cause?: unknown }) {
    super('transport.connect', message, options);
    this.sysCode = sysCode;
  }
}

export class TimeoutError extends TransportError {
  constructor(readonly phase: 'connect' | 'total', readonly timeoutMs: number) {
    super('transport.timeout', `${phase} timeout after ${timeoutMs} ms`);
  }
}

export class ResponseTooLargeError extends TransportError {
  constructor(readonly limit: number, readonly declared?: number) {
    super('transport.response_too_large', `response body exceeds the ${limit}-byte limit${declared !== undefined ? ` (Content-Length ${declared})` : ''}`);
  }
}

/** Caller misuse / unusable configuration (non-https URL, no trust anchors, bad credentials format). */
export class TransportConfigError extends TransportError {
  constructor(message: string) {
    super('transport.config', message);
  }
}
