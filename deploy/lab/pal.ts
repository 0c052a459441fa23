// Lab endpoints for the RFC 8295 extensions the agent's PAL cycle uses, driven by in-memory state the tests (and
// `enrolld demo`) control:
//   GET /.well-known/est[/label]/pal[/<n>]   per-device PAL (§2.2/§2.3) in JSON or XML by Accept; the device is the
//                                            Basic user or the CN of a lab/IDevID client certificate; a PAL longer
//                                            than `pageSize` entries is split into pages chained with 0001 entries
//                                            whose URI is an absolute https URL on this server (…/pal/<n>).
//   GET …/eecerts[/<id>]                     certs-only of the device's peer certificates (§3).
//   GET …/crls[/<id>]                        crls-only (§4.2) of CRLs issued by the lab CA (issueLabCrl below).
//   GET …/simpleenroll, …/simplereenroll     §9 success/failure retrieval, answering what setRetrieval() set.
// Test hooks: raw page overrides (garbage, oversized, wrong type) and explicit page lists (e.g. a 0001 loop).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { PAL_MEDIA_TYPES, PackageType, writePal, type PalEntry, type PalFormat } from './pal-format.js';
import { certificateDer, commonName, describeName } from './pki/cert.js';
import { certsOnly } from './pki/certs-only.js';
import { der, toAb as toArrayBuffer } from './pki/der.js';
import { EST_WELL_KNOWN_PATH, MEDIA_TYPES } from './pki/est.js';
import { OID } from './pki/oids.js';
import { checkBasic, checkClientCert } from './auth.js';
import type { CaEntity, LabCa } from './ca.js';
import { base64Text as encodeBase64Body, type EstLabConfig } from './est.js';

/** RFC 8295 §4.2 crls-only media type. */
export const MEDIA_TYPE_CRLS_ONLY = 'application/pkcs7-mime; smime-type=crls-only';
import { text, type LabRequest, type LabResponse, type Router } from './router.js';

// ---------------------------------------------------------------------------------------------------------------
// CRLs from the lab CA (RFC 5280 §5), with pkijs

export interface LabCrlOptions {
  /** Serial numbers (hex, or the certificates) revoked, with their revocation dates (default thisUpdate). */
  revoked?: Array<{ serial: string | pkijs.Certificate; date?: Date }>;
  thisUpdate: Date;
  /** Default thisUpdate + 7 days. */
  nextUpdate?: Date;
  /** cRLNumber (RFC 5280 §5.2.3). */
  crlNumber: bigint;
  /** Issuer name written in the CRL (default the signer's subject — override only to forge one in tests). */
  issuer?: pkijs.RelativeDistinguishedNames;
}

function integerFromBigint(n: bigint): asn1js.Integer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  if (parseInt(hex[0]!, 16) >= 8) hex = '00' + hex;
  return new asn1js.Integer({ valueHex: toArrayBuffer(new Uint8Array(Buffer.from(hex, 'hex'))) });
}

/** Issues a v2 CRL signed by `signer` (the lab's issuing or root CA entity); returns its DER. */
export async function issueLabCrl(signer: CaEntity, o: LabCrlOptions): Promise<Uint8Array> {
  const crl = new pkijs.CertificateRevocationList({
    version: 1,
    issuer: o.issuer ?? signer.certificate.subject,
    thisUpdate: new pkijs.Time({ type: 0, value: o.thisUpdate }),
    nextUpdate: new pkijs.Time({ type: 0, value: o.nextUpdate ?? new Date(o.thisUpdate.getTime() + 7 * 86_400_000) }),
    ...(o.revoked && o.revoked.length > 0
      ? {
          revokedCertificates: o.revoked.map(
            (r) =>
              new pkijs.RevokedCertificate({
                userCertificate:
                  typeof r.serial === 'string'
                    ? new asn1js.Integer({ valueHex: toArrayBuffer(new Uint8Array(Buffer.from(r.serial, 'hex'))) })
                    : r.serial.serialNumber,
                revocationDate: new pkijs.Time({ type: 0, value: r.date ?? o.thisUpdate }),
              }),
          ),
        }
      : {}),
    crlExtensions: new pkijs.Extensions({
      extensions: [
        new pkijs.Extension({
          extnID: '2.5.29.35',
          critical: false,
          extnValue: new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: toArrayBuffer(signer.keyId) }) }).toSchema().toBER(false),
        }),
        new pkijs.Extension({ extnID: '2.5.29.20', critical: false, extnValue: integerFromBigint(o.crlNumber).toBER(false) }),
      ],
    }),
  });
  await crl.sign(signer.privateKey, 'SHA-256');
  return new Uint8Array(crl.toSchema(true).toBER(false));
}

