// 0022 "Asymmetric Key Package (PKCS #12)" (RFC 8295 §2.1.1; RFC 7292): the PFX is parsed with pkijs (PFX,
// AuthenticatedSafe, SafeContents, PKCS8ShroudedKeyBag, CertBag) under the provisioned password. Integrity (RFC 7292
// §4), either mode:
//   • password integrity: MacData with an HMAC of SHA-256 or stronger (Appendix B key derivation);
//   • public-key integrity: authSafe is a SignedData over the AuthenticatedSafe (id-data), accepted when it verifies
//     (pki/cms/open-signed) to a TA authorized for key packages — the same TAs as signed 0021 packages.
// Privacy: password privacy with PBES2 (PBKDF2 with an HMAC-SHA-2 PRF, AES-CBC; RFC 8018 §6.2). Weak and refused
// before any decryption: the RFC 7292 Appendix C pkcs-12PbeIds (SHA-1 with RC2/RC4/3DES, as `openssl pkcs12 -legacy`
// writes), PBES1, a SHA-1 MAC, no integrity at all, an unencrypted keyBag, and an iteration count (MAC or PBKDF2)
// below 2048 — RFC 8018 §4.2 recommends at least 1000; 2048 is what `openssl pkcs12 -export` uses by default, so a
// count lowered on purpose is refused.
// Password sources (RFC 8295 is silent; our choice): a provisioned file that must be 0600 (or stricter) and owned
// by us, or a secret sealed in the TPM (a symmetric key delivered by 0024, named by its keyId).
import { readFile, stat } from 'node:fs/promises';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { AES_CBC, OID_HMAC_SHA1, OID_PBES2, OID_PBKDF2, OID_PKCS12_PBE_ARC, OID_SHA256, OID_SHA384, OID_SHA512, PBKDF2_STRONG_PRFS } from '../../pki/algorithms.js';
import { OID_PKCS12_CERT_BAG, OID_PKCS12_KEY_BAG, OID_PKCS12_SHROUDED_KEY_BAG, OID_PKCS9_X509_CERTIFICATE } from '../../pki/asn1/key-package-oids.js';
import { OID_DATA, OID_ENCRYPTED_DATA, OID_SIGNED_DATA } from '../../pki/cms/oids.js';
import { KeyPackageRefused, verifySignedKeyPackage } from './common.js';

/** Smallest MAC and PBKDF2 iteration count accepted (see the header). */
export const MIN_PKCS12_ITERATIONS = 2048;

/** Who may sign a PFX in public-key integrity mode: the key-package TAs, at the time of use. */
export interface Pkcs12Trust {
  anchors: ReadonlyArray<Uint8Array>;
  at: Date;
}

/** Where the PKCS #12 password comes from. */
export type Pkcs12PasswordSource = { file: string } | { sealedKeyId: string };

export interface OpenedPkcs12 {
  /** PKCS #8 PrivateKeyInfo DER of each key bag (the caller wipes them). */
  keys: Uint8Array[];
  /** DER certificates of the cert bags. */
  certificates: Uint8Array[];
}

/** Reads the password file, refusing one that others may read or write (it must be 0600 or stricter). */
export async function readPasswordFile(file: string): Promise<Uint8Array> {
  let st;
  try {
    st = await stat(file);
  } catch (e) {
    throw new KeyPackageRefused('pkcs12_password', 'noDecryptKey', `PKCS #12 password file ${file}: ${(e as Error).message}`, { cause: e });
  }
  if (!st.isFile() || (st.mode & 0o077) !== 0) {
    throw new KeyPackageRefused('pkcs12_password', 'noDecryptKey', `PKCS #12 password file ${file} must be a regular file of mode 0600 (is ${(st.mode & 0o777).toString(8)})`);
  }
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new KeyPackageRefused('pkcs12_password', 'noDecryptKey', `PKCS #12 password file ${file} is not owned by this user`);
  const raw = await readFile(file);
  // one trailing newline is not part of the password (files written with echo)
  let end = raw.length;
  if (end > 0 && raw[end - 1] === 0x0a) end--;
  if (end > 0 && raw[end - 1] === 0x0d) end--;
  const pw = new Uint8Array(raw.subarray(0, end));
  raw.fill(0);
  return pw;
}

const ab = (b: Uint8Array): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

