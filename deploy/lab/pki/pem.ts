// PEM armor (RFC 7468 §2): 64-character base64 lines between BEGIN/END lines with the same label.
import { DerError } from './der.js';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

export function pem(label: string, bytes: Uint8Array): string {
  const lines = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Every block (optionally only those labelled `label`), in order. */
export function pemDecodeAll(text: string, label?: string): Array<{ label: string; der: Uint8Array }> {
  const out: Array<{ label: string; der: Uint8Array }> = [];
  for (const m of text.matchAll(BLOCK)) {
    if (label !== undefined && m[1] !== label) continue;
    const body = m[2]!.replace(/[\r\n\t ]+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) throw new DerError(`PEM block "${m[1]}" has invalid base64`);
    out.push({ label: m[1]!, der: new Uint8Array(Buffer.from(body, 'base64')) });
  }
  return out;
}

/** The single block labelled `label`. */
export function pemDecode(text: string, label: string): Uint8Array {
  const blocks = pemDecodeAll(text, label);
  if (blocks.length !== 1) throw new DerError(`expected exactly one PEM "${label}" block, found ${blocks.length}`);
  return blocks[0]!.der;
}
