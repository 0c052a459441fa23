// What the key package handlers (0020–0025, RFC 8295 §5 and RFC 7030 §4.4) share: their configuration, the signed
// package check (CMS SignedData, one signer, chain to a TA authorized for key packages), the RFC 7191 receipt/error
// built and signed by the device key, and the POST of the persisted outbox to the /return path (204); the outbox and
// the metadata of the keys held in the TPM are in state.ts. Policy choices (documented in the report):
//   • a receipt is produced when the package's signed attributes carry id-aa-KP-keyPkgIdAndReceiptReq with a
//     receiptReq (RFC 7191 §2); an error is produced for every refused package (errorOf = its pkgID when known);
//     receiptsTo is not used for routing — RFC 8295 names the /return path;
//   • /symmetrickeys takes SignedData(SymmetricKeyPackage), bare or inside EnvelopedData / EncryptedKeyPackage
//     (RFC 6032) to the device's TPM-held key-encryption key (kek.ts); an encrypted package that reaches the
//     signature check undecrypted (no KEK) is refused with noDecryptKey.
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { KeyImportStore, KeyStore } from '../../keystore/keystore.js';
import { type SignerWithChain, createSignedData, signerWithChainOptions } from '../../pki/asn1/cms-signed-data-create.js';
import { CmsOpenError, openSigned, type CmsOpenReason, type OpenedSigned } from '../../pki/cms/open-signed.js';
import { OID_ENVELOPED_DATA } from '../../pki/cms/oids.js';
import { KeyPackageError, type ErrorCodeChoice } from '../../pki/asn1/key-package-error.js';
import { type KeyPackageErrorCodeName, OID_CT_KP_ENCRYPTED_KEY_PACKAGE } from '../../pki/asn1/key-package-oids.js';
import { KeyPackageReceipt } from '../../pki/asn1/key-package-receipt.js';
import { KeyPkgIdentifier } from '../../pki/asn1/key-pkg-identifier.js';
import { KeyPkgIdentifierAndReceiptReq } from '../../pki/asn1/key-pkg-identifier-and-receipt-req.js';
import { SIREntityName } from '../../pki/asn1/siren-entity-name.js';
import { EnrolldError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';

// the persisted state lives in state.ts (light: the feature's start and the firmware feature read it)
export { postReturns, returnMediaType } from './returns.js';
export { KeysStateFile, type KeysState, type OutboxItem, type StoredKek, type StoredServerKey, type StoredSymmetricKey } from './state.js';

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
  /** Password of 0022 PKCS #12 packages: a 0600 file, or a symmetric key sealed in the TPM (by its keyId). */
  pkcs12Password?: { file: string } | { sealedKeyId: string };
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

/** RFC 7191 §4 error code and log code for each reason a SignedData is refused. */
const REFUSAL: Record<CmsOpenReason, [code: string, rfc: KeyPackageErrorCodeName]> = {
  malformed: ['decode', 'decodeFailure'],
  'not-signed-data': ['content_info', 'badContentInfo'],
  'bad-signed-data': ['signed_data', 'badSignedData'],
  'no-signer': ['unsigned', 'missingSignature'],
  'too-many-signers': ['signers', 'tooManySigners'],
  'unexpected-content': ['content_type', 'badEncapContent'],
  'missing-content': ['missing_content', 'missingContent'],
  'bad-signer-info': ['signer_info', 'badSignerInfo'],
  'unsupported-digest': ['digest_algorithm', 'badDigestAlgorithm'],
  'missing-signed-attrs': ['signed_attrs', 'missingSignedAttributes'],
  'bad-signed-attrs': ['signed_attrs', 'badSignedAttrs'],
  'content-type-mismatch': ['signed_attrs', 'badSignedAttrs'],
  'digest-mismatch': ['signature', 'signatureFailure'],
  'bad-certificate': ['certificate', 'badCertificate'],
  'unknown-signer': ['no_signer_cert', 'missingCertificate'],
  'no-trust-anchor': ['not_authorized', 'noTrustAnchor'],
  'not-authorized': ['not_authorized', 'noTrustAnchor'],
  'unsupported-signature-algorithm': ['signature_algorithm', 'badSignatureAlgorithm'],
  'bad-public-key': ['signer_key', 'unsupportedParameters'],
  'unsupported-key': ['signer_key', 'unsupportedKeySize'],
  'bad-signature': ['signature', 'signatureFailure'],
};

/** ContentInfo(SignedData) → verified content: exactly one signer, signature valid, signer chains to a key-package TA. */
export async function verifySignedKeyPackage(der: Uint8Array, anchors: ReadonlyArray<Uint8Array>, at: Date): Promise<VerifiedKeyPackage> {
  let v: OpenedSigned;
  try {
    // copyInput: false — the tree views `der` (which the caller wipes) instead of an unreachable copy of the keys
    v = await openSigned(der, { copyInput: false, trust: { authorized: [{ use: 'keyPackage', anchors }], at } });
  } catch (e) {
    if (!(e instanceof CmsOpenError)) throw e;
    if (e.contentType === OID_CT_KP_ENCRYPTED_KEY_PACKAGE || e.contentType === OID_ENVELOPED_DATA) {
      throw new KeyPackageRefused('encrypted', 'noDecryptKey', `content type ${e.contentType} (encrypted key package) is not supported`);
    }
    if (e.attributeType === KeyPkgIdentifierAndReceiptReq.ATTRIBUTE_TYPE) throw new KeyPackageRefused('attributes', 'badAttributes', `keyPkgIdAndReceiptReq: ${e.message}`, { cause: e });
    const [code, rfc] = REFUSAL[e.reason];
    throw new KeyPackageRefused(code, rfc, e.message, { cause: e });
  }
  const attr = v.attributes.get(KeyPkgIdentifierAndReceiptReq.ATTRIBUTE_TYPE);
  let idAndReq: KeyPkgIdentifierAndReceiptReq | undefined;
  if (attr) {
    try {
      idAndReq = new KeyPkgIdentifierAndReceiptReq({ schema: attr });
    } catch (err) {
      throw new KeyPackageRefused('attributes', 'badAttributes', `keyPkgIdAndReceiptReq: ${(err as Error).message}`, { cause: err });
    }
  }
  return { eContentType: v.eContentType, eContent: v.eContent, ...(idAndReq ? { idAndReq } : {}), signer: v.signer };
}

// ---- receipts and errors ---------------------------------------------------------------------------------------


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

export const hexOf = (b: Uint8Array | undefined): string | undefined => (b ? Buffer.from(b).toString('hex') : undefined);
export const sha256Hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
