// Content-type dispatch for PAL bodies (RFC 8295 §2.3: application/xml or application/json).
import { parseMediaType } from '../protocols/http/media-type.js';
import { PAL_MEDIA_TYPES, type PalFormat } from './constants.js';
import { PalFormatError } from './errors.js';
import { parsePalJson, serializePalJson } from './json.js';
import type { PalEntry } from './model.js';
import type { PalParseOptions } from './body.js';
import { parsePalXml, serializePalXml } from './xml.js';

/**
 * The PAL encoding a Content-Type names: application/xml or application/json (§2.3); text/xml and the +xml/+json
 * structured suffixes are accepted as the same encodings. Undefined for anything else.
 */
export function palFormatOf(contentType: string | undefined): PalFormat | undefined {
  const essence = parseMediaType(contentType)?.essence;
  if (!essence) return undefined;
  if (essence === PAL_MEDIA_TYPES.xml || essence === 'text/xml' || essence.endsWith('+xml')) return 'xml';
  if (essence === PAL_MEDIA_TYPES.json || essence.endsWith('+json')) return 'json';
  return undefined;
}

/** Without a Content-Type: the first non-blank character tells ("<" XML, "[" or "{" JSON). */
export function sniffPalFormat(body: Uint8Array | string): PalFormat | undefined {
  const n = Math.min(body.length, 64);
  for (let i = 0; i < n; i++) {
    const c = typeof body === 'string' ? body.charCodeAt(i) : body[i]!;
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0xfeff || c === 0xef || c === 0xbb || c === 0xbf) continue;
    if (c === 0x3c) return 'xml';
    if (c === 0x5b || c === 0x7b) return 'json';
    return undefined;
  }
  return undefined;
}

/** Parses a PAL body by its Content-Type (or by sniffing when the type is absent). */
export function parsePal(body: Uint8Array | string, contentType: string | undefined, opts?: PalParseOptions): PalEntry[] {
  const format = contentType ? palFormatOf(contentType) : sniffPalFormat(body);
  if (format === 'xml') return parsePalXml(body, opts);
  if (format === 'json') return parsePalJson(body, opts);
  throw new PalFormatError(
    'media_type',
    'pal',
    contentType ? `unsupported PAL media type ${JSON.stringify(contentType)} (expected ${PAL_MEDIA_TYPES.xml} or ${PAL_MEDIA_TYPES.json})` : 'cannot tell the PAL encoding (no Content-Type)',
  );
}

/** Serializes in the requested encoding; returns the body and its Content-Type (what the lab server sends). */
export function serializePal(entries: readonly PalEntry[], format: PalFormat): { body: string; contentType: string } {
  return format === 'xml'
    ? { body: serializePalXml(entries), contentType: `${PAL_MEDIA_TYPES.xml}; charset=utf-8` }
    : { body: serializePalJson(entries), contentType: PAL_MEDIA_TYPES.json };
}
