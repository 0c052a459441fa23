// /pal — Locate Available Packages (RFC 8295 §2.2, §2.3): GET with an Accept header naming application/json or
// application/xml (or both); 200 with the PAL in one of them. Other status codes are handled as RFC 7030 §4.2.3
// says (§2.3 last paragraph): 202 + Retry-After means "come back later", 4xx/5xx are errors with text. 204 (nothing
// for this client) is read as an empty PAL. This module fetches pages; parsing and 0001 chaining are agent/pal's
// (its PalFetch takes `fetchPalPage` directly). The body is capped at the PAL byte limit while streaming.
import { PAL_ACCEPT, PAL_DEFAULT_MAX_BYTES, PAL_MEDIA_TYPES } from '../../pal/constants.js';
import { parseMediaType } from '../http/media-type.js';
import { parseRetryAfter } from '../http/retry-after.js';
import { headerValue } from '../http/transport.js';
import { EST_EXT_OPERATIONS } from './constants.js';
import { nowOf, type EstContext } from './context.js';
import { EstHttpError, EstProtocolError } from './errors.js';
import { resolvePackageUri, type PackageUriOptions } from './package-uri.js';
import { serverText, throwForStatus } from './response.js';

export type PalPreference = 'json' | 'xml' | 'any';

export interface PalFetchOptions extends PackageUriOptions {
  /** The page to fetch (a 0001 entry's URI); default the server's /pal. */
  uri?: string | URL;
  /** Which encoding to ask for (§2.2). Default 'any' (JSON preferred). */
  accept?: PalPreference;
  /** Body cap in bytes (default PAL_DEFAULT_MAX_BYTES, 1 MiB). */
  maxBytes?: number;
  signal?: AbortSignal;
}

/** One PAL page as received (structurally an agent/pal PalPage). */
export interface PalPageResponse {
  body: Uint8Array;
  /** application/json or application/xml (as sent by the server). */
  contentType: string;
  /** The URL fetched. */
  url: string;
  /** HTTP status (200, or 204 for an empty PAL). */
  status: number;
}

const ACCEPT: Record<PalPreference, string> = {
  json: PAL_MEDIA_TYPES.json,
  xml: PAL_MEDIA_TYPES.xml,
  any: PAL_ACCEPT,
};

function isPalMediaType(ct: string | undefined): boolean {
  const essence = parseMediaType(ct)?.essence;
  if (!essence) return false;
  return essence === PAL_MEDIA_TYPES.xml || essence === PAL_MEDIA_TYPES.json || essence === 'text/xml' || essence.endsWith('+xml') || essence.endsWith('+json');
}

/** GET one PAL page. Throws EstHttpError (code est.pal.pending for 202), EstProtocolError, transport errors. */
export async function fetchPalPage(ctx: EstContext, opts: PalFetchOptions = {}): Promise<PalPageResponse> {
  const op = EST_EXT_OPERATIONS.pal;
  const { url } = resolvePackageUri(ctx, opts.uri, [op], opts);
  const signal = opts.signal ?? ctx.signal;
  const res = await ctx.transport.request({
    method: 'GET',
    url,
    headers: { accept: ACCEPT[opts.accept ?? 'any'] },
    maxResponseBytes: opts.maxBytes ?? ctx.maxResponseBytes ?? PAL_DEFAULT_MAX_BYTES,
    ...(signal ? { signal } : {}),
  });
  const now = nowOf(ctx);
  if (res.status === 204) return { body: new Uint8Array(Buffer.from('[]')), contentType: PAL_MEDIA_TYPES.json, url: url.href, status: 204 };
  if (res.status === 202) {
    throw new EstHttpError(202, serverText(res.body), op, parseRetryAfter(res.headers['retry-after'], now), 'est.pal.pending');
  }
  if (res.status !== 200) throwForStatus(res, op, now);
  const ct = headerValue(res, 'content-type');
  if (!isPalMediaType(ct)) {
    throw new EstProtocolError('content_type', `EST ${op}: expected ${PAL_MEDIA_TYPES.json} or ${PAL_MEDIA_TYPES.xml}, got ${ct ?? 'no Content-Type'}`);
  }
  return { body: res.body, contentType: ct!, url: url.href, status: 200 };
}
