// CoAP transfer for CMP (RFC 9482) behind the same Transport seam as HTTP: each PKIMessage is the payload of a
// Confirmable POST (§2.3) with Content-Format 259, application/pkixcmp (§2.4), to coap://host[:5683]/.well-known/cmp
// [/p/<label>] (§2.1); messages larger than one block go block-wise (RFC 7959) both ways (§2.5): Block1 for the
// request, Block2 for the answer, the block size negotiated early (RFC 7959 §2.4). The CoAP stack is the `coap`
// package (node-coap); this file only bounds it: its own UDP socket per exchange, the answer counted as it arrives,
// one total timeout, and typed errors for every way the exchange can fail.
// No DTLS (Node has none): coaps:// is refused. What protects the exchange is CMP's own message protection (MAC or
// signature over header and body, verified by the client) — RFC 9482 §3/§5; README.md "CMP over CoAP".
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { parse as parsePacket } from 'coap-packet';
import { ConnectionError, ResponseTooLargeError, TimeoutError, TransportConfigError, TransportError } from '../http/errors.js';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TOTAL_TIMEOUT_MS, type Transport, type TransportRequest, type TransportResponse } from '../http/transport.js';
import { CMP_MEDIA_TYPE, COAP_CONTENT_FORMAT_PKIXCMP, COAP_DEFAULT_PORT } from './constants.js';

/** RFC 7959 §2.2: SZX 0–6, block sizes 16…1024 bytes. */
export const COAP_BLOCK_SIZES = [16, 32, 64, 128, 256, 512, 1024] as const;
export const DEFAULT_COAP_BLOCK_SIZE = 1024;

export interface CoapTransportOptions {
  /** Block1/Block2 size (16…1024, a power of two; RFC 7959 §2.2). Default 1024. */
  blockSize?: number;
  /** Largest answer accepted (payload bytes, all Block2 blocks together). Default 1 MiB. */
  maxResponseBytes?: number;
  /** For the whole exchange, every block and retransmission included. Default 60 s. */
  totalTimeoutMs?: number;
}

