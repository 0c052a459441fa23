// The HTTPS client every protocol uses (EST, CMP-over-HTTP, ACME, PAL): TLS 1.2/1.3, server authenticated ONLY
// against the configured trust anchors (never the system store), rejectUnauthorized always on, RFC 6125/9525 server
// identity checked by node's checkServerIdentity, optional TLS client auth with a keystore key (PEM or TPM engine),
// optional HTTP Basic auth (RFC 7617), a response-size cap enforced while streaming, connect/total timeouts.
import { createHash } from 'node:crypto';
import type * as Https from 'node:https';
import type { SecureContext, SecureContextOptions, TLSSocket } from 'node:tls';
import type { IncomingHttpHeaders } from 'node:http';
import type { TlsKeyOptions } from '../../keystore/keystore.js';
import { pemEncode } from '../../pki/pem.js';
import { isIP } from '../../util/net.js';
import { lruGet, lruSet } from '../../util/lru.js';
import {
  ConnectionError,
  ResponseTooLargeError,
  TimeoutError,
  TlsError,
  TransportConfigError,
  TransportError,
} from './errors.js';

// node's HTTPS/TLS modules are not in its start-up snapshot (compiling them costs 5–10 ms): loaded at the first
// connection instead of at import, so nothing before READY=1 waits for them.
const https = (): typeof Https => process.getBuiltinModule('node:https');
const tls = (): typeof import('node:tls') => process.getBuiltinModule('node:tls');

export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
export const DEFAULT_TOTAL_TIMEOUT_MS = 60_000;

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';

export interface TransportRequest {
  method: HttpMethod;
  url: string | URL;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Per-request override of the transport's response-size limit. */
  maxResponseBytes?: number;
  signal?: AbortSignal;
  /** Send the transport's Basic credentials with this request (default true when configured). */
  basicAuth?: boolean;
  /** Report the server's certificate chain in the response (default: only in bootstrap mode; it costs a copy). */
  peerCertificates?: boolean;
  /**
   * A request of a short sequence on one connection (e.g. GET /csrattrs, then the /simple(re)enroll it plans): it
   * rides the connection of this TLS setup (trust anchors + client identity) and host that an earlier request of the
   * sequence left open, if any. 'open' leaves this one open afterwards for the next (closed after KEPT_IDLE_MS idle);
   * 'close' closes it after this request. Without it (and outside an HttpSession) every request has a connection of
   * its own. Never in bootstrap mode.
   */
  keepConnection?: 'open' | 'close';
}

export interface TransportResponse {
  status: number;
  /** Lower-cased header names (node IncomingHttpHeaders). */
  headers: IncomingHttpHeaders;
  body: Uint8Array;
  /** DER certificates the server presented, leaf first; empty unless the request asked for them. */
  peerCertificates: Uint8Array[];
  /** Negotiated protocol, e.g. "TLSv1.3". */
  tlsProtocol: string | undefined;
  /** Bootstrap mode only: why normal verification would have rejected the server (undefined if it would not). */
  authorizationError?: string;
  /** The TLS session was resumed (abbreviated handshake with a ticket/session of an earlier connection). */
  tlsSessionReused?: boolean;
}

/** Injectable HTTP(S) client: the real one is createHttpsTransport; tests and other protocols may supply their own. */
export interface Transport {
  request(req: TransportRequest): Promise<TransportResponse>;
}

export interface ClientAuthOptions {
  /** Key options from the KeyStore (PEM key, or TPM engine + identifier) and the signature algorithms it supports. */
  key: TlsKeyOptions;
  /** Client certificate followed by any intermediates: PEM string(s) or DER. */
  certChain: string | Array<string | Uint8Array>;
}