/** PBES2 with PBKDF2-HMAC-SHA-2 and AES-CBC, or a KeyPackageRefused naming the weak scheme. */
function checkPbe(alg: pkijs.AlgorithmIdentifier, what: string): void {
  const id = alg.algorithmId;
  if (id.startsWith(`${OID_PKCS12_PBE_ARC}.`)) throw new KeyPackageRefused('pkcs12_weak_pbe', 'badEncryptAlgorithm', `${what}: weak PKCS #12 PBE ${id} (RFC 7292 Appendix C: SHA-1 with RC2/RC4/3DES) refused`);
  if (id !== OID_PBES2) throw new KeyPackageRefused('pkcs12_weak_pbe', 'badEncryptAlgorithm', `${what}: password-based encryption ${id} is not PBES2 (PBES1 and others are refused)`);
  let p: pkijs.PBES2Params;
  try {
    p = new pkijs.PBES2Params({ schema: alg.algorithmParams });
  } catch (e) {
    throw new KeyPackageRefused('pkcs12_weak_pbe', 'unsupportedParameters', `${what}: PBES2-params: ${(e as Error).message}`, { cause: e });
  }
  if (p.keyDerivationFunc.algorithmId !== OID_PBKDF2) throw new KeyPackageRefused('pkcs12_weak_pbe', 'badEncryptAlgorithm', `${what}: key derivation ${p.keyDerivationFunc.algorithmId} is not PBKDF2`);
  let kdf: pkijs.PBKDF2Params;
  try {
    kdf = new pkijs.PBKDF2Params({ schema: p.keyDerivationFunc.algorithmParams });
  } catch (e) {
    throw new KeyPackageRefused('pkcs12_weak_pbe', 'unsupportedParameters', `${what}: PBKDF2-params: ${(e as Error).message}`, { cause: e });
  }
  const prf = kdf.prf?.algorithmId ?? OID_HMAC_SHA1; // RFC 8018 A.2: the default PRF is hmacWithSHA1
  if (!PBKDF2_STRONG_PRFS.includes(prf)) throw new KeyPackageRefused('pkcs12_weak_pbe', 'badEncryptAlgorithm', `${what}: PBKDF2 PRF ${prf} is weak (HMAC-SHA-256 or stronger required)`);
  if (kdf.iterationCount < MIN_PKCS12_ITERATIONS) throw new KeyPackageRefused('pkcs12_weak_pbe', 'unsupportedParameters', `${what}: PBKDF2 iteration count ${kdf.iterationCount} is below ${MIN_PKCS12_ITERATIONS}`);
  if (!AES_CBC[p.encryptionScheme.algorithmId]) throw new KeyPackageRefused('pkcs12_weak_pbe', 'badEncryptAlgorithm', `${what}: PBES2 encryption ${p.encryptionScheme.algorithmId} is not AES-CBC`);
}

function parsePfx(der: Uint8Array): pkijs.PFX {
  let pfx: pkijs.PFX;
  try {
    pfx = pkijs.PFX.fromBER(ab(der));
  } catch (e) {
    throw new KeyPackageRefused('pkcs12_decode', 'decodeFailure', `PFX: ${(e as Error).message}`, { cause: e });
  }
  if (pfx.version !== 3) throw new KeyPackageRefused('pkcs12_decode', 'versionNumberMismatch', `PFX version ${pfx.version} (3 expected)`);
  return pfx;
}

/** Password integrity mode: a MacData with a strong digest and enough iterations (the MAC itself is checked later). */
function checkMacData(pfx: pkijs.PFX): void {
  if (!pfx.macData) throw new KeyPackageRefused('pkcs12_integrity', 'badMACAlgorithm', 'PFX without MacData (no integrity protection)');
  const mac = pfx.macData.mac.digestAlgorithm.algorithmId;
  if (![OID_SHA256, OID_SHA384, OID_SHA512].includes(mac)) {
    throw new KeyPackageRefused('pkcs12_weak_pbe', 'badMACAlgorithm', `PFX MAC digest ${mac} is weak (SHA-256 or stronger required)`);
  }
  const iterations = pfx.macData.iterations ?? 1; // RFC 7292 §4: DEFAULT 1
  if (iterations < MIN_PKCS12_ITERATIONS) throw new KeyPackageRefused('pkcs12_weak_pbe', 'unsupportedParameters', `PFX MAC iteration count ${iterations} is below ${MIN_PKCS12_ITERATIONS}`);
}

/**
 * Public-key integrity mode (RFC 7292 §4): the authSafe ContentInfo(SignedData) as sent, verified to `trust`; its
 * encapsulated id-data content is the AuthenticatedSafe DER.
 */
async function verifiedAuthenticatedSafe(der: Uint8Array, trust: Pkcs12Trust | undefined): Promise<Uint8Array> {
  if (!trust) throw new KeyPackageRefused('pkcs12_integrity', 'noTrustAnchor', 'public-key integrity mode (authSafe SignedData), and no trust anchor to verify it with');
  // the authSafe's own encoding (the second element of the PFX SEQUENCE), not a re-encoding
  const node = (asn1js.fromBER(der).result as asn1js.Sequence).valueBlock.value[1] as asn1js.BaseBlock;
  const v = await verifySignedKeyPackage(new Uint8Array(node.valueBeforeDecodeView), trust.anchors, trust.at);
  if (v.eContentType !== OID_DATA) throw new KeyPackageRefused('content_type', 'badEncapContent', `PFX authSafe SignedData encapsulates ${v.eContentType}, not id-data (RFC 7292 §4)`);
  return v.eContent;
}

