// What the key package handlers (0020–0025, RFC 8295 §5 and RFC 7030 §4.4) share: their configuration, the signed
// package check (CMS SignedData, one signer, chain to a TA authorized for key packages), the RFC 7191 receipt/error
// built and signed by the device key, a persisted outbox POSTed to the /return path (204), and the metadata store
// of keys held in the TPM. Policy choices (documented in the report):
//   • a receipt is produced when the package's signed attributes carry id-aa-KP-keyPkgIdAndReceiptReq with a
//     receiptReq (RFC 7191 §2); an error is produced for every refused package (errorOf = its pkgID when known);
//     receiptsTo is not used for routing — RFC 8295 names the /return path;
//   • only SignedData(SymmetricKeyPackage) is accepted on /symmetrickeys; EncryptedKeyPackage (RFC 6032) and
//     EnvelopedData are refused with noDecryptKey (enrolld holds no key-encryption key yet).
import { createHash } from 'node:crypto';
import path from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { KeyImportStore, KeyRecord, KeyStore, SealedRecord } from '../../keystore/keystore.js';
import { type SignerWithChain, createSignedData, signerWithChainOptions } from '../../pki/asn1/cms-signed-data-create.js';
import { OID_CMS_SIGNED_DATA } from '../../pki/asn1/firmware-oids.js';
import { KeyPackageError, type ErrorCodeChoice } from '../../pki/asn1/key-package-error.js';
import { type KeyPackageErrorCodeName, MEDIA_TYPE_CMS } from '../../pki/asn1/key-package-oids.js';
import { KeyPackageReceipt } from '../../pki/asn1/key-package-receipt.js';
import { KeyPkgIdentifier } from '../../pki/asn1/key-pkg-identifier.js';
import { KeyPkgIdentifierAndReceiptReq } from '../../pki/asn1/key-pkg-identifier-and-receipt-req.js';
import { SIREntityName } from '../../pki/asn1/siren-entity-name.js';
import { certificateFromDer } from '../../pki/cert.js';
import { validateChain } from '../../pki/chain.js';
import type { Transport } from '../../protocols/http/transport.js';
import { readFileIfExists, writeFileAtomic, ensurePrivateDir } from '../../store/atomic-file.js';
import { EnrolldError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';

/** What the composition root fills in for the key package handlers. */
export interface KeyPackagesConfig {
  /** The TPM keystore (imports and seals). */
  keystore: KeyStore & KeyImportStore;
  /** Private directory for key metadata and the report outbox (no secret is ever written). */
  stateDir: string;
  /** DER Name of the device (its certificate subject): SIREntityName id-dn for receivedBy / errorBy. */
  deviceName: Uint8Array;
  /** TAs authorized to sign symmetric key packages (RFC 6031 §1: the package signer must be authorized). */
  trustAnchors: () => Promise<ReadonlyArray<Uint8Array>>;
  /** Signs receipts/errors (the device key); its certificate and chain are included with them. */
  returnSigner: SignerWithChain | (() => Promise<SignerWithChain | undefined>);
  /** Largest package body accepted (default 64 KiB). */
  maxPackageBytes?: number;
  /** Warnings about tolerated peer quirks. */
  log?: Logger;
  now?: () => Date;
}

/** The signer to use now: a function is asked each time (the device credential may have been renewed). */
export async function currentSigner(cfg: Pick<KeyPackagesConfig, 'returnSigner'>): Promise<SignerWithChain> {
  const rs = typeof cfg.returnSigner === 'function' ? await cfg.returnSigner() : cfg.returnSigner;
  if (!rs) throw new EnrolldError('keys.no_credential', 'no device credential to sign with (not enrolled yet)');
  return rs;
}

async function signerFields(cfg: Pick<KeyPackagesConfig, 'returnSigner'>): Promise<ReturnType<typeof signerWithChainOptions>> {
  return signerWithChainOptions(await currentSigner(cfg));
}

export const DEFAULT_MAX_PACKAGE_BYTES = 64 * 1024;

/** A refused key package: `code` for logs/status, `rfc` the RFC 7191 error code returned. */
export class KeyPackageRefused extends EnrolldError {
  constructor(
    code: string,
    readonly rfc: KeyPackageErrorCodeName,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`keys.${code}`, message, options);
  }
}

// ---- signed package check --------------------------------------------------------------------------------------

export interface VerifiedKeyPackage {
  eContentType: string;
  eContent: Uint8Array;
  /** pkgID and receipt request from the signed attributes, when present. */
  idAndReq?: KeyPkgIdentifierAndReceiptReq;
  signer: pkijs.Certificate;
}

const OID_ENCRYPTED_KEY_PACKAGE = '2.16.840.1.101.2.1.2.78.2'; // RFC 6032 id-ct-KP-encryptedKeyPkg
const OID_ENVELOPED_DATA = '1.2.840.113549.1.7.3';