export interface HttpsTransportOptions {
  /** The ONLY trust anchors for server authentication: PEM (one or several per string) or DER certificates. */
  trustAnchors: Array<string | Uint8Array>;
  clientAuth?: ClientAuthOptions;
  basicAuth?: { username: string; password: string };
  /** Default 1 MiB. */
  maxResponseBytes?: number;
  /** Until the TLS handshake completes. Default 15 s. */
  connectTimeoutMs?: number;
  /** For the whole exchange. Default 60 s. */
  totalTimeoutMs?: number;
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Name to send as SNI and to check the server certificate against, when it differs from the URL host. */
  servername?: string;
  userAgent?: string;
  /**
   * RFC 7030 §4.1.1 bootstrap ONLY: complete the handshake without authenticating the server so /cacerts can be
   * fetched and then verified out of band by the caller. Never combined with Basic credentials. The EST client is
   * the only intended user (see est/cacerts.ts); everything received this way is untrusted.
   */
  unauthenticatedBootstrap?: boolean;
  /**
   * Resume TLS sessions (default true; never in bootstrap mode). Sessions are kept per TLS setup — the trust anchors,
   * client certificate chain, private key or TPM key, signature algorithms and protocol versions, as one SHA-256 —
   * and per host/port/SNI, so a session is only ever offered by a transport with the same client identity that
   * created it (e.g. a re-enrollment's csrattrs and nonce requests, or a poller rebuilt with the same credential); a
   * renewal is a new identity and starts afresh. The server decides whether to resume (ticket lifetime); OpenSSL does
   * not offer an expired ticket.
   */
  sessionReuse?: boolean;
  /**
   * One HTTP "session" shared by several requests (and several transports with the same TLS identity): a
   * keep-alive connection (one socket at most, so consecutive requests ride the same TLS connection while the
   * server keeps it open) and a cookie jar (RFC 6265). Used where a server binds state across requests, e.g.
   * draft-ietf-lamps-attestation-freshness §6.1 (the nonce and the CSR on the same TLS session or cookie).
   */
  session?: HttpSession;
}

/**
 * A keep-alive connection plus the cookies one origin set (RFC 6265 §5.2/§5.3, kept simple: the session talks to
 * one server, so Domain/Path scoping is not needed; Max-Age/Expires in the past delete a cookie). close() ends
 * the connection and forgets the cookies.
 */
