// CMS signed-attribute helpers (RFC 5652 §5.3, §5.4, §11) shared by the firmware package verifier, the receipt/error
// signer and the lab's package signer:
//  - the message digest is computed over the DER of the signedAttrs as an EXPLICIT SET OF (tag 0x31), whose DER
//    requires the elements sorted by their encodings (X.690 §11.6) — asn1js does not sort, so we do;
//  - RFC 4108 §2.2/§3.2/§4.2: each attribute has exactly one value and occurs at most once.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OID_ATTR_CONTENT_TYPE, OID_ATTR_MESSAGE_DIGEST, OID_ATTR_SIGNING_TIME } from './firmware-oids.js';

/** Attributes in DER SET OF order (ascending by encoding, shorter first on a common prefix). */
export function sortAttributes(attrs: readonly pkijs.Attribute[]): pkijs.Attribute[] {
  const enc = attrs.map((a) => ({ a, der: Buffer.from(a.toSchema().toBER(false)) }));
  enc.sort((x, y) => Buffer.compare(x.der, y.der));
  return enc.map((e) => e.a);
}

/** DER of `SET OF Attribute` (the bytes a CMS signature over signed attributes covers). */
export function signedAttributesDer(attrs: readonly pkijs.Attribute[]): Uint8Array {
  return new Uint8Array(new asn1js.Set({ value: sortAttributes(attrs).map((a) => a.toSchema()) }).toBER(false));
}

export function contentTypeAttribute(oid: string): pkijs.Attribute {
  return new pkijs.Attribute({ type: OID_ATTR_CONTENT_TYPE, values: [new asn1js.ObjectIdentifier({ value: oid })] });
}

export function messageDigestAttribute(digest: Uint8Array): pkijs.Attribute {
  return new pkijs.Attribute({ type: OID_ATTR_MESSAGE_DIGEST, values: [new asn1js.OctetString({ valueHex: digest })] });
}

/** RFC 5652 §11.3: UTCTime for 1950–2049, GeneralizedTime otherwise; whole seconds. */
export function signingTimeAttribute(at: Date): pkijs.Attribute {
  const t = new Date(Math.floor(at.getTime() / 1000) * 1000);
  const y = t.getUTCFullYear();
  const value = y >= 1950 && y < 2050 ? new asn1js.UTCTime({ valueDate: t }) : new asn1js.GeneralizedTime({ valueDate: t });
  return new pkijs.Attribute({ type: OID_ATTR_SIGNING_TIME, values: [value] });
}

/** An attribute with a single value given as any asn1js element or a PKI.js-style object with toSchema(). */
export function singleValueAttribute(type: string, value: asn1js.AsnType | { toSchema(): asn1js.AsnType }): pkijs.Attribute {
  const v = typeof (value as { toSchema?: unknown }).toSchema === 'function' ? (value as { toSchema(): asn1js.AsnType }).toSchema() : (value as asn1js.AsnType);
  return new pkijs.Attribute({ type, values: [v] });
}

export type AttributeCheck =
  | { ok: true; byType: Map<string, asn1js.AsnType> }
  | { ok: false; reason: string; type: string };

/** RFC 4108: every attribute single-valued and not repeated. Returns the value of each attribute by OID. */
export function singleValuedAttributes(attrs: readonly pkijs.Attribute[]): AttributeCheck {
  const byType = new Map<string, asn1js.AsnType>();
  for (const a of attrs) {
    if (byType.has(a.type)) return { ok: false, reason: `attribute ${a.type} occurs more than once`, type: a.type };
    // pkijs leaves `values` undefined when the attrValues SET is encoded primitive (fuzzing: test/fixtures/fuzz/firmware-package/).
    if (!Array.isArray(a.values)) return { ok: false, reason: `attribute ${a.type} has no attrValues SET`, type: a.type };
    if (a.values.length !== 1) return { ok: false, reason: `attribute ${a.type} has ${a.values.length} values, expected exactly one`, type: a.type };
    byType.set(a.type, a.values[0]!);
  }
  return { ok: true, byType };
}
