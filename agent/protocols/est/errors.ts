// Typed EST failures. Transport failures (TLS, timeouts, size cap) are the http/ errors, raised unchanged.
import { EnrolldError } from '../../util/errors.js';

/** The server answered with an HTTP error status (§4.2.3: 4xx/5xx with an optional human-readable text body). */
export class EstHttpError extends EnrolldError {
  constructor(
    readonly status: number,
    /** Server-provided text (sanitized, truncated). */
    readonly serverText: string,
    readonly operation: string,
    /** Set when the server sent a usable Retry-After with a 503 (or other) error. */
    readonly retryAfterSeconds?: number,
    code?: string,
  ) {
    super(code ?? (status >= 500 ? 'est.server_error' : 'est.client_error'), `EST ${operation}: HTTP ${status}${serverText ? ` — ${serverText}` : ''}`);
  }
  /** 5xx (and 429) are worth retrying later; other 4xx need a configuration/credential change. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429;
  }
}

/** 401/403: HTTP or TLS client authentication was refused. */
export class EstAuthError extends EstHttpError {
  constructor(status: number, serverText: string, operation: string, readonly challenge?: string) {
    super(status, serverText, operation, undefined, 'est.unauthorized');
  }
}

/** The response violated the protocol: wrong content type, bad base64/DER, no certificate, key mismatch, … */
export class EstProtocolError extends EnrolldError {
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(`est.protocol.${reason}`, message, options);
  }
}

/** §4.1.1 bootstrap: the out-of-band verification did not accept the CA certificates (or the server chain). */
export class EstBootstrapError extends EnrolldError {
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(`est.bootstrap.${reason}`, message, options);
  }
}

/** Caller misuse (bad label, reenroll without client auth, CSR subject differing from the current certificate). */
export class EstUsageError extends EnrolldError {
  constructor(message: string) {
    super('est.usage', message);
  }
}
