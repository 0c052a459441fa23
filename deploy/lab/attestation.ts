// Lab attestation: a manufacturer "attestation CA" that certifies device AKs (TCG AK certificate profile: keyUsage
// digitalSignature, EKU tcg-kp-AIKCertificate 2.23.133.8.3), the freshness nonce endpoint (NonceService behind
// GET/POST /.well-known/est[/<label>]/nonce), and the verifier that checks a CSR's TPM2_Certify evidence
// (draft-ietf-lamps-csr-attestation-28 AttestationBundle with a tcg-attest-tpm-certify statement) before the EST
// handlers issue. Every refusal is a text body "attest.<reason>: <detail>".
import { randomBytes, verify as cryptoVerify } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { csrBundle, OID_TCG_ATTEST_TPM_CERTIFY, OID_TCG_KP_AIK_CERTIFICATE, readTcgAttestCertify, type Bundle, type TcgAttestCertify } from './attestation-bundle.js';
import { certificateDer, findExtension, spkiDer } from './pki/cert.js';
import { validateChain } from './pki/chain.js';
import { bytesEqual, der } from './pki/der.js';
import { EST_WELL_KNOWN_PATH } from './pki/est.js';
import { authorityKeyId, basicConstraints, extKeyUsage, keyUsage, publicKeyInfo, subjectKeyId } from './pki/issue.js';
import { buildName } from './pki/name.js';
import { OID } from './pki/oids.js';
import { csrSpki } from './pki/pkcs10.js';
import { ALG, OBJECT, objectName, readCertifyAttest, readPublic, readSignature, spkiOf, type CertifyAttest, type TpmPublic } from './tpm-structures.js';
import { LabCa, signCertificate } from './ca.js';
import { NONCE_SESSION_COOKIE, NonceService, estNonceBinding, type NonceBinding, type NonceServiceOptions } from './nonce-service.js';
import { text, type LabRequest, type LabResponse, type Router } from './router.js';
import { verifyTpmQuote, type QuotePolicy } from './tpm-quote.js';

/** What a device's provisioning sends the attestation CA: the AK's SPKI and TPMT_PUBLIC. */
export interface AkCertificationRequest {
  spki: Uint8Array;
  tpmtPublic: Uint8Array;
  deviceId: string;
}
/** The AK certificate first, then its chain (DER). */
export type AkCertifier = (req: AkCertificationRequest) => Promise<Uint8Array[]>;

export type AttestReason =
  | 'attest.missing'
  | 'attest.nonce-unknown'
  | 'attest.nonce-expired'
  | 'attest.nonce-replayed'
  | 'attest.nonce-other-session'
  | 'attest.ak-untrusted'
  | 'attest.bad-signature'
  | 'attest.wrong-key'
  | 'attest.bad-structure'
  | 'attest.unknown-type'
  | 'attest.pcr-mismatch';

export interface AttestFailure {
  reason: AttestReason;
  status: 400 | 403;
  detail: string;
}

const STATUS: Record<AttestReason, 400 | 403> = {
  'attest.missing': 403,
  'attest.nonce-unknown': 403,
  'attest.nonce-expired': 403,
  'attest.nonce-replayed': 403,
  'attest.nonce-other-session': 403,
  'attest.ak-untrusted': 403,
  'attest.bad-signature': 403,
  'attest.wrong-key': 403,
  'attest.bad-structure': 400,
  'attest.unknown-type': 400,
  'attest.pcr-mismatch': 403,
};

