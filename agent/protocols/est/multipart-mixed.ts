// multipart/mixed bodies (RFC 2046 §5.1.1) as RFC 7030 §4.4.2 uses them for /serverkeygen: a boundary parameter,
// dash-boundary lines, per-part MIME headers, an optional preamble/epilogue. Strict and bounded: the boundary must
// be 1..70 characters of the RFC 2046 bchars set, parts and part-header sizes are capped, the close delimiter must
// be present, and only the Content-Type and Content-Transfer-Encoding (base64 | binary | 7bit | 8bit) headers are
// interpreted. Lines may end in CRLF or a bare LF (seen from real servers); nothing else is tolerated.
import { EstProtocolError } from './errors.js';

export interface MimePart {
  /** Lower-cased media type and parameters as sent, e.g. "application/pkcs8". */
  contentType: string;
  /** The part body after Content-Transfer-Encoding decoding. */
  body: Uint8Array;
}

const BOUNDARY_RE = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
const MAX_PARTS = 4;
const MAX_HEADER_BYTES = 2048;

/** The boundary parameter of a multipart/mixed Content-Type; throws unless the type is multipart/mixed. */
export function multipartBoundary(contentType: string | undefined): string {
  const m = /^\s*multipart\/mixed\s*(;.*)?$/i.exec(contentType ?? '');
  if (!m) throw new EstProtocolError('multipart', `expected multipart/mixed, got ${JSON.stringify(contentType ?? null)}`);
  const b = /;\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]+))/i.exec(m[1] ?? '');
  const boundary = b?.[1] ?? b?.[2];
  if (!boundary || !BOUNDARY_RE.test(boundary)) throw new EstProtocolError('multipart', 'multipart/mixed without a valid boundary parameter');
  return boundary;
}

/** Splits a multipart/mixed body into its parts (CTE decoded). */
export function parseMultipartMixed(body: Uint8Array, contentType: string | undefined): MimePart[] {
  const boundary = multipartBoundary(contentType);
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
  const delim = `--${boundary}`;
  // delimiter lines: at the start of the body or after a line break
  const starts: number[] = [];
  for (let i = text.indexOf(delim); i !== -1; i = text.indexOf(delim, i + delim.length)) {
    if (i === 0 || text[i - 1] === '\n') starts.push(i);
  }
  if (starts.length < 2) throw new EstProtocolError('multipart', 'multipart body has no complete part');
  const parts: MimePart[] = [];
  let closed = false;
  for (let k = 0; k < starts.length - 1; k++) {
    const s = starts[k]!;
    const after = text.slice(s + delim.length, s + delim.length + 2);
    if (after === '--') throw new EstProtocolError('multipart', 'data after the close delimiter');
    const lineEnd = text.indexOf('\n', s);
    if (lineEnd === -1 || !/^[ \t]*\r?$/.test(text.slice(s + delim.length, lineEnd))) throw new EstProtocolError('multipart', 'malformed delimiter line');
    let end = starts[k + 1]! - 1; // the \n before the next delimiter
    if (text[end - 1] === '\r') end--;
    const raw = text.slice(lineEnd + 1, end);
    const sep = /\r?\n\r?\n/.exec(raw);
    let headerText: string;
    let content: string;
    if (raw.startsWith('\r\n') || raw.startsWith('\n')) {
      headerText = '';
      content = raw.replace(/^\r?\n/, '');
    } else {
      if (!sep) throw new EstProtocolError('multipart', `part ${k + 1} has no header/body separator`);
      headerText = raw.slice(0, sep.index);
      content = raw.slice(sep.index + sep[0].length);
    }
    if (headerText.length > MAX_HEADER_BYTES) throw new EstProtocolError('multipart', `part ${k + 1} headers exceed ${MAX_HEADER_BYTES} bytes`);
    const headers = new Map<string, string>();
    for (const line of headerText.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
      const m = /^([!-9;-~]+):[ \t]*(.*?)[ \t]*$/.exec(line);
      if (!m) throw new EstProtocolError('multipart', `part ${k + 1}: malformed header line`);
      const name = m[1]!.toLowerCase();
      if (headers.has(name)) throw new EstProtocolError('multipart', `part ${k + 1}: repeated ${name} header`);
      headers.set(name, m[2]!);
    }
    const cte = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
    let bytes: Uint8Array;
    if (cte === 'base64') {
      const b64 = content.replace(/[\r\n]/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new EstProtocolError('multipart', `part ${k + 1}: invalid base64`);
      bytes = new Uint8Array(Buffer.from(b64, 'base64'));
    } else if (cte === 'binary' || cte === '7bit' || cte === '8bit') {
      bytes = new Uint8Array(Buffer.from(content, 'latin1'));
    } else throw new EstProtocolError('multipart', `part ${k + 1}: unsupported Content-Transfer-Encoding ${cte}`);
    parts.push({ contentType: (headers.get('content-type') ?? 'text/plain').toLowerCase(), body: bytes });
    if (parts.length > MAX_PARTS) throw new EstProtocolError('multipart', `more than ${MAX_PARTS} parts`);
    if (text.slice(starts[k + 1]! + delim.length, starts[k + 1]! + delim.length + 2) === '--') {
      closed = true;
      break;
    }
  }
  if (!closed) throw new EstProtocolError('multipart', 'multipart body is truncated (no close delimiter)');
  return parts;
}

/** Builds a multipart/mixed body (the lab server's /serverkeygen; CRLF line ends, base64 parts). */
export function buildMultipartMixed(boundary: string, parts: Array<{ contentType: string; body: Uint8Array }>): string {
  if (!BOUNDARY_RE.test(boundary)) throw new EstProtocolError('multipart', 'invalid boundary');
  const out: string[] = [];
  for (const p of parts) {
    out.push(`--${boundary}\r\nContent-Type: ${p.contentType}\r\nContent-Transfer-Encoding: base64\r\n\r\n`);
    out.push(`${Buffer.from(p.body).toString('base64').replace(/.{64}/g, '$&\r\n').replace(/\r\n$/, '')}\r\n`);
  }
  out.push(`--${boundary}--\r\n`);
  return out.join('');
}
