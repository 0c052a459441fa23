// Streaming download of a firmware package (RFC 8295 §6: HTTP GET of the URI the 0026 PAL entry gives) straight to a
// file, never holding the package in memory, with
//  - the size cap from the PAL entry (`size`, RFC 8295 §2.1) enforced on Content-Length and while streaming;
//  - SHA-256 computed while streaming (logged, and reported to the hook);
//  - RESUME after an interruption: bytes arrive in `<dest>.part`, next to a `<dest>.part.json` that records the URL
//    and the validator (ETag / Last-Modified). A later call for the same URL re-hashes the partial file (streamed)
//    and asks for the rest with `Range: bytes=N-` (+ `If-Range`). A 206 whose Content-Range starts at N is appended;
//    a 200 (server ignores ranges or the package changed) truncates and restarts; a 416 restarts from scratch. The
//    final file is renamed into place only once complete, so an incomplete package is never verified or applied —
//    and verification (CMS signature) catches any splice of two different packages anyway;
//  - base64 bodies (RFC 7030-style EST transfer, `Content-Transfer-Encoding: base64` or a body starting with "MI")
//    are decoded on the fly; they are not resumed (a partial base64 download restarts).
// The HTTPS client mirrors agent/protocols/http/transport.ts (explicit trust anchors only, TLS 1.2+, optional client
// certificate / Basic auth) but hands the body out as a stream; transport.ts buffers bodies by design.
import { crashpoint } from '../../util/crashpoint.js';
import { createHash, type Hash } from 'node:crypto';
import { open, readFile, rm, stat } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { pemEncode } from '../../pki/pem.js';
import { ConnectionError, TimeoutError, TlsError, TransportConfigError, type TransportError } from '../../protocols/http/errors.js';
import type { HttpsTransportOptions } from '../../protocols/http/transport.js';
import { FirmwareDownloadError, FirmwareLoadFailure } from './errors.js';
import { partFiles } from '../../store/layout.js';
import { commitFile } from '../../store/atomic-file.js';
import { atomicWriteFile } from './state.js';
import type { DownloadProgress } from './progress.js';

export interface StreamingResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: AsyncIterable<Buffer> & { destroy(err?: Error): void };
}

/** GET with a streamed body (injectable: tests may supply their own). */
export interface StreamingHttpClient {
  get(url: string, opts?: { headers?: Record<string, string>; signal?: AbortSignal }): Promise<StreamingResponse>;
}

export interface StreamingHttpsOptions extends Pick<HttpsTransportOptions, 'trustAnchors' | 'clientAuth' | 'basicAuth' | 'minVersion' | 'maxVersion' | 'servername' | 'userAgent'> {
  /** Until response headers arrive. Default 30 s. */
  connectTimeoutMs?: number;
}

/** Read size for file passes. */
export const IO_CHUNK = 64 * 1024;

/**
 * Memory: every network chunk is a fresh Buffer whose memory lives outside the V8 heap, and V8 only collects such
 * garbage after tens of MB of external allocation. When node runs with --expose-gc (the systemd unit and the
 * benchmark do), the download and file passes ask for a collection every `step` bytes, which keeps the peak RSS
 * within a few MB of idle regardless of the package size. Without --expose-gc this is a no-op: memory is still
 * bounded (by V8's external-memory threshold), just higher.
 */
export function gcTicker(step = 4 * 1024 * 1024): (bytes: number) => void {
  const gc = (globalThis as { gc?: () => void }).gc;
  let last = 0;
  return (bytes: number): void => {
    if (gc && bytes - last >= step) {
      last = bytes;
      gc();
    }
  };
}

