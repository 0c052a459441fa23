// Plain-HTTP transport for CMP, loopback ONLY. CMP messages carry their own protection (MAC or signature, verified
// by the client against the shared secret / CMP trust anchor), so RFC 6712 §5 / RFC 9811 §5 allow HTTP without TLS;
// enrolld still refuses anything but 127.0.0.1/::1 because outside the lab (the `openssl cmp` mock server speaks
// only HTTP) TLS also hides who enrolls what. Opt-in per client (CmpClientOptions.allowLoopbackHttp).
import http from 'node:http';
import { ConnectionError, ResponseTooLargeError, TimeoutError, TransportConfigError } from '../http/errors.js';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TOTAL_TIMEOUT_MS, type Transport, type TransportRequest, type TransportResponse } from '../http/transport.js';

const LOOPBACK = new Set(['127.0.0.1', '[::1]', '::1']);

export function isLoopbackHttpUrl(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK.has(url.hostname);
}

export function createLoopbackHttpTransport(opts: { maxResponseBytes?: number; totalTimeoutMs?: number } = {}): Transport {
  const max = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const timeout = opts.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS;
  return {
    request(req: TransportRequest): Promise<TransportResponse> {
      const url = new URL(req.url);
      if (!isLoopbackHttpUrl(url)) return Promise.reject(new TransportConfigError(`plain HTTP is allowed only to 127.0.0.1/::1, not ${url.host}`));
      return new Promise((resolve, reject) => {
        const body = typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : req.body;
        // An explicit Content-Length: OpenSSL's HTTP server does not read chunked request bodies.
        const headers = { ...req.headers, ...(body !== undefined ? { 'content-length': String(body.byteLength) } : {}) };
        const r = http.request(url, { method: req.method, headers, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          let n = 0;
          res.on('data', (d: Buffer) => {
            n += d.length;
            if (n > (req.maxResponseBytes ?? max)) {
              r.destroy(new ResponseTooLargeError(req.maxResponseBytes ?? max));
              return;
            }
            chunks.push(d);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: new Uint8Array(Buffer.concat(chunks)), peerCertificates: [], tlsProtocol: undefined }));
          res.on('error', (e) => reject(e instanceof ResponseTooLargeError ? e : new ConnectionError(`response failed: ${e.message}`, undefined, { cause: e })));
        });
        r.setTimeout(timeout, () => r.destroy(new TimeoutError('total', timeout)));
        r.on('error', (e) => {
          if (e instanceof ResponseTooLargeError || e instanceof TimeoutError) reject(e);
          else reject(new ConnectionError(`connection failed: ${e.message}`, (e as NodeJS.ErrnoException).code, { cause: e }));
        });
        if (body !== undefined) r.write(body);
        r.end();
      });
    },
  };
}
