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
import { stat } from 'node:fs/promises';
import type * as pkijs from 'pkijs';
import { lazyModule, loadCert } from '../pki/lazy-modules.js';
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

/** True when `a` supersedes `b` (same issuer and scope). */
function isNewer(a: StoredCrl, b: StoredCrl): boolean {
  if (a.crlNumber !== undefined && b.crlNumber !== undefined) return a.crlNumber > b.crlNumber;
  return a.thisUpdate.getTime() > b.thisUpdate.getTime();
}

type CrlDecode = typeof import('./crl-decode.js');

/** The CRL decoder (crl-decode.ts, pkijs): loaded when there is a CRL to decode. */
const importDecode = lazyModule('the CRL decoder', () => import('./crl-decode.js'));
let decoder: CrlDecode | undefined;
async function loadDecode(): Promise<CrlDecode> {
  // the TA certificates it verifies CRL signatures with are read through the TA store's decoder
  await loadCert();
  return (decoder ??= await importDecode());
}

/** The document's shape (schema, records); the CRLs themselves are decoded by decodeDoc. */
function checkShape(doc: unknown, file: string): StoredDoc {
  const d = doc as StoredDoc;
  if (!d || typeof d !== 'object' || d.schema !== CRL_STORE_SCHEMA || !Array.isArray(d.crls)) throw new CrlStoreError('corrupt', `${file}: not a schema-${CRL_STORE_SCHEMA} CRL file`);
  return d;
}

/**
 * The CRLs a stored document holds; throws CrlStoreError corrupt naming `file`. The store loads the decoder before
 * it reads a file that exists (reload) or saves one (offer), so every CRL read or written is decoded here.
 */
function decodeDoc(doc: unknown, file: string): StoredCrl[] {
  const d = checkShape(doc, file);
  if (d.crls.length === 0) return [];
  if (!decoder) throw new CrlStoreError('corrupt', `${file}: holds CRLs but the CRL decoder is not loaded`);
  return decoder.decodeEntries(d.crls, file);
}

/** True when `file` or its previous copy exists (so a load may find CRLs to decode). */
async function storeExists(file: string): Promise<boolean> {
  for (const f of [file, `${file}.prev`]) {
    if (await stat(f).then(() => true, (e: NodeJS.ErrnoException) => e.code !== 'ENOENT')) return true;
  }
  return false;
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
    await this.doc.serial(async () => {
      // no file: nothing to decode, and the ASN.1 stack stays unloaded until a CRL is offered
      if (!decoder && (await storeExists(this.file))) await loadDecode();
      const doc = await this.doc.load();
      this.entries = doc ? decodeDoc(doc, this.file) : [];
    });
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
    // entries exist only once the decoder was loaded (they were decoded with it)
    if (this.entries.length === 0 || !decoder) return [];
    const prefix = decoder.issuerKeyPrefix(issuer);
    return this.entries.filter((e) => e.key.startsWith(prefix));
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
      const { admitCrl } = await loadDecode();
      const use = this.opts.use ?? 'crl';
      const candidate = await admitCrl(input, { intermediates: opts.intermediates ?? [], anchors: this.opts.taStore.anchorsFor(use), use, at });
      const der = candidate.der;
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

  private async commit(next: StoredCrl[]): Promise<void> {
    await this.doc.save(encodeDoc(next));
    this.entries = next;
  }
}
