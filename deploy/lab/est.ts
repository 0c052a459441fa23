// Lab EST endpoints (RFC 7030): /cacerts, /csrattrs, /simpleenroll, /simplereenroll under /.well-known/est with an
// optional label segment. Every refusal is a clear 4xx with a text reason.
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import type * as pkijs from 'pkijs';
import { fromBase64Body } from './pki/base64-body.js';
import { certsOnly } from './pki/certs-only.js';
import { certificateDer, describeName, findExtension, nameDer } from './pki/cert.js';
import { bytesEqual } from './pki/der.js';
import { encodeCsrAttrs, EST_LABEL_PATTERN, EST_WELL_KNOWN_PATH, httpDate, MEDIA_TYPES, mediaTypeEssence, type CsrAttrs } from './pki/est.js';
import { OID } from './pki/oids.js';
import { csrExtensions, verifyPkcs10 } from './pki/pkcs10.js';
import { checkBasic, checkClientCert, type ClientCertResult } from './auth.js';
import type { LabCa } from './ca.js';
import { text, type LabRequest, type LabResponse, type Router } from './router.js';
import { estNonceBinding, type NonceBinding } from './nonce-service.js';

/** How response bodies are base64-wrapped (RFC 2045 §6.8 allows other line lengths and breaks; clients must cope). */
export interface Base64EncodeOptions {
  /** Characters per line; 0 = one line. Default 64. */
  lineLength?: number;
  /** Default "\r\n". */
  eol?: string;
  /** End the last line with `eol`. Default true. */
  finalNewline?: boolean;
}

export function base64Text(der: Uint8Array, o: Base64EncodeOptions): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const n = o.lineLength ?? 64;
  const eol = o.eol ?? '\r\n';
  return (n > 0 ? (b64.match(new RegExp(`.{1,${n}}`, 'g')) ?? []) : [b64]).join(eol) + (o.finalNewline === false ? '' : eol);
}

export interface ManualApprovalOptions {
  /** Seconds the client is told to wait (default 1). */
  retryAfterSeconds?: number;
  /** Send Retry-After as an HTTP-date instead of delay-seconds. */
  retryAfterFormat?: 'seconds' | 'http-date';
  /** Approve automatically once the same request has been repeated this many times (undefined: only via approve()). */
  approveAfterPolls?: number;
}

export interface PendingRequest {
  /** SHA-256 (hex) of operation + CSR DER: the identity of "the same request". */
  id: string;
  operation: 'simpleenroll' | 'simplereenroll';
  subject: string;
  polls: number;
  approved: boolean;
  firstSeen: Date;
}

export interface IssuedRecord {
  operation: 'simpleenroll' | 'simplereenroll';
  subject: string;
  serialHex: string;
  der: Uint8Array;
  authenticatedAs: string;
}

export interface EstLabConfig {
  ca: LabCa;
  users: Record<string, string>;
  idevidCaDers: Uint8Array[];
  /** When false, /simpleenroll accepts unauthenticated requests. Default true. */
  requireAuth: boolean;
  certValiditySeconds: number;
  manualApproval: ManualApprovalOptions | undefined;
  labels: string[] | undefined;
  csrAttrs: Partial<CsrAttrs> | null;
  includeChainInEnroll: boolean;
  base64: Base64EncodeOptions;
  /** CSR evidence check (deploy/lab/attestation.ts): a refusal, or undefined to go on. */
  checkEvidence?: (csr: pkijs.CertificationRequest, at?: NonceBinding) => Promise<LabResponse | undefined>;
  now: () => Date;
  log: (line: string) => void;
}

export interface EstLabState {
  config: EstLabConfig;
  pending: Map<string, PendingRequest>;
  issued: IssuedRecord[];
}

export const DEFAULT_CSR_ATTRS: Partial<CsrAttrs> = {
  oids: [OID.ecdsaWithSHA256],
  attributes: [{ type: OID.ecPublicKey, values: [new asn1js.ObjectIdentifier({ value: OID.secp256r1 })] }],
};

function certsOnlyResponse(state: EstLabState, certs: Uint8Array[]): LabResponse {
  return {
    status: 200,
    headers: { 'content-type': MEDIA_TYPES.certsOnly, 'content-transfer-encoding': 'base64' },
    body: base64Text(certsOnly(certs), state.config.base64),
  };
}

