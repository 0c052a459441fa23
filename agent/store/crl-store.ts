// Stored CRLs/ARLs, one current CRL per issuer (and scope: an ARL — IssuingDistributionPoint onlyContainsCACerts —
// is kept beside the issuer's CRL). A CRL is admitted only when (RFC 8295 §4.2 "Clients MUST reject CRLs that do
// not validate to an authorized TA", RFC 5280 §6.3.3):
//   - it parses, is a complete CRL (no deltaCRLIndicator) and has no critical extension we do not process;
//   - thisUpdate is not in the future (small skew allowed) and nextUpdate, if present, has not passed;
//   - its signature verifies with the public key of a certificate whose subject is the CRL issuer, that certificate
//     permits cRLSign (when it has keyUsage), and that certificate is a TA authorized for `use` or validates to one
//     (untrusted intermediates may be supplied, e.g. from /cacerts);
//   - it is newer than the stored one for the same issuer+scope: higher cRLNumber when both carry one, otherwise a
//     later thisUpdate. Older or equal CRLs are not stored (a replayed old CRL must not un-revoke anything).
// Persistence as in ta-store.ts: a DocumentStore (crls.json: checksummed, previous-good copy, atomic, 0600; the bare
// JSON of earlier releases converted once); both copies unusable → CrlStoreError crl.store.corrupt, never an empty
// set (that would un-revoke everything until the next /crls). Memory updated after the write, writes serialized.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { certificateFingerprint, certificateFromDer, certificateToDer, describeName, findExtension, nameDer } from '../pki/cert.js';
import { validateChain } from '../pki/chain.js';
import { decodeAsn1 } from '../pki/der.js';
import { EnrolldError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { CheckedDocument } from './document-store.js';
import type { TaUse, TrustAnchorStore } from './ta-store.js';

export const CRL_STORE_SCHEMA = 1;

const OID_CRL_NUMBER = '2.5.29.20';
const OID_DELTA_CRL_INDICATOR = '2.5.29.27';
const OID_ISSUING_DISTRIBUTION_POINT = '2.5.29.28';
const OID_AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';
const OID_KEY_USAGE = '2.5.29.15';
/** CRL extensions whose criticality we can honour (IDP: only its scope flags are used; see scopeOf). */
const KNOWN_CRITICAL = new Set([OID_CRL_NUMBER, OID_ISSUING_DISTRIBUTION_POINT, OID_AUTHORITY_KEY_IDENTIFIER]);

/** Allowed clock skew for thisUpdate in the future. */
export const CRL_FUTURE_SKEW_MS = 5 * 60_000;

export type CrlRejectReason = 'malformed' | 'delta' | 'critical_extension' | 'not_yet_valid' | 'expired' | 'no_issuer' | 'signature' | 'untrusted' | 'key_usage';

export class CrlRejectedError extends EnrolldError {
  constructor(
    readonly reason: CrlRejectReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`crl.rejected.${reason}`, message, options);
  }
}

export class CrlStoreError extends EnrolldError {
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(`crl.store.${reason}`, message, options);
  }
}

export type CrlScope = 'crl' | 'arl';

export interface StoredCrl {
  /** issuer-name-DER-hex ":" scope */
  readonly key: string;
  readonly issuer: string;
  readonly scope: CrlScope;
  readonly crlNumber: bigint | undefined;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  readonly revokedCount: number;
  readonly der: Uint8Array;
  readonly crl: pkijs.CertificateRevocationList;
  /** SHA-256 of the certificate whose key verified the CRL. */
  readonly signer: string;
  readonly storedAt: string;
}

export type CrlOfferStatus = 'stored' | 'unchanged' | 'older';

export interface CrlOfferResult {
  status: CrlOfferStatus;
  crl: StoredCrl;
  /** The CRL it replaced (status 'stored'). */
  replaced?: StoredCrl;
}

