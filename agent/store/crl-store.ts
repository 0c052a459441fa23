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
// Opening the store does not load the ASN.1 stack: the envelope's checksum (what guards the file against damage: a
// bad current copy falls back to .prev) and each record's fields are checked at open. Every CRL was decoded and
// verified before it was written, so its DER is decoded (crl-decode.ts, pkijs) only by the first query that needs
// it — a revocation check, an offer from /crls — behind a lazyModule seam: a failed load is ModuleLoadError
// (module.load, transient), a CRL that does not decode is CrlStoreError crl.store.corrupt for that query; neither
// touches the file.
import type * as pkijs from 'pkijs';
import { loadCert } from '../pki/lazy-modules.js';
import { lazyModule } from '../util/lazy-import.js';
import { EnrolldError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { CheckedDocument } from './document-store.js';
import type { TaUse, TrustAnchorStore } from './ta-store.js';

export const CRL_STORE_SCHEMA = 1;

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

/** A stored CRL as read at open: its DER not decoded yet. */
export interface CrlRecord {
  readonly der: Uint8Array;
  readonly signer: string;
  readonly storedAt: string;
}

/** True when `a` supersedes `b` (same issuer and scope). */
function isNewer(a: StoredCrl, b: StoredCrl): boolean {
  if (a.crlNumber !== undefined && b.crlNumber !== undefined) return a.crlNumber > b.crlNumber;
  return a.thisUpdate.getTime() > b.thisUpdate.getTime();
}

type CrlDecode = typeof import('./crl-decode.js');

/** The CRL decoder (crl-decode.ts, pkijs): loaded by the first query that needs a decoded CRL. */
const importDecode = lazyModule('the CRL decoder', () => import('./crl-decode.js'));
async function loadDecode(): Promise<CrlDecode> {
  // the TA certificates it verifies CRL signatures with are read through the TA store's decoder
  await loadCert();
  return importDecode();
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The records of a stored document (shape checked, CRLs not decoded); throws CrlStoreError corrupt naming `file`. */
function checkDoc(doc: unknown, file: string): CrlRecord[] {
  const d = doc as StoredDoc;
  if (!d || typeof d !== 'object' || d.schema !== CRL_STORE_SCHEMA || !Array.isArray(d.crls)) throw new CrlStoreError('corrupt', `${file}: not a schema-${CRL_STORE_SCHEMA} CRL file`);
  return d.crls.map((r, i) => {
    const where = `${file}: crls[${i}]`;
    if (!r || typeof r !== 'object' || typeof r.der !== 'string' || typeof r.signer !== 'string' || typeof r.storedAt !== 'string') {
      throw new CrlStoreError('corrupt', `${where}: malformed record`);
    }
    if (!BASE64.test(r.der) || r.der.length === 0) throw new CrlStoreError('corrupt', `${where}: der is not base64`);
    return { der: new Uint8Array(Buffer.from(r.der, 'base64')), signer: r.signer, storedAt: r.storedAt };
  });
}

function encodeDoc(entries: readonly CrlRecord[]): StoredDoc {
  return { schema: CRL_STORE_SCHEMA, crls: entries.map((e) => ({ der: Buffer.from(e.der).toString('base64'), signer: e.signer, storedAt: e.storedAt })) };
}

/** What the store holds: the records read or written, and their decoded CRLs once a query needed them. */
interface Held {
  readonly records: readonly CrlRecord[];
  decoded?: StoredCrl[];
}

export class CrlStore {
  private held: Held = { records: [] };

  private constructor(
    /** The store file (crls.json; its previous copy is `<file>.prev`). */
    readonly file: string,
    private readonly doc: CheckedDocument<StoredDoc>,
    private readonly opts: CrlStoreOptions,
  ) {}

  /**
   * Opens (loads, or starts empty when no file exists) without decoding a CRL (see the file comment); both copies
   * unusable → CrlStoreError crl.store.corrupt.
   */
  static async open(file: string, opts: CrlStoreOptions): Promise<CrlStore> {
    // The bare JSON of earlier releases is converted once; a damaged one is refused with checkDoc's reason.
    const doc = new CheckedDocument<StoredDoc>(file, { kind: CRL_STORE_KIND, version: CRL_STORE_SCHEMA, check: checkDoc, error: CrlStoreError, now: opts.now, log: opts.log });
    const s = new CrlStore(doc.file, doc, opts);
    await s.reload();
    return s;
  }

  /** Re-reads the file (what another process or an operator wrote); the CRLs are decoded again when next needed. */
  async reload(): Promise<void> {
    await this.doc.reload((doc) => (this.held = { records: doc ? checkDoc(doc, this.file) : [] }));
  }

  private now(): Date {
    return this.opts.now ? this.opts.now() : new Date();
  }

  /** How many CRLs are stored (nothing decoded). */
  get size(): number {
    return this.held.records.length;
  }

  /**
   * The stored CRLs, decoded: the decoder is loaded and the records decoded by the first call after open, reload or
   * a write (none when nothing is stored). A failed load → ModuleLoadError (module.load); a record that does not
   * decode → CrlStoreError crl.store.corrupt; either way nothing is written and the next call tries again.
   */
  private async decoded(): Promise<StoredCrl[]> {
    const held = this.held;
    if (held.decoded) return held.decoded;
    if (held.records.length === 0) return (held.decoded = []);
    const { decodeEntries } = await loadDecode();
    try {
      return (held.decoded = decodeEntries(held.records, this.file));
    } catch (e) {
      this.opts.log?.error('crl.store.undecodable', { file: this.file, error: e as Error });
      throw e;
    }
  }

  /** The stored CRLs (decoded on first use). */
  async list(): Promise<StoredCrl[]> {
    return [...(await this.decoded())];
  }

  /** The pkijs CRLs (for chain validation). */
  async crls(): Promise<pkijs.CertificateRevocationList[]> {
    return (await this.decoded()).map((e) => e.crl);
  }

  /** Stored CRLs issued by `issuer` (a certificate: its subject; or a name). */
  async forIssuer(issuer: pkijs.Certificate | pkijs.RelativeDistinguishedNames): Promise<StoredCrl[]> {
    return (await this.issuedBy())(issuer);
  }

  /**
   * The revocation check over the CRLs stored now: a function telling whether a stored CRL from the certificate's
   * issuer lists it. Decoding happens here (a failure is this call's), so a caller checking several certificates
   * learns of an unusable store before it judged any.
   */
  async revocationCheck(): Promise<(cert: pkijs.Certificate) => boolean> {
    const issuedBy = await this.issuedBy();
    return (cert) => issuedBy(cert.issuer).some((e) => e.crl.isCertificateRevoked(cert));
  }

  /** True when a stored CRL from the certificate's issuer lists it (revocationCheck for one certificate). */
  async isRevoked(cert: pkijs.Certificate): Promise<boolean> {
    return (await this.revocationCheck())(cert);
  }

  private async issuedBy(): Promise<(issuer: pkijs.Certificate | pkijs.RelativeDistinguishedNames) => StoredCrl[]> {
    const entries = await this.decoded();
    if (entries.length === 0) return () => [];
    // entries exist only once the decoder was loaded (they were decoded with it)
    const { issuerKeyPrefix } = await loadDecode();
    return (issuer) => {
      const prefix = issuerKeyPrefix(issuer);
      return entries.filter((e) => e.key.startsWith(prefix));
    };
  }

  /**
   * Validates `input` (see the file comment) and stores it when it is newer than what is stored for its issuer.
   * Throws CrlRejectedError for a CRL that must not be used; the stored CRLs are decoded first (so a store that does
   * not decode is reported, CrlStoreError crl.store.corrupt, and left as it is).
   */
  offer(input: Uint8Array | pkijs.CertificateRevocationList, opts: CrlOfferOptions = {}): Promise<CrlOfferResult> {
    return this.doc.serial(async () => {
      const at = opts.at ?? this.now();
      const entries = await this.decoded();
      const { admitCrl } = await loadDecode();
      const use = this.opts.use ?? 'crl';
      const candidate = await admitCrl(input, { intermediates: opts.intermediates ?? [], anchors: this.opts.taStore.anchorsFor(use), use, at });
      const der = candidate.der;
      const idx = entries.findIndex((e) => e.key === candidate.key);
      const current = idx >= 0 ? entries[idx] : undefined;
      if (current) {
        if (Buffer.compare(Buffer.from(current.der), Buffer.from(der)) === 0) return { status: 'unchanged', crl: current };
        if (!isNewer(candidate, current)) return { status: 'older', crl: current };
      }
      const next = [...entries];
      if (idx >= 0) next[idx] = candidate;
      else next.push(candidate);
      await this.commit(next);
      return current ? { status: 'stored', crl: candidate, replaced: current } : { status: 'stored', crl: candidate };
    });
  }

  /** Persists `next` (the document store checks it before the write) and, once durable, makes it what is held. */
  private async commit(next: StoredCrl[]): Promise<void> {
    await this.doc.save(encodeDoc(next));
    this.held = { records: next.map((e) => ({ der: e.der, signer: e.signer, storedAt: e.storedAt })), decoded: next };
  }
}
