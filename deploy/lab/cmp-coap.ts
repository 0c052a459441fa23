// Lab CoAP endpoint for CMP (RFC 9482), written from the RFC with the `coap` package (node-coap), on loopback UDP:
// a Confirmable POST to coap://127.0.0.1:<port>/.well-known/cmp[/…] (§2.1, §2.3) whose payload is a DER PKIMessage
// with Content-Format 259 application/pkixcmp (§2.4) is handed to the lab's CMP handlers (deploy/lab/cmp.ts, through
// the router, as an HTTP POST would be) or, as the CoAP-to-HTTP proxy of §4, to an http:// CMP server (the
// `openssl cmp` mock); the answer goes back as 2.04 Changed with Content-Format 259. Block-wise transfer (RFC 7959,
// §2.5) both ways is the coap package's. Errors: 4.04 outside /.well-known/cmp, 4.05 for another method, 4.15 for
// another Content-Format, 4.13 past maxRequestBytes, 5.02 when the upstream fails. `fault` makes it misbehave for tests.
import http from 'node:http';
import dgram from 'node:dgram';
import * as coap from 'coap';
import type { Router, LabRequest, LabResponse } from './router.js';
import { CMP_MEDIA_TYPE } from './asn1/cmp.js';

/** RFC 9482 §2.4 (IANA CoAP Content-Formats): application/pkixcmp. */
export const COAP_CF_PKIXCMP = 259;
export const CMP_COAP_PATH = '/.well-known/cmp';

/** How the lab misbehaves on the next requests (until cleared). */
export type CoapFault =
  | { kind: 'silent' } // ACKs (the stack does, after its piggyback delay) but never answers
  | { kind: 'code'; code: string; diagnostic?: string; maxAge?: number } // an error code without a PKIMessage
  | { kind: 'content-format'; contentFormat: number } // the CMP answer under another Content-Format
  | { kind: 'oversize'; bytes: number }; // a 2.04 application/pkixcmp answer of `bytes` bytes (sent block-wise)

export interface LabCmpCoapOptions {
  /** The lab router holding the CMP handlers (registerCmpHandlers). */
  router?: Router;
  /** Or: proxy to this http:// CMP URL (path of the CoAP request is dropped; RFC 9482 §4). */
  httpUpstream?: string;
  host?: string;
  /** 0 (default): a free port. */
  port?: number;
  /** Request payload cap (default 64 KiB → 4.13). */
  maxRequestBytes?: number;
}

export interface LabCmpCoapRecord {
  path: string;
  code: string;
  bytesIn: number;
  bytesOut: number;
  block1: boolean;
}

export interface LabCmpCoapServer {
  /** coap://127.0.0.1:<port> */
  url: string;
  host: string;
  port: number;
  records: LabCmpCoapRecord[];
  fault: CoapFault | undefined;
  close(): Promise<void>;
}

const cfBytes = (n: number): Buffer => (n < 256 ? Buffer.of(n) : Buffer.of(n >> 8, n & 0xff));
/** An option value as the coap package leaves it: a Buffer, or already converted (number, or a media type name it knows). */
function numeric(v: unknown): number {
  if (typeof v === 'number') return v;
  if (Buffer.isBuffer(v)) return v.reduce((n, x) => n * 256 + x, 0);
  if (typeof v === 'string') return ({ 'text/plain': 0, 'application/link-format': 40, 'application/xml': 41, 'application/octet-stream': 42, 'application/json': 50, 'application/cbor': 60 } as Record<string, number>)[v] ?? -1;
  return -1;
}

/** HTTP status → CoAP code (RFC 8075 §7 in the direction a CoAP-to-HTTP proxy needs). */
function codeForStatus(status: number): string {
  const table: Record<number, string> = { 400: '4.00', 401: '4.01', 403: '4.03', 404: '4.04', 405: '4.05', 406: '4.06', 413: '4.13', 415: '4.15', 429: '4.29', 500: '5.00', 501: '5.01', 502: '5.02', 503: '5.03', 504: '5.04' };
  return table[status] ?? (status >= 500 ? '5.02' : '4.00');
}