/** Reads the pkgID before verification (for errorOf), tolerating anything. */
export function peekPkgId(der: Uint8Array): Uint8Array | undefined {
  try {
    const sd = new pkijs.SignedData({ schema: new pkijs.ContentInfo({ schema: asn1js.fromBER(der, { copyInput: false } as never).result }).content });
    const attr = sd.signerInfos[0]?.signedAttrs?.attributes.find((a) => a.type === KeyPkgIdentifierAndReceiptReq.ATTRIBUTE_TYPE);
    return attr ? new KeyPkgIdentifierAndReceiptReq({ schema: attr.values[0] as asn1js.AsnType }).pkgID : undefined;
  } catch {
    return undefined;
  }
}

/** ContentInfo(SignedData) → verified content: exactly one signer, signature valid, signer chains to a key-package TA. */
export async function verifySignedKeyPackage(der: Uint8Array, anchors: ReadonlyArray<Uint8Array>, at: Date): Promise<VerifiedKeyPackage> {
  let ci: pkijs.ContentInfo;
  try {
    // copyInput: false — the tree views `der` (which the caller wipes) instead of an unreachable copy of the keys
    const parsed = asn1js.fromBER(der, { copyInput: false } as never);
    if (parsed.offset !== der.byteLength || parsed.result.error) throw new Error(parsed.result.error || 'trailing bytes');
    ci = new pkijs.ContentInfo({ schema: parsed.result });
  } catch (e) {
    throw new KeyPackageRefused('decode', 'decodeFailure', `not a CMS ContentInfo: ${(e as Error).message}`, { cause: e });
  }
  if (ci.contentType === OID_ENCRYPTED_KEY_PACKAGE || ci.contentType === OID_ENVELOPED_DATA) {
    throw new KeyPackageRefused('encrypted', 'noDecryptKey', `content type ${ci.contentType} (encrypted key package) is not supported`);
  }
  if (ci.contentType !== OID_CMS_SIGNED_DATA) throw new KeyPackageRefused('content_info', 'badContentInfo', `content type ${ci.contentType} is not signedData`);
  let sd: pkijs.SignedData;
  try {
    sd = new pkijs.SignedData({ schema: ci.content });
  } catch (e) {
    throw new KeyPackageRefused('signed_data', 'badSignedData', `SignedData does not parse: ${(e as Error).message}`, { cause: e });
  }
  if (sd.signerInfos.length === 0) throw new KeyPackageRefused('unsigned', 'missingSignature', 'the key package is not signed');
  if (sd.signerInfos.length > 1) throw new KeyPackageRefused('signers', 'tooManySigners', `${sd.signerInfos.length} signers`);
  const e = sd.encapContentInfo;
  if (!e.eContent) throw new KeyPackageRefused('missing_content', 'missingContent', 'no encapsulated content');
  const si = sd.signerInfos[0]!;
  if (!si.signedAttrs) throw new KeyPackageRefused('signed_attrs', 'missingSignedAttributes', 'no signed attributes');
  let result: { signatureVerified?: boolean | null; signerCertificate?: pkijs.Certificate | null };
  try {
    result = (await sd.verify({ signer: 0, checkChain: false, extendedMode: true })) as typeof result;
  } catch (err) {
    const r = err as { signerCertificate?: pkijs.Certificate; message?: string; code?: number };
    if (!r.signerCertificate) throw new KeyPackageRefused('no_signer_cert', 'missingCertificate', `signer certificate not included (${r.message ?? String(err)})`);
    throw new KeyPackageRefused('signature', 'signatureFailure', `signature does not verify (${r.message ?? String(err)})`);
  }
  if (!result.signatureVerified || !result.signerCertificate) throw new KeyPackageRefused('signature', 'signatureFailure', 'signature does not verify');
  const others = (sd.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate && c !== result.signerCertificate);
  try {
    await validateChain({ leaf: result.signerCertificate, intermediates: others, trustAnchors: anchors.map((a) => certificateFromDer(a)), at });
  } catch (err) {
    throw new KeyPackageRefused('not_authorized', 'noTrustAnchor', `signer does not chain to a key-package trust anchor: ${(err as Error).message}`, { cause: err });
  }
  const attr = si.signedAttrs.attributes.find((a) => a.type === KeyPkgIdentifierAndReceiptReq.ATTRIBUTE_TYPE);
  let idAndReq: KeyPkgIdentifierAndReceiptReq | undefined;
  if (attr) {
    if (attr.values.length !== 1) throw new KeyPackageRefused('attributes', 'badAttributes', 'keyPkgIdAndReceiptReq must have one value');
    try {
      idAndReq = new KeyPkgIdentifierAndReceiptReq({ schema: attr.values[0] as asn1js.AsnType });
    } catch (err) {
      throw new KeyPackageRefused('attributes', 'badAttributes', `keyPkgIdAndReceiptReq: ${(err as Error).message}`, { cause: err });
    }
  }
  return { eContentType: e.eContentType, eContent: new Uint8Array(e.eContent.getValue()), ...(idAndReq ? { idAndReq } : {}), signer: result.signerCertificate };
}

