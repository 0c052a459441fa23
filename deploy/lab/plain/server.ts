// The `plain` lab profile: an RFC 7030 EST server written from the RFC text and modelled on the defaults of Cisco
// libest's estserver, sharing no code with the agent. What it does that a server built to agree with the agent
// would not: no /pal and no /nonce (404); /cacerts with root key update certificates (§4.1.3); /csrattrs asking
// for P-384 + SHA-384 with a NUL byte after the base64; HTTP Basic demanded even after TLS client authentication
// (§3.2.3); 202 + Retry-After on the first request for a CSR (§4.2.3); /serverkeygen returning the key as a PKCS#1
// RSAPrivateKey (libest) unless asked for PrivateKeyInfo (§4.4.2); a CA that drops O= from the requested subject.
import { createHash, generateKeyPairSync, timingSafeEqual, X509Certificate } from 'node:crypto';
import https from 'node:https';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { listen, routerListener } from '../http-core.js';
import { Router, text, type LabRequest, type LabResponse } from '../router.js';
import { PlainCa, type RolloverCerts } from './ca.js';
import { encodePlainCsrAttrs, type PlainCsrAttrsOptions } from './csrattrs.js';
import { CsrRejected, verifyPkcs10, type VerifiedCsr } from '../pki/pkcs10.js';
import { base64Body, fromBase64Body } from '../pki/base64-body.js';
import { CERTS_ONLY, certsOnly } from '../pki/certs-only.js';
import { OID } from '../pki/oids.js';
import { pem } from '../pki/pem.js';

export const EST_PATH = '/.well-known/est';

export interface PlainLabOptions {
  host?: string;
  port?: number;
  /** HTTP Basic users: name → password. */
  users?: Record<string, string>;
  /** libest default true: HTTP authentication on every enrollment, even after TLS client auth (libest -o turns it off). */
  httpAuth?: boolean;
  /** Seconds in Retry-After of the first answer (202) to each new CSR (libest -m); null: issue at once. Default 60. */
  retryAfterSeconds?: number | null;
  /** /csrattrs content; null → 204. Default: P-384 + SHA-384, OID form, NUL-terminated. */
  csrAttrs?: PlainCsrAttrsOptions | null;
  /**
   * When /csrattrs asks for challengePassword: 'present' requires one in the CSR, 'tls-unique' requires the RFC 7030
   * §3.5 linking value (base64 of tls-unique; TLS 1.2 only). Default: not checked.
   */
  challengePasswordCheck?: 'present' | 'tls-unique';
  /** Format of the /serverkeygen key part: 'pkcs1' (libest, default) or 'pkcs8' (RFC 7030 §4.4.2 PrivateKeyInfo). */
  serverKeygenFormat?: 'pkcs1' | 'pkcs8';
  /** Drop O= from the requested subject (default true). */
  dropOrganization?: boolean;
  /** End-entity validity (default 30 days; capped at the root's). */
  certValiditySeconds?: number;
  /** Root validity (default 10 years). */
  caValiditySeconds?: number;
  /** Names of root generations after a key update: 'same' (default, only the key changes) or 'generation' ("… G2"). */
  rootNames?: 'same' | 'generation';
  maxRequestBytes?: number;
  tlsMaxVersion?: 'TLSv1.2' | 'TLSv1.3';
  now?: () => Date;
  log?: (line: string) => void;
}

export type PlainOperation = 'simpleenroll' | 'simplereenroll' | 'serverkeygen';

export interface PlainIssued {
  operation: PlainOperation;
  requestedSubject: string;
  subject: string;
  serialHex: string;
  der: Uint8Array;
  /** "ec prime256v1", "ec secp384r1", "rsa 3072", … (of the certified key). */
  key: string;
  /** Signature algorithm OID of the CSR. */
  csrSignatureAlgorithm: string;
  challengePassword: string | undefined;
  /** e.g. ["tls:CN=dev", "basic:dev"]. */
  authenticatedAs: string[];
  /** Which root issued it (1, 2, …). */
  rootGeneration: number;
}

export interface PlainRequestRecord {
  method: string;
  path: string;
  status: number;
  basic: boolean;
  clientCert: boolean;
}

export interface PlainLabServer {
  profile: 'plain';
  url: string;
  estUrl(label?: string): string;
  host: string;
  port: number;
  ca: PlainCa;
  router: Router;
  /** The root clients are given at start (generation 1). */
  trustAnchorPem: string;
  /** The current root (changes on rollover). */
  readonly currentRootPem: string;
  /** What /cacerts returns now, as PEM. */
  readonly caCertsPem: string;
  issued: PlainIssued[];
  requests: PlainRequestRecord[];
  /** CSRs answered 202 and not yet issued (SHA-256 hex of operation + DER). */
  pending: Set<string>;
  /** Root key update on demand: new root, link certificates, server certificate re-issued under the new root. */
  rollover(): RolloverCerts;
  setCsrAttrs(o: PlainCsrAttrsOptions | null): void;
  setRetryAfter(seconds: number | null): void;
  close(): Promise<void>;
}