/** Reads byte ranges of `file` through one reused buffer (no per-chunk garbage); `sink` is awaited per chunk. */
export async function forEachChunk(file: string, ranges: ReadonlyArray<{ offset: number; length: number }> | undefined, sink: (chunk: Buffer) => void | Promise<void>): Promise<number> {
  const fh = await open(file, 'r');
  const buf = Buffer.allocUnsafe(IO_CHUNK);
  const tick = gcTicker();
  let total = 0;
  try {
    const list = ranges ?? [{ offset: 0, length: (await fh.stat()).size }];
    for (const r of list) {
      for (let done = 0; done < r.length; ) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(IO_CHUNK, r.length - done), r.offset + done);
        if (bytesRead === 0) throw new Error(`unexpected end of ${file}`);
        done += bytesRead;
        total += bytesRead;
        await sink(buf.subarray(0, bytesRead));
        tick(total);
      }
    }
  } finally {
    await fh.close();
  }
  return total;
}

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|HOSTNAME_MISMATCH|EPROTO$)/;
function classify(err: unknown): TransportError {
  const e = err as NodeJS.ErrnoException;
  const msg = e?.message ?? String(err);
  if ((e?.code && TLS_CODE.test(e.code)) || /ssl|tls|certificate|alert/i.test(msg)) return new TlsError(`TLS failure: ${msg}`, e?.code, { cause: err });
  return new ConnectionError(`connection failed: ${msg}`, e?.code, { cause: err });
}

export function createStreamingHttpsClient(opts: StreamingHttpsOptions): StreamingHttpClient {
  const ca = opts.trustAnchors.map((c) => (typeof c === 'string' ? c : pemEncode('CERTIFICATE', c)));
  if (ca.length === 0) throw new TransportConfigError('no trust anchor configured: refusing to connect');
  const cert = opts.clientAuth ? (typeof opts.clientAuth.certChain === 'string' ? opts.clientAuth.certChain : opts.clientAuth.certChain.map((c) => (typeof c === 'string' ? c : pemEncode('CERTIFICATE', c))).join('')) : undefined;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 30_000;
  return {
    get(urlText, o = {}) {
      let url: URL;
      try {
        url = new URL(urlText);
      } catch {
        return Promise.reject(new TransportConfigError(`invalid URL "${urlText}"`));
      }
      if (url.protocol !== 'https:') return Promise.reject(new TransportConfigError(`refusing non-https URL ${url.origin}`));
      if (url.username || url.password) return Promise.reject(new TransportConfigError('credentials in the URL are not allowed'));
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const servername = opts.servername ?? (isIP(host) ? undefined : host);
      const headers: Record<string, string> = { accept: '*/*', ...(opts.userAgent ? { 'user-agent': opts.userAgent } : {}), ...o.headers };
      if (opts.basicAuth) headers.authorization = 'Basic ' + Buffer.from(`${opts.basicAuth.username}:${opts.basicAuth.password}`, 'utf8').toString('base64');
      return new Promise<StreamingResponse>((resolve, reject) => {
        let settled = false;
        const req = https.request({
          method: 'GET',
          host,
          port: url.port ? Number(url.port) : 443,
          path: url.pathname + url.search,
          headers,
          agent: false,
          ca,
          rejectUnauthorized: true,
          minVersion: opts.minVersion ?? 'TLSv1.2',
          maxVersion: opts.maxVersion ?? 'TLSv1.3',
          ...(servername ? { servername } : {}),
          ...(cert ? { cert } : {}),
          ...(opts.clientAuth?.key.key ? { key: opts.clientAuth.key.key } : {}),
          ...(opts.clientAuth?.key.privateKeyEngine ? { privateKeyEngine: opts.clientAuth.key.privateKeyEngine, privateKeyIdentifier: opts.clientAuth.key.privateKeyIdentifier } : {}),
          ...(opts.clientAuth?.key.sigalgs ? { sigalgs: opts.clientAuth.key.sigalgs } : {}),
        });
        const fail = (err: TransportError): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          req.destroy();
          reject(err);
        };
        const timer = setTimeout(() => fail(new TimeoutError('connect', connectTimeoutMs)), connectTimeoutMs);
        const onAbort = (): void => fail(new ConnectionError(`request aborted: ${String(o.signal?.reason ?? '')}`));
        if (o.signal?.aborted) return onAbort();
        o.signal?.addEventListener('abort', onAbort, { once: true });
        req.on('error', (e) => fail(classify(e)));
        req.on('response', (res: IncomingMessage) => {
          settled = true;
          clearTimeout(timer);
          res.on('close', () => o.signal?.removeEventListener('abort', onAbort));
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
        });
        req.end();
      });
    },
  };
}

