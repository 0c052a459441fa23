// EST bodies are base64-encoded DER (RFC 7030 §4, clarified by RFC 8951 §3: always base64, ignore
// Content-Transfer-Encoding). Real servers wrap lines at 64 or 76 characters, use LF or CRLF, omit the final newline,
// append a NUL byte (C string terminators), or wrap the payload in PEM armor. Decoding tolerates exactly those
// variations and rejects everything else (node's Buffer.from(…, 'base64') would silently skip junk characters).
import { EstProtocolError } from './errors.js';

const BASE64_RE = /^[A-Za-z0-9+/]*(?:={0,2})$/;
const PEM_ARMOR = /^-----BEGIN [A-Z0-9 #]+-----\s*([\s\S]*?)\s*-----END [A-Z0-9 #]+-----\s*$/;

export interface Base64EncodeOptions {
  /** Characters per line; 0 = single line. Default 64. */
  lineLength?: number;
  /** Default "\r\n" (RFC 2045 §6.8 canonical line break). */
  eol?: string;
  /** Terminate the last line with `eol`. Default true. */
  finalNewline?: boolean;
}

/** Encodes DER as an EST body. */
export function encodeBase64Body(der: Uint8Array, opts: Base64EncodeOptions = {}): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lineLength = opts.lineLength ?? 64;
  const eol = opts.eol ?? '\r\n';
  const lines = lineLength > 0 ? (b64.match(new RegExp(`.{1,${lineLength}}`, 'g')) ?? []) : [b64];
  return lines.join(eol) + (opts.finalNewline === false ? '' : eol);
}

/** Decodes a base64 EST body. Throws EstProtocolError('est.protocol.base64') on anything that is not base64. */
export function decodeBase64Body(body: Uint8Array | string, what = 'EST response'): Uint8Array {
  let s = typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
  s = s.replace(/\0+$/, ''); // trailing NUL terminator(s)
  const armored = PEM_ARMOR.exec(s.trim());
  if (armored) s = armored[1]!;
  s = s.replace(/[\r\n\t ]+/g, '');
  if (s.length === 0) throw new EstProtocolError('base64', `${what}: empty body`);
  if (!BASE64_RE.test(s)) {
    const bad = s.search(/[^A-Za-z0-9+/=]/);
    throw new EstProtocolError('base64', `${what}: not base64 (${bad >= 0 ? `invalid character at offset ${bad}` : 'misplaced padding'})`);
  }
  // Padding: with "=" the length must be a multiple of 4; unpadded input is tolerated unless it has a 1-char tail.
  if ((s.includes('=') && s.length % 4 !== 0) || s.length % 4 === 1) {
    throw new EstProtocolError('base64', `${what}: truncated base64 (length ${s.length})`);
  }
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/**
 * True when the body is evidently raw DER rather than base64: it starts with a SEQUENCE tag and contains bytes that
 * cannot occur in a base64 text. Some servers send binary despite RFC 8951; we accept it rather than misreport.
 */
export function looksLikeBinaryDer(body: Uint8Array): boolean {
  if (body.byteLength < 2 || body[0] !== 0x30) return false;
  for (const b of body) {
    if (b >= 0x80 || (b < 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09 && b !== 0x00)) return true;
  }
  return false;
}

/** Body → DER: base64 per RFC 8951, or binary DER when it is unmistakably binary. */
export function decodeEstBody(body: Uint8Array, what = 'EST response'): Uint8Array {
  return looksLikeBinaryDer(body) ? body : decodeBase64Body(body, what);
}