/** The privacy algorithms of every SafeContents (PBES2 only) on a tree of its own (pkijs's decryption must not see it). */
function checkSafeAlgorithms(authenticatedSafe: Uint8Array): void {
  let safe: pkijs.AuthenticatedSafe;
  try {
    safe = pkijs.AuthenticatedSafe.fromBER(ab(authenticatedSafe));
  } catch (e) {
    throw new KeyPackageRefused('pkcs12_decode', 'decodeFailure', `AuthenticatedSafe: ${(e as Error).message}`, { cause: e });
  }
  for (const [i, ci] of safe.safeContents.entries()) {
    if (ci.contentType === OID_ENCRYPTED_DATA) checkPbe(new pkijs.EncryptedData({ schema: ci.content }).encryptedContentInfo.contentEncryptionAlgorithm, `safeContents[${i}]`);
    else if (ci.contentType === OID_DATA) {
      const sc = pkijs.SafeContents.fromBER((ci.content as asn1js.OctetString).getValue());
      for (const [j, bag] of sc.safeBags.entries()) {
        if (bag.bagId === OID_PKCS12_SHROUDED_KEY_BAG) checkPbe((bag.bagValue as pkijs.PKCS8ShroudedKeyBag).encryptionAlgorithm, `safeContents[${i}].bags[${j}]`);
        else if (bag.bagId === OID_PKCS12_KEY_BAG) throw new KeyPackageRefused('pkcs12_weak_pbe', 'badEncryptAlgorithm', `safeContents[${i}].bags[${j}]: an unencrypted keyBag`);
      }
    } else throw new KeyPackageRefused('pkcs12_decode', 'badContentInfo', `safeContents[${i}]: content type ${ci.contentType} is not supported (public-key privacy mode is not)`);
  }
}

/**
 * Opens a PFX with `password` (UTF-8 bytes; RFC 7292 Appendix B.1 BMPString conversion is pkijs's). Integrity first:
 * password mode — weak MAC parameters refused, then the algorithms, then the MAC checked (a wrong password fails
 * here: invalidMAC); public-key mode — the SignedData verified to `trust`, then the algorithms. Then the bags are
 * decrypted.
 */
export async function openPkcs12(der: Uint8Array, password: Uint8Array, trust?: Pkcs12Trust): Promise<OpenedPkcs12> {
  const pfx = parsePfx(der);
  const pw = ab(password);
  let safe: pkijs.AuthenticatedSafe;
  if (pfx.authSafe.contentType === OID_DATA) {
    checkMacData(pfx);
    checkSafeAlgorithms(new Uint8Array((pfx.authSafe.content as asn1js.OctetString).getValue()));
    try {
      await pfx.parseInternalValues({ password: pw, checkIntegrity: true });
    } catch (e) {
      throw new KeyPackageRefused('pkcs12_password', 'invalidMAC', `PFX integrity check failed (wrong password?): ${(e as Error).message}`, { cause: e });
    }
    safe = pfx.parsedValue!.authenticatedSafe!;
  } else if (pfx.authSafe.contentType === OID_SIGNED_DATA) {
    const authenticatedSafe = await verifiedAuthenticatedSafe(der, trust);
    checkSafeAlgorithms(authenticatedSafe);
    safe = pkijs.AuthenticatedSafe.fromBER(ab(authenticatedSafe));
  } else {
    throw new KeyPackageRefused('pkcs12_decode', 'badContentInfo', `PFX authSafe content type ${pfx.authSafe.contentType} is neither data nor signedData (RFC 7292 §4)`);
  }
  try {
    await safe.parseInternalValues({ safeContents: safe.safeContents.map(() => ({ password: pw })) });
  } catch (e) {
    throw new KeyPackageRefused('pkcs12_decrypt', 'decryptFailure', `PFX safe contents: ${(e as Error).message}`, { cause: e });
  }
  const keys: Uint8Array[] = [];
  const certificates: Uint8Array[] = [];
  try {
    for (const sc of safe.parsedValue!.safeContents) {
      for (const bag of sc.value.safeBags) {
        if (bag.bagId === OID_PKCS12_SHROUDED_KEY_BAG) {
          const kb = bag.bagValue as pkijs.PKCS8ShroudedKeyBag;
          try {
            // parseInternalValues is protected in pkijs's typings; it is the documented way to decrypt the bag
            await (kb as unknown as { parseInternalValues(p: { password: ArrayBuffer }): Promise<void> }).parseInternalValues({ password: pw });
          } catch (e) {
            throw new KeyPackageRefused('pkcs12_decrypt', 'decryptFailure', `pkcs8ShroudedKeyBag: ${(e as Error).message}`, { cause: e });
          }
          keys.push(new Uint8Array(kb.parsedValue!.toSchema().toBER(false)));
        } else if (bag.bagId === OID_PKCS12_CERT_BAG) {
          const cb = bag.bagValue as pkijs.CertBag;
          if (cb.certId !== OID_PKCS9_X509_CERTIFICATE) continue;
          certificates.push(new Uint8Array((cb.parsedValue as pkijs.Certificate).toSchema().toBER(false)));
        }
      }
    }
  } catch (e) {
    for (const k of keys) k.fill(0);
    throw e;
  }
  if (keys.length === 0) throw new KeyPackageRefused('pkcs12_no_key', 'badKeyPackage', 'the PFX holds no pkcs8ShroudedKeyBag');
  return { keys, certificates };
}
