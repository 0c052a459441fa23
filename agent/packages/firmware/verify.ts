// Verification and unpacking of a downloaded RFC 4108 firmware package (a file), in constant memory:
//  1. outer structure by incremental DER reading (cms-signed-data-stream.ts): ContentInfo → SignedData v3, one
//     digest algorithm, one SignerInfo; eContentType firmwarePackage | compressedData | encryptedData; eContent present;
//  2. SignerInfo, with the checks every SignedData the agent trusts gets (agent/pki/cms/open-signed.ts): version/sid,
//     digest algorithm (SHA-256/384/512, listed in SignedData), signed attributes REQUIRED, each single-valued and
//     unique, content-type attribute = eContentType; then RFC 4108's: unsigned attributes only wrappedFirmwareKey;
//  3. eContent streamed from the package file into content.bin while hashed; the digest must equal message-digest;
//  4. signer certificate (by sid, from the SignedData certificates or a trust anchor itself) validated to a trust
//     anchor AUTHORIZED FOR FIRMWARE; one that only chains to some other TA is notAuthorized (§4.1.3);
//  5. the signature over the DER signed attributes (open-signed.ts: ECDSA P-256/384/521, RSA ≥ 2048 PKCS#1 v1.5 or
//     PSS, Ed25519);
//  6. RFC 4108 checks on the now-trusted attributes: firmware-package-identifier and target-hardware-module-
//     identifiers present; this module's hardware type listed (§2.2.4); community membership (§2.2.8); package type
//     and dependencies (§2.2.9); stale version / no downgrade (§1.2.3, state.ts);
//  7. content: encryptedData (§2.1.3) → decrypted in a stream with the key named by decrypt-key-identifier (AES-CBC,
//     RFC 3565; keys come from `decryptKey`, e.g. symmetric key packages held by the TPM) into firmwarePackage or
//     compressedData; compressedData → RFC 3274 zlib, inflated (streamed, size-capped) into image.bin; otherwise content.bin IS the
//     image; the optional firmware-package-message-digest (§2.2.10) is checked against the final image.
// Every rejection is a FirmwareLoadFailure with the §4.1.3 error code.
import { createDecipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflate } from 'node:zlib';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { AES_CBC, digestByOid } from '../../pki/algorithms.js';
import { certificateFromDer, certificateKeyId, certificateSpki } from '../../pki/cert.js';
import { CmsOpenError, RFC5934_STATUS_NAMES, checkMessageDigest, checkSignerInfo, findSigner, validateSigner, verifySignerSignature, type CmsOpenReason } from '../../pki/cms/open-signed.js';
import { CmsStreamError, readCompressedDataLayout, readEncryptedDataLayout, readSignedDataLayout, type ByteRange, type CmsStreamStage, type EncryptedDataLayout } from '../../pki/asn1/cms-signed-data-stream.js';
import { DecryptKeyIdentifier } from '../../pki/asn1/firmware-decrypt-key-id.js';
import { CommunityIdentifiers } from '../../pki/asn1/firmware-community-ids.js';
import { FirmwarePackageInfo } from '../../pki/asn1/firmware-package-info.js';
import { FirmwarePackageIdentifier } from '../../pki/asn1/firmware-package-identifier.js';
import { FirmwarePackageMessageDigest } from '../../pki/asn1/firmware-message-digest.js';
import {
  OID_ALG_ZLIB_COMPRESS,
  OID_AA_WRAPPED_FIRMWARE_KEY,
  OID_CMS_ENCRYPTED_DATA,
  OID_CT_COMPRESSED_DATA,
  OID_CT_FIRMWARE_PACKAGE,
  type FirmwareErrorCodeName,
} from '../../pki/asn1/firmware-oids.js';
import type { PreferredOrLegacyPackageIdentifier } from '../../pki/asn1/firmware-package-name.js';
import { TargetHardwareIdentifiers } from '../../pki/asn1/firmware-target-hardware-ids.js';
import { commitFile, writeFileAtomicStream } from '../../store/atomic-file.js';
import { firmwareLayout } from '../../store/layout.js';
import { IO_CHUNK, forEachChunk, gcTicker } from './download.js';
import { FirmwareLoadFailure } from './errors.js';
import { checkStale, compareLegacyNames, type FirmwareState, type LegacyCompare } from './state.js';

