// The trust-anchor database (RFC 5914 in spirit: each TA is a certificate plus a name, where it came from and what
// it is authorized for — RFC 5914 §2 TrustAnchorInfo carries a certPath/constraints for the same reason). RFC 7030
// §3.6.1 "explicit TA database" is what the EST transport authenticates servers against; RFC 8295 §3.2/§4.2 "an
// authorized TA" is a TA whose `uses` include what is being validated.
//
// Persistence: a DocumentStore (trust-anchors.json: checksummed, previous-good copy, atomic, 0600; the bare JSON of
// earlier releases is converted once). A damaged current file falls back to the previous copy; when neither is
// usable, open() fails with TaStoreError ta.store.corrupt — never an empty set, which the agent would re-seed and
// then let /cacerts and TAMP rebuild from whatever the network offers. Memory changes only after the write
// succeeded, and writes are serialized, so a failed or concurrent update never leaves memory and disk disagreeing.
//
// Digest (reported in status): SHA-256 over the sorted lines "<sha256 of the TA certificate DER> <uses sorted,
// comma-separated>\n" — names/sources/dates are descriptive and do not change it; any change in which keys are
// trusted for what does.
import { X509Certificate } from 'node:crypto';
import type * as pkijs from 'pkijs';
import { loadCert, loadedCert } from '../pki/lazy-modules.js';
import { EnrolldError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { CheckedDocument } from './document-store.js';
import { sha256Hex } from './envelope.js';

/** What a TA may be used to validate ('cmp': CMP message protection, RFC 9483 §3.5 — a root from a CMP root CA key update). */
export const TA_USES = ['est-server', 'cacerts', 'firmware', 'tamp', 'crl', 'key-packages', 'cmp'] as const;
export type TaUse = (typeof TA_USES)[number];

export const TA_STORE_SCHEMA = 1;

export class TaStoreError extends EnrolldError {
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(`ta.store.${reason}`, message, options);
  }
}

export interface TrustAnchor {
  /** Unique, human-chosen (e.g. "factory-root", "lab-root-2026"). */
  readonly name: string;
  /** Where it came from: "config", "factory", "cacerts-rollover", "tamp", … */
  readonly source: string;
  /** Sorted, de-duplicated. */
  readonly uses: readonly TaUse[];
  /** Lower-case hex SHA-256 of the DER certificate: the TA's identity in the store. */
  readonly fingerprint: string;
  readonly der: Uint8Array;
  readonly certificate: pkijs.Certificate;
  readonly subject: string;
  /** ISO-8601. */
  readonly addedAt: string;
}

export interface TrustAnchorInput {
  name: string;
  source: string;
  uses: readonly TaUse[];
  /** DER, a pkijs certificate, or PEM (exactly one certificate). */
  certificate: Uint8Array | pkijs.Certificate | string;
}

interface StoredTa {
  name: string;
  source: string;
  uses: TaUse[];
  /** base64 DER */
  cert: string;
  addedAt: string;
}

interface StoredDoc {
  schema: typeof TA_STORE_SCHEMA;
  anchors: StoredTa[];
}

const NAME_RE = /^[\x21-\x7e](?:[\x20-\x7e]{0,126}[\x21-\x7e])?$/;

function normUses(uses: readonly string[], where: string): TaUse[] {
  if (!Array.isArray(uses) || uses.length === 0) throw new TaStoreError('invalid', `${where}: a trust anchor needs at least one use`);
  for (const u of uses) {
    if (!(TA_USES as readonly string[]).includes(u)) throw new TaStoreError('invalid', `${where}: unknown use ${JSON.stringify(u)} (allowed: ${TA_USES.join(', ')})`);
  }
  return [...new Set(uses as TaUse[])].sort();
}

/** Lower-case hex SHA-256 of a DER certificate: pki/cert.ts certificateFingerprint, without loading the decoder. */
const fingerprintOf = sha256Hex;

/** certificateToDer of a certificate the caller decoded (so pkijs is loaded): its encoding. */
const derOf = (cert: pkijs.Certificate): Uint8Array => new Uint8Array(cert.toSchema().toBER(false));

