// The lab's HTTPS request plumbing shared by every profile: reads the body (capped → 413), collects the TLS client
// chain, routes through a Router, maps thrown errors to 500. Independent of the agent's code.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { text, type LabRequest, type LabResponse, type Router } from './router.js';

/** A number per TLS connection, so handlers can tell requests on the same connection (keep-alive) apart. */
const connectionIds = new WeakMap<object, number>();
let nextConnectionId = 1;

export function routerListener(
  router: Router,
  opts: { maxRequestBytes: number; log: (line: string) => void; onResponse?: (req: LabRequest, res: LabResponse) => void },
): (req: IncomingMessage, res: ServerResponse) => void {
  const { maxRequestBytes, log } = opts;
  return (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    const send = (r: LabResponse): void => {
      if (res.headersSent) return;
      const body = r.body === undefined ? undefined : typeof r.body === 'string' ? Buffer.from(r.body, 'utf8') : Buffer.from(r.body);
      res.writeHead(r.status, { ...(r.headers ?? {}), ...(body ? { 'content-length': String(body.byteLength) } : {}) });
      res.end(body);
    };
    req.on('data', (c: Buffer) => {
      size += c.byteLength;
      if (size > maxRequestBytes) {
        if (!tooLarge) send({ ...text(413, `request body exceeds ${maxRequestBytes} bytes`), headers: { connection: 'close' } });
        tooLarge = true;
        return;
      }
      chunks.push(c);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (tooLarge) return;
      const sock = req.socket as TLSSocket;
      const peerChain: Uint8Array[] = [];
      const seen = new Set<string>();
      let pc = sock.getPeerCertificate(true);
      while (pc && pc.raw && !seen.has(pc.fingerprint256)) {
        seen.add(pc.fingerprint256);
        peerChain.push(new Uint8Array(pc.raw));
        pc = pc.issuerCertificate;
      }
      const protocol = sock.getProtocol() ?? undefined;
      // RFC 5929 §3.1 tls-unique: the first Finished of the latest handshake (the client's on a full handshake,
      // the server's on resumption); TLS 1.3 has none.
      const finished = protocol === 'TLSv1.3' ? undefined : sock.isSessionReused() ? sock.getFinished() : sock.getPeerFinished();
      const url = new URL(req.url ?? '/', 'https://lab.invalid');
      const labReq: LabRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks),
        params: {},
        tls: { protocol, peerChain, ...(finished ? { tlsUnique: new Uint8Array(finished) } : {}), connectionId: connectionIds.get(sock) ?? (connectionIds.set(sock, nextConnectionId), nextConnectionId++) },
        remoteAddress: sock.remoteAddress,
      };
      const respond = (r: LabResponse): void => {
        opts.onResponse?.(labReq, r);
        send(r);
      };
      const m = router.match(labReq.method, labReq.path);
      if (!m) return respond(text(404, `no such endpoint: ${labReq.path}`));
      if ('allow' in m) return respond(text(405, `method ${labReq.method} not allowed`, { allow: m.allow.join(', ') }));
      labReq.params = m.params;
      Promise.resolve()
        .then(() => m.handler(labReq))
        .then(respond, (e: unknown) => {
          log(`lab handler error ${labReq.method} ${labReq.path}: ${(e as Error)?.stack ?? String(e)}`);
          respond(text(500, 'internal server error'));
        });
    });
  };
}

/** Listens on host:port (0 = any free port); resolves with the bound port. */
export function listen(server: Server, host: string, port = 0): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