export async function startCmpCoapServer(o: LabCmpCoapOptions): Promise<LabCmpCoapServer> {
  if (!o.router === !o.httpUpstream) throw new Error('startCmpCoapServer: give exactly one of router, httpUpstream');
  const host = o.host ?? '127.0.0.1';
  const maxRequest = o.maxRequestBytes ?? 64 * 1024;
  const records: LabCmpCoapRecord[] = [];
  const server = coap.createServer({ type: host.includes(':') ? 'udp6' : 'udp4' });
  keepBlock2Options(server);
  const state: LabCmpCoapServer = { url: '', host, port: 0, records, fault: undefined, close: async () => {} };

  const forward = async (path: string, body: Buffer, remoteAddress: string): Promise<LabResponse> => {
    if (o.router) {
      const m = o.router.match('POST', path);
      if (!m || !('handler' in m)) return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'no CMP endpoint here\n' };
      const req: LabRequest = {
        method: 'POST', path, query: new URLSearchParams(), headers: { 'content-type': CMP_MEDIA_TYPE, 'content-length': String(body.length) },
        body, params: m.params, tls: { protocol: undefined, peerChain: [] }, remoteAddress,
      };
      return m.handler(req);
    }
    return new Promise<LabResponse>((resolve) => {
      const r = http.request(o.httpUpstream!, { method: 'POST', headers: { 'content-type': CMP_MEDIA_TYPE, 'content-length': String(body.length) }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (d: Buffer) => {
          n += d.length;
          if (n <= 1 << 20) chunks.push(d);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: { 'content-type': String(res.headers['content-type'] ?? '') }, body: new Uint8Array(Buffer.concat(chunks)) }));
        res.on('error', (e) => resolve({ status: 502, body: `upstream: ${e.message}` }));
      });
      r.setTimeout(30_000, () => r.destroy(new Error('upstream timeout')));
      r.on('error', (e) => resolve({ status: 502, headers: { 'content-type': 'text/plain' }, body: `upstream: ${e.message}` }));
      r.end(body);
    });
  };

  server.on('request', (req: coap.IncomingMessage, res: coap.OutgoingMessage) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const opts = (req as unknown as { _packet: { options?: Array<{ name: string | number; value: unknown }> } })._packet.options ?? [];
    const opt = (name: string): unknown => opts.find((x) => x.name === name)?.value;
    const payload = req.payload ?? Buffer.alloc(0);
    const record: LabCmpCoapRecord = { path, code: '', bytesIn: payload.length, bytesOut: 0, block1: opt('Block1') !== undefined || opt('Size1') !== undefined };
    records.push(record);
    const reply = (code: string, body?: Buffer, cf?: number, extra?: (r: coap.OutgoingMessage) => void): void => {
      record.code = code;
      record.bytesOut = body?.length ?? 0;
      res.code = code;
      if (cf !== undefined) res.setOption('Content-Format', cfBytes(cf));
      extra?.(res);
      res.end(body);
      // The package serves Block2 blocks after the first from its cache, with the options copied when the request
      // event returns; this handler answers later, so it puts Content-Format there itself (see keepBlock2Options).
      // (Those later blocks carry the package's 2.05.)
      const key = (res as unknown as { _cachekey?: string })._cachekey;
      if (cf !== undefined && key !== undefined) {
        (server as unknown as { saveAdditionalBlock2Options(k: string, r: unknown): void }).saveAdditionalBlock2Options(key, { _packet: { options: [{ name: 'Content-Format', value: cfBytes(cf) }] } });
      }
    };
    const diag = (code: string, text: string): void => reply(code, Buffer.from(text, 'utf8'), 0);
    void (async () => {
      // §2.3: POST only; §2.1: /.well-known/cmp and the path segments below it
      if (req.method !== 'POST') return diag('4.05', 'CMP over CoAP is POST only');
      if (path !== CMP_COAP_PATH && !path.startsWith(`${CMP_COAP_PATH}/`) && !o.router?.match('POST', path)) return diag('4.04', 'not a CMP resource');
      const cf = opt('Content-Format');
      if (cf === undefined || numeric(cf) !== COAP_CF_PKIXCMP) return diag('4.15', `Content-Format ${cf === undefined ? '(none)' : numeric(cf)}, expected ${COAP_CF_PKIXCMP}`);
      if (payload.length > maxRequest) return diag('4.13', `request of ${payload.length} bytes, limit ${maxRequest}`);
      const f = state.fault;
      if (f?.kind === 'silent') {
        record.code = '(silent)';
        return;
      }
      if (f?.kind === 'code') return reply(f.code, f.diagnostic ? Buffer.from(f.diagnostic) : undefined, f.diagnostic ? 0 : undefined, (r) => f.maxAge !== undefined && r.setOption('Max-Age', cfBytes(f.maxAge)));
      if (f?.kind === 'oversize') return reply('2.04', Buffer.alloc(f.bytes, 0x30), COAP_CF_PKIXCMP);
      const answer = await forward(path, payload, req.rsinfo.address);
      const body = answer.body === undefined ? Buffer.alloc(0) : Buffer.from(answer.body);
      const type = (answer.headers?.['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (answer.status >= 200 && answer.status < 300 && type === CMP_MEDIA_TYPE) {
        // RFC 7252 §5.9.1.4: 2.04 Changed answers a POST
        return reply('2.04', body, f?.kind === 'content-format' ? f.contentFormat : COAP_CF_PKIXCMP);
      }
      if (type === CMP_MEDIA_TYPE) return reply(codeForStatus(answer.status), body, COAP_CF_PKIXCMP);
      return diag(codeForStatus(answer.status), body.subarray(0, 200).toString('utf8').trim() || `upstream status ${answer.status}`);
    })().catch((e: unknown) => {
      try {
        diag('5.00', `lab failure: ${(e as Error).message}`);
      } catch {
        // the exchange is gone
      }
    });
  });

  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(o.port ?? 0, host, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  server.listen(sock);
  const port = sock.address().port;
  state.port = port;
  state.url = `coap://${host.includes(':') ? `[${host}]` : host}:${port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => {
        try {
          sock.close(() => resolve());
        } catch {
          resolve();
        }
      });
    });
  return state;
}

/**
 * coap 1.5 re-adds its Block2 cache entry with no options each time it serves a block from it, so from the third
 * block on Content-Format would be gone; keep the options of the entry being replaced.
 */
function keepBlock2Options(server: coap.Server): void {
  type Entry = { buffer: Buffer; options: Array<{ name: string; value: unknown }> };
  type Cache = { add(key: string, payload: Entry): void; get(key: string): Entry | undefined };
  const cache = (server as unknown as { _block2Cache?: Cache })._block2Cache;
  if (!cache) return;
  const add = cache.add.bind(cache);
  cache.add = (key, payload) => {
    const prev = cache.get(key);
    if (prev && payload.options.length === 0 && Buffer.isBuffer(prev.buffer) && prev.buffer.equals(payload.buffer)) payload.options = prev.options;
    add(key, payload);
  };
}