// The anchors' certificate decoder (pki/cert.ts) is loaded by the operations that add anchors and by the features
// that read `certificate`/`subject` (loadCert): opening the store and reading DER, fingerprints and uses do not.
function toDer(c: TrustAnchorInput['certificate'], where: string): Uint8Array {
  if (c instanceof Uint8Array) return c;
  if (typeof c === 'string') {
    const { certificatesFromPem, certificateToDer } = loadedCert();
    const certs = certificatesFromPem(c);
    if (certs.length !== 1) throw new TaStoreError('invalid', `${where}: expected exactly one PEM certificate, found ${certs.length}`);
    return certificateToDer(certs[0]!);
  }
  return loadedCert().certificateToDer(c);
}

function makeTa(input: TrustAnchorInput, addedAt: string, where: string): TrustAnchor {
  const { name, source, uses } = checkFields(input, where);
  const { certificateFromDer, describeName } = loadedCert();
  let der: Uint8Array;
  let certificate: pkijs.Certificate;
  try {
    der = toDer(input.certificate, where);
    certificate = certificateFromDer(der);
  } catch (e) {
    if (e instanceof TaStoreError) throw e;
    throw new TaStoreError('invalid', `${where}: not a certificate: ${(e as Error).message}`, { cause: e });
  }
  return { name, source, uses, fingerprint: fingerprintOf(der), der, certificate, subject: describeName(certificate.subject), addedAt };
}

/**
 * An anchor read back from the store: its certificate was parsed when it was added; here OpenSSL checks it is one
 * (node:crypto X509Certificate, ≈ 0.1–0.7 ms) and pkijs parses it on first use of `certificate`/`subject`, so opening
 * the store at start-up does not load or run the ASN.1 decoders (pki/cert.ts is loaded by loadCert() before the
 * first read of `certificate`/`subject`).
 */
function storedTa(input: { name: string; source: string; uses: readonly TaUse[]; der: Uint8Array }, addedAt: string, where: string): TrustAnchor {
  const { name, source, uses } = checkFields(input, where);
  const der = input.der;
  try {
    new X509Certificate(der);
  } catch (e) {
    throw new TaStoreError('invalid', `${where}: not a certificate: ${(e as Error).message}`, { cause: e });
  }
  let parsed: pkijs.Certificate | undefined;
  const certificate = (): pkijs.Certificate => (parsed ??= loadedCert().certificateFromDer(der));
  return Object.defineProperties({ name, source, uses, fingerprint: fingerprintOf(der), der, addedAt } as Omit<TrustAnchor, 'certificate' | 'subject'>, {
    certificate: { get: certificate, enumerable: true },
    subject: { get: () => loadedCert().describeName(certificate().subject), enumerable: true },
  }) as TrustAnchor;
}

function checkFields(input: Pick<TrustAnchorInput, 'name' | 'source' | 'uses'>, where: string): { name: string; source: string; uses: TaUse[] } {
  if (typeof input.name !== 'string' || !NAME_RE.test(input.name)) throw new TaStoreError('invalid', `${where}: invalid name ${JSON.stringify(input.name)}`);
  if (typeof input.source !== 'string' || !NAME_RE.test(input.source)) throw new TaStoreError('invalid', `${where}: invalid source ${JSON.stringify(input.source)}`);
  return { name: input.name, source: input.source, uses: normUses(input.uses, where) };
}

export function trustAnchorSetDigest(anchors: readonly Pick<TrustAnchor, 'fingerprint' | 'uses'>[]): string {
  const lines = anchors.map((a) => `${a.fingerprint} ${[...a.uses].sort().join(',')}\n`).sort();
  return sha256Hex(lines.join(''));
}

export type TaChange = 'added' | 'updated' | 'unchanged';

export interface TrustAnchorStoreOptions {
  /** Clock for addedAt and the file's savedAt (default system time). */
  now?: () => Date;
  /** Receives the store's warnings (a damaged current file recovered from the previous copy). */
  log?: Logger;
}

/** DocumentStore kind of trust-anchors.json. */
export const TA_STORE_KIND = 'enrolld-trust-anchors';

