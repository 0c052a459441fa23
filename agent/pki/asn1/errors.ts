import { EnrolldError } from '../../util/errors.js';

/**
 * Why a DER structure was refused. Every decoder in agent/pki/asn1 throws only {@link Asn1DecodeError}
 * with one of these reasons; nothing from inside asn1js escapes.
 */
export type Asn1DecodeReason =
  | 'malformed' // not parseable BER at all, or trailing bytes after the outer element
  | 'not-der' // parseable BER, but not DER (indefinite length, constructed string)
  | 'bad-tag' // an element has the wrong tag (e.g. OCTET STRING where a SEQUENCE belongs)
  | 'missing-field' // a required element is absent
  | 'extra-field' // more elements than the type allows
  | 'constraint' // a value is outside its ASN.1 constraint (SIZE, range, forbidden CHOICE arm)
  | 'duplicate' // an attribute that may occur once occurs more than once
  | 'bad-value'; // a well-tagged value that is unusable (e.g. an integer too large)

/** A DER structure does not match its ASN.1 definition. `code` is `asn1.<reason>`, `path` locates the element. */
export class Asn1DecodeError extends EnrolldError {
  readonly reason: Asn1DecodeReason;
  readonly path: string;
  constructor(reason: Asn1DecodeReason, path: string, detail: string, options?: { cause?: unknown }) {
    super(`asn1.${reason}`, `${path}: ${detail}`, options);
    this.reason = reason;
    this.path = path;
  }
}

/** A value handed to an encoder (constructor or toSchema) breaks the type's constraints. */
export class Asn1EncodeError extends EnrolldError {
  constructor(detail: string) {
    super('asn1.encode', detail);
  }
}