function describeName(n: pkijs.RelativeDistinguishedNames): string {
  const short: Record<string, string> = { [OID.commonName]: 'CN', [OID.organizationName]: 'O', '2.5.4.11': 'OU', '2.5.4.6': 'C' };
  return n.typesAndValues.map((t) => `${short[t.type] ?? t.type}=${String((t.value as { valueBlock: { value: unknown } }).valueBlock.value)}`).join(',');
}

function nameBytes(n: pkijs.RelativeDistinguishedNames): Buffer {
  return Buffer.from(n.toSchema().toBER(false));
}

function unauthorized(reason: string): LabResponse {
  return text(401, reason, { 'www-authenticate': 'Basic realm="estrealm"' });
}

function checkBasic(req: LabRequest, users: Record<string, string>): { user: string; password: string } | 'none' | 'invalid' {
  const h = req.headers.authorization;
  if (!h) return 'none';
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h);
  if (!m) return 'invalid';
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return 'invalid';
  const user = decoded.slice(0, i);
  const password = decoded.slice(i + 1);
  const expected = Object.prototype.hasOwnProperty.call(users, user) ? users[user]! : undefined;
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  const same = timingSafeEqual(digest(password), digest(expected ?? '\0no-such-user'));
  return same && expected !== undefined ? { user, password } : 'invalid';
}