/** A crls-only message (RFC 8295 §4.2): degenerate SignedData with the CRLs and no certificates or signers. */
export function createCrlsOnly(crlsDer: Uint8Array[]): Uint8Array {
  const crls = crlsDer.map((d) => new pkijs.CertificateRevocationList({ schema: der(d, 'CertificateList') }));
  const signed = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
    digestAlgorithms: [],
    signerInfos: [],
    crls,
  });
  const ci = new pkijs.ContentInfo({ contentType: OID.signedData, content: signed.toSchema(true) });
  return new Uint8Array(ci.toSchema().toBER(false));
}

// ---------------------------------------------------------------------------------------------------------------
// PAL service state

export interface RawPage {
  status: number;
  contentType?: string;
  body?: string | Uint8Array;
}

export type LabRetrieval =
  | { kind: 'issued'; certificatesDer: Uint8Array[] }
  | { kind: 'pending'; retryAfterSeconds: number }
  | { kind: 'rejected'; status: number; text: string };

export interface LabPalRequestRecord {
  deviceId: string;
  path: string;
  accept: string | undefined;
  format: PalFormat | undefined;
  /** How the device authenticated: HTTP Basic or a TLS client certificate. */
  auth: 'basic' | 'certificate';
}

export interface LabPalOptions {
  /** Entries per page before 0001 paging kicks in (default 100, minimum 2). */
  pageSize?: number;
}

export class LabPalService {
  pageSize: number;
  private readonly pals = new Map<string, PalEntry[]>();
  private readonly explicitPages = new Map<string, PalEntry[][]>();
  private readonly raw = new Map<string, RawPage>();
  private readonly eecerts = new Map<string, Uint8Array[]>();
  private readonly retrievals = new Map<string, LabRetrieval>();
  private revoked: Array<{ serial: string; date: Date }> = [];
  private crlNumber = 0n;
  private currentCrls: Uint8Array[] | undefined;
  /** Every PAL page request answered (for assertions). */
  readonly requests: LabPalRequestRecord[] = [];

  constructor(
    readonly config: EstLabConfig,
    opts: LabPalOptions = {},
  ) {
    this.pageSize = Math.max(2, opts.pageSize ?? 100);
  }

  get ca(): LabCa {
    return this.config.ca;
  }

  /** Replaces the device's PAL (paged automatically by pageSize). */
  setPal(deviceId: string, entries: readonly PalEntry[]): void {
    this.explicitPages.delete(deviceId);
    this.pals.set(deviceId, [...entries]);
  }

  /** Appends one entry to the device's PAL. */
  pushPackage(deviceId: string, entry: PalEntry): void {
    this.explicitPages.delete(deviceId);
    this.pals.set(deviceId, [...(this.pals.get(deviceId) ?? []), entry]);
  }

  getPal(deviceId: string): PalEntry[] {
    return [...(this.pals.get(deviceId) ?? [])];
  }

  clear(deviceId?: string): void {
    for (const m of [this.pals, this.explicitPages, this.eecerts, this.retrievals] as Array<Map<string, unknown>>) {
      if (deviceId === undefined) m.clear();
      else for (const k of [...m.keys()]) if (k === deviceId || k.startsWith(`${deviceId}\n`)) m.delete(k);
    }
    if (deviceId === undefined) this.raw.clear();
    else for (const k of [...this.raw.keys()]) if (k.startsWith(`${deviceId}\n`)) this.raw.delete(k);
  }

  /** Serves these pages verbatim (page n at …/pal/<n>; the 0001 entries are the caller's, e.g. to build a loop). */
  setPages(deviceId: string, pages: PalEntry[][]): void {
    this.explicitPages.set(deviceId, pages.map((p) => [...p]));
  }

  /** Overrides one page (0 = the first) with a raw response: garbage, wrong media type, oversized body, errors. */
  setRawPage(deviceId: string, page: number, raw: RawPage | undefined): void {
    const k = `${deviceId}\n${page}`;
    if (raw) this.raw.set(k, raw);
    else this.raw.delete(k);
  }

  /** Peer certificates served by /eecerts to the device ('*' = every device without its own list). */
  setEeCerts(deviceId: string, certsDer: Uint8Array[]): void {
    this.eecerts.set(deviceId, [...certsDer]);
  }

  /** Issues a client certificate for a fresh software key from the lab issuing CA (a "peer"); returns its DER. */
  async issuePeerCertificate(cn: string, validityDays = 30): Promise<Uint8Array> {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const t = this.config.now();
    const cert = await this.ca.issue({
      subject: { O: 'enrolld lab peers', CN: cn },
      spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
      notBefore: new Date(t.getTime() - 60_000),
      notAfter: new Date(t.getTime() + validityDays * 86_400_000),
      profile: 'client-server',
    });
    return certificateDer(cert);
  }

