// RFC 7030 wire names the lab serves: the well-known prefix and label (§3.2.2), the media types (§4.1.3, §4.2.1,
// §4.5.2), the CsrAttrs response (§4.5.2, RFC 9908 §3), and the HTTP pieces around them (RFC 9110 §8.3.1
// Content-Type, §10.2.3 Retry-After as an IMF-fixdate).
import * as asn1js from 'asn1js';

export const EST_WELL_KNOWN_PATH = '/.well-known/est';
/** §3.2.2 arbitraryLabel: RFC 3986 unreserved characters. */
export const EST_LABEL_PATTERN = /^[A-Za-z0-9._~-]{1,64}$/;

export const MEDIA_TYPES = {
  pkcs10: 'application/pkcs10',
  pkcs7Mime: 'application/pkcs7-mime',
  certsOnly: 'application/pkcs7-mime; smime-type=certs-only',
  csrattrs: 'application/csrattrs',
} as const;

/** CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID; AttrOrOID ::= CHOICE { oid OBJECT IDENTIFIER, attribute Attribute }. */
export interface CsrAttrs {
  oids: string[];
  attributes: Array<{ type: string; values: asn1js.AsnType[] }>;
}

export function encodeCsrAttrs(attrs: Partial<CsrAttrs>): Uint8Array {
  const value: asn1js.BaseBlock[] = [
    ...(attrs.oids ?? []).map((o) => new asn1js.ObjectIdentifier({ value: o })),
    ...(attrs.attributes ?? []).map((a) => new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: a.type }), new asn1js.Set({ value: a.values as asn1js.BaseBlock[] })] })),
  ];
  return new Uint8Array(new asn1js.Sequence({ value }).toBER(false));
}

/** "type/subtype" of a Content-Type, lower-cased; undefined when it is not one. */
export function mediaTypeEssence(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const essence = value.split(';')[0]!.trim().toLowerCase();
  return /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(essence) ? essence : undefined;
}

/** RFC 9110 §5.6.7 IMF-fixdate. */
export const httpDate = (d: Date): string => d.toUTCString();