export async function createPlainLabServer(options: PlainLabOptions = {}): Promise<PlainLabServer> {
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? ((): Date => new Date());
  const log = options.log ?? ((): void => {});
  const users = options.users ?? {};
  const httpAuth = options.httpAuth ?? true;
  let retryAfter = options.retryAfterSeconds === undefined ? 60 : options.retryAfterSeconds;
  let csrAttrs: PlainCsrAttrsOptions | null = options.csrAttrs === undefined ? {} : options.csrAttrs;
  const validityMs = (options.certValiditySeconds ?? 30 * 86_400) * 1000;
  const ca = PlainCa.create({ now: now(), ...(options.caValiditySeconds ? { caValiditySeconds: options.caValiditySeconds } : {}), ...(options.rootNames ? { rootNames: options.rootNames } : {}) });
  const firstRootPem = ca.current.pem;
  const issued: PlainIssued[] = [];
  const requests: PlainRequestRecord[] = [];
  const pending = new Set<string>();

  const serverIdentity = (): https.ServerOptions => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const t = now();
    const cert = ca.issue({
      subject: [[OID.commonName, 'localhost']],
      spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
      notBefore: new Date(t.getTime() - 3_600_000),
      notAfter: new Date(t.getTime() + 365 * 86_400_000),
      profile: 'server',
      extensions: [sanLocalhost()],
    });
    return {
      key: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
      cert: [cert, ...ca.linkChain()].map((c) => pem('CERTIFICATE', c)).join(''),
      ca: ca.generations.map((g) => g.pem),
    };
  };

  const clientCert = (req: LabRequest): { subject: string; cert: pkijs.Certificate } | 'none' | string => {
    const leafDer = req.tls.peerChain[0];
    if (!leafDer) return 'none';
    const at = now();
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(Buffer.from(leafDer));
    } catch {
      return 'unparseable client certificate';
    }
    if (new Date(leaf.validFrom) > at || new Date(leaf.validTo) < at) return 'client certificate is not valid now';
    if (!ca.issuerOf(leaf, at)) return 'client certificate was not issued by this CA';
    const cert = pkijs.Certificate.fromBER(leafDer);
    return { subject: describeName(cert.subject), cert };
  };

  const readCsr = (req: LabRequest): VerifiedCsr | LabResponse => {
    const ct = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (ct !== 'application/pkcs10') return text(415, 'Content-Type must be application/pkcs10');
    try {
      return verifyPkcs10(fromBase64Body(req.body));
    } catch (e) {
      return text(400, `${e instanceof CsrRejected ? 'invalid CSR' : 'malformed request'}: ${(e as Error).message}`);
    }
  };

  /** RFC 7030 §3.2.3 + libest: HTTP Basic is demanded whether or not TLS client authentication succeeded. */
  const authenticate = (req: LabRequest, op: PlainOperation): { who: string[]; password?: string } | LabResponse => {
    const who: string[] = [];
    const cc = clientCert(req);
    if (typeof cc === 'string' && cc !== 'none') return text(403, cc);
    if (typeof cc === 'object') who.push(`tls:${cc.subject}`);
    if (op === 'simplereenroll' && cc === 'none') return text(403, 're-enrollment requires TLS client authentication with the certificate being renewed');
    // libest -o: a valid TLS client certificate suffices; without one, HTTP auth is still the way in.
    if (!httpAuth && who.length > 0) return { who };
    const b = checkBasic(req, users);
    if (b === 'none') return unauthorized('HTTP authentication required');
    if (b === 'invalid') return unauthorized('invalid HTTP credentials');
    who.push(`basic:${b.user}`);
    return { who, password: b.password };
  };

  const challengeGate = (req: LabRequest, csr: VerifiedCsr): LabResponse | undefined => {
    if (!csrAttrs?.challengePassword || !options.challengePasswordCheck) return undefined;
    if (csr.challengePassword === undefined) return text(400, 'CSR lacks the challengePassword asked for in /csrattrs');
    if (options.challengePasswordCheck === 'tls-unique') {
      if (!req.tls.tlsUnique) return text(400, 'tls-unique linking needs TLS 1.2 (TLS 1.3 has no tls-unique)');
      if (csr.challengePassword !== Buffer.from(req.tls.tlsUnique).toString('base64')) return text(400, 'challengePassword does not match this TLS session (RFC 7030 §3.5)');
    }
    return undefined;
  };

  /** libest -m: the first request for a CSR is answered 202 + Retry-After; the retry of the same CSR is issued. */
  const approvalGate = (op: PlainOperation, csr: VerifiedCsr): LabResponse | undefined => {
    if (retryAfter === null) return undefined;
    const id = createHash('sha256').update(op).update(csr.der).digest('hex');
    if (pending.delete(id)) return undefined;
    pending.add(id);
    log(`plain ${op}: 202 for ${id.slice(0, 12)}, retry after ${retryAfter} s`);
    return { status: 202, headers: { 'retry-after': String(retryAfter), 'content-type': 'text/plain' }, body: 'request pending\n' };
  };

  const issueFor = (op: PlainOperation, csr: VerifiedCsr, spki: Uint8Array, who: string[]): Uint8Array => {
    const t = now();
    const requested = csr.csr.subject;
    const subject = options.dropOrganization === false ? requested : new pkijs.RelativeDistinguishedNames({ typesAndValues: requested.typesAndValues.filter((a) => a.type !== OID.organizationName) });
    const san = csr.extensions.find((e) => e.extnID === OID.subjectAltName);
    const der = ca.issue({ subject, spki, notBefore: new Date(t.getTime() - 60_000), notAfter: new Date(t.getTime() + validityMs), profile: 'client', ...(san ? { extensions: [san] } : {}) });
    const cert = pkijs.Certificate.fromBER(der);
    const key = new X509Certificate(Buffer.from(der)).publicKey;
    const d = key.asymmetricKeyDetails ?? {};
    issued.push({
      operation: op,
      requestedSubject: describeName(requested),
      subject: describeName(cert.subject),
      serialHex: Buffer.from(cert.serialNumber.valueBlock.valueHexView).toString('hex'),
      der,
      key: key.asymmetricKeyType === 'ec' ? `ec ${d.namedCurve}` : `${key.asymmetricKeyType} ${d.modulusLength}`,
      csrSignatureAlgorithm: csr.signatureAlgorithm,
      challengePassword: csr.challengePassword,
      authenticatedAs: who,
      rootGeneration: ca.generations.length,
    });
    log(`plain ${op}: issued "${describeName(cert.subject)}" (asked "${describeName(requested)}") to ${who.join(' + ')}`);
    return der;
  };

  const certsOnlyResponse = (certs: Uint8Array[]): LabResponse => ({
    status: 200,
    headers: { 'content-type': CERTS_ONLY, 'content-transfer-encoding': 'base64' },
    body: base64Body(certsOnly(certs)),
  });

  const router = new Router();
  const base = `${EST_PATH}/:label?`;
  // §4.1.2: certs-only with the current root; after a key update, NewWithNew, NewWithOld and OldWithNew (§4.1.3).
  router.register('GET', `${base}/cacerts`, () => certsOnlyResponse(ca.caCertificates()));
  // §4.5.2: 204 when there is nothing to ask for.
  router.register('GET', `${base}/csrattrs`, () => {
    if (csrAttrs === null) return { status: 204 };
    const b64 = base64Body(encodePlainCsrAttrs(csrAttrs)).trimEnd();
    const body = csrAttrs.trailingNul === false ? b64 + '\n' : b64 + '\0';
    return { status: 200, headers: { 'content-type': 'application/csrattrs', 'content-transfer-encoding': 'base64' }, body };
  });

  const enroll = (op: 'simpleenroll' | 'simplereenroll') => (req: LabRequest): LabResponse => {
    const auth = authenticate(req, op);
    if ('status' in auth) return auth;
    const csr = readCsr(req);
    if ('status' in csr) return csr;
    if (op === 'simplereenroll') {
      // §4.2.2: Subject and SubjectAltName MUST be identical to the certificate being renewed.
      const cc = clientCert(req) as { cert: pkijs.Certificate };
      const a = nameBytes(csr.csr.subject);
      const b = nameBytes(cc.cert.subject);
      if (!a.equals(b)) return text(400, `CSR subject "${describeName(csr.csr.subject)}" differs from the certificate being renewed ("${describeName(cc.cert.subject)}")`);
      const sanOf = (exts: pkijs.Extension[] | undefined): string => Buffer.from(exts?.find((e) => e.extnID === OID.subjectAltName)?.extnValue.valueBlock.valueHexView ?? []).toString('hex');
      if (sanOf(csr.extensions) !== sanOf(cc.cert.extensions)) return text(400, 'CSR subjectAltName differs from the certificate being renewed');
    }
    const refused = challengeGate(req, csr);
    if (refused) return refused;
    const wait = approvalGate(op, csr);
    if (wait) return wait;
    return certsOnlyResponse([issueFor(op, csr, csr.spkiDer, auth.who)]);
  };
  router.register('POST', `${base}/simpleenroll`, enroll('simpleenroll'));
  router.register('POST', `${base}/simplereenroll`, enroll('simplereenroll'));

  // §4.4: the server makes an RSA-2048 key; libest returns it as PKCS#1 RSAPrivateKey in the application/pkcs8 part.
  router.register('POST', `${base}/serverkeygen`, (req) => {
    const auth = authenticate(req, 'serverkeygen');
    if ('status' in auth) return auth;
    const csr = readCsr(req);
    if ('status' in csr) return csr;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    const certDer = issueFor('serverkeygen', csr, spki, auth.who);
    const keyDer = (options.serverKeygenFormat ?? 'pkcs1') === 'pkcs1'
      ? privateKey.export({ format: 'der', type: 'pkcs1' })
      : privateKey.export({ format: 'der', type: 'pkcs8' });
    const boundary = 'estServerKeyGenBoundary';
    const body = [
      `--${boundary}`,
      'Content-Type: application/pkcs8',
      'Content-Transfer-Encoding: base64',
      '',
      base64Body(new Uint8Array(keyDer)).trimEnd(),
      `--${boundary}`,
      `Content-Type: ${CERTS_ONLY}`,
      'Content-Transfer-Encoding: base64',
      '',
      base64Body(certsOnly([certDer])).trimEnd(),
      `--${boundary}--`,
      '',
    ].join('\r\n');
    return { status: 200, headers: { 'content-type': `multipart/mixed; boundary=${boundary}` }, body };
  });

  const server = https.createServer(
    { ...serverIdentity(), requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2', maxVersion: options.tlsMaxVersion ?? 'TLSv1.3' },
    routerListener(router, {
      maxRequestBytes: options.maxRequestBytes ?? 64 * 1024,
      log,
      onResponse: (req, res) => requests.push({ method: req.method, path: req.path, status: res.status, basic: req.headers.authorization !== undefined, clientCert: req.tls.peerChain.length > 0 }),
    }),
  );
  server.on('tlsClientError', (err) => log(`plain lab tls client error: ${err.message}`));
  const port = await listen(server, host, options.port);
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log(`plain lab server listening on ${url}`);

  return {
    profile: 'plain',
    url,
    estUrl: (label?: string) => `${url}${EST_PATH}${label ? `/${label}` : ''}`,
    host,
    port,
    ca,
    router,
    trustAnchorPem: firstRootPem,
    get currentRootPem() {
      return ca.current.pem;
    },
    get caCertsPem() {
      return ca.caCertificates().map((c) => pem('CERTIFICATE', c)).join('');
    },
    issued,
    requests,
    pending,
    rollover() {
      const r = ca.rollover(now());
      server.setSecureContext({ ...serverIdentity(), minVersion: 'TLSv1.2', maxVersion: options.tlsMaxVersion ?? 'TLSv1.3' } as Parameters<typeof server.setSecureContext>[0]);
      log(`plain lab: root key update to ${ca.current.name}`);
      return r;
    },
    setCsrAttrs(o) {
      csrAttrs = o;
    },
    setRetryAfter(s) {
      retryAfter = s;
    },
    close(): Promise<void> {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** subjectAltName for the server's TLS certificate: DNS localhost, IP 127.0.0.1 and ::1 (RFC 5280 §4.2.1.6). */
function sanLocalhost(): pkijs.Extension {
  const ip = (bytes: number[]): pkijs.GeneralName => new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: new Uint8Array(bytes).buffer }) });
  const names = new pkijs.GeneralNames({
    names: [new pkijs.GeneralName({ type: 2, value: 'localhost' }), ip([127, 0, 0, 1]), ip([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])],
  });
  return new pkijs.Extension({ extnID: OID.subjectAltName, critical: false, extnValue: names.toSchema().toBER(false) });
}