  /** Adds a certificate to the revocation list and reissues the CRL (next cRLNumber). */
  async revoke(cert: pkijs.Certificate | string, date?: Date): Promise<Uint8Array> {
    const serial = typeof cert === 'string' ? cert : Buffer.from(cert.serialNumber.valueBlock.valueHexView).toString('hex');
    this.revoked.push({ serial, date: date ?? this.config.now() });
    return this.reissueCrl();
  }

  /** Issues a fresh CRL from the issuing CA (next cRLNumber) and serves it from /crls. */
  async reissueCrl(): Promise<Uint8Array> {
    this.crlNumber += 1n;
    const der = await issueLabCrl(this.ca.issuing, { thisUpdate: new Date(this.config.now().getTime() - 60_000), crlNumber: this.crlNumber, revoked: this.revoked });
    this.currentCrls = [der];
    return der;
  }

  /** Serves exactly these CRLs from /crls (e.g. one signed by an unrelated key); undefined → the lab CA's CRL. */
  setCrls(crlsDer: Uint8Array[] | undefined): void {
    this.currentCrls = crlsDer ? [...crlsDer] : undefined;
  }

  /** What GET …/simpleenroll or …/simplereenroll answers the device (§9 retrieval). */
  setRetrieval(deviceId: string, operation: 'simpleenroll' | 'simplereenroll', r: LabRetrieval | undefined): void {
    const k = `${deviceId}\n${operation}`;
    if (r) this.retrievals.set(k, r);
    else this.retrievals.delete(k);
  }

  /** Splits a PAL into pages of at most pageSize entries, each non-last page ending in a 0001 pointer. */
  paginate(entries: readonly PalEntry[], nextUri: (page: number) => string): PalEntry[][] {
    const n = this.pageSize;
    const pages: PalEntry[][] = [];
    let rest = [...entries];
    while (rest.length > n) {
      pages.push([...rest.slice(0, n - 1), { type: PackageType.AdditionalPal, size: 0, info: { kind: 'uri', uri: nextUri(pages.length + 1) } }]);
      rest = rest.slice(n - 1);
    }
    pages.push(rest);
    return pages;
  }

  // -------------------------------------------------------------------------------------------------------------
  // request handling

  async identify(req: LabRequest): Promise<{ deviceId: string; auth: 'basic' | 'certificate' } | LabResponse> {
    const basic = checkBasic(req, this.config.users);
    if (basic.kind === 'invalid') return text(401, basic.reason, { 'www-authenticate': 'Basic realm="enrolld-lab-est", charset="UTF-8"' });
    if (basic.kind === 'ok') return { deviceId: basic.user, auth: 'basic' };
    const cc = await checkClientCert(req, { lab: [this.ca.root.der], labIntermediates: [this.ca.issuing.der], idevid: this.config.idevidCaDers }, this.config.now());
    if (cc.kind === 'invalid') return text(403, cc.reason);
    if (cc.kind === 'ok') {
      const value = commonName(cc.certificate.subject);
      if (value) return { deviceId: value, auth: 'certificate' };
      return text(403, `client certificate "${describeName(cc.certificate.subject)}" has no CN`);
    }
    return text(401, 'authentication required (RFC 8295 §2: the server MUST authenticate the client)', { 'www-authenticate': 'Basic realm="enrolld-lab-est", charset="UTF-8"' });
  }

  async handlePal(req: LabRequest): Promise<LabResponse> {
    const who = await this.identify(req);
    if ('status' in who) return who;
    const { deviceId, auth } = who;
    const page = req.params.page === undefined ? 0 : Number(req.params.page);
    if (!Number.isInteger(page) || page < 0 || page > 10_000) return text(404, `no PAL page ${req.params.page}`);
    const accept = typeof req.headers.accept === 'string' ? req.headers.accept : undefined;
    const format = negotiate(accept);
    this.requests.push({ deviceId, path: req.path, accept, format, auth });
    const raw = this.raw.get(`${deviceId}\n${page}`);
    if (raw) {
      return { status: raw.status, ...(raw.contentType ? { headers: { 'content-type': raw.contentType } } : {}), ...(raw.body !== undefined ? { body: raw.body } : {}) };
    }
    if (!format) return text(406, `Accept must allow ${PAL_MEDIA_TYPES.json} or ${PAL_MEDIA_TYPES.xml}`);
    const host = typeof req.headers.host === 'string' ? req.headers.host : '127.0.0.1';
    const label = req.params.label ? `/${req.params.label}` : '';
    const pages = this.explicitPages.get(deviceId) ?? this.paginate(this.pals.get(deviceId) ?? [], (n) => `https://${host}${EST_WELL_KNOWN_PATH}${label}/pal/${n}`);
    const entries = pages[page];
    if (!entries) return text(404, `no PAL page ${page} for ${deviceId}`);
    const { body, contentType } = writePal(entries, format);
    return { status: 200, headers: { 'content-type': contentType }, body };
  }