/** A 4.xx/5.xx answer (or a code of no response class) that carries no PKIMessage. */
export class CoapResponseError extends TransportError {
  /** The CoAP response code, "c.dd" (RFC 7252 §5.9). */
  readonly coapCode: string;
  /** c*100+dd (4.04 → 404, 5.03 → 503): the lifecycle reads 4xx as permanent (except 408/429), 5xx as transient. */
  readonly status: number;
  /** The diagnostic payload (RFC 7252 §5.5.2), sanitized and shortened. */
  readonly diagnostic: string | undefined;
  /** Max-Age of a 5.03 (RFC 7252 §5.9.3.4): when to try again. */
  readonly retryAfterSeconds: number | undefined;
  constructor(coapCode: string, diagnostic?: string, retryAfterSeconds?: number) {
    super('transport.coap_response', `CoAP ${coapCode} ${codeName(coapCode)}${diagnostic ? `: ${diagnostic}` : ''}`);
    this.coapCode = coapCode;
    const [c, d] = coapCode.split('.').map(Number);
    this.status = (c ?? 0) * 100 + (d ?? 0);
    this.diagnostic = diagnostic;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A success answer whose Content-Format is not the one asked for with Accept (RFC 9482 §2.4: 259). */
export class CoapContentFormatError extends TransportError {
  constructor(readonly coapCode: string, readonly contentFormat: number | undefined, readonly expected: number) {
    super('transport.coap_content_format', `CoAP ${coapCode} with Content-Format ${contentFormat ?? '(none)'}, expected ${expected}`);
  }
}

export const isCoapUrl = (url: URL): boolean => url.protocol === 'coap:' || url.protocol === 'coaps:';

const CODE_NAMES: Record<string, string> = {
  '4.00': 'Bad Request', '4.01': 'Unauthorized', '4.02': 'Bad Option', '4.03': 'Forbidden', '4.04': 'Not Found', '4.05': 'Method Not Allowed',
  '4.06': 'Not Acceptable', '4.08': 'Request Entity Incomplete', '4.12': 'Precondition Failed', '4.13': 'Request Entity Too Large',
  '4.15': 'Unsupported Content-Format', '4.29': 'Too Many Requests', '5.00': 'Internal Server Error', '5.01': 'Not Implemented', '5.02': 'Bad Gateway',
  '5.03': 'Service Unavailable', '5.04': 'Gateway Timeout', '5.05': 'Proxying Not Supported',
};
const codeName = (code: string): string => CODE_NAMES[code] ?? '';

/** Media types this transport names (RFC 7252 §12.3 and RFC 9482 §2.4); anything else travels as its number. */
const FORMATS: Record<string, number> = { [CMP_MEDIA_TYPE]: COAP_CONTENT_FORMAT_PKIXCMP, 'text/plain': 0, 'application/octet-stream': 42 };
const mediaType = (cf: number | undefined): string | undefined => (cf === undefined ? undefined : Object.entries(FORMATS).find(([, n]) => n === cf)?.[0] ?? `application/x-coap-content-format-${cf}`);

const uint = (b: Buffer): number => b.reduce((n, x) => n * 256 + x, 0);
/** RFC 7252 §3.2 uint option value: big-endian, no leading zero bytes (0 is the empty value). */
function uintBytes(n: number): Buffer {
  const out: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) out.unshift(x % 256);
  return Buffer.from(out);
}

/** Printable text of a diagnostic payload: control characters dropped, at most 200 characters. */
function diagnosticOf(payload: Buffer | undefined): string | undefined {
  if (!payload?.length) return undefined;
  const t = payload.subarray(0, 400).toString('utf8').replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
  return t ? t.slice(0, 200) : undefined;
}

type CoapModule = typeof import('coap');
let coapModule: Promise<CoapModule> | undefined;
// Loaded on the first CoAP exchange only: nothing of the CoAP stack is on the start-up path of an HTTPS-only agent.
// A CommonJS package: Node's import() gives its exports as names too, the esbuild bundle only as `default`.
const loadCoap = (): Promise<CoapModule> => (coapModule ??= import('coap').then((m) => ((m as { default?: CoapModule }).default ?? m) as CoapModule));

export function createCoapTransport(opts: CoapTransportOptions = {}): Transport {
  const blockSize = opts.blockSize ?? DEFAULT_COAP_BLOCK_SIZE;
  const szx = COAP_BLOCK_SIZES.indexOf(blockSize as (typeof COAP_BLOCK_SIZES)[number]);
  if (szx < 0) throw new TransportConfigError(`CoAP block size ${blockSize} is not one of ${COAP_BLOCK_SIZES.join(', ')} (RFC 7959 §2.2)`);
  const maxDefault = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const timeout = opts.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS;

  return {
    async request(req: TransportRequest): Promise<TransportResponse> {
      const url = new URL(req.url);
      if (url.protocol === 'coaps:') throw new TransportConfigError('coaps:// (CoAP over DTLS) is not available: Node has no DTLS; use coap://, protected by CMP message protection');
      if (url.protocol !== 'coap:') throw new TransportConfigError(`the CoAP transport takes coap:// URLs, not ${url.protocol}//`);
      if (req.method !== 'POST') throw new TransportConfigError(`CMP over CoAP is POST only (RFC 9482 §2.3), not ${req.method}`);
      const max = req.maxResponseBytes ?? maxDefault;
      const body = req.body === undefined ? Buffer.alloc(0) : typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : Buffer.from(req.body);
      const header = (n: string): string | undefined => Object.entries(req.headers ?? {}).find(([k]) => k.toLowerCase() === n)?.[1]?.split(';')[0]?.trim().toLowerCase();
      const cfOf = (n: string): number | undefined => {
        const t = header(n);
        if (t === undefined) return undefined;
        const cf = FORMATS[t];
        if (cf === undefined) throw new TransportConfigError(`no CoAP Content-Format for ${t}`);
        return cf;
      };
      const contentFormat = cfOf('content-type');
      const accept = cfOf('accept');
      const deadline = Date.now() + timeout;
      const host = url.hostname.replace(/^\[|\]$/g, '');
      let address = host;
      if (!isIP(host)) {
        try {
          address = (await withTimeout(lookup(host), timeout, 'connect')).address;
        } catch (e) {
          if (e instanceof TimeoutError) throw e;
          throw new ConnectionError(`cannot resolve ${host}: ${(e as Error).message}`, (e as NodeJS.ErrnoException).code, { cause: e });
        }
      }
      const port = url.port ? Number(url.port) : COAP_DEFAULT_PORT;
      const coap = await loadCoap();

      return new Promise<TransportResponse>((resolve, reject) => {
        const sock = dgram.createSocket(isIP(address) === 6 ? 'udp6' : 'udp4');
        let settled = false;
        let received = 0;
        /** The options of the last answer as they came off the wire (the stack rewrites option values in place). */
        let lastOptions: Array<{ name: string | number; value: Buffer }> = [];
        /** Content-Format of the answer: every block should repeat it, some servers (node-coap's) drop it from later ones. */
        let contentFormatSeen: Buffer | undefined;
        let outgoing: ReturnType<typeof agent.request> | undefined;
        const finish = (err: Error | undefined, res?: TransportResponse): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          try {
            if (outgoing && err) agent.abort(outgoing);
          } catch {
            // the exchange is over either way
          }
          // The ACK of a separate response is sent just before 'response' fires: let it leave before the socket goes.
          setTimeout(() => {
            try {
              sock.close();
            } catch {
              // already closed
            }
          }, 50).unref();
          if (err) reject(err);
          else resolve(res!);
        };
        const timer = setTimeout(() => finish(new TimeoutError('total', timeout)), Math.max(0, deadline - Date.now()));
        sock.on('error', (e) => finish(new ConnectionError(`CoAP socket: ${e.message}`, (e as NodeJS.ErrnoException).code, { cause: e })));
        // Bound the answer as it arrives (the stack gathers Block2 blocks itself): payload bytes of every datagram.
        // Registered before the stack's own listener, so it has seen a datagram before the stack answers for it.
        sock.on('message', (m: Buffer) => {
          let p;
          try {
            p = parsePacket(m);
          } catch {
            return; // not CoAP: the stack ignores it too
          }
          received += p.payload.length;
          if (p.code !== '0.00') {
            lastOptions = p.options;
            contentFormatSeen = p.options.find((o) => o.name === 'Content-Format')?.value ?? contentFormatSeen;
          }
          if (received > max) finish(new ResponseTooLargeError(max));
        });
        const agent = new coap.Agent({ socket: sock });
        agent.on('error', () => undefined); // socket errors: the listener above ends the exchange
        // The stack handles datagrams in its own 'message' listener and can throw there on a hostile answer (e.g. "Too
        // many block re-transfers"): run it inside a try, so that ends this exchange instead of the process.
        for (const l of sock.listeners('message').slice(1) as Array<(m: Buffer, r: dgram.RemoteInfo) => void>) {
          sock.off('message', l);
          sock.on('message', (m: Buffer, r: dgram.RemoteInfo) => {
            try {
              l(m, r);
            } catch (e) {
              finish(new ConnectionError(`unusable CoAP answer: ${(e as Error).message}`, undefined, { cause: e }));
            }
          });
        }
        try {
          const options: Record<string, Buffer | Buffer[]> = {
            'Uri-Path': url.pathname.split('/').filter((s) => s.length > 0).map((s) => Buffer.from(decodeURIComponent(s), 'utf8')),
          };
          if (contentFormat !== undefined) options['Content-Format'] = uintBytes(contentFormat);
          if (accept !== undefined) options.Accept = uintBytes(accept);
          // RFC 7959 §2.4 early negotiation: ask for answers in blocks of our size (num 0, M 0, SZX); 1024 is the
          // largest block there is, so then the server's choice stands and a server without block-wise is not bothered.
          if (blockSize < 1024) options.Block2 = Buffer.of(szx);
          // Block1 when the request does not fit one block: the stack sends it block by block (SZX in the first byte).
          if (body.length > blockSize) options.Block1 = Buffer.of(szx);
          if (body.length > blockSize) options.Size1 = uintBytes(body.length);
          const r = agent.request({
            hostname: address,
            port,
            method: 'POST',
            confirmable: true,
            ...(url.search.length > 1 ? { query: url.search.slice(1) } : {}),
            options: options as never,
          });
          outgoing = r;
          r.on('response', (res: { code: string; payload: Buffer | undefined }) => {
            if (settled) return;
            try {
              onResponse(res.code, res.payload ?? Buffer.alloc(0));
            } catch (e) {
              finish(new ConnectionError(`unusable CoAP answer: ${(e as Error).message}`, undefined, { cause: e }));
            }
          });
          const onResponse = (code: string, payload: Buffer): void => {
            const opt = (name: string): Buffer | undefined => lastOptions.find((o) => o.name === name)?.value;
            const cfBuf = opt('Content-Format') ?? contentFormatSeen;
            const cf = cfBuf === undefined ? undefined : uint(cfBuf);
            const cls = Number(code.split('.')[0]);
            if (code === '0.00') return finish(new ConnectionError('the CoAP server reset the exchange (RST)', 'ECONNRESET'));
            if (payload.length > max) return finish(new ResponseTooLargeError(max));
            const answer = (status: number): void =>
              finish(undefined, { status, headers: cf === undefined ? {} : { 'content-type': mediaType(cf)! }, body: new Uint8Array(payload), peerCertificates: [], tlsProtocol: undefined });
            if (cls === 2) {
              if (accept !== undefined && cf !== accept) return finish(new CoapContentFormatError(code, cf, accept));
              return answer(200);
            }
            // An error code carrying a PKIMessage: the CMP error message inside says more than the code does.
            if ((cls === 4 || cls === 5) && accept !== undefined && cf === accept && payload.length > 0) {
              return answer(cls * 100 + Number(code.split('.')[1]));
            }
            const maxAge = opt('Max-Age');
            return finish(new CoapResponseError(code, diagnosticOf(payload), code === '5.03' && maxAge !== undefined ? uint(maxAge) : undefined));
          };
          r.on('timeout', () => finish(new TimeoutError('connect', timeout)));
          r.on('error', (e: Error) => finish(new ConnectionError(`CoAP request failed: ${e.message}`, (e as NodeJS.ErrnoException).code, { cause: e })));
          r.end(body);
        } catch (e) {
          finish(e instanceof TransportError ? e : new ConnectionError(`CoAP request failed: ${(e as Error).message}`, undefined, { cause: e }));
        }
      });
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, phase: 'connect' | 'total'): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new TimeoutError(phase, ms)), ms)))]).finally(() => clearTimeout(t));
}