export interface DownloadOptions {
  /** Hard cap on the package size in bytes (from the PAL entry size, or the configured maximum). */
  maxBytes: number;
  signal?: AbortSignal;
  /** Abort when no byte arrives for this long. Default 60 s. */
  idleTimeoutMs?: number;
  /** Disable Range resume (always restart). */
  noResume?: boolean;
  /** Progress reporting (log, status file, MQTT): started once the response is accepted, updated per chunk. */
  progress?: DownloadProgress;
  /** Expected package size when the response does not say (the PAL entry's size). */
  expectedBytes?: number;
  /** Called after each chunk is written; awaited (it can apply backpressure, or pause a test child). */
  onProgress?: (bytes: number) => void | Promise<void>;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** Bytes reused from an earlier interrupted download. */
  resumedFrom: number;
  contentType: string | undefined;
}

interface PartMeta {
  url: string;
  etag?: string;
  lastModified?: string;
  encoding: 'binary' | 'base64';
}

async function hashFile(file: string, hash: Hash): Promise<void> {
  await forEachChunk(file, undefined, (c) => void hash.update(c));
}

/** Streaming base64 decoder: keeps at most 3 leftover characters between chunks. */
class Base64Decoder {
  private rest = '';
  push(chunk: Buffer): Buffer {
    const text = this.rest + chunk.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, '');
    const usable = text.length - (text.length % 4);
    this.rest = text.slice(usable);
    return Buffer.from(text.slice(0, usable), 'base64');
  }
  end(): Buffer {
    const r = this.rest;
    this.rest = '';
    if (r.replace(/=/g, '').length === 1) throw new Error('truncated base64 body');
    return r ? Buffer.from(r, 'base64') : Buffer.alloc(0);
  }
}

