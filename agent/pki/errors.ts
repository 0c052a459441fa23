// Typed errors raised by the pkijs/asn1js glue. Codes are stable identifiers (logs, MQTT status).
import { EnrolldError } from '../util/errors.js';

/** Malformed or unexpected ASN.1/DER/PEM/CMS input. */
export class PkiDecodeError extends EnrolldError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code.startsWith('pki.') ? code : `pki.decode.${code}`, message, options);
  }
}

/** A signature could not be produced or has the wrong shape. */
export class PkiSignError extends EnrolldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('pki.sign', message, options);
  }
}

/**
 * Certificate path validation failed. `reason` is a short machine-readable reason (expired, untrusted, name-chaining,
 * not-ca, signature, key-usage, …); `pkijsCode` the CertificateChainValidationEngine result code when it produced one.
 */
export class ChainValidationError extends EnrolldError {
  readonly reason: string;
  readonly pkijsCode: number | undefined;
  constructor(reason: string, message: string, pkijsCode?: number, options?: { cause?: unknown }) {
    super(`pki.chain.${reason}`, message, options);
    this.reason = reason;
    this.pkijsCode = pkijsCode;
  }
}