export interface CrlOfferOptions {
  /** Untrusted certificates that may form the path from the CRL issuer to a TA. */
  intermediates?: Array<Uint8Array | pkijs.Certificate>;
  /** Validation time (default: the store's clock). */
  at?: Date;
}

export interface CrlStoreOptions {
  taStore: TrustAnchorStore;
  /** Which TA use authorizes CRL issuers (default 'crl'). */
  use?: TaUse;
  now?: () => Date;
  /** Receives the store's warnings (a damaged current file recovered from the previous copy). */
  log?: Logger;
}

/** DocumentStore kind of crls.json. */
export const CRL_STORE_KIND = 'enrolld-crls';

interface StoredDoc {
  schema: typeof CRL_STORE_SCHEMA;
  crls: Array<{ der: string; signer: string; storedAt: string }>;
}

function parseCrl(input: Uint8Array | pkijs.CertificateRevocationList): { crl: pkijs.CertificateRevocationList; der: Uint8Array } {
  if (input instanceof pkijs.CertificateRevocationList) return { crl: input, der: new Uint8Array(input.toSchema(false).toBER(false)) };
  try {
    const crl = new pkijs.CertificateRevocationList({ schema: decodeAsn1(input, 'CertificateList') });
    return { crl, der: input };
  } catch (e) {
    throw new CrlRejectedError('malformed', `not a CRL: ${(e as Error).message}`, { cause: e });
  }
}

function crlNumberOf(crl: pkijs.CertificateRevocationList): bigint | undefined {
  const ext = findExtension(crl.crlExtensions?.extensions, OID_CRL_NUMBER);
  if (!ext) return undefined;
  try {
    const v = decodeAsn1(ext.extnValue.valueBlock.valueHexView, 'CRLNumber');
    if (!(v instanceof asn1js.Integer)) throw new Error('not an INTEGER');
    const hex = Buffer.from(v.valueBlock.valueHexView).toString('hex');
    const n = BigInt(`0x${hex || '0'}`);
    if (hex.length > 0 && parseInt(hex[0]!, 16) >= 8) throw new Error('negative');
    return n;
  } catch (e) {
    throw new CrlRejectedError('malformed', `bad cRLNumber: ${(e as Error).message}`, { cause: e });
  }
}

function scopeOf(crl: pkijs.CertificateRevocationList): CrlScope {
  const ext = findExtension(crl.crlExtensions?.extensions, OID_ISSUING_DISTRIBUTION_POINT);
  const idp = ext?.parsedValue;
  return idp instanceof pkijs.IssuingDistributionPoint && idp.onlyContainsCACerts === true ? 'arl' : 'crl';
}

function describe(crl: pkijs.CertificateRevocationList, der: Uint8Array, signer: string, storedAt: string): StoredCrl {
  const scope = scopeOf(crl);
  return {
    key: `${Buffer.from(nameDer(crl.issuer)).toString('hex')}:${scope}`,
    issuer: describeName(crl.issuer),
    scope,
    crlNumber: crlNumberOf(crl),
    thisUpdate: crl.thisUpdate.value,
    nextUpdate: crl.nextUpdate?.value,
    revokedCount: crl.revokedCertificates?.length ?? 0,
    der,
    crl,
    signer,
    storedAt,
  };
}

/** True when `a` supersedes `b` (same issuer and scope). */
function isNewer(a: StoredCrl, b: StoredCrl): boolean {
  if (a.crlNumber !== undefined && b.crlNumber !== undefined) return a.crlNumber > b.crlNumber;
  return a.thisUpdate.getTime() > b.thisUpdate.getTime();
}

/** keyUsage cRLSign (bit 6), when the certificate has a keyUsage extension at all. */
function permitsCrlSign(cert: pkijs.Certificate): boolean {
  const ext = findExtension(cert.extensions, OID_KEY_USAGE);
  if (!ext) return true;
  const bits = ext.parsedValue instanceof asn1js.BitString ? ext.parsedValue.valueBlock.valueHexView : undefined;
  if (!bits) return false;
  return bits.length > 0 && (bits[0]! & 0x02) !== 0;
}