export interface DeviceIdentity {
  /** This module's hardware type OID (receipts/errors: hwType). */
  hwType: string;
  /** Further type OIDs the module answers to in target-hardware-module-identifiers (e.g. model without revision). */
  altHwTypes?: string[];
  /** Module serial number (receipts/errors: hwSerialNum; community hwModuleList membership). */
  hwSerialNum: Uint8Array;
  /** Community OIDs this module belongs to (§2.2.8). */
  communities?: string[];
}

/** Trust anchors for a purpose: `firmware` = authorized firmware signers; `all` = every installed TA (for notAuthorized). */
export type TrustAnchorsProvider = (purpose: 'firmware' | 'all') => Promise<ReadonlyArray<Uint8Array | pkijs.Certificate>>;

export interface VerifyOptions {
  device: DeviceIdentity;
  trustAnchors: TrustAnchorsProvider;
  state: FirmwareState;
  /** Directory for content.bin / image.bin (the caller's 0700 work dir). */
  workDir: string;
  /** Certificate validation time (default now). */
  at?: Date;
  compareLegacy?: LegacyCompare;
  /** Accepted firmware-package-info fwPkgType values; undefined = any. */
  supportedPackageTypes?: readonly bigint[];
  /** Cap on the decompressed image (default 4 GiB). */
  maxImageBytes?: number;
  /**
   * Firmware-decryption keys by decrypt-key-identifier (§2.2.5), delivered earlier (e.g. a symmetric key package
   * sealed in the TPM). Absent or undefined for the id: the package is refused with noDecryptKey. The caller owns
   * the returned buffer; it is zeroed after use.
   */
  decryptKey?: (keyId: Uint8Array) => Promise<Uint8Array | undefined>;
}

export interface VerifiedPackage {
  identifier: FirmwarePackageIdentifier;
  imagePath: string;
  imageSize: number;
  imageSha256: string;
  compressed: boolean;
  /** decrypt-key-identifier of the key that decrypted the package (receipts: decryptKeyID), when it was encrypted. */
  decryptKeyId?: Uint8Array;
  targetHardware: string[];
  packageInfo?: FirmwarePackageInfo;
  signerSubject: string;
  /** Key identifier of the trust anchor the signer chained to (receipts: trustAnchorKeyID). */
  trustAnchorKeyId: Uint8Array;
}

const STAGE_CODES: Record<CmsStreamStage, FirmwareErrorCodeName> = {
  decode: 'decodeFailure',
  'content-info': 'badContentInfo',
  'signed-data': 'badSignedData',
  'encap-content': 'badEncapContent',
  'missing-content': 'missingContent',
  certificate: 'badCertificate',
  'signer-info': 'badSignerInfo',
  'compressed-data': 'badEncapContent',
  'encrypted-data': 'badEncapContent',
};

/** §4.1.3 error code for each reason the shared SignedData checks refuse a package (RFC 5934's names, but these). */
const REASON_CODES: Record<CmsOpenReason, FirmwareErrorCodeName> = {
  ...RFC5934_STATUS_NAMES,
  'no-signer': 'badSignedData',
  'content-type-mismatch': 'contentTypeMismatch',
};

const eq = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

type Fail = (code: FirmwareErrorCodeName, message: string, extra?: { cause?: unknown }) => never;

/** Runs one of the shared SignedData checks (agent/pki/cms/open-signed.ts); its refusal becomes the §4.1.3 code. */
function cmsStep<T>(step: () => T, onFail: Fail): T {
  let r: T;
  try {
    r = step();
  } catch (e) {
    if (e instanceof CmsOpenError) return onFail(REASON_CODES[e.reason], e.message, { cause: e });
    throw e;
  }
  if (r instanceof Promise) {
    return r.catch((e: unknown) => {
      if (e instanceof CmsOpenError) return onFail(REASON_CODES[e.reason], e.message, { cause: e });
      throw e;
    }) as T;
  }
  return r;
}

/** Copies the byte ranges of `src` into `dest` (atomic, 0600), feeding every byte to `hashes`. Constant memory. */
function copyRanges(src: string, ranges: ByteRange[], dest: string, hashes: Array<ReturnType<typeof createHash> | undefined>): Promise<number> {
  return writeFileAtomicStream(dest, (out) =>
    forEachChunk(src, ranges, async (c) => {
      for (const h of hashes) h?.update(c);
      await out.write(c);
    }),
  );
}

