// Typed CMP failures. Nothing a peer sends escapes as a bare Error: DER problems are Asn1DecodeError, transport
// problems TransportError, everything else one of these.
import { EnrolldError } from '../../util/errors.js';

export class CmpError extends EnrolldError {}

/** A response whose protection is missing, wrong (MAC/signature) or made by a sender the trust anchor does not vouch for. */
export class CmpProtectionError extends CmpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('cmp.protection', message, options);
  }
}

/** A response that breaks the transaction rules: transactionID, nonces, pvno, body type, HTTP status or media type. */
export class CmpProtocolError extends CmpError {
  /** HTTP status when the failure is an HTTP one. */
  readonly status?: number;
  /** Seconds from a Retry-After on an HTTP 503/429 (RFC 9110 §10.2.3): the lifecycle waits at least this long. */
  readonly retryAfterSeconds?: number;
  constructor(message: string, options?: { cause?: unknown; status?: number; retryAfterSeconds?: number }) {
    super('cmp.protocol', message, options);
    if (options?.status !== undefined) this.status = options.status;
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Failure infos after which resending the same request cannot succeed (the lifecycle drops the request). */
const PERMANENT = new Set(['badAlg', 'badRequest', 'badCertTemplate', 'badPOP', 'badDataFormat', 'notAuthorized', 'duplicateCertReq', 'unacceptedPolicy', 'unacceptedExtension', 'certRevoked', 'badCertId']);

/** The server answered with status rejection (in the body or an error message). */
export class CmpRejectedError extends CmpError {
  readonly failInfo: string[];
  readonly statusString: string[];
  /** 400 for a permanent refusal (see PERMANENT), 503 otherwise: the lifecycle's isPermanent() reads it. */
  readonly status: number;
  /** Seconds from a Retry-After sent with the error message on an HTTP 503/429 (RFC 9110 §10.2.3). */
  readonly retryAfterSeconds?: number;
  constructor(failInfo: string[], statusString: string[], where: string, retryAfterSeconds?: number) {
    super('cmp.rejected', `${where}: rejected${failInfo.length ? ` (${failInfo.join(', ')})` : ''}${statusString.length ? `: ${statusString.join('; ')}` : ''}`);
    this.failInfo = failInfo;
    this.statusString = statusString;
    this.status = failInfo.some((f) => PERMANENT.has(f)) ? 400 : 503;
    if (retryAfterSeconds !== undefined) this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Misuse of the client (e.g. http:// to a non-loopback host, kur without a current credential). */
export class CmpUsageError extends CmpError {
  constructor(message: string) {
    super('cmp.usage', message);
  }
}