/** The CRLs a stored document holds; throws CrlStoreError corrupt naming `file`. */
function decodeDoc(doc: unknown, file: string): StoredCrl[] {
  const d = doc as StoredDoc;
  if (!d || typeof d !== 'object' || d.schema !== CRL_STORE_SCHEMA || !Array.isArray(d.crls)) throw new CrlStoreError('corrupt', `${file}: not a schema-${CRL_STORE_SCHEMA} CRL file`);
  return d.crls.map((r, i) => {
    try {
      const { crl, der } = parseCrl(new Uint8Array(Buffer.from(r.der, 'base64')));
      return describe(crl, der, String(r.signer), String(r.storedAt));
    } catch (e) {
      throw new CrlStoreError('corrupt', `${file}: crls[${i}]: ${(e as Error).message}`, { cause: e });
    }
  });
}

function encodeDoc(entries: readonly StoredCrl[]): StoredDoc {
  return { schema: CRL_STORE_SCHEMA, crls: entries.map((e) => ({ der: Buffer.from(e.der).toString('base64'), signer: e.signer, storedAt: e.storedAt })) };
}

export class CrlStore {
  private entries: StoredCrl[] = [];

  private constructor(
    /** The store file (crls.json; its previous copy is `<file>.prev`). */
    readonly file: string,
    private readonly doc: CheckedDocument<StoredDoc>,
    private readonly opts: CrlStoreOptions,
  ) {}

  /** Opens (loads, or starts empty when no file exists); both copies unusable → CrlStoreError crl.store.corrupt. */
  static async open(file: string, opts: CrlStoreOptions): Promise<CrlStore> {
    // The bare JSON of earlier releases is converted once; a damaged one is refused with decodeDoc's reason.
    const doc = new CheckedDocument<StoredDoc>(file, { kind: CRL_STORE_KIND, version: CRL_STORE_SCHEMA, check: decodeDoc, error: CrlStoreError, now: opts.now, log: opts.log });
    const s = new CrlStore(doc.file, doc, opts);
    await s.reload();
    return s;
  }

  async reload(): Promise<void> {
    await this.doc.reload((doc) => (this.entries = doc ? decodeDoc(doc, this.file) : []));
  }

  private now(): Date {
    return this.opts.now ? this.opts.now() : new Date();
  }

  list(): StoredCrl[] {
    return [...this.entries];
  }

  /** The pkijs CRLs (for chain validation). */
  crls(): pkijs.CertificateRevocationList[] {
    return this.entries.map((e) => e.crl);
  }

  /** Stored CRLs issued by `issuer` (a certificate: its subject; or a name). */
  forIssuer(issuer: pkijs.Certificate | pkijs.RelativeDistinguishedNames): StoredCrl[] {
    const name = issuer instanceof pkijs.Certificate ? issuer.subject : issuer;
    const hex = Buffer.from(nameDer(name)).toString('hex');
    return this.entries.filter((e) => e.key.startsWith(`${hex}:`));
  }

  /** True when a stored CRL from the certificate's issuer lists it. */
  isRevoked(cert: pkijs.Certificate): boolean {
    return this.forIssuer(cert.issuer).some((e) => e.crl.isCertificateRevoked(cert));
  }

