// Following "Additional PAL value present" (type 0001, RFC 8295 §2 and §2.1.1): a PAL page may end with one 0001
// entry whose info.uri names the next /pal page. Each page is parsed with the page rules (0001 last, never alone),
// the pointer entries are dropped and the pages' entries are concatenated in order. Bounded three ways: a URI seen
// twice is a loop, at most maxDepth further pages are fetched, and the entries of all pages together are capped.
// The network is injected (`fetch`), so the transport — TLS, client auth, size cap — stays in protocols/.
import { PAL_DEFAULT_MAX_CHAIN_DEPTH, PAL_DEFAULT_MAX_TOTAL_ENTRIES, type PalFormat } from './constants.js';
import { PalChainError, PalUsageError, withPagePath } from './errors.js';
import { PackageType, type PalEntry } from './model.js';
import { parsePal, sniffPalFormat } from './parse.js';
import type { PalParseOptions } from './body.js';

/** One fetched page. A bare body is parsed by sniffing (or `defaultFormat`). */
export type PalPage = Uint8Array | string | { body: Uint8Array | string; contentType?: string };
/** GET uri → body. Should throw (any error) for a non-200 answer; the error is wrapped as pal.chain.fetch. */
export type PalFetch = (uri: string, signal?: AbortSignal) => Promise<PalPage>;

export interface PalChainOptions extends PalParseOptions {
  fetch: PalFetch;
  /** Further pages followed after the first (default 8). A 0001 on the last allowed page is an error. */
  maxDepth?: number;
  /** Entries over all pages, pointer entries included (default 10000). */
  maxTotalEntries?: number;
  /** Encoding of pages fetched without a Content-Type when sniffing cannot tell (default: refuse). */
  defaultFormat?: PalFormat;
  /** URI schemes a 0001 entry may point to (default https and http; the fetch function decides about TLS). */
  allowedSchemes?: readonly string[];
  signal?: AbortSignal;
}

/** Where a flattened entry came from. `page` 0 is the first PAL, `index` its position within that page. */
export interface PalEntrySource {
  page: number;
  index: number;
}

export interface PalChainResult {
  /** All entries of all pages in document order, without the 0001 pointers. */
  entries: PalEntry[];
  /** sources[i] locates entries[i]. */
  sources: PalEntrySource[];
  /** The pages read: URI (undefined for a first page handed in already fetched) and entry count (pointer included). */
  pages: Array<{ uri: string | undefined; entries: number }>;
}

/** Normalized identity of a URI for loop detection (WHATWG serialization: case of scheme/host, default port, …). */
function uriKey(uri: string): string {
  try {
    const u = new URL(uri);
    u.hash = '';
    return u.href;
  } catch {
    return uri;
  }
}

function parsePage(page: PalPage, opts: PalChainOptions, pageNo: number, uri: string | undefined): PalEntry[] {
  const { body, contentType } = typeof page === 'string' || page instanceof Uint8Array ? { body: page, contentType: undefined } : page;
  const ct = contentType ?? (sniffPalFormat(body) ? undefined : opts.defaultFormat === 'xml' ? 'application/xml' : opts.defaultFormat === 'json' ? 'application/json' : undefined);
  try {
    return parsePal(body, ct, opts);
  } catch (err) {
    throw withPagePath(err, pageNo, uri);
  }
}

/**
 * Fetches the PAL at `startUri` and every page its 0001 entries chain to; returns the flattened entry list.
 * Errors: PalFormatError / PalLimitError (paths `pal.page[N].entry[i]…`), PalChainError (loop, depth, entries, uri,
 * fetch, aborted).
 */
export async function loadPalChain(startUri: string, opts: PalChainOptions): Promise<PalChainResult> {
  return followChain(undefined, startUri, opts);
}

/** As loadPalChain, for a first page the caller already fetched (its URI, when known, joins loop detection). */
export async function followPalChain(first: PalPage, opts: PalChainOptions & { firstUri?: string }): Promise<PalChainResult> {
  return followChain(first, opts.firstUri, opts);
}

async function followChain(first: PalPage | undefined, firstUri: string | undefined, opts: PalChainOptions): Promise<PalChainResult> {
  if (typeof opts?.fetch !== 'function') throw new PalUsageError('followPalChain: a fetch function is required');
  const maxDepth = opts.maxDepth ?? PAL_DEFAULT_MAX_CHAIN_DEPTH;
  const maxTotal = opts.maxTotalEntries ?? PAL_DEFAULT_MAX_TOTAL_ENTRIES;
  const schemes = (opts.allowedSchemes ?? ['https', 'http']).map((s) => s.toLowerCase().replace(/:$/, ''));
  if (!Number.isInteger(maxDepth) || maxDepth < 0) throw new PalUsageError('maxDepth must be a non-negative integer');
  if (!Number.isInteger(maxTotal) || maxTotal < 1) throw new PalUsageError('maxTotalEntries must be a positive integer');

  const result: PalChainResult = { entries: [], sources: [], pages: [] };
  const seen = new Set<string>();
  let uri = firstUri;
  let page = first;
  let total = 0;

  for (let pageNo = 0; ; pageNo++) {
    const where = `pal.page[${pageNo}]`;
    if (opts.signal?.aborted) throw new PalChainError('aborted', where, uri, 'aborted', { cause: opts.signal.reason });
    if (uri !== undefined) {
      const key = uriKey(uri);
      if (seen.has(key)) throw new PalChainError('loop', where, uri, `PAL chain loops: ${uri} was already read`);
      seen.add(key);
    }
    if (page === undefined) {
      // uri is always set here: the first page is either given or fetched from startUri.
      try {
        page = await opts.fetch(uri!, opts.signal);
      } catch (cause) {
        throw new PalChainError('fetch', where, uri, `fetching PAL page ${uri} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
      }
    }
    const entries = parsePage(page, opts, pageNo, uri);
    total += entries.length;
    if (total > maxTotal) throw new PalChainError('entries', where, uri, `PAL chain has more than ${maxTotal} entries in total`);
    result.pages.push({ uri, entries: entries.length });

    const last = entries[entries.length - 1];
    const next = last?.type === PackageType.AdditionalPal && last.info.kind === 'uri' ? last.info.uri : undefined;
    const own = next === undefined ? entries.length : entries.length - 1;
    for (let i = 0; i < own; i++) {
      result.entries.push(entries[i]!);
      result.sources.push({ page: pageNo, index: i });
    }
    if (next === undefined) return result;

    const scheme = next.slice(0, next.indexOf(':')).toLowerCase();
    if (!schemes.includes(scheme)) {
      throw new PalChainError('uri', `${where}.entry[${entries.length - 1}].info.uri`, next, `next PAL URI scheme "${scheme}" is not allowed (${schemes.join(', ')})`);
    }
    if (pageNo + 1 > maxDepth) {
      throw new PalChainError('depth', `${where}.entry[${entries.length - 1}]`, next, `PAL chain longer than ${maxDepth} further pages`);
    }
    uri = next;
    page = undefined;
  }
}
