// PEM armor (RFC 7468) for arbitrary labels. node:crypto's X509Certificate only understands certificates and
// KeyObject only keys; CSRs, CMS and bundles of many certificates need this small codec.
import { PkiDecodeError } from './errors.js';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** PEM-encodes DER with 64-character lines (RFC 7468 §2), LF line ends, final newline. */
export function pemEncode(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

/** All PEM blocks in `text` (optionally only those with `label`), in order. Throws on a block with bad base64. */
export function pemDecodeAll(text: string, label?: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    const blockLabel = m[1]!;
    if (label !== undefined && blockLabel !== label) continue;
    // Explanatory headers (RFC 1421 style "Proc-Type: …") are not used by anything we read; reject them.
    const body = m[2]!.replace(/[\r\n\t ]+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) {
      throw new PkiDecodeError('pem', `PEM block "${blockLabel}" has invalid base64`);
    }
    out.push({ label: blockLabel, der: new Uint8Array(Buffer.from(body, 'base64')) });
  }
  return out;
}

/** The single PEM block with `label`; throws if there is none or more than one. */
export function pemDecode(text: string, label: string): Uint8Array {
  const blocks = pemDecodeAll(text, label);
  if (blocks.length !== 1) {
    throw new PkiDecodeError('pem', `expected exactly one PEM "${label}" block, found ${blocks.length}`);
  }
  return blocks[0]!.der;
}