const fail = (code: FirmwareErrorCodeName, message: string, extra: { code?: string; fwPkgName?: PreferredOrLegacyPackageIdentifier; cause?: unknown } = {}): never => {
  throw new FirmwareLoadFailure(code, message, extra);
};

/** Verifies the package file and leaves the image in `<workDir>/image.bin`. Throws FirmwareLoadFailure. */
export async function verifyFirmwarePackage(packagePath: string, o: VerifyOptions): Promise<VerifiedPackage> {
  // 1. Outer structure.
  let layout: Awaited<ReturnType<typeof readSignedDataLayout>>;
  try {
    layout = await readSignedDataLayout(packagePath);
  } catch (e) {
    if (e instanceof CmsStreamError) return fail(STAGE_CODES[e.stage], e.message, { cause: e });
    throw e;
  }
  if (layout.version !== 3) fail('badSignedData', `SignedData version ${layout.version}, RFC 4108 §2.1.2 requires 3`);
  if (layout.digestAlgorithms.length !== 1) fail('badSignedData', `SignedData has ${layout.digestAlgorithms.length} digest algorithms, exactly one is required`);
  if (layout.signerInfos.length !== 1) fail('badSignedData', `SignedData has ${layout.signerInfos.length} SignerInfos, exactly one is required`);
  if (![OID_CT_FIRMWARE_PACKAGE, OID_CT_COMPRESSED_DATA, OID_CMS_ENCRYPTED_DATA].includes(layout.eContentType)) {
    fail('badEncapContent', `eContentType ${layout.eContentType} is not firmwarePackage, compressedData or encryptedData`);
  }
  if (!layout.eContent) fail('missingContent', 'the SignedData carries no eContent (detached packages are not accepted)');

  // 2. SignerInfo: the shared checks (version/sid, digest algorithm, signed attributes, content-type), then RFC 4108's
  //    restriction of unsigned attributes.
  const si = layout.signerInfos[0]!;
  const checked = cmsStep(() => checkSignerInfo(si, layout.eContentType, layout.digestAlgorithms), fail);
  const byType = checked.attributes;
  if (si.unsignedAttrs) {
    const u = si.unsignedAttrs.attributes;
    if (u.some((a) => a.type !== OID_AA_WRAPPED_FIRMWARE_KEY) || u.length > 1) fail('badUnsignedAttrs', 'unsigned attributes other than a single wrapped-firmware-decryption-key');
  }
  // The package name, for error reports (only trusted after step 5).
  let identifier: FirmwarePackageIdentifier | undefined;
  try {
    const v = byType.get(FirmwarePackageIdentifier.ATTRIBUTE_OID);
    if (v) identifier = FirmwarePackageIdentifier.fromNode(v);
  } catch (e) {
    fail('badSignedAttrs', `firmware-package-identifier: ${(e as Error).message}`, { cause: e });
  }
  const name = identifier?.name;
  const failN = (code: FirmwareErrorCodeName, message: string, extra: { code?: string; cause?: unknown } = {}): never => fail(code, message, { ...extra, ...(name ? { fwPkgName: name } : {}) });

  // The optional §2.2.10 digest of the final image (checked in step 7).
  let fwMd: FirmwarePackageMessageDigest | undefined;
  const mdNode = byType.get(FirmwarePackageMessageDigest.ATTRIBUTE_OID);
  if (mdNode) {
    try {
      fwMd = FirmwarePackageMessageDigest.fromNode(mdNode);
    } catch (e) {
      return failN('badSignedAttrs', `firmware-package-message-digest: ${(e as Error).message}`, { cause: e });
    }
  }
  const fwMdAlg = fwMd ? digestByOid(fwMd.algorithm.algorithmId) : undefined;
  if (fwMd && !fwMdAlg?.cmsVerify) failN('badDigestAlgorithm', `firmware-package-message-digest algorithm ${fwMd.algorithm.algorithmId} is unsupported`);
  const iHash = createHash('sha256');
  const mHash = fwMdAlg ? createHash(fwMdAlg.node) : undefined;
  const plain = layout.eContentType === OID_CT_FIRMWARE_PACKAGE;

  // 3. eContent → content.bin, digested on the way (for a plain package that is the image: its hashes too).
  const contentPath = firmwareLayout(o.workDir).content;
  const cHash = createHash(checked.digest.node);
  const contentLength = await copyRanges(packagePath, layout.eContent!, contentPath, plain ? [cHash, iHash, mHash] : [cHash]);
  cmsStep(() => checkMessageDigest(checked, new Uint8Array(cHash.digest())), failN);

  // 4. Signer certificate (by sid, from the certificates or a firmware trust anchor) and its path to a firmware TA.
  const certs: pkijs.Certificate[] = [];
  try {
    for (const d of layout.certificates) certs.push(certificateFromDer(d));
  } catch (e) {
    failN('badCertificate', `certificate set: ${(e as Error).message}`, { cause: e });
  }
  if (layout.otherCertificateChoices > 0) failN('badCertificate', 'extended or attribute certificates are not allowed (RFC 4108 §2.1.2)');
  const fwTas = (await o.trustAnchors('firmware')).map((c) => (c instanceof Uint8Array ? certificateFromDer(c) : c));
  const signer = cmsStep(() => findSigner(si, certs, fwTas), failN);
  const { anchor } = await cmsStep(() => validateSigner(signer, certs, { authorized: [{ use: 'firmware', anchors: fwTas }], installed: () => o.trustAnchors('all'), at: o.at ?? new Date() }), failN);
  const taKeyId = certificateKeyId(anchor);

  // 5. Signature over the DER signed attributes.
  cmsStep(() => verifySignerSignature(si, certificateSpki(signer), checked.digest), failN);

  // 6. RFC 4108 attribute checks (attributes are now authentic).
  if (!identifier) return fail('badSignedAttrs', 'firmware-package-identifier attribute missing (RFC 4108 §2.2)');
  const thwNode = byType.get(TargetHardwareIdentifiers.ATTRIBUTE_OID);
  if (!thwNode) failN('badSignedAttrs', 'target-hardware-module-identifiers attribute missing (RFC 4108 §2.2)');
  let thw: TargetHardwareIdentifiers;
  try {
    thw = TargetHardwareIdentifiers.fromNode(thwNode!);
  } catch (e) {
    return failN('badSignedAttrs', `target-hardware-module-identifiers: ${(e as Error).message}`, { cause: e });
  }
  const myTypes = [o.device.hwType, ...(o.device.altHwTypes ?? [])];
  if (!myTypes.some((t) => thw.includes(t))) failN('wrongHardware', `hardware type ${o.device.hwType} is not among the package targets ${thw.oids.join(', ')}`);
  const communityNode = byType.get(CommunityIdentifiers.ATTRIBUTE_OID);
  if (communityNode) {
    let ci: CommunityIdentifiers;
    try {
      ci = CommunityIdentifiers.fromNode(communityNode);
    } catch (e) {
      return failN('badSignedAttrs', `community-identifiers: ${(e as Error).message}`, { cause: e });
    }
    if (!ci.admits({ communities: o.device.communities ?? [], hwTypes: myTypes, hwSerialNum: o.device.hwSerialNum })) failN('notInCommunity', 'this module is not a member of the package communities');
  }
  let packageInfo: FirmwarePackageInfo | undefined;
  const infoNode = byType.get(FirmwarePackageInfo.ATTRIBUTE_OID);
  if (infoNode) {
    try {
      packageInfo = FirmwarePackageInfo.fromNode(infoNode);
    } catch (e) {
      return failN('badSignedAttrs', `firmware-package-info: ${(e as Error).message}`, { cause: e });
    }
    if (packageInfo.fwPkgType !== undefined && o.supportedPackageTypes && !o.supportedPackageTypes.includes(packageInfo.fwPkgType)) {
      failN('unsupportedPackageType', `firmware package type ${packageInfo.fwPkgType} is not supported`);
    }
    checkDependencies(packageInfo, o.state, o.compareLegacy ?? compareLegacyNames, failN);
  }
  const stale = checkStale(o.state, identifier, o.compareLegacy ?? compareLegacyNames);
  if (stale) failN('stalePackage', stale, { code: 'firmware.stale_package' });

  // 7. Content: EncryptedData (§2.1.3) is decrypted first; what it holds is a firmware package or CompressedData.
  let compressed = layout.eContentType === OID_CT_COMPRESSED_DATA;
  let decryptKeyId: Uint8Array | undefined;
  if (layout.eContentType === OID_CMS_ENCRYPTED_DATA) {
    const dk = await decryptContent(contentPath, byType, o, failN);
    decryptKeyId = dk.keyId;
    compressed = dk.contentType === OID_CT_COMPRESSED_DATA;
    if (!compressed) {
      // The decrypted bytes are the image itself: hash them now (they were not hashed as ciphertext).
      for await (const c of createReadStream(contentPath, { highWaterMark: IO_CHUNK })) {
        iHash.update(c as Buffer);
        mHash?.update(c as Buffer);
      }
    }
  }
  const imagePath = firmwareLayout(o.workDir).image;
  let imageSize: number;
  if (compressed) {
    let cl: Awaited<ReturnType<typeof readCompressedDataLayout>>;
    try {
      cl = await readCompressedDataLayout(contentPath);
    } catch (e) {
      if (e instanceof CmsStreamError) return failN('badEncapContent', `CompressedData: ${e.message}`, { cause: e });
      throw e;
    }
    if (cl.version !== 0) failN('badEncapContent', `CompressedData version ${cl.version}, must be 0`);
    const alg = cl.compressionAlgorithm;
    const params = alg.algorithmParams as asn1js.BaseBlock | undefined;
    if (alg.algorithmId !== OID_ALG_ZLIB_COMPRESS || (params !== undefined && !(params instanceof asn1js.Null))) failN('badCompressAlgorithm', `compression algorithm ${alg.algorithmId} is not zlib`);
    if (cl.eContentType !== OID_CT_FIRMWARE_PACKAGE) failN('badEncapContent', `compressed eContentType ${cl.eContentType} is not firmwarePackage`);
    if (!cl.eContent) failN('missingCompressedContent', 'CompressedData carries no eContent');
    const cap = o.maxImageBytes ?? 4 * 1024 ** 3;
    imageSize = 0;
    const tick = gcTicker();
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        imageSize += chunk.byteLength;
        tick(imageSize);
        if (imageSize > cap) return cb(new FirmwareLoadFailure('insufficientMemory', `decompressed image exceeds ${cap} bytes`, { fwPkgName: identifier!.name }));
        iHash.update(chunk);
        mHash?.update(chunk);
        cb(null, chunk);
      },
    });
    async function* compressedChunks(): AsyncGenerator<Buffer> {
      for (const r of cl.eContent!) for await (const c of createReadStream(contentPath, { start: r.offset, end: r.offset + r.length - 1, highWaterMark: IO_CHUNK })) yield c as Buffer;
    }
    try {
      await writeFileAtomicStream(imagePath, (_fh, sink) => pipeline(compressedChunks(), createInflate(), meter, sink()));
    } catch (e) {
      if (e instanceof FirmwareLoadFailure) throw e;
      failN('decompressFailure', `zlib: ${(e as Error).message}`, { cause: e });
    }
    await rm(contentPath, { force: true });
  } else {
    imageSize = decryptKeyId ? (await stat(contentPath)).size : contentLength; // content.bin is the image, already hashed
    await commitFile(contentPath, imagePath);
  }
  if (fwMd && mHash && !eq(new Uint8Array(mHash.digest()), fwMd.msgDigest)) failN('badFirmware', 'firmware-package-message-digest does not match the recovered image');
  return {
    identifier,
    imagePath,
    imageSize,
    imageSha256: iHash.digest('hex'),
    compressed,
    ...(decryptKeyId ? { decryptKeyId } : {}),
    targetHardware: thw.oids,
    ...(packageInfo ? { packageInfo } : {}),
    signerSubject: signer.subject.typesAndValues.map((tv) => `${tv.type}=${(tv.value.valueBlock as { value?: unknown }).value ?? ''}`).join(','),
    trustAnchorKeyId: taKeyId,
  };
}