/** Downloads `url` to `dest` (see the header comment for resume semantics). */
export async function downloadToFile(client: StreamingHttpClient, url: string, dest: string, o: DownloadOptions): Promise<DownloadResult> {
  const { part, meta: metaFile } = partFiles(dest);
  let offset = 0;
  let meta: PartMeta | undefined;
  if (!o.noResume) {
    try {
      meta = JSON.parse(await readFile(metaFile, 'utf8')) as PartMeta;
      offset = (await stat(part)).size;
      if (meta.url !== url || meta.encoding !== 'binary' || offset === 0 || offset > o.maxBytes) throw new Error('not resumable');
    } catch {
      meta = undefined;
      offset = 0;
    }
  }
  if (!meta) {
    await rm(part, { force: true });
    await rm(metaFile, { force: true });
  }
  const headers: Record<string, string> = { accept: 'application/cms, */*;q=0.5' };
  if (meta && offset > 0) {
    headers.range = `bytes=${offset}-`;
    const validator = meta.etag ?? meta.lastModified;
    if (validator) headers['if-range'] = validator;
  }
  let res: StreamingResponse;
  try {
    res = await client.get(url, { headers, ...(o.signal ? { signal: o.signal } : {}) });
  } catch (e) {
    throw new FirmwareDownloadError(`GET ${url}: ${(e as Error).message}`, undefined, { cause: e });
  }
  const h = (n: string): string | undefined => {
    const v = res.headers[n];
    return Array.isArray(v) ? v[0] : v;
  };
  let append = false;
  if (res.status === 206 && offset > 0) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(h('content-range') ?? '');
    if (!m || Number(m[1]) !== offset) {
      res.body.destroy();
      await rm(part, { force: true });
      await rm(metaFile, { force: true });
      throw new FirmwareDownloadError(`GET ${url}: 206 with an unusable Content-Range "${h('content-range') ?? ''}" (partial download discarded)`, 206);
    }
    append = true;
  } else if (res.status === 416 && offset > 0) {
    res.body.destroy();
    await rm(part, { force: true });
    await rm(metaFile, { force: true });
    return downloadToFile(client, url, dest, { ...o, noResume: true });
  } else if (res.status !== 200) {
    res.body.destroy();
    throw new FirmwareDownloadError(`GET ${url}: HTTP ${res.status}`, res.status);
  }
  if (!append) offset = 0;
  const declared = h('content-length') !== undefined ? Number(h('content-length')) : undefined;
  const cte = (h('content-transfer-encoding') ?? '').toLowerCase();
  let encoding: PartMeta['encoding'] = cte === 'base64' ? 'base64' : 'binary';
  if (encoding === 'binary' && declared !== undefined && Number.isFinite(declared) && offset + declared > o.maxBytes) {
    res.body.destroy();
    throw new FirmwareLoadFailure('insufficientMemory', `package is ${offset + declared} bytes, over the ${o.maxBytes}-byte limit (PAL size)`, { code: 'firmware.too_large' });
  }
  const hash = createHash('sha256');
  if (append) await hashFile(part, hash);
  const declaredTotal = encoding === 'binary' && declared !== undefined && Number.isFinite(declared) ? offset + declared : undefined;
  o.progress?.start(declaredTotal ?? o.expectedBytes, offset);
  const fh = await open(part, append ? 'a' : 'w', 0o600);
  let bytes = offset;
  let decoder: Base64Decoder | undefined = encoding === 'base64' ? new Base64Decoder() : undefined;
  let first = !append;
  const tick = gcTicker();
  const idleMs = o.idleTimeoutMs ?? 60_000;
  let idle: NodeJS.Timeout | undefined;
  const armIdle = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => res.body.destroy(new TimeoutError('total', idleMs)), idleMs);
  };
  try {
    if (!append) {
      const m: PartMeta = { url, encoding, ...(h('etag') ? { etag: h('etag')! } : {}), ...(h('last-modified') ? { lastModified: h('last-modified')! } : {}) };
      await atomicWriteFile(metaFile, JSON.stringify(m));
    }
    armIdle();
    const write = async (data: Buffer): Promise<void> => {
      if (data.byteLength === 0) return;
      bytes += data.byteLength;
      if (bytes > o.maxBytes) {
        res.body.destroy();
        throw new FirmwareLoadFailure('insufficientMemory', `package exceeds the ${o.maxBytes}-byte limit (PAL size)`, { code: 'firmware.too_large' });
      }
      hash.update(data);
      await fh.write(data);
    };
    for await (const chunk of res.body) {
      armIdle();
      let data = chunk;
      if (first) {
        first = false;
        // Sniff a base64 body sent without the header: DER SEQUENCE 0x30 0x8x encodes as "MI".
        if (!decoder && data.length >= 2 && data[0] === 0x4d && data[1] === 0x49) {
          decoder = new Base64Decoder();
          encoding = 'base64';
          await atomicWriteFile(metaFile, JSON.stringify({ url, encoding }));
        }
      }
      if (decoder) data = decoder.push(data);
      await write(data);
      if (bytes >= 64 * 1024) crashpoint('firmware.mid-download');
      tick(bytes);
      if (o.signal?.aborted) throw new FirmwareDownloadError(`GET ${url}: aborted`);
      o.progress?.update(bytes);
      await o.onProgress?.(bytes);
    }
    if (decoder) await write(decoder.end());
    if (!(res.body as unknown as IncomingMessage).complete && (res.body as unknown as IncomingMessage).complete !== undefined) {
      throw new FirmwareDownloadError(`GET ${url}: connection closed before the body was complete (${bytes} bytes kept for resume)`);
    }
    await fh.sync();
  } catch (e) {
    if (e instanceof FirmwareLoadFailure) {
      await fh.close().catch(() => {});
      await rm(part, { force: true });
      await rm(metaFile, { force: true });
      throw e;
    }
    if (e instanceof FirmwareDownloadError) throw e;
    throw new FirmwareDownloadError(`GET ${url}: ${(e as Error).message} (${bytes} bytes kept for resume)`, undefined, { cause: e });
  } finally {
    clearTimeout(idle);
    await fh.close().catch(() => {});
  }
  if (encoding === 'base64') await rm(metaFile, { force: true }); // not resumable
  await commitFile(part, dest); // fsync, rename, directory fsync
  await rm(metaFile, { force: true });
  o.progress?.finish(bytes);
  return { path: dest, bytes, sha256: hash.digest('hex'), resumedFrom: append ? offset : 0, contentType: h('content-type') };
}