class Refusal extends Error {
  constructor(
    readonly reason: AttestReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

const fail = (reason: AttestReason, detail: string): never => {
  throw new Refusal(reason, detail);
};

// ---- the attestation CA ---------------------------------------------------------------------------------------------

/** A separate two-level CA (root + issuing) that plays the TPM/device manufacturer's AK CA. */
export function createAttestationCa(opts: { dir?: string; now?: Date } = {}): Promise<LabCa> {
  return LabCa.create({ ...opts, name: 'enrolld lab attestation' });
}

export interface AkCertOptions {
  now?: Date;
  validityDays?: number;
  /** Leave out the tcg-kp-AIKCertificate EKU (tests of the verifier). */
  omitAkEku?: boolean;
}

/**
 * Issues an AK certificate from `ca.issuing`: subject CN="<deviceId> AK", keyUsage digitalSignature (critical),
 * EKU tcg-kp-AIKCertificate, not a CA. Returns [AK certificate, issuing CA] (DER); the root is the verifier's TA.
 */
export async function issueAkCertificate(ca: LabCa, req: AkCertificationRequest, o: AkCertOptions = {}): Promise<Uint8Array[]> {
  const now = o.now ?? new Date();
  const spki = publicKeyInfo(req.spki);
  const pub = readPublic(req.tpmtPublic);
  const a = pub.objectAttributes;
  const isAk = (a & OBJECT.RESTRICTED) !== 0 && (a & OBJECT.SIGN_ENCRYPT) !== 0 && (a & OBJECT.FIXED_TPM) !== 0 && (a & OBJECT.DECRYPT) === 0;
  if (!isAk) throw new Error('attestation CA: the key is not a restricted fixedTPM signing key');
  if (!bytesEqual(spkiOf(pub), req.spki)) throw new Error('attestation CA: spki does not match the TPMT_PUBLIC');
  // TCG AK certificate profile: digitalSignature, EKU tcg-kp-AIKCertificate, not a CA.
  const extensions = [
    basicConstraints(false),
    keyUsage([0]),
    ...(o.omitAkEku ? [] : [extKeyUsage([OID_TCG_KP_AIK_CERTIFICATE])]),
    subjectKeyId(spki),
    authorityKeyId(ca.issuing.keyId),
  ];
  const cert = await signCertificate({
    issuer: ca.issuing.certificate.subject,
    subject: buildName({ O: 'enrolld lab device', CN: `${req.deviceId} AK` }),
    spki,
    notBefore: new Date(now.getTime() - 3_600_000),
    notAfter: new Date(now.getTime() + (o.validityDays ?? 3650) * 86_400_000),
    extensions,
    signingKey: ca.issuing.privateKey,
  });
  return [certificateDer(cert), ca.issuing.der];
}

/** An AkCertifier (what device provisioning calls) backed by a lab attestation CA. */
export function labAkCertifier(ca: LabCa, o: AkCertOptions = {}): AkCertifier {
  return (req) => issueAkCertificate(ca, req, o);
}

// ---- the verifier ---------------------------------------------------------------------------------------------------

export interface LabAttestationOptions {
  /** Attestation-CA trust anchors (DER or PEM certificates); without any, enrollment evidence is not checked. */
  trustAnchors?: Array<Uint8Array | string>;
  /** Refuse CSRs without evidence (attest.missing). Default true when trust anchors are given. */
  requireAttestation?: boolean;
  /** NonceService options (TTL, bounds). */
  nonce?: NonceServiceOptions;
  /** Bind EST nonces to a session cookie as well as the TLS connection (default true; false: connection only). */
  nonceCookie?: boolean;
  /** Also require a TPM2_Quote statement over these PCRs (tpm-quote.ts). */
  quote?: QuotePolicy;
  /** Lab clock. */
  now?: () => Date;
  log?: (line: string) => void;
}

export interface VerifiedEvidence {
  akCertificate: pkijs.Certificate;
  attest: CertifyAttest;
  certifiedPublic: TpmPublic;
}

function toCertDers(list: Array<Uint8Array | string>): Uint8Array[] {
  return list.flatMap((c) => {
    if (typeof c !== 'string') return [c];
    const out: Uint8Array[] = [];
    for (const m of c.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) out.push(new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
    return out;
  });
}

function hasAkEku(cert: pkijs.Certificate): boolean {
  const e = findExtension(cert.extensions, OID.extKeyUsage);
  if (!e) return false;
  try {
    const eku = new pkijs.ExtKeyUsage({ schema: der(new Uint8Array(e.extnValue.valueBlock.valueHexView), 'ExtKeyUsage') });
    return eku.keyPurposes.includes(OID_TCG_KP_AIK_CERTIFICATE);
  } catch {
    return false;
  }
}

export class LabAttestation {
  readonly nonces: NonceService;
  /** The attestation-CA roots (DER), also used by the ACME remote-attest-01 verifier. */
  readonly anchors: Uint8Array[];
  readonly requireAttestation: boolean;
  private readonly now: () => Date;
  private readonly log: (line: string) => void;
  /** Refusals and successes, newest last (tests read them). */
  readonly events: Array<{ ok: boolean; reason?: AttestReason; detail?: string }> = [];
  /** Bindings nonces were issued on (EST /nonce) and CSRs were checked on, in order (tests read them). */
  readonly bindings: { issued: NonceBinding[]; checked: NonceBinding[] } = { issued: [], checked: [] };
  private readonly nonceCookie: boolean;
  /** The PCRs a CSR's evidence must quote (undefined: no quote asked; tests may change it). */
  quotePolicy: QuotePolicy | undefined;

  constructor(o: LabAttestationOptions = {}) {
    this.nonces = new NonceService(o.nonce ?? {});
    this.anchors = toCertDers(o.trustAnchors ?? []);
    this.requireAttestation = o.requireAttestation ?? this.anchors.length > 0;
    this.now = o.now ?? ((): Date => new Date());
    this.log = o.log ?? ((): void => {});
    this.nonceCookie = o.nonceCookie ?? true;
    this.quotePolicy = o.quote;
  }

  /** The binding of an EST request under this lab's cookie policy. */
  private estBinding(at: NonceBinding): NonceBinding {
    if (this.nonceCookie) return at;
    const { cookie: _ignored, ...rest } = at;
    return rest;
  }

  /** True when enrollment CSRs are checked (attestation-CA trust anchors configured). */
  get enabled(): boolean {
    return this.anchors.length > 0;
  }

  /**
   * GET/POST /.well-known/est[/<label>]/nonce (freshness-08 §6.1). The nonce is bound to the client identity and
   * to this TLS connection and a session cookie (set here when the request brings none): the CSR request must
   * come on the same connection or with the cookie.
   */
  register(router: Router): void {
    const handler = (req: LabRequest): LabResponse => {
      const body = req.method === 'GET' || req.body.byteLength === 0 ? undefined : req.body.toString('utf8');
      const binding = this.estBinding(estNonceBinding(req));
      const newCookie = this.nonceCookie && binding.cookie === undefined ? randomBytes(16).toString('hex') : undefined;
      const r = this.nonces.handleRequest(body, this.now(), { ...binding, ...(newCookie ? { cookie: newCookie } : {}) });
      if (r.status !== 200) this.log(`nonce refused ${r.status} ${r.reason ?? ''}`);
      else this.bindings.issued.push({ ...binding, ...(newCookie ? { cookie: newCookie } : {}) });
      const cookie: Record<string, string> = newCookie && r.status === 200 ? { 'set-cookie': `${NONCE_SESSION_COOKIE}=${newCookie}; Path=${EST_WELL_KNOWN_PATH}; Secure; HttpOnly; Max-Age=${this.nonces.ttlSeconds}` } : {};
      return { status: r.status, headers: { 'content-type': r.contentType, 'cache-control': 'no-store', ...cookie }, body: r.body };
    };
    for (const p of [`${EST_WELL_KNOWN_PATH}/nonce`, `${EST_WELL_KNOWN_PATH}/:label/nonce`]) {
      router.register('GET', p, handler);
      router.register('POST', p, handler);
    }
  }

  /**
   * The EST hook: undefined when the CSR may be issued, otherwise the 400/403 refusal. Without trust anchors
   * nothing is checked; a CSR without evidence passes unless requireAttestation. `at` is the request's binding
   * (estNonceBinding, or the CMP transaction): a nonce issued elsewhere is refused as attest.nonce-other-session.
   */
  async checkCsr(csr: pkijs.CertificationRequest, at?: NonceBinding): Promise<LabResponse | undefined> {
    if (!this.enabled) return undefined;
    if (at?.connection !== undefined) {
      at = this.estBinding(at);
      this.bindings.checked.push(at);
    }
    const r = await this.verify(csr, at);
    if ('reason' in r) {
      this.events.push({ ok: false, reason: r.reason, detail: r.detail });
      this.log(`attestation refused: ${r.reason}: ${r.detail}`);
      return text(r.status, `${r.reason}: ${r.detail}`);
    }
    this.events.push({ ok: true });
    return undefined;
  }

  /** Full verification of the CSR's evidence; consumes the nonce only when everything else verified. */
  async verify(csr: pkijs.CertificationRequest, at?: NonceBinding): Promise<VerifiedEvidence | AttestFailure | { none: true }> {
    try {
      return await this.verifyOrThrow(csr, at);
    } catch (e) {
      if (e instanceof Refusal) return { reason: e.reason, status: STATUS[e.reason], detail: e.detail };
      throw e;
    }
  }

  private async verifyOrThrow(csr: pkijs.CertificationRequest, at: NonceBinding | undefined): Promise<VerifiedEvidence | { none: true }> {
    // 1. the attribute
    let bundle: Bundle | undefined;
    try {
      bundle = csrBundle(csr);
    } catch (e) {
      fail('attest.bad-structure', `id-aa-attestation does not decode: ${(e as Error).message}`);
    }
    if (!bundle) {
      if (this.requireAttestation) fail('attest.missing', 'the CSR carries no id-aa-attestation attribute (TPM key attestation required)');
      return { none: true };
    }
    return this.verifyBundleOrThrow(bundle, csrSpki(csr), (extraData) => {
      // freshness: extraData is a nonce we issued, unexpired, unused (consumed now)
      const c = this.nonces.consume(extraData, this.now(), OID_TCG_ATTEST_TPM_CERTIFY, at);
      if (c === 'other-session') fail('attest.nonce-other-session', 'the nonce was issued on another TLS session/cookie, transaction or client identity');
      if (c === 'unknown' || c === 'wrong-type') fail('attest.nonce-unknown', c === 'unknown' ? 'extraData is not a nonce this server issued' : 'the nonce was issued for another evidence type');
      if (c === 'expired') fail('attest.nonce-expired', 'the nonce in extraData has expired');
      if (c === 'replayed') fail('attest.nonce-replayed', 'the nonce in extraData was already used');
    });
  }

  /**
   * Verifies an AttestationBundle outside a CSR (ACME remote-attest-01): the same checks, with the caller's
   * freshness rule and, when given, the key the certified key must be. Returns the certified key's SPKI.
   */
  async verifyBundle(bundle: Bundle, freshness: (extraData: Uint8Array) => void, spki?: Uint8Array): Promise<(VerifiedEvidence & { spki: Uint8Array }) | AttestFailure> {
    try {
      const r = await this.verifyBundleOrThrow(bundle, spki, (x) => {
        try {
          freshness(x);
        } catch (e) {
          if (e instanceof Refusal) throw e;
          fail('attest.nonce-unknown', (e as Error).message);
        }
      });
      this.events.push({ ok: true });
      return r;
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      this.events.push({ ok: false, reason: e.reason, detail: e.detail });
      return { reason: e.reason, status: STATUS[e.reason], detail: e.detail };
    }
  }

  private async verifyBundleOrThrow(bundle: Bundle, expectSpki: Uint8Array | undefined, freshness: (extraData: Uint8Array) => void): Promise<VerifiedEvidence & { spki: Uint8Array }> {
    const stmts = bundle.attestations.filter((a) => a.type === OID_TCG_ATTEST_TPM_CERTIFY);
    if (stmts.length === 0) fail('attest.unknown-type', `no supported statement (types: ${bundle.attestations.map((a) => a.type).join(', ')}; supported: ${OID_TCG_ATTEST_TPM_CERTIFY})`);
    if (stmts.length > 1) fail('attest.bad-structure', `${stmts.length} tcg-attest-tpm-certify statements, expected one`);
    let st!: TcgAttestCertify;
    try {
      st = readTcgAttestCertify(stmts[0]!.stmt);
    } catch (e) {
      fail('attest.bad-structure', `TcgAttestCertify does not decode: ${(e as Error).message}`);
    }
    if (st.tpmTPublic === undefined) fail('attest.bad-structure', 'TcgAttestCertify has no tpmTPublic (needed to bind the certified key to the CSR key)');

    // 2. the AK certificate chains to the attestation CA
    const certs = bundle.certificates;
    if (certs.length === 0) fail('attest.ak-untrusted', 'the bundle carries no AK certificate');
    const akCert = certs[0]!;
    try {
      await validateChain({ leaf: akCert, intermediates: certs.slice(1), trustAnchors: this.anchors, at: this.now() });
    } catch (e) {
      fail('attest.ak-untrusted', `AK certificate does not chain to the attestation CA: ${(e as Error).message}`);
    }
    if (!hasAkEku(akCert)) fail('attest.ak-untrusted', 'AK certificate lacks the tcg-kp-AIKCertificate EKU (2.23.133.8.3)');

    // 3. the AK signature over tpmSAttest (TPMT_SIGNATURE, SHA-256, ECDSA or RSASSA)
    let akKey!: pkijs.PublicKeyInfo;
    let akSpki!: Uint8Array;
    try {
      akKey = akCert.subjectPublicKeyInfo;
      akSpki = spkiDer(akCert);
    } catch (e) {
      fail('attest.ak-untrusted', `AK certificate key is unusable: ${(e as Error).message}`);
    }
    const curveSizes: Record<string, number> = { [OID.secp256r1]: 32, [OID.secp384r1]: 48, [OID.secp521r1]: 66 };
    const params = akKey.algorithm.algorithmParams as unknown;
    const curve = params instanceof asn1js.ObjectIdentifier ? params.getValue() : '';
    let sig!: ReturnType<typeof readSignature>;
    try {
      sig = readSignature(st.signature, curveSizes[curve] ?? 32);
    } catch (e) {
      fail('attest.bad-structure', `signature is not a TPMT_SIGNATURE: ${(e as Error).message}`);
    }
    if (sig.hashAlg !== ALG.SHA256) fail('attest.bad-signature', `signature hash 0x${sig.hashAlg.toString(16)} is not SHA-256`);
    if (sig.sigAlg !== ALG.ECDSA && sig.sigAlg !== ALG.RSASSA) fail('attest.bad-signature', `signature scheme 0x${sig.sigAlg.toString(16)} not supported`);
    let ok = false;
    try {
      const key = { key: Buffer.from(akSpki), format: 'der' as const, type: 'spki' as const };
      ok = cryptoVerify('sha256', st.tpmSAttest, sig.sigAlg === ALG.ECDSA ? { ...key, dsaEncoding: 'ieee-p1363' } : key, sig.value);
    } catch {
      ok = false;
    }
    if (!ok) fail('attest.bad-signature', 'the AK signature over tpmSAttest does not verify');

    // 4. TPMS_ATTEST: magic, type = certify
    let attest!: CertifyAttest;
    try {
      attest = readCertifyAttest(st.tpmSAttest);
    } catch (e) {
      fail('attest.bad-structure', (e as Error).message);
    }

    // 5. the certified key is the CSR key: Name = nameAlg || H(tpmTPublic), tpmTPublic's key = CSR SPKI
    let pub!: TpmPublic;
    try {
      pub = readPublic(st.tpmTPublic!);
    } catch (e) {
      fail('attest.bad-structure', `tpmTPublic is not a TPMT_PUBLIC: ${(e as Error).message}`);
    }
    if (!bytesEqual(objectName(st.tpmTPublic!), attest.name)) fail('attest.wrong-key', 'the certified Name is not the Name of tpmTPublic');
    let spki!: Uint8Array;
    try {
      spki = spkiOf(pub);
    } catch (e) {
      fail('attest.wrong-key', `tpmTPublic holds no usable public key: ${(e as Error).message}`);
    }
    if (expectSpki && !bytesEqual(spki, expectSpki)) fail('attest.wrong-key', 'the certified key is not the CSR subjectPublicKey');
    const need = OBJECT.FIXED_TPM | OBJECT.FIXED_PARENT | OBJECT.SENSITIVE_DATA_ORIGIN;
    if ((pub.objectAttributes & need) !== need) fail('attest.wrong-key', `the certified key is not TPM-resident (attributes 0x${pub.objectAttributes.toString(16)})`);

    // 5b. platform evidence: the TPM2_Quote the policy asks for, by the same AK over the same nonce
    if (this.quotePolicy) verifyTpmQuote(bundle.attestations, this.quotePolicy, new Uint8Array(akCert.subjectPublicKeyInfo.toSchema().toBER(false)), attest.extraData, fail);

    // 6. freshness, by the caller's rule (checked last: a nonce is consumed only when everything else verified)
    if (attest.extraData.byteLength === 0) fail('attest.nonce-unknown', 'extraData is empty: no freshness nonce');
    freshness(attest.extraData);
    return { akCertificate: akCert, attest, certifiedPublic: pub, spki };
  }
}

