// HTTPS transport against local servers on 127.0.0.1 (certificates from a lab CA): TLS versions, trust anchors,
// server identity, client auth, Basic auth, size cap, timeouts. Every server is closed at the end of its test.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { SoftwareSigner } from '../../agent/keystore/software.js';
import { certificateToPem } from '../../agent/pki/cert.js';
import { subjectAltNameExtension } from '../../agent/pki/csr.js';
import { ConnectionError, ResponseTooLargeError, TimeoutError, TlsError, TransportConfigError } from '../../agent/protocols/http/errors.js';
import { createHttpsTransport } from '../../agent/protocols/http/transport.js';
import { LabCa } from '../../deploy/lab/ca.js';

const ca = await LabCa.create();
const otherCa = await LabCa.create({ name: 'other' });
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const now = Date.now();
const serverCert = await ca.issue({
  subject: 'CN=localhost',
  spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
  notBefore: new Date(now - 60_000),
  notAfter: new Date(now + 86_400_000),
  profile: 'server',
  extensions: [subjectAltNameExtension({ dns: ['localhost'], ip: ['127.0.0.1'] })],
});
const serverTls = { key: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, cert: certificateToPem(serverCert) + ca.issuing.pem };

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
async function withServer(handler: Handler, extra: https.ServerOptions, fn: (url: string, hits: { n: number }) => Promise<void>): Promise<void> {
  const hits = { n: 0 };
  const server = https.createServer({ ...serverTls, ...extra }, (req, res) => {
    hits.n++;
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await fn(url, hits);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

async function rejectsWith(p: Promise<unknown>, check: (e: unknown) => boolean, what: string): Promise<unknown> {
  return p.then(
    (v) => assert.unreachable(`${what}: expected an error, got ${JSON.stringify(v).slice(0, 100)}`),
    (e) => {
      assert.ok(check(e), `${what}: unexpected error ${String(e)}`);
      return e;
    },
  );
}

const hello: Handler = (_req, res) => res.end('hello');

test('TLS 1.2 and TLS 1.3 both negotiate; server chain is reported', async () => {
  const t = createHttpsTransport({ trustAnchors: [ca.root.pem] });
  await withServer(hello, { maxVersion: 'TLSv1.2' }, async (url) => {
    const r = await t.request({ method: 'GET', url, peerCertificates: true });
    assert.is(r.tlsProtocol, 'TLSv1.2');
    assert.is(Buffer.from(r.body).toString(), 'hello');
    assert.is(r.peerCertificates.length >= 2, true);
    // collected only when asked
    assert.equal((await t.request({ method: 'GET', url })).peerCertificates, []);
  });
  await withServer(hello, { minVersion: 'TLSv1.3' }, async (url) => {
    const r = await t.request({ method: 'GET', url });
    assert.is(r.tlsProtocol, 'TLSv1.3');
  });
});

test('a server not chaining to the configured TA is rejected with TlsError; no request reaches it', async () => {
  const t = createHttpsTransport({ trustAnchors: [otherCa.root.pem] });
  await withServer(hello, {}, async (url, hits) => {
    const e = (await rejectsWith(t.request({ method: 'GET', url }), (e) => e instanceof TlsError, 'wrong TA')) as TlsError;
    assert.is(e.code, 'transport.tls');
    assert.ok(e.tlsCode, 'tlsCode set');
    assert.is(hits.n, 0);
  });
});

test('server identity is checked (name not in the certificate → TlsError)', async () => {
  const t = createHttpsTransport({ trustAnchors: [ca.root.pem], servername: 'ca.example.net' });
  await withServer(hello, {}, async (url, hits) => {
    const e = (await rejectsWith(t.request({ method: 'GET', url }), (e) => e instanceof TlsError, 'name mismatch')) as TlsError;
    assert.is(e.tlsCode, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.is(hits.n, 0);
  });
});

test('TLS client authentication with a Signer key + certificate chain; Basic auth header', async () => {
  const signer = SoftwareSigner.generate();
  const clientCert = await ca.issue({ subject: 'CN=client-1', spki: signer.spki, notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000), profile: 'client' });
  const seen: Array<{ cn: string | undefined; auth: string | undefined }> = [];
  const handler: Handler = (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    seen.push({ cn: peer?.subject?.CN as string | undefined, auth: req.headers.authorization });
    res.end('ok');
  };
  await withServer(handler, { requestCert: true, rejectUnauthorized: true, ca: [ca.root.pem, ca.issuing.pem] }, async (url) => {
    const t = createHttpsTransport({
      trustAnchors: [ca.root.pem],
      clientAuth: { key: signer.tlsKeyOptions(), certChain: [certificateToPem(clientCert), ca.issuing.pem] },
      basicAuth: { username: 'dev', password: 'p:w' },
    });
    await t.request({ method: 'GET', url });
    await t.request({ method: 'GET', url, basicAuth: false });
    assert.equal(seen, [
      { cn: 'client-1', auth: 'Basic ' + Buffer.from('dev:p:w').toString('base64') },
      { cn: 'client-1', auth: undefined },
    ]);
    // Without a client certificate the server refuses the handshake: typed TLS error.
    const anon = createHttpsTransport({ trustAnchors: [ca.root.pem] });
    await rejectsWith(anon.request({ method: 'GET', url }), (e) => e instanceof TlsError || e instanceof ConnectionError, 'no client cert');
  });
});

test('response size cap: Content-Length over the limit, streamed body over the limit, exactly at the limit', async () => {
  const handler: Handler = (req, res) => {
    if (req.url === '/declared') {
      res.writeHead(200, { 'content-length': String(2 * 1024 * 1024) });
      res.write(Buffer.alloc(1024));
      return; // never finishes: the client must abort on the header alone
    }
    if (req.url === '/exact') return res.end(Buffer.alloc(4096));
    // chunked, no length: 64 KiB chunks forever until the client hangs up
    res.writeHead(200);
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    res.on('error', () => {});
    pump();
  };
  await withServer(handler, {}, async (url) => {
    const t = createHttpsTransport({ trustAnchors: [ca.root.pem] });
    const e1 = (await rejectsWith(t.request({ method: 'GET', url: `${url}/declared` }), (e) => e instanceof ResponseTooLargeError, 'declared')) as ResponseTooLargeError;
    assert.is(e1.declared, 2 * 1024 * 1024);
    assert.is(e1.limit, 1024 * 1024);
    const e2 = (await rejectsWith(t.request({ method: 'GET', url: `${url}/stream`, maxResponseBytes: 200_000 }), (e) => e instanceof ResponseTooLargeError, 'stream')) as ResponseTooLargeError;
    assert.is(e2.code, 'transport.response_too_large');
    const small = createHttpsTransport({ trustAnchors: [ca.root.pem], maxResponseBytes: 4096 });
    assert.is((await small.request({ method: 'GET', url: `${url}/exact` })).body.byteLength, 4096);
  });
});

test('connect timeout (TCP accepted, no TLS handshake) and total timeout (stalled body)', async () => {
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  try {
    const t = createHttpsTransport({ trustAnchors: [ca.root.pem], connectTimeoutMs: 200 });
    const e = (await rejectsWith(t.request({ method: 'GET', url: `https://127.0.0.1:${(silent.address() as AddressInfo).port}/` }), (e) => e instanceof TimeoutError, 'connect')) as TimeoutError;
    assert.is(e.phase, 'connect');
  } finally {
    sockets.forEach((s) => s.destroy());
    await new Promise<void>((r) => silent.close(() => r()));
  }
  const stall: Handler = (_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial');
  };
  await withServer(stall, {}, async (url) => {
    const t = createHttpsTransport({ trustAnchors: [ca.root.pem], totalTimeoutMs: 300 });
    const e = (await rejectsWith(t.request({ method: 'GET', url }), (e) => e instanceof TimeoutError, 'total')) as TimeoutError;
    assert.is(e.phase, 'total');
  });
});

test('refused connection and configuration errors are typed', async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const t = createHttpsTransport({ trustAnchors: [ca.root.pem] });
  await rejectsWith(t.request({ method: 'GET', url: `https://127.0.0.1:${port}/` }), (e) => e instanceof ConnectionError && e.sysCode === 'ECONNREFUSED', 'refused');
  await rejectsWith(t.request({ method: 'GET', url: 'http://127.0.0.1:1/' }), (e) => e instanceof TransportConfigError, 'http');
  await rejectsWith(t.request({ method: 'GET', url: 'https://u:p@127.0.0.1:1/' }), (e) => e instanceof TransportConfigError, 'userinfo');
  assert.throws(() => createHttpsTransport({ trustAnchors: [] }), (e: unknown) => e instanceof TransportConfigError);
  assert.throws(
    () => createHttpsTransport({ trustAnchors: [], unauthenticatedBootstrap: true, basicAuth: { username: 'a', password: 'b' } }),
    (e: unknown) => e instanceof TransportConfigError,
  );
});

test.run();