  handleEeCerts(deviceId: string | undefined): LabResponse {
    const certs = (deviceId !== undefined ? this.eecerts.get(deviceId) : undefined) ?? this.eecerts.get('*');
    if (!certs || certs.length === 0) return text(404, 'no peer certificates for this client');
    return { status: 200, headers: { 'content-type': MEDIA_TYPES.certsOnly }, body: encodeBase64Body(certsOnly(certs), this.config.base64) };
  }

  async handleCrls(): Promise<LabResponse> {
    const crls = this.currentCrls ?? [await this.reissueCrl()];
    return { status: 200, headers: { 'content-type': MEDIA_TYPE_CRLS_ONLY }, body: encodeBase64Body(createCrlsOnly(crls), this.config.base64) };
  }

  async handleRetrieval(req: LabRequest, operation: 'simpleenroll' | 'simplereenroll'): Promise<LabResponse> {
    const who = await this.identify(req);
    if ('status' in who) return who;
    const r = this.retrievals.get(`${who.deviceId}\n${operation}`);
    if (!r) return text(404, `no ${operation} response waiting for ${who.deviceId}`);
    if (r.kind === 'rejected') return text(r.status, r.text);
    if (r.kind === 'pending') {
      return text(202, 'request still pending', { 'retry-after': String(r.retryAfterSeconds) });
    }
    return { status: 200, headers: { 'content-type': MEDIA_TYPES.certsOnly }, body: encodeBase64Body(certsOnly(r.certificatesDer), this.config.base64) };
  }
}

/** Accept → PAL encoding (RFC 9110 §12.5.1 q-values; JSON wins ties; undefined when neither is acceptable). */
export function negotiate(accept: string | undefined): PalFormat | undefined {
  if (!accept || accept.trim() === '') return 'json';
  let best: { format: PalFormat; q: number } | undefined;
  const consider = (format: PalFormat, q: number): void => {
    if (q > 0 && (!best || q > best.q || (q === best.q && format === 'json' && best.format !== 'json'))) best = { format, q };
  };
  for (const part of accept.split(',')) {
    const [range, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const qp = params.find((p) => p.startsWith('q='));
    const q = qp ? Number(qp.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (range === PAL_MEDIA_TYPES.json) consider('json', q);
    else if (range === PAL_MEDIA_TYPES.xml || range === 'text/xml') consider('xml', q);
    else if (range === 'application/*' || range === '*/*') {
      consider('json', q - 0.0001); // a wildcard ranks below an explicit type with the same q
      consider('xml', q - 0.0002);
    }
  }
  return best?.format;
}

// ---------------------------------------------------------------------------------------------------------------
// registration

const services = new WeakMap<Router, LabPalService>();

/** Registers the PAL, /eecerts, /crls and §9 retrieval routes; the service is reachable with labPal(router). */
export function registerPalHandlers(router: Router, config: EstLabConfig, opts: LabPalOptions = {}): LabPalService {
  const svc = new LabPalService(config, opts);
  services.set(router, svc);
  const base = `${EST_WELL_KNOWN_PATH}/:label?`;
  router.register('GET', `${base}/pal`, (req) => svc.handlePal(req));
  router.register('GET', `${base}/pal/:page`, (req) => svc.handlePal(req));
  // §3, §4: no client authentication needed (the contents are CA-signed); a device still gets its own list.
  const optionalDevice = async (req: LabRequest): Promise<string | undefined> => {
    const who = await svc.identify(req);
    return 'deviceId' in who ? who.deviceId : undefined;
  };
  router.register('GET', `${base}/eecerts`, async (req) => svc.handleEeCerts(await optionalDevice(req)));
  router.register('GET', `${base}/eecerts/:id`, async (req) => svc.handleEeCerts(await optionalDevice(req)));
  router.register('GET', `${base}/crls`, () => svc.handleCrls());
  router.register('GET', `${base}/crls/:id`, () => svc.handleCrls());
  router.register('GET', `${base}/simpleenroll`, (req) => svc.handleRetrieval(req, 'simpleenroll'));
  router.register('GET', `${base}/simplereenroll`, (req) => svc.handleRetrieval(req, 'simplereenroll'));
  return svc;
}

/** The PAL service registered on a lab server's router. */
export function labPal(router: Router): LabPalService {
  const svc = services.get(router);
  if (!svc) throw new Error('no PAL service registered on this router');
  return svc;
}

/** A fresh random hex token (URIs that identify a package). */
export const packageId = (): string => randomBytes(6).toString('hex');