/**
 * §2.1.3: content.bin holds an EncryptedData; the decrypt-key-identifier signed attribute names the key. Decrypts
 * the encryptedContent in a stream into content.bin (replacing it) and returns what the plaintext is.
 */
async function decryptContent(
  contentPath: string,
  byType: Map<string, asn1js.AsnType>,
  o: VerifyOptions,
  failN: (code: FirmwareErrorCodeName, message: string, extra?: { code?: string; cause?: unknown }) => never,
): Promise<{ contentType: string; keyId: Uint8Array }> {
  const idNode = byType.get(DecryptKeyIdentifier.ATTRIBUTE_OID);
  if (!idNode) return failN('noDecryptKey', 'an encrypted package without a decrypt-key-identifier signed attribute', { code: 'firmware.no_decrypt_key' });
  let keyId: Uint8Array;
  try {
    keyId = DecryptKeyIdentifier.fromNode(idNode).value;
  } catch (e) {
    return failN('badSignedAttrs', `decrypt-key-identifier: ${(e as Error).message}`, { cause: e });
  }
  let el: EncryptedDataLayout;
  try {
    el = await readEncryptedDataLayout(contentPath);
  } catch (e) {
    if (e instanceof CmsStreamError) return failN('badEncryptedData', `EncryptedData: ${e.message}`, { cause: e });
    throw e;
  }
  if (el.version !== 0) failN('badEncryptedData', `EncryptedData version ${el.version}, must be 0`);
  if (el.hasUnprotectedAttrs) failN('unprotectedAttrsPresent', 'EncryptedData must not carry unprotectedAttrs (§2.1.3)');
  if (el.encryptedContentLength === 0) failN('missingCiphertext', 'EncryptedData carries no ciphertext');
  if (el.contentType !== OID_CT_FIRMWARE_PACKAGE && el.contentType !== OID_CT_COMPRESSED_DATA) failN('badEncryptContent', `encrypted contentType ${el.contentType} is not firmwarePackage or compressedData`);
  const alg = AES_CBC[el.contentEncryptionAlgorithm.algorithmId];
  if (!alg) return failN('badEncryptAlgorithm', `content-encryption algorithm ${el.contentEncryptionAlgorithm.algorithmId} is not AES-CBC`);
  const ivNode = el.contentEncryptionAlgorithm.algorithmParams as asn1js.BaseBlock | undefined;
  if (!(ivNode instanceof asn1js.OctetString) || ivNode.valueBlock.valueHexView.byteLength !== 16) return failN('badEncryptAlgorithm', 'AES-CBC parameters must be a 16-byte IV');
  const key = o.decryptKey ? await o.decryptKey(keyId) : undefined;
  if (!key) return failN('noDecryptKey', `no firmware-decryption key ${Buffer.from(keyId).toString('hex')} is held`, { code: 'firmware.no_decrypt_key' });
  try {
    if (key.byteLength !== alg.keyBytes) failN('decryptFailure', `key ${Buffer.from(keyId).toString('hex')} has ${key.byteLength} bytes, ${alg.node} needs ${alg.keyBytes}`);
    const decipher = createDecipheriv(alg.node, key, new Uint8Array(ivNode.valueBlock.valueHexView));
    async function* cipherChunks(): AsyncGenerator<Buffer> {
      for (const r of el.encryptedContent) for await (const c of createReadStream(contentPath, { start: r.offset, end: r.offset + r.length - 1, highWaterMark: IO_CHUNK })) yield c as Buffer;
    }
    // the plaintext replaces content.bin atomically (the temp file is read from content.bin, then renamed over it)
    await writeFileAtomicStream(contentPath, (_fh, sink) => pipeline(cipherChunks(), decipher, sink()));
  } catch (e) {
    if (e instanceof FirmwareLoadFailure) throw e;
    return failN('decryptFailure', `decryption with key ${Buffer.from(keyId).toString('hex')} failed: ${(e as Error).message}`, { cause: e });
  } finally {
    key.fill(0);
  }
  return { contentType: el.contentType, keyId };
}

/** §2.2.9: every dependency must be satisfied by the installed (or pending) package. */
function checkDependencies(info: FirmwarePackageInfo, state: FirmwareState, cmp: LegacyCompare, failN: (code: FirmwareErrorCodeName, message: string) => never): void {
  if (!info.dependencies?.length) return;
  const present = [state.installed, state.pending].filter((r) => r !== undefined).map((r) => r!.name);
  for (const dep of info.dependencies) {
    if (dep.preferred) {
      const have = present.find((n) => 'preferred' in n && n.preferred.fwPkgID === dep.preferred!.fwPkgID);
      if (!have) failN('missingDependency', `depends on ${dep.preferred.fwPkgID}, which is not loaded`);
      if (BigInt((have as { preferred: { verNum: string } }).preferred.verNum) < dep.preferred.verNum) {
        failN('wrongDependencyVersion', `depends on ${dep.toString()} or newer`);
      }
    } else {
      const ok = present.some((n) => 'legacy' in n && cmp(new Uint8Array(Buffer.from(n.legacy, 'hex')), dep.legacy!) >= 0);
      if (!ok) failN('missingDependency', `depends on ${dep.toString()}, which is not loaded`);
    }
  }
}
