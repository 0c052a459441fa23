// The lab server: HTTPS on 127.0.0.1 (port 0 by default) with a certificate issued by its own CA for
// 127.0.0.1/localhost, TLS client certificates requested (validated per endpoint), a Router with the EST handlers
// registered; later features register more routes on `server.router`.
import { generateKeyPairSync } from 'node:crypto';
import https from 'node:https';
import { certificateDer, certificatePem, certificatesFromPem } from './pki/cert.js';
import { EST_WELL_KNOWN_PATH, type CsrAttrs } from './pki/est.js';
import { subjectAltName } from './pki/issue.js';
import { LabCa } from './ca.js';
import {
  DEFAULT_CSR_ATTRS,
  type Base64EncodeOptions,
  registerEstHandlers,
  type EstLabState,
  type IssuedRecord,
  type ManualApprovalOptions,
  type PendingRequest,
} from './est.js';
import { registerPalHandlers } from './pal.js';
import { LabAttestation, type LabAttestationOptions } from './attestation.js';
import { Router } from './router.js';
import { listen, routerListener } from './http-core.js';

export interface LabServerOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Load the CA from / save it to this directory. */
  caDir?: string;
  /** Reuse an existing CA object (takes precedence over caDir). */
  ca?: LabCa;
  /** HTTP Basic users: name → password. */
  users?: Record<string, string>;
  /** PEM CA certificates whose device certificates (IDevIDs) may authenticate /simpleenroll. */
  idevidCaPems?: string[];
  /** Default true: /simpleenroll requires Basic or client-certificate authentication. */
  requireAuth?: boolean;
  /** Validity of issued certificates (default 30 days). */
  certValiditySeconds?: number;
  /** Enable 202 + Retry-After manual approval. */
  manualApproval?: ManualApprovalOptions;
  /** Accepted label segments (default: any valid label). */
  labels?: string[];
  /** CSR attributes served by /csrattrs; null → 204. */
  csrAttrs?: Partial<CsrAttrs> | null;
  /** Include the issuing CA in enrollment responses (default true). */
  includeChainInEnroll?: boolean;
  /** How base64 bodies are written (line length, EOL, final newline). */
  base64?: Base64EncodeOptions;
  /** Request body cap (default 64 KiB → 413). */
  maxRequestBytes?: number;
  tlsMinVersion?: 'TLSv1.2' | 'TLSv1.3';
  tlsMaxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Lab clock (validation and issuance times). */
  now?: () => Date;
  log?: (line: string) => void;
  /** Nonce endpoint (served when this is set, even `{}`) + CSR evidence check (runs when trustAnchors are given). */
  attestation?: Omit<LabAttestationOptions, 'now' | 'log'>;
  /** HTTP keep-alive timeout of the server (node's default 5 s); tests close idle connections sooner. */
  keepAliveTimeoutMs?: number;
}

export interface LabServer {
  /** "https://127.0.0.1:<port>" */
  url: string;
  /** url + "/.well-known/est" (+ "/<label>") */
  estUrl(label?: string): string;
  host: string;
  port: number;
  ca: LabCa;
  router: Router;
  /** The root CA certificate (what clients configure as their TA). */
  trustAnchorPem: string;
  /** Root + issuing CA, as served by /cacerts. */
  caCertsPem: string;
  serverCertPem: string;
  /** Approves one pending request (by id or id prefix) or, without an argument, all. Returns how many. */
  approve(id?: string): number;
  pendingRequests(): PendingRequest[];
  issued: IssuedRecord[];
  setManualApproval(opts: ManualApprovalOptions | undefined): void;
  /** The nonce service and evidence verifier. */
  attestation: LabAttestation;
  close(): Promise<void>;
}

export async function createLabServer(options: LabServerOptions = {}): Promise<LabServer> {
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? ((): Date => new Date());
  const log = options.log ?? ((): void => {});
  const ca = options.ca ?? (await LabCa.create({ ...(options.caDir ? { dir: options.caDir } : {}), now: now() }));
  const maxRequestBytes = options.maxRequestBytes ?? 64 * 1024;

  // Server TLS identity: a fresh P-256 key, certificate for 127.0.0.1 / ::1 / localhost from the issuing CA.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const t = now();
  const serverCert = await ca.issue({
    subject: { O: 'enrolld lab', CN: 'localhost' },
    spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
    notBefore: new Date(t.getTime() - 3_600_000),
    notAfter: new Date(t.getTime() + 365 * 86_400_000),
    profile: 'server',
    extensions: [subjectAltName({ dns: ['localhost'], ip: ['127.0.0.1', '::1'] })],
  });
  const serverCertPem = certificatePem(serverCert);
  const idevidCaDers = (options.idevidCaPems ?? []).flatMap((p) => certificatesFromPem(p).map(certificateDer));

  const state: EstLabState = {
    config: {
      ca,
      users: options.users ?? {},
      idevidCaDers,
      requireAuth: options.requireAuth ?? true,
      certValiditySeconds: options.certValiditySeconds ?? 30 * 86_400,
      manualApproval: options.manualApproval,
      labels: options.labels,
      csrAttrs: options.csrAttrs === undefined ? DEFAULT_CSR_ATTRS : options.csrAttrs,
      includeChainInEnroll: options.includeChainInEnroll ?? true,
      base64: options.base64 ?? {},
      now,
      log,
    },
    pending: new Map(),
    issued: [],
  };
  const attestation = new LabAttestation({ ...options.attestation, now, log });
  if (attestation.enabled) state.config.checkEvidence = (csr, at) => attestation.checkCsr(csr, at);
  const router = new Router();
  registerEstHandlers(router, state);
  // GET/POST /.well-known/est[/<label>]/nonce — only when asked for, so callers may still register their own /nonce.
  if (options.attestation) attestation.register(router);
  registerPalHandlers(router, state.config); // RFC 8295 /pal, /eecerts, /crls (deploy/lab/pal.ts; labPal(router))

  const server = https.createServer(
    {
      key: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
      cert: serverCertPem + ca.issuing.pem,
      // Ask for a client certificate; acceptance is decided per endpoint (Basic-only clients send none).
      requestCert: true,
      rejectUnauthorized: false,
      ca: [ca.root.pem, ca.issuing.pem, ...(options.idevidCaPems ?? [])],
      minVersion: options.tlsMinVersion ?? 'TLSv1.2',
      maxVersion: options.tlsMaxVersion ?? 'TLSv1.3',
    },
    routerListener(router, { maxRequestBytes, log }),
  );
  if (options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = options.keepAliveTimeoutMs;
  server.on('tlsClientError', (err) => log(`lab tls client error: ${err.message}`));

  const port = await listen(server, host, options.port);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `https://${urlHost}:${port}`;
  log(`lab server listening on ${url}`);

  return {
    url,
    estUrl: (label?: string) => `${url}${EST_WELL_KNOWN_PATH}${label ? `/${label}` : ''}`,
    host,
    port,
    ca,
    router,
    trustAnchorPem: ca.root.pem,
    caCertsPem: ca.root.pem + ca.issuing.pem,
    serverCertPem,
    approve(id?: string): number {
      let n = 0;
      for (const p of state.pending.values()) {
        if (id === undefined || p.id.startsWith(id)) {
          p.approved = true;
          n++;
        }
      }
      return n;
    },
    pendingRequests: () => [...state.pending.values()].map((p) => ({ ...p })),
    issued: state.issued,
    setManualApproval(opts) {
      state.config.manualApproval = opts;
    },
    attestation,
    close(): Promise<void> {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
