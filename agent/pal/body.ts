// Input handling shared by the XML and JSON codecs: byte cap first, then strict UTF-8 decoding (BOM dropped).
import { PAL_DEFAULT_MAX_BYTES } from './constants.js';
import { PalFormatError, PalLimitError } from './errors.js';

export interface PalParseOptions {
  /** Largest accepted body in bytes (default PAL_DEFAULT_MAX_BYTES, 1 MiB). */
  maxBytes?: number;
  /** Most entries accepted in one PAL page (default PAL_DEFAULT_MAX_ENTRIES, 1000). */
  maxEntries?: number;
}

/** Size cap + strict UTF-8 decoding shared by both codecs. */
export function decodeBody(input: Uint8Array | string, opts: PalParseOptions | undefined, format: string): string {
  const maxBytes = opts?.maxBytes ?? PAL_DEFAULT_MAX_BYTES;
  if (typeof input === 'string') {
    // Every UTF-16 unit is ≥ 1 UTF-8 byte: a cheap refusal before measuring exactly.
    if (input.length > maxBytes || Buffer.byteLength(input, 'utf8') > maxBytes) {
      throw new PalLimitError('bytes', 'pal', maxBytes, `${format} PAL body exceeds ${maxBytes} bytes`);
    }
    return input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  }
  if (input.byteLength > maxBytes) throw new PalLimitError('bytes', 'pal', maxBytes, `${format} PAL body of ${input.byteLength} bytes exceeds ${maxBytes}`);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(input);
  } catch (cause) {
    throw new PalFormatError('encoding', 'pal', `${format} PAL body is not valid UTF-8`, { cause });
  }
}