function labelError(state: EstLabState, req: LabRequest): LabResponse | undefined {
  const label = req.params.label;
  if (label === undefined) return undefined;
  if (!EST_LABEL_PATTERN.test(label)) return text(404, `invalid EST label "${label}"`);
  if (state.config.labels && !state.config.labels.includes(label)) return text(404, `unknown EST label "${label}"`);
  return undefined;
}

function unauthorized(reason: string): LabResponse {
  return text(401, reason, { 'www-authenticate': 'Basic realm="enrolld-lab-est", charset="UTF-8"' });
}

async function clientCert(state: EstLabState, req: LabRequest): Promise<ClientCertResult> {
  const { ca, idevidCaDers, now } = state.config;
  return checkClientCert(req, { lab: [ca.root.der], labIntermediates: [ca.issuing.der], idevid: idevidCaDers }, now());
}

async function readCsr(req: LabRequest): Promise<{ csr: pkijs.CertificationRequest; der: Uint8Array } | LabResponse> {
  if (mediaTypeEssence(req.headers['content-type']) !== MEDIA_TYPES.pkcs10) return text(415, `Content-Type must be ${MEDIA_TYPES.pkcs10}`);
  let der: Uint8Array;
  try {
    der = fromBase64Body(req.body, 'request body');
  } catch (e) {
    return text(400, `malformed base64 request body: ${(e as Error).message}`);
  }
  try {
    return { csr: verifyPkcs10(der).csr, der };
  } catch (e) {
    return text(400, `invalid CSR: ${(e as Error).message}`);
  }
}

function sanDer(exts: pkijs.Extension[] | undefined): Uint8Array | undefined {
  return findExtension(exts, OID.subjectAltName)?.extnValue.valueBlock.valueHexView;
}

/** 202 bookkeeping; returns a response while the request must wait, undefined once it may be issued. */
const pendingId = (op: PendingRequest['operation'], csrDer: Uint8Array): string => createHash('sha256').update(op).update(csrDer).digest('hex');

/** Attestation evidence, checked once per request (a pending request passed it when first seen). */
async function evidenceGate(state: EstLabState, op: PendingRequest['operation'], parsed: { csr: pkijs.CertificationRequest; der: Uint8Array }, req: LabRequest): Promise<LabResponse | undefined> {
  if (!state.config.checkEvidence || state.pending.has(pendingId(op, parsed.der))) return undefined;
  // freshness-08 §6.1: the nonce must have been issued on this TLS session or under this request's cookie
  return state.config.checkEvidence(parsed.csr, estNonceBinding(req));
}

function approvalGate(state: EstLabState, op: PendingRequest['operation'], csrDer: Uint8Array, subject: string): LabResponse | undefined {
  const cfg = state.config.manualApproval;
  if (!cfg) return undefined;
  const id = pendingId(op, csrDer);
  let p = state.pending.get(id);
  if (!p) {
    p = { id, operation: op, subject, polls: 0, approved: false, firstSeen: state.config.now() };
    state.pending.set(id, p);
  } else {
    p.polls++;
    if (cfg.approveAfterPolls !== undefined && p.polls >= cfg.approveAfterPolls) p.approved = true;
  }
  if (p.approved) {
    state.pending.delete(id);
    return undefined;
  }
  const secs = cfg.retryAfterSeconds ?? 1;
  const retryAfter = cfg.retryAfterFormat === 'http-date' ? httpDate(new Date(state.config.now().getTime() + secs * 1000)) : String(secs);
  state.config.log(`est ${op} pending id=${id.slice(0, 12)} polls=${p.polls}`);
  return text(202, `request ${id.slice(0, 12)} awaits manual approval`, { 'retry-after': retryAfter });
}

async function issue(
  state: EstLabState,
  op: PendingRequest['operation'],
  csr: pkijs.CertificationRequest,
  authenticatedAs: string,
): Promise<LabResponse> {
  const { ca, now, certValiditySeconds, includeChainInEnroll } = state.config;
  const t = now();
  const san = findExtension(csrExtensions(csr), OID.subjectAltName);
  const cert = await ca.issue({
    subject: csr.subject,
    spki: csr.subjectPublicKeyInfo,
    notBefore: new Date(t.getTime() - 60_000),
    notAfter: new Date(t.getTime() + certValiditySeconds * 1000),
    profile: 'client',
    ...(san ? { extensions: [san] } : {}),
  });
  const der = certificateDer(cert);
  state.issued.push({
    operation: op,
    subject: describeName(cert.subject),
    serialHex: Buffer.from(cert.serialNumber.valueBlock.valueHexView).toString('hex'),
    der,
    authenticatedAs,
  });
  state.config.log(`est ${op} issued subject="${describeName(cert.subject)}" auth=${authenticatedAs}`);
  return certsOnlyResponse(state, includeChainInEnroll ? [der, ca.issuing.der] : [der]);
}

