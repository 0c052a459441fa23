// 0022 "Asymmetric Key Package (PKCS #12)" (RFC 8295 §2.1.1; RFC 7292): the PFX is parsed with pkijs (PFX,
// AuthenticatedSafe, SafeContents, PKCS8ShroudedKeyBag, CertBag) under the provisioned password. Only password
// integrity mode with an HMAC of SHA-256 or stronger (RFC 7292 §4; Appendix B key derivation) and password privacy
// with PBES2 (PBKDF2 with an HMAC-SHA-2 PRF, AES-CBC; RFC 8018 §6.2) are accepted: the RFC 7292 Appendix C
// pkcs-12PbeIds (SHA-1 with RC2/RC4/3DES), PBES1, a SHA-1 MAC or no MAC are weak and refused before any decryption.
// Password sources (RFC 8295 is silent; our choice): a provisioned file that must be 0600 (or stricter) and owned
// by us, or a secret sealed in the TPM (a symmetric key delivered by 0024, named by its keyId).
import { readFile, stat } from 'node:fs/promises';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { AES_CBC, OID_HMAC_SHA1, OID_PBES2, OID_PBKDF2, OID_PKCS12_PBE_ARC, OID_SHA256, OID_SHA384, OID_SHA512, PBKDF2_STRONG_PRFS } from '../../pki/algorithms.js';
import { OID_PKCS12_CERT_BAG, OID_PKCS12_KEY_BAG, OID_PKCS12_SHROUDED_KEY_BAG, OID_PKCS9_X509_CERTIFICATE } from '../../pki/asn1/key-package-oids.js';
import { OID_DATA, OID_ENCRYPTED_DATA } from '../../pki/cms/oids.js';
import { KeyPackageRefused } from './common.js';

const MIN_MAC_ITERATIONS = 1;

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
  const kdf = new pkijs.PBKDF2Params({ schema: p.keyDerivationFunc.algorithmParams });
  const prf = kdf.prf?.algorithmId ?? OID_HMAC_SHA1; // RFC 8018 A.2: the default PRF is hmacWithSHA1
  if (!PBKDF2_STRONG_PRFS.includes(prf)) throw new KeyPackageRefused('pkcs12_weak_pbe', 'badEncryptAlgorithm', `${what}: PBKDF2 PRF ${prf} is weak (HMAC-SHA-256 or stronger required)`);
  if (!AES_CBC[p.encryptionScheme.algorithmId]) throw new KeyPackageRefused('pkcs12_weak_pbe', 'badEncryptAlgorithm', `${what}: PBES2 encryption ${p.encryptionScheme.algorithmId} is not AES-CBC`);
}

/** Checks every algorithm of the PFX on a tree of its own (pkijs's parse of the real one must not see this walk). */
function checkAlgorithms(der: Uint8Array): void {
  let pfx: pkijs.PFX;
  try {
    pfx = pkijs.PFX.fromBER(ab(der));
  } catch (e) {
    throw new KeyPackageRefused('pkcs12_decode', 'decodeFailure', `PFX: ${(e as Error).message}`, { cause: e });
  }
  if (pfx.version !== 3) throw new KeyPackageRefused('pkcs12_decode', 'versionNumberMismatch', `PFX version ${pfx.version} (3 expected)`);
  if (pfx.authSafe.contentType !== OID_DATA) throw new KeyPackageRefused('pkcs12_integrity', 'badMACAlgorithm', 'public-key integrity mode (authSafe SignedData) is not supported: password integrity (MacData) required');
  if (!pfx.macData) throw new KeyPackageRefused('pkcs12_integrity', 'badMACAlgorithm', 'PFX without MacData (no integrity protection)');
  const mac = pfx.macData.mac.digestAlgorithm.algorithmId;
  if (![OID_SHA256, OID_SHA384, OID_SHA512].includes(mac)) {
    throw new KeyPackageRefused('pkcs12_weak_pbe', 'badMACAlgorithm', `PFX MAC digest ${mac} is weak (SHA-256 or stronger required)`);
  }
  if ((pfx.macData.iterations ?? 1) < MIN_MAC_ITERATIONS) throw new KeyPackageRefused('pkcs12_weak_pbe', 'badMACAlgorithm', 'PFX MAC iteration count below 1');
  let safe: pkijs.AuthenticatedSafe;
  try {
    safe = pkijs.AuthenticatedSafe.fromBER((pfx.authSafe.content as asn1js.OctetString).getValue());
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
    } else throw new KeyPackageRefused('pkcs12_decode', 'badContentInfo', `safeContents[${i}]: content type ${ci.contentType} is not supported`);
  }
}

/**
 * Opens a PFX with `password` (UTF-8 bytes; RFC 7292 Appendix B.1 BMPString conversion is pkijs's): weak algorithms
 * are refused first, then the MAC is checked (a wrong password fails here: invalidMAC), then the bags decrypted.
 */
export async function openPkcs12(der: Uint8Array, password: Uint8Array): Promise<OpenedPkcs12> {
  checkAlgorithms(der);
  const pw = ab(password);
  const pfx = pkijs.PFX.fromBER(ab(der));
  try {
    await pfx.parseInternalValues({ password: pw, checkIntegrity: true });
  } catch (e) {
    throw new KeyPackageRefused('pkcs12_password', 'invalidMAC', `PFX integrity check failed (wrong password?): ${(e as Error).message}`, { cause: e });
  }
  const safe = pfx.parsedValue!.authenticatedSafe!;
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