export class HttpSession {
  readonly agent = new (https().Agent)({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
  private readonly cookies = new Map<string, string>();
  /** The TLS session each origin's connections offer, fixed at the session's first request to it (see offer()). */
  private readonly offered = new Map<string, Buffer | undefined>();
  /** TLS connections opened (1 when every request of the session used the same connection). */
  connections = 0;
  private closed = false;

  /** The Cookie request header (RFC 6265 §5.4), or undefined when there is no cookie. */
  cookieHeader(): string | undefined {
    return this.cookies.size === 0 ? undefined : [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Stores the Set-Cookie header fields of a response (RFC 6265 §5.2). */
  storeSetCookie(values: string[] | undefined, now = new Date()): void {
    for (const line of values ?? []) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq <= 0) continue; // §5.2 step 2/5: no "=" or an empty name: ignore the cookie
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      let expired = false;
      for (const a of attrs) {
        const [k, ...rest] = a.split('=');
        const key = k!.trim().toLowerCase();
        const v = rest.join('=').trim();
        if (key === 'max-age' && /^-?\d+$/.test(v) && Number(v) <= 0) expired = true;
        if (key === 'expires' && Number.isFinite(Date.parse(v)) && Date.parse(v) <= now.getTime()) expired = true;
      }
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /**
   * The resumption session to offer for `key`: the one `pick()` gives at the first request, then the same one. Node
   * 24's https.Agent names its pooled sockets by the `session` option too, so a different ticket per request would
   * open a new connection instead of riding the kept-alive one.
   */
  offer(key: string, pick: () => Buffer | undefined): Buffer | undefined {
    if (!this.offered.has(key)) this.offered.set(key, pick());
    return this.offered.get(key);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    this.cookies.clear();
    this.offered.clear();
    this.agent.destroy();
  }
}

/**
 * TLS contexts by the options they were built from (SHA-256 of them: the key may be a PEM private key), shared by
 * transports with the same anchors and identity (e.g. a re-enrollment's nonce and enroll transports, a poller's
 * client rebuilt with the same credential). A different anchor set or credential is a different entry, so a renewal
 * or a TA update takes effect on the next transport. Bounded: the working set is the device identity, the bootstrap
 * identity and an identity being renewed.
 */
const CONTEXTS_MAX = 4;
const contexts = new Map<string, SecureContext>();

/** The SHA-256 of the options a TLS context is built from: the identity of a TLS setup. */
function setupKey(o: SecureContextOptions): string {
  return createHash('sha256').update(JSON.stringify([o.ca, o.cert, o.key, o.privateKeyEngine, o.privateKeyIdentifier, o.sigalgs, o.minVersion, o.maxVersion])).digest('base64');
}

function sharedSecureContext(setup: string, o: SecureContextOptions): SecureContext {
  return lruGet(contexts, setup, CONTEXTS_MAX, () => tls().createSecureContext(o));
}

/**
 * The latest TLS session (TLS 1.3 ticket / TLS 1.2 session) per TLS setup and host:port:SNI, one slot each, shared
 * by every transport with that setup (see `sessionReuse`). Bounded like the contexts, a few servers per identity.
 */
const SESSIONS_MAX = 16;
const tlsSessions = new Map<string, Buffer>();

/**
 * Connections left open by a `keepConnection: 'open'` request, per TLS setup and host:port:SNI (the session key), for
 * the next request of its sequence: an https.Agent holding at most one socket, closed after KEPT_IDLE_MS without a
 * request (the socket is unref'd while idle: it never keeps the process alive), at once after a 'close' request, and
 * when evicted. KEPT_IDLE_MS stays below the usual server keep-alive timeouts (5 s in node and Apache): a server that
 * closes the connection as the next request goes out fails that request like any connection reset (the lifecycle's
 * persisted backoff resends it), it is not resent here. The TLS session it offers is fixed when it is made (Node 24's
 * agent names sockets by it too, see HttpSession.offer). Bounded like the contexts.
 */
export const KEPT_IDLE_MS = 2000;
const KEPT_MAX = 4;
interface Kept {
  agent: Https.Agent;
  session: Buffer | undefined;
  timer?: NodeJS.Timeout;
}
const kept = new Map<string, Kept>();

function keptFor(key: string, pick: () => Buffer | undefined): Kept {
  let k = kept.get(key);
  if (k) {
    clearTimeout(k.timer);
    kept.delete(key); // re-inserted below: the map's order is the LRU order
  } else {
    k = { agent: new (https().Agent)({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 }), session: pick() };
  }
  kept.set(key, k);
  while (kept.size > KEPT_MAX) {
    const [oldest, o] = kept.entries().next().value as [string, Kept];
    kept.delete(oldest);
    closeKept(o);
  }
  return k;
}

function closeKept(k: Kept): void {
  clearTimeout(k.timer);
  k.agent.destroy();
}

/** After a request on `k`: kept for the next one (idle timer) or closed. */
function releaseKept(key: string, k: Kept, keep: boolean): void {
  if (kept.get(key) !== k) return; // evicted meanwhile (closed then)
  if (!keep) {
    kept.delete(key);
    closeKept(k);
    return;
  }
  clearTimeout(k.timer);
  k.timer = setTimeout(() => {
    if (kept.get(key) === k) kept.delete(key);
    closeKept(k);
  }, KEPT_IDLE_MS);
  k.timer.unref();
}

function toPem(c: string | Uint8Array): string {
  return typeof c === 'string' ? c : pemEncode('CERTIFICATE', c);
}

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|HOSTNAME_MISMATCH|INVALID_CA|PATH_LENGTH|INVALID_PURPOSE|EPROTO$)/;

function classify(err: unknown, handshakeDone: boolean, tcpConnected: boolean): TransportError {
  if (err instanceof TransportError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const msg = e?.message ?? String(err);
  if ((code && TLS_CODE.test(code)) || /ssl|tls|certificate|alert/i.test(msg)) return new TlsError(`TLS failure: ${msg}`, code, { cause: err });
  if (tcpConnected && !handshakeDone && (code === 'ECONNRESET' || code === 'EPIPE')) {
    return new TlsError(`connection reset during the TLS handshake: ${msg}`, code, { cause: err });
  }
  return new ConnectionError(`connection failed: ${msg}`, code, { cause: err });
}

export function createHttpsTransport(opts: HttpsTransportOptions): Transport {
  const trustAnchors = opts.trustAnchors.map(toPem);
  if (!opts.unauthenticatedBootstrap && trustAnchors.length === 0) {
    throw new TransportConfigError('no trust anchor configured: refusing to connect (use the explicit bootstrap mode)');
  }
  if (opts.unauthenticatedBootstrap && opts.basicAuth) {
    throw new TransportConfigError('Basic credentials must never be sent to an unauthenticated server (RFC 7030 §3.2.3)');
  }
  if (opts.basicAuth && opts.basicAuth.username.includes(':')) {
    throw new TransportConfigError('Basic auth user-id must not contain ":" (RFC 7617 §2)');
  }
  const certChain = opts.clientAuth
    ? (typeof opts.clientAuth.certChain === 'string' ? [opts.clientAuth.certChain] : opts.clientAuth.certChain.map(toPem)).join('')
    : undefined;
  const maxDefault = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const totalTimeoutMs = opts.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS;
  // TLS session resumption (tlsSessions above); also on an HttpSession's connections, which node's agent would
  // otherwise only resume within that one session.
  const resume = opts.sessionReuse !== false && !opts.unauthenticatedBootstrap;
  const httpSession = opts.unauthenticatedBootstrap ? undefined : opts.session;
  // One TLS context (trust anchors, client chain, private key or TPM engine key) for all of this transport's
  // connections, looked up on first use (sharedSecureContext): a transport's anchors and identity are fixed (a new
  // credential or TA set gets a new transport: credential-transport.ts), so building it per connection only repeated
  // the same work.
  const tlsMaxVersion = opts.maxVersion ?? opts.clientAuth?.key.maxVersion ?? 'TLSv1.3';
  const contextOptions: SecureContextOptions = {
    ca: trustAnchors, // an (even empty) array replaces node's bundled root store
    minVersion: opts.minVersion ?? 'TLSv1.2',
    maxVersion: tlsMaxVersion,
    ...(certChain ? { cert: certChain } : {}),
    ...(opts.clientAuth?.key.key ? { key: opts.clientAuth.key.key } : {}),
    ...(opts.clientAuth?.key.privateKeyEngine
      ? { privateKeyEngine: opts.clientAuth.key.privateKeyEngine, privateKeyIdentifier: opts.clientAuth.key.privateKeyIdentifier }
      : {}),
    ...(opts.clientAuth?.key.sigalgs ? { sigalgs: opts.clientAuth.key.sigalgs } : {}),
  };
  const setup = setupKey(contextOptions);
  let secureContext: SecureContext | undefined;

  return {
    request(req: TransportRequest): Promise<TransportResponse> {
      let url: URL;
      try {
        url = new URL(req.url);
      } catch {
        return Promise.reject(new TransportConfigError(`invalid URL "${String(req.url)}"`));
      }
      if (url.protocol !== 'https:') return Promise.reject(new TransportConfigError(`refusing non-https URL ${url.origin}`));
      if (url.username || url.password) return Promise.reject(new TransportConfigError('credentials in the URL are not allowed'));
      const limit = req.maxResponseBytes ?? maxDefault;
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const body = req.body === undefined ? undefined : typeof req.body === 'string' ? Buffer.from(req.body, 'utf8') : Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength);
      const headers: Record<string, string> = { accept: '*/*', ...(opts.userAgent ? { 'user-agent': opts.userAgent } : {}), ...req.headers };
      if (body) headers['content-length'] = String(body.byteLength);
      if (httpSession?.isClosed) return Promise.reject(new TransportConfigError('the HTTP session is closed'));
      const cookie = httpSession?.cookieHeader();
      if (cookie !== undefined) headers.cookie = cookie;
      if (opts.basicAuth && req.basicAuth !== false) {
        headers.authorization = 'Basic ' + Buffer.from(`${opts.basicAuth.username}:${opts.basicAuth.password}`, 'utf8').toString('base64');
      }
      const servername = opts.servername ?? (isIP(host) ? undefined : host);
      const port = url.port ? Number(url.port) : 443;
      const sessionKey = `${setup}|${host}|${port}|${servername ?? ''}`;
      const pick = (): Buffer | undefined => (resume ? tlsSessions.get(sessionKey) : undefined);
      const keepMode = httpSession || opts.unauthenticatedBootstrap ? undefined : req.keepConnection;
      // the kept connection this request rides (and leaves open or closes); 'close' rides one only when there is one
      const k = keepMode === 'open' || (keepMode === 'close' && kept.has(sessionKey)) ? keptFor(sessionKey, pick) : undefined;
      const session = httpSession ? httpSession.offer(sessionKey, pick) : k ? k.session : pick();
      const wantPeerCertificates = req.peerCertificates ?? opts.unauthenticatedBootstrap === true;
      try {
        secureContext ??= sharedSecureContext(setup, contextOptions);
      } catch (e) {
        return Promise.reject(classify(e, false, false));
      }

      const options: Https.RequestOptions & { secureContext: SecureContext } = {
        method: req.method,
        host,
        port,
        path: url.pathname + url.search,
        headers,
        agent: httpSession ? httpSession.agent : k ? k.agent : false,
        // tls.connect uses secureContext as is; the options it was built from are repeated because an https.Agent (the
        // HttpSession's, a kept connection's) names its pooled connections by them, so identities never share a socket.
        secureContext,
        ...contextOptions,
        rejectUnauthorized: !opts.unauthenticatedBootstrap,
        ...(servername ? { servername } : {}),
        ...(session ? { session } : {}),
      };

      return new Promise<TransportResponse>((resolve, reject) => {
        let settled = false;
        let tcpConnected = false;
        let handshakeDone = false;
        let peerCertificates: Uint8Array[] = [];
        let tlsProtocol: string | undefined;
        let authorizationError: string | undefined;
        let tlsSessionReused = false;
        const timers: NodeJS.Timeout[] = [];
        const finish = (err: TransportError | undefined, res?: TransportResponse): void => {
          if (settled) return;
          settled = true;
          timers.forEach(clearTimeout);
          req.signal?.removeEventListener('abort', onAbort);
          if (k) releaseKept(sessionKey, k, keepMode === 'open' && !err);
          if (err) {
            if (err instanceof TlsError) tlsSessions.delete(sessionKey); // a handshake failure: start afresh next time
            r.destroy();
            reject(err);
          } else resolve(res!);
        };
        const onAbort = (): void => finish(new TransportError('transport.aborted', `request aborted: ${String(req.signal?.reason ?? '')}`));

        let r: ReturnType<typeof Https.request>;
        try {
          r = https().request(options);
        } catch (e) {
          if (k) releaseKept(sessionKey, k, false);
          reject(classify(e, false, false));
          return;
        }
        timers.push(setTimeout(() => finish(new TimeoutError('total', totalTimeoutMs)), totalTimeoutMs));
        timers.push(setTimeout(() => { if (!handshakeDone) finish(new TimeoutError('connect', connectTimeoutMs)); }, connectTimeoutMs));
        if (req.signal) {
          if (req.signal.aborted) return onAbort();
          req.signal.addEventListener('abort', onAbort, { once: true });
        }
        r.on('socket', (s) => {
          const sock = s as TLSSocket;
          const established = (): void => {
            handshakeDone = true;
            tlsProtocol = sock.getProtocol() ?? undefined;
            tlsSessionReused = sock.isSessionReused();
            if (wantPeerCertificates) peerCertificates = peerChain(sock);
            if (opts.unauthenticatedBootstrap && !sock.authorized) authorizationError = String(sock.authorizationError ?? 'unauthorized');
          };
          if (r.reusedSocket) {
            // a kept-alive connection (HttpSession, kept connection): already connected and authenticated
            tcpConnected = true;
            established();
            return;
          }
          if (httpSession) httpSession.connections++;
          sock.once('connect', () => (tcpConnected = true));
          if (resume) sock.on('session', (sess: Buffer) => lruSet(tlsSessions, sessionKey, SESSIONS_MAX, sess));
          sock.once('secureConnect', established);
        });
        r.on('error', (e) => finish(classify(e, handshakeDone, tcpConnected)));
        r.on('response', (res) => {
          const declared = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
          if (declared !== undefined && Number.isFinite(declared) && declared > limit) {
            finish(new ResponseTooLargeError(limit, declared)); // settle first: destroy() emits 'aborted'
            res.destroy();
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.byteLength;
            if (size > limit) {
              finish(new ResponseTooLargeError(limit));
              res.destroy();
              return;
            }
            chunks.push(chunk);
          });
          res.on('error', (e) => finish(classify(e, true, true)));
          res.on('aborted', () => finish(new ConnectionError('response aborted by the server')));
          res.on('end', () => {
            if (!res.complete) return finish(new ConnectionError('connection closed before the response was complete'));
            httpSession?.storeSetCookie(res.headers['set-cookie']);
            finish(undefined, {
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: new Uint8Array(Buffer.concat(chunks)),
              peerCertificates,
              tlsProtocol,
              tlsSessionReused,
              ...(authorizationError !== undefined ? { authorizationError } : {}),
            });
          });
        });
        r.end(body);
      });
    },
  };
}

/** The server's certificates as presented, leaf first (getPeerCertificate(true) decodes every one: on request only). */
function peerChain(sock: TLSSocket): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let c = sock.getPeerCertificate(true);
  const seen = new Set<string>();
  while (c && c.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    chain.push(new Uint8Array(c.raw));
    c = c.issuerCertificate;
  }
  return chain;
}

/** First value of a (lower-cased) header. */
export function headerValue(res: TransportResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