export function registerEstHandlers(router: Router, state: EstLabState): void {
  const base = `${EST_WELL_KNOWN_PATH}/:label?`;

  // §4.1 /cacerts: no authentication required.
  router.register('GET', `${base}/cacerts`, (req) => labelError(state, req) ?? certsOnlyResponse(state, state.config.ca.caCertificatesDer));

  // §4.5 /csrattrs: 204 when none are configured.
  router.register('GET', `${base}/csrattrs`, (req) => {
    const bad = labelError(state, req);
    if (bad) return bad;
    if (state.config.csrAttrs === null) return { status: 204 };
    return {
      status: 200,
      headers: { 'content-type': MEDIA_TYPES.csrattrs, 'content-transfer-encoding': 'base64' },
      body: base64Text(encodeCsrAttrs(state.config.csrAttrs), state.config.base64),
    };
  });

  // §4.2.1 /simpleenroll: Basic auth or a client certificate (lab-issued or IDevID).
  router.register('POST', `${base}/simpleenroll`, async (req) => {
    const bad = labelError(state, req);
    if (bad) return bad;
    let authenticatedAs: string | undefined;
    const basic = checkBasic(req, state.config.users);
    if (basic.kind === 'invalid') return unauthorized(basic.reason);
    if (basic.kind === 'ok') authenticatedAs = `basic:${basic.user}`;
    if (!authenticatedAs) {
      const cc = await clientCert(state, req);
      if (cc.kind === 'invalid') return text(403, cc.reason);
      if (cc.kind === 'ok') authenticatedAs = `cert:${cc.issuer}:${describeName(cc.certificate.subject)}`;
    }
    if (!authenticatedAs && state.config.requireAuth) return unauthorized('authentication required (HTTP Basic or TLS client certificate)');
    const parsed = await readCsr(req);
    if ('status' in parsed) return parsed;
    const refused = await evidenceGate(state, 'simpleenroll', parsed, req);
    if (refused) return refused;
    const wait = approvalGate(state, 'simpleenroll', parsed.der, describeName(parsed.csr.subject));
    if (wait) return wait;
    return issue(state, 'simpleenroll', parsed.csr, authenticatedAs ?? 'anonymous');
  });

  // §4.2.2 /simplereenroll: TLS client auth with the lab-issued certificate being renewed; same subject and SAN.
  router.register('POST', `${base}/simplereenroll`, async (req) => {
    const bad = labelError(state, req);
    if (bad) return bad;
    const cc = await clientCert(state, req);
    if (cc.kind === 'none') return unauthorized('re-enrollment requires TLS client authentication with the certificate being renewed');
    if (cc.kind === 'invalid') return text(403, cc.reason);
    if (cc.issuer !== 'lab') return text(403, 're-enrollment requires a certificate issued by this CA (not an IDevID)');
    const parsed = await readCsr(req);
    if ('status' in parsed) return parsed;
    const { csr } = parsed;
    if (!bytesEqual(nameDer(csr.subject), nameDer(cc.certificate.subject)) && !csr.subject.isEqual(cc.certificate.subject)) {
      return text(400, `CSR subject "${describeName(csr.subject)}" differs from the certificate being renewed ("${describeName(cc.certificate.subject)}")`);
    }
    const a = sanDer(cc.certificate.extensions);
    const b = sanDer(csrExtensions(csr));
    if ((a === undefined) !== (b === undefined) || (a && b && !bytesEqual(a, b))) {
      return text(400, 'CSR subjectAltName differs from the certificate being renewed');
    }
    const refused = await evidenceGate(state, 'simplereenroll', parsed, req);
    if (refused) return refused;
    const wait = approvalGate(state, 'simplereenroll', parsed.der, describeName(csr.subject));
    if (wait) return wait;
    return issue(state, 'simplereenroll', csr, `cert:lab:${describeName(cc.certificate.subject)}`);
  });
}
