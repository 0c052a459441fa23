// The EST body transfer encoding: base64 DER (RFC 7030 §4, RFC 8951 §3: always base64, Content-Transfer-Encoding
// ignored), RFC 2045 §6.8 lines. Requests are read tolerantly (line breaks, a trailing NUL, binary DER from clients
// that ignore RFC 8951) and anything else is refused.
export class BodyError extends Error {}

/** RFC 2045 §6.8 base64 with 64-character lines. */
export function base64Body(bytes: Uint8Array, eol = '\n'): string {
  return (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').match(/.{1,64}/g) ?? []).join(eol) + eol;
}

/** Decodes a base64 body (whitespace and trailing NULs allowed, nothing else). */
export function fromBase64Body(body: Uint8Array | string, what = 'request body'): Uint8Array {
  const s = (typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1')).replace(/\0+$/, '').replace(/[\r\n\t ]/g, '');
  if (s.length === 0) throw new BodyError(`${what}: empty body`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s) || (s.includes('=') && s.length % 4 !== 0) || s.length % 4 === 1) throw new BodyError(`${what}: not base64`);
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/** True when the body is evidently raw DER (a SEQUENCE with bytes no base64 text contains). */
export function isBinaryDer(body: Uint8Array): boolean {
  if (body.byteLength < 2 || body[0] !== 0x30) return false;
  for (const b of body) if (b >= 0x80 || (b < 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09 && b !== 0x00)) return true;
  return false;
}

/** Body → DER: base64, or binary DER when it is unmistakably binary. */
export function bodyDer(body: Uint8Array, what = 'request body'): Uint8Array {
  return isBinaryDer(body) ? body : fromBase64Body(body, what);
}