  /**
   * Validates `input` (see the file comment) and stores it when it is newer than what is stored for its issuer.
   * Throws CrlRejectedError for a CRL that must not be used.
   */
  offer(input: Uint8Array | pkijs.CertificateRevocationList, opts: CrlOfferOptions = {}): Promise<CrlOfferResult> {
    return this.doc.serial(async () => {
      const at = opts.at ?? this.now();
      const { crl, der } = parseCrl(input);
      const exts = crl.crlExtensions?.extensions ?? [];
      if (findExtension(exts, OID_DELTA_CRL_INDICATOR)) throw new CrlRejectedError('delta', 'delta CRLs are not supported (complete CRLs only)');
      const unknownCritical = exts.find((e) => e.critical && !KNOWN_CRITICAL.has(e.extnID));
      if (unknownCritical) throw new CrlRejectedError('critical_extension', `unsupported critical CRL extension ${unknownCritical.extnID}`);
      if (crl.thisUpdate.value.getTime() > at.getTime() + CRL_FUTURE_SKEW_MS) {
        throw new CrlRejectedError('not_yet_valid', `CRL thisUpdate ${crl.thisUpdate.value.toISOString()} is in the future`);
      }
      if (crl.nextUpdate && crl.nextUpdate.value.getTime() < at.getTime()) {
        throw new CrlRejectedError('expired', `CRL nextUpdate ${crl.nextUpdate.value.toISOString()} has passed`);
      }
      const signer = await this.findSigner(crl, opts.intermediates ?? [], at);
      const candidate = describe(crl, der, signer, at.toISOString());
      const idx = this.entries.findIndex((e) => e.key === candidate.key);
      const current = idx >= 0 ? this.entries[idx] : undefined;
      if (current) {
        if (Buffer.compare(Buffer.from(current.der), Buffer.from(der)) === 0) return { status: 'unchanged', crl: current };
        if (!isNewer(candidate, current)) return { status: 'older', crl: current };
      }
      const next = [...this.entries];
      if (idx >= 0) next[idx] = candidate;
      else next.push(candidate);
      await this.commit(next);
      return current ? { status: 'stored', crl: candidate, replaced: current } : { status: 'stored', crl: candidate };
    });
  }

  /** Finds the certificate whose key signed `crl` and that chains to an authorized TA; returns its fingerprint. */
  private async findSigner(crl: pkijs.CertificateRevocationList, intermediatesIn: Array<Uint8Array | pkijs.Certificate>, at: Date): Promise<string> {
    const use = this.opts.use ?? 'crl';
    const anchors = this.opts.taStore.anchorsFor(use);
    const intermediates = intermediatesIn.map((c) => (c instanceof Uint8Array ? certificateFromDer(c) : c));
    const candidates: Array<{ cert: pkijs.Certificate; anchor: boolean }> = [
      ...anchors.map((a) => ({ cert: a.certificate, anchor: true })),
      ...intermediates.map((cert) => ({ cert, anchor: false })),
    ].filter((c) => c.cert.subject.isEqual(crl.issuer));
    if (candidates.length === 0) {
      throw new CrlRejectedError('no_issuer', `no certificate for CRL issuer "${describeName(crl.issuer)}" among the TAs authorized for ${use} and the supplied CA certificates`);
    }
    let sawSignature = false;
    const errors: string[] = [];
    for (const c of candidates) {
      let ok = false;
      try {
        ok = await crl.verify({ issuerCertificate: c.cert });
      } catch {
        ok = false;
      }
      if (!ok) continue;
      sawSignature = true;
      if (!permitsCrlSign(c.cert)) {
        errors.push(`${describeName(c.cert.subject)}: keyUsage lacks cRLSign`);
        continue;
      }
      if (c.anchor) return certificateFingerprint(certificateToDer(c.cert));
      try {
        await validateChain({ leaf: c.cert, intermediates: intermediates.filter((i) => i !== c.cert), trustAnchors: anchors.map((a) => a.der), at });
        return certificateFingerprint(certificateToDer(c.cert));
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (!sawSignature) throw new CrlRejectedError('signature', `CRL signature of "${describeName(crl.issuer)}" does not verify with any known issuer certificate`);
    if (errors.every((e) => e.includes('cRLSign'))) throw new CrlRejectedError('key_usage', `CRL signer not allowed to sign CRLs: ${errors.join('; ')}`);
    throw new CrlRejectedError('untrusted', `CRL signer does not validate to a TA authorized for ${use}: ${errors.join('; ')}`);
  }

  private async commit(next: StoredCrl[]): Promise<void> {
    await this.doc.save(encodeDoc(next));
    this.entries = next;
  }
}