/** The anchors a stored document holds; throws TaStoreError (corrupt, duplicate) naming `file`. */
function decodeDoc(doc: unknown, file: string): TrustAnchor[] {
  const d = doc as StoredDoc;
  if (!d || typeof d !== 'object' || d.schema !== TA_STORE_SCHEMA || !Array.isArray(d.anchors)) {
    throw new TaStoreError('corrupt', `${file}: not a schema-${TA_STORE_SCHEMA} trust-anchor file`);
  }
  const out: TrustAnchor[] = [];
  d.anchors.forEach((a, i) => {
    const where = `${file}: anchors[${i}]`;
    if (!a || typeof a.cert !== 'string' || typeof a.addedAt !== 'string') throw new TaStoreError('corrupt', `${where}: malformed record`);
    try {
      out.push(storedTa({ name: a.name, source: a.source, uses: a.uses, der: new Uint8Array(Buffer.from(a.cert, 'base64')) }, a.addedAt, where));
    } catch (e) {
      throw new TaStoreError('corrupt', (e as Error).message, { cause: e });
    }
  });
  checkUnique(out, file);
  return out;
}

function encodeDoc(anchors: readonly TrustAnchor[]): StoredDoc {
  return {
    schema: TA_STORE_SCHEMA,
    anchors: anchors.map((a) => ({ name: a.name, source: a.source, uses: [...a.uses], cert: Buffer.from(a.der).toString('base64'), addedAt: a.addedAt })),
  };
}

export class TrustAnchorStore {
  private anchors: TrustAnchor[] = [];

  private constructor(
    /** The store file (trust-anchors.json; its previous copy is `<file>.prev`). */
    readonly file: string,
    private readonly doc: CheckedDocument<StoredDoc>,
    private readonly opts: TrustAnchorStoreOptions,
  ) {}

  /**
   * Opens (loads, or starts empty when no file exists). A damaged file falls back to its previous copy; both
   * unusable → TaStoreError ta.store.corrupt, never an empty set.
   */
  static async open(file: string, opts: TrustAnchorStoreOptions = {}): Promise<TrustAnchorStore> {
    // The bare JSON of earlier releases is converted once; a damaged one is refused with decodeDoc's reason.
    const doc = new CheckedDocument<StoredDoc>(file, { kind: TA_STORE_KIND, version: TA_STORE_SCHEMA, check: decodeDoc, error: TaStoreError, now: opts.now, log: opts.log });
    const s = new TrustAnchorStore(doc.file, doc, opts);
    await s.reload();
    return s;
  }

  /** Re-reads the file (what another process or an operator wrote). */
  async reload(): Promise<void> {
    await this.doc.reload((doc) => (this.anchors = doc ? decodeDoc(doc, this.file) : []));
  }

  /** Persists `next` and, once durable, makes it the in-memory set. */
  private async commit(next: TrustAnchor[]): Promise<void> {
    checkUnique(next, this.file);
    await this.doc.save(encodeDoc(next));
    this.anchors = next;
  }

  private now(): string {
    return (this.opts.now ? this.opts.now() : new Date()).toISOString();
  }

  /** All anchors (a snapshot). */
  list(): TrustAnchor[] {
    return [...this.anchors];
  }

  get size(): number {
    return this.anchors.length;
  }

  /** By fingerprint (hex SHA-256 of the DER) or name. */
  get(fingerprintOrName: string): TrustAnchor | undefined {
    const k = fingerprintOrName.toLowerCase();
    return this.anchors.find((a) => a.fingerprint === k || a.name === fingerprintOrName);
  }

  /** The anchor holding exactly this certificate, if any. */
  find(cert: Uint8Array | pkijs.Certificate): TrustAnchor | undefined {
    const fp = fingerprintOf(cert instanceof Uint8Array ? cert : derOf(cert));
    return this.anchors.find((a) => a.fingerprint === fp);
  }

  /** Anchors authorized for `use`. */
  anchorsFor(use: TaUse): TrustAnchor[] {
    return this.anchors.filter((a) => a.uses.includes(use));
  }

  /** DER certificates of the anchors authorized for `use` (what validateChain/createHttpsTransport take). */
  certificatesFor(use: TaUse): Uint8Array[] {
    return this.anchorsFor(use).map((a) => a.der);
  }

