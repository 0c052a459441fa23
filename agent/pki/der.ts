// Strict DER/BER entry point: asn1js.fromBER reports errors through `offset === -1` and ignores trailing bytes;
// everything enrolld receives from the network goes through here so both cases become typed errors.
import * as asn1js from 'asn1js';
import { PkiDecodeError } from './errors.js';

/** Parses exactly one ASN.1 element spanning all of `der`. `what` names the structure in error messages. */
export function decodeAsn1(der: Uint8Array | ArrayBuffer, what: string): asn1js.AsnType {
  const view = der instanceof Uint8Array ? der : new Uint8Array(der);
  if (view.byteLength === 0) throw new PkiDecodeError('asn1', `${what}: empty input`);
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    parsed = asn1js.fromBER(view);
  } catch (cause) {
    // asn1js throws (rather than reporting) for some malformed primitives: GeneralizedTime text, a UniversalString
    // length not a multiple of 4, a BMPString of odd length (found by test/fuzz).
    throw new PkiDecodeError('asn1', `${what}: malformed ASN.1 (${(cause as Error).message})`, { cause });
  }
  if (parsed.offset === -1 || parsed.result.error) {
    throw new PkiDecodeError('asn1', `${what}: malformed ASN.1 (${parsed.result.error || 'decode failed'})`);
  }
  if (parsed.offset !== view.byteLength) {
    throw new PkiDecodeError('asn1', `${what}: ${view.byteLength - parsed.offset} trailing byte(s) after the ASN.1 element`);
  }
  return parsed.result;
}

/** A fresh ArrayBuffer holding exactly the bytes of `u8` (pkijs/asn1js APIs take ArrayBuffers). */
export function toArrayBuffer(u8: Uint8Array): ArrayBuffer {
  return u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength) as ArrayBuffer;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}