// ---- receipts and errors ---------------------------------------------------------------------------------------

export interface OutboxItem {
  kind: 'receipt' | 'error';
  /** Which /return path: 'symmetrickeys' or 'serverkeygen'. */
  path: 'symmetrickeys' | 'serverkeygen';
  /** base64 DER ContentInfo(SignedData(receipt|error)). */
  der: string;
  /** hex pkgID, for logs. */
  pkgId?: string;
}

export function returnMediaType(kind: 'receipt' | 'error'): string {
  return `${MEDIA_TYPE_CMS}; encapsulatingContent=signedData; innerContent=${kind === 'receipt' ? 'keyPackageReceipt' : 'keyPackageError'}`;
}

export async function signedReceipt(cfg: KeyPackagesConfig, pkgId: Uint8Array): Promise<Uint8Array> {
  const r = new KeyPackageReceipt({ receiptOf: new KeyPkgIdentifier({ pkgID: pkgId }), receivedBy: SIREntityName.fromDistinguishedName(cfg.deviceName) });
  return createSignedData({
    eContentType: KeyPackageReceipt.CONTENT_TYPE,
    eContent: r.toDer(),
    ...(await signerFields(cfg)),
    signingTime: (cfg.now ?? (() => new Date()))(),
  });
}

export async function signedError(cfg: KeyPackagesConfig, code: ErrorCodeChoice, pkgId?: Uint8Array): Promise<Uint8Array> {
  const e = new KeyPackageError({
    ...(pkgId ? { errorOf: new KeyPkgIdentifier({ pkgID: pkgId }) } : {}),
    errorBy: SIREntityName.fromDistinguishedName(cfg.deviceName),
    errorCode: code,
  });
  return createSignedData({
    eContentType: KeyPackageError.CONTENT_TYPE,
    eContent: e.toDer(),
    ...(await signerFields(cfg)),
    signingTime: (cfg.now ?? (() => new Date()))(),
  });
}

// ---- persisted state: key metadata and the outbox --------------------------------------------------------------

export interface StoredSymmetricKey {
  keyId: string;
  algorithm?: string;
  pkgId?: string;
  receivedAt: string;
  sealed: SealedRecord;
}

export interface StoredServerKey {
  id: string;
  receivedAt: string;
  key: { id: string; algorithm: string; spki: string; location: KeyRecord['location'] };
  certificatePem: string;
  chainPem: string[];
}

interface KeysState {
  schema: 1;
  symmetric: StoredSymmetricKey[];
  serverKeys: StoredServerKey[];
  outbox: OutboxItem[];
}

/** JSON state in `stateDir/keys.json` (atomic writes, 0600). Holds TPM blobs and metadata, never a plaintext key. */
export class KeysStateFile {
  constructor(private readonly dir: string) {}
  private get file(): string {
    return path.join(this.dir, 'keys.json');
  }
  async load(): Promise<KeysState> {
    const raw = await readFileIfExists(this.file);
    if (!raw) return { schema: 1, symmetric: [], serverKeys: [], outbox: [] };
    const s = JSON.parse(raw.toString('utf8')) as KeysState;
    if (s.schema !== 1) throw new EnrolldError('keys.state', `keys.json schema ${String(s.schema)} is not supported`);
    return s;
  }
  async update(fn: (s: KeysState) => void): Promise<KeysState> {
    await ensurePrivateDir(this.dir);
    const s = await this.load();
    fn(s);
    await writeFileAtomic(this.file, JSON.stringify(s, null, 2));
    return s;
  }
}

/** POSTs the outbox items for `which` to `url`; an item leaves the outbox only on 204. */
export async function postReturns(
  state: KeysStateFile,
  transport: Transport,
  which: OutboxItem['path'],
  url: URL,
  signal?: AbortSignal,
): Promise<{ sent: number; failed: string[] }> {
  const items = (await state.load()).outbox.filter((i) => i.path === which);
  const failed: string[] = [];
  let sent = 0;
  for (const item of items) {
    try {
      const res = await transport.request({
        method: 'POST',
        url,
        headers: { 'content-type': returnMediaType(item.kind) },
        body: new Uint8Array(Buffer.from(item.der, 'base64')),
        ...(signal ? { signal } : {}),
      });
      if (res.status !== 204) throw new Error(`HTTP ${res.status}`);
      await state.update((s) => {
        s.outbox = s.outbox.filter((o) => o.der !== item.der);
      });
      sent++;
    } catch (e) {
      failed.push(`${item.kind} ${item.pkgId ?? ''}: ${(e as Error).message}`);
    }
  }
  return { sent, failed };
}

export const hexOf = (b: Uint8Array | undefined): string | undefined => (b ? Buffer.from(b).toString('hex') : undefined);
export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