  /** SHA-256 digest of the set (see the file comment). */
  digest(): string {
    return trustAnchorSetDigest(this.anchors);
  }

  /**
   * Adds anchors, or updates name/source/uses of ones already present (same certificate). One atomic write for
   * the whole batch; nothing is written when nothing changes. A name used by another certificate is an error.
   */
  add(inputs: TrustAnchorInput | readonly TrustAnchorInput[]): Promise<TaChange[]> {
    const list = Array.isArray(inputs) ? (inputs as readonly TrustAnchorInput[]) : [inputs as TrustAnchorInput];
    return this.doc.serial(async () => {
      await loadCert();
      const now = this.now();
      const next = [...this.anchors];
      const changes: TaChange[] = [];
      list.forEach((input, i) => {
        const ta = makeTa(input, now, `trust anchor #${i}`);
        const at = next.findIndex((a) => a.fingerprint === ta.fingerprint);
        if (at < 0) {
          next.push(ta);
          changes.push('added');
          return;
        }
        const old = next[at]!;
        if (old.name === ta.name && old.source === ta.source && old.uses.join(',') === ta.uses.join(',')) {
          changes.push('unchanged');
          return;
        }
        next[at] = { ...ta, addedAt: old.addedAt };
        changes.push('updated');
      });
      if (changes.some((c) => c !== 'unchanged')) await this.commit(next);
      return changes;
    });
  }

  /**
   * Seeds anchors from the configuration: adds those not present; one already present (the same certificate, e.g.
   * one CA both for the EST server and for firmware) keeps its name, source and uses and gains the input's uses —
   * add() would replace its uses, so two features seeding the same certificate would take it from each other.
   * One atomic write for the batch; nothing is written when nothing changes.
   */
  seed(inputs: readonly TrustAnchorInput[]): Promise<TaChange[]> {
    return this.doc.serial(async () => {
      await loadCert();
      const now = this.now();
      const next = [...this.anchors];
      const changes = inputs.map((input, i): TaChange => {
        const ta = makeTa(input, now, `trust anchor #${i}`);
        const at = next.findIndex((a) => a.fingerprint === ta.fingerprint);
        if (at < 0) return (next.push(ta), 'added');
        const old = next[at]!;
        const missing = ta.uses.filter((u) => !old.uses.includes(u));
        if (missing.length === 0) return 'unchanged';
        next[at] = { ...old, uses: [...old.uses, ...missing] };
        return 'updated';
      });
      if (changes.some((c) => c !== 'unchanged')) await this.commit(next);
      return changes;
    });
  }

  /** Removes by fingerprint or name. Returns false when there was no such anchor. */
  remove(fingerprintOrName: string): Promise<boolean> {
    return this.doc.serial(async () => {
      const k = fingerprintOrName.toLowerCase();
      const next = this.anchors.filter((a) => a.fingerprint !== k && a.name !== fingerprintOrName);
      if (next.length === this.anchors.length) return false;
      await this.commit(next);
      return true;
    });
  }

  /** Replaces the whole set (e.g. provisioning). An anchor kept across the replace keeps its addedAt. */
  replace(inputs: readonly TrustAnchorInput[]): Promise<void> {
    return this.doc.serial(async () => {
      await loadCert();
      const now = this.now();
      const next = inputs.map((input, i) => {
        const ta = makeTa(input, now, `trust anchor #${i}`);
        const old = this.anchors.find((a) => a.fingerprint === ta.fingerprint);
        return old ? { ...ta, addedAt: old.addedAt } : ta;
      });
      await this.commit(next);
    });
  }
}

function checkUnique(anchors: readonly TrustAnchor[], file: string): void {
  const fps = new Set<string>();
  const names = new Set<string>();
  for (const a of anchors) {
    if (fps.has(a.fingerprint)) throw new TaStoreError('duplicate', `${file}: certificate ${a.fingerprint} listed twice`);
    if (names.has(a.name)) throw new TaStoreError('duplicate', `${file}: trust anchor name ${JSON.stringify(a.name)} used twice`);
    fps.add(a.fingerprint);
    names.add(a.name);
  }
}
