// Strict DER entry point for everything the lab receives (asn1js.fromBER ignores trailing bytes and reports errors
// through offset -1), and the byte helpers pkijs/asn1js need.
import * as asn1js from 'asn1js';

export class DerError extends Error {}

/** Exactly one ASN.1 element spanning all of `bytes`; `what` names the structure in the error. */
export function der(bytes: Uint8Array, what: string): asn1js.AsnType {
  if (bytes.byteLength === 0) throw new DerError(`${what}: empty input`);
  let r: ReturnType<typeof asn1js.fromBER>;
  try {
    r = asn1js.fromBER(bytes);
  } catch (e) {
    throw new DerError(`${what}: malformed ASN.1 (${(e as Error).message})`);
  }
  if (r.offset === -1 || r.result.error) throw new DerError(`${what}: malformed ASN.1 (${r.result.error || 'decode failed'})`);
  if (r.offset !== bytes.byteLength) throw new DerError(`${what}: ${bytes.byteLength - r.offset} trailing byte(s) after the ASN.1 element`);
  return r.result;
}

/** A fresh ArrayBuffer holding exactly the bytes of `b`. */
export function toAb(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/** DER of an asn1js value or a pkijs object. */
export function encode(v: asn1js.BaseBlock | { toSchema(): asn1js.BaseBlock }): Uint8Array {
  const block = 'toSchema' in v && typeof v.toSchema === 'function' ? v.toSchema() : (v as asn1js.BaseBlock);
  return new Uint8Array(block.toBER(false));
}

/** The contents octets of a primitive value (OCTET STRING, INTEGER, BIT STRING value…). */
export function valueBytes(v: asn1js.BaseBlock): Uint8Array {
  return new Uint8Array((v.valueBlock as unknown as { valueHexView: Uint8Array }).valueHexView);
}

export const oid = (value: string): asn1js.ObjectIdentifier => new asn1js.ObjectIdentifier({ value });
export const octets = (b: Uint8Array): asn1js.OctetString => new asn1js.OctetString({ valueHex: toAb(b) });
/** [n] context-specific constructed tag around `inner` (EXPLICIT tagging). */
export const explicit = (n: number, inner: asn1js.BaseBlock): asn1js.Constructed => new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: n }, value: [inner] });
