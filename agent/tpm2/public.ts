// TPMT_PUBLIC / TPM2B_PUBLIC (Part 2 §12.2.4, §12.2.5): marshal, unmarshal, key templates, Name, SubjectPublicKeyInfo.
import { createHash, createPublicKey } from 'node:crypto';
import { HASH_INFO, TPM_ALG, TPM_ECC, TPMA_OBJECT, algName } from './constants.js';
import { Tpm2FormatError, Tpm2UnsupportedError } from './errors.js';
import { TpmReader, TpmWriter } from './marshal.js';

/** TPMT_SYM_DEF_OBJECT — Part 2 §11.1.7 (keyBits/mode are 0 when algorithm is TPM_ALG_NULL). */
export interface SymDefObject {
  algorithm: number;
  keyBits: number;
  mode: number;
}

/** TPMT_RSA_SCHEME / TPMT_ECC_SCHEME / TPMT_SIG_SCHEME — Part 2 §11.2.4.2, §11.2.5.6, §11.2.1.5 (hashAlg NULL if none). */
export interface AsymScheme {
  scheme: number;
  hashAlg: number;
  /** ECDAA only. */
  count?: number;
}

/** TPMT_KDF_SCHEME — Part 2 §11.2.3.3. */
export interface KdfScheme {
  scheme: number;
  hashAlg: number;
}

/** TPMS_RSA_PARMS — Part 2 §12.2.3.5. */
export interface RsaParms {
  symmetric: SymDefObject;
  scheme: AsymScheme;
  keyBits: number;
  /** 0 means the default exponent 65537. */
  exponent: number;
}

/** TPMS_ECC_PARMS — Part 2 §12.2.3.6. */
export interface EccParms {
  symmetric: SymDefObject;
  scheme: AsymScheme;
  curveId: number;
  kdf: KdfScheme;
}

/** TPMS_KEYEDHASH_PARMS / TPMT_KEYEDHASH_SCHEME — Part 2 §12.2.3.3, §11.1.23 (kdf only for XOR). */
export interface KeyedHashParms {
  scheme: { scheme: number; hashAlg: number; kdf?: number };
}

/** TPMS_SYMCIPHER_PARMS — Part 2 §11.1.9. */
export interface SymCipherParms {
  sym: SymDefObject;
}

interface PublicCommon {
  nameAlg: number;
  objectAttributes: number;
  authPolicy: Uint8Array;
}

/** TPMT_PUBLIC — Part 2 §12.2.4; `unique` per TPMU_PUBLIC_ID (§12.2.3.2). */
export type TpmtPublic =
  | (PublicCommon & { type: typeof TPM_ALG.RSA; parameters: RsaParms; unique: Uint8Array })
  | (PublicCommon & { type: typeof TPM_ALG.ECC; parameters: EccParms; unique: { x: Uint8Array; y: Uint8Array } })
  | (PublicCommon & { type: typeof TPM_ALG.KEYEDHASH; parameters: KeyedHashParms; unique: Uint8Array })
  | (PublicCommon & { type: typeof TPM_ALG.SYMCIPHER; parameters: SymCipherParms; unique: Uint8Array });

export type RsaPublic = Extract<TpmtPublic, { type: typeof TPM_ALG.RSA }>;
export type EccPublic = Extract<TpmtPublic, { type: typeof TPM_ALG.ECC }>;

// ---- scheme details (TPMU_ASYM_SCHEME, Part 2 §11.2.3.5) ------------------------------------------------------------

const HASH_ONLY_SCHEMES = new Set<number>([
  TPM_ALG.RSASSA, TPM_ALG.RSAPSS, TPM_ALG.ECDSA, TPM_ALG.SM2, TPM_ALG.ECSCHNORR, TPM_ALG.OAEP, TPM_ALG.ECDH,
  TPM_ALG.ECMQV, TPM_ALG.HMAC,
]);
const KDF_SCHEMES = new Set<number>([TPM_ALG.MGF1, TPM_ALG.KDF1_SP800_56A, TPM_ALG.KDF2, TPM_ALG.KDF1_SP800_108]);

/** Writes a scheme selector and its details (shared by TPMT_SIG_SCHEME / TPMT_RSA_SCHEME / TPMT_ECC_SCHEME). */
export function writeAsymScheme(w: TpmWriter, s: AsymScheme): void {
  w.u16(s.scheme);
  if (s.scheme === TPM_ALG.NULL || s.scheme === TPM_ALG.RSAES) return;
  if (HASH_ONLY_SCHEMES.has(s.scheme)) {
    w.u16(s.hashAlg);
  } else if (s.scheme === TPM_ALG.ECDAA) {
    w.u16(s.hashAlg).u16(s.count ?? 0);
  } else {
    throw new Tpm2FormatError(`unknown scheme ${algName(s.scheme)}`);
  }
}

/** TPMT_RSA_DECRYPT bytes — Part 2 §11.2.4.4: TPM_ALG_OAEP with its hash, TPM_ALG_RSAES or TPM_ALG_NULL. */
export function marshalRsaDecryptScheme(s: AsymScheme): Uint8Array {
  if (s.scheme !== TPM_ALG.OAEP && s.scheme !== TPM_ALG.RSAES && s.scheme !== TPM_ALG.NULL) {
    throw new Tpm2FormatError(`${algName(s.scheme)} is not an RSA decryption scheme`);
  }
  const w = new TpmWriter();
  writeAsymScheme(w, s);
  return w.finish();
}

export function readAsymScheme(r: TpmReader, field: string): AsymScheme {
  const scheme = r.u16(`${field}.scheme`);
  if (scheme === TPM_ALG.NULL || scheme === TPM_ALG.RSAES) return { scheme, hashAlg: TPM_ALG.NULL };
  if (HASH_ONLY_SCHEMES.has(scheme)) return { scheme, hashAlg: r.u16(`${field}.hashAlg`) };
  if (scheme === TPM_ALG.ECDAA) return { scheme, hashAlg: r.u16(`${field}.hashAlg`), count: r.u16(`${field}.count`) };
  throw new Tpm2FormatError(`${r.what}: unknown ${field} ${algName(scheme)}`);
}

function writeSymDef(w: TpmWriter, s: SymDefObject): void {
  w.u16(s.algorithm);
  if (s.algorithm !== TPM_ALG.NULL) w.u16(s.keyBits).u16(s.mode);
}

function readSymDef(r: TpmReader, field: string): SymDefObject {
  const algorithm = r.u16(`${field}.algorithm`);
  if (algorithm === TPM_ALG.NULL) return { algorithm, keyBits: 0, mode: 0 };
  return { algorithm, keyBits: r.u16(`${field}.keyBits`), mode: r.u16(`${field}.mode`) };
}

function writeKdf(w: TpmWriter, k: KdfScheme): void {
  w.u16(k.scheme);
  if (k.scheme === TPM_ALG.NULL) return;
  if (!KDF_SCHEMES.has(k.scheme)) throw new Tpm2FormatError(`unknown KDF ${algName(k.scheme)}`);
  w.u16(k.hashAlg);
}

function readKdf(r: TpmReader, field: string): KdfScheme {
  const scheme = r.u16(`${field}.scheme`);
  if (scheme === TPM_ALG.NULL) return { scheme, hashAlg: TPM_ALG.NULL };
  if (!KDF_SCHEMES.has(scheme)) throw new Tpm2FormatError(`${r.what}: unknown ${field} ${algName(scheme)}`);
  return { scheme, hashAlg: r.u16(`${field}.hashAlg`) };
}

// ---- TPMT_PUBLIC ----------------------------------------------------------------------------------------------------

export function writeTpmtPublic(w: TpmWriter, p: TpmtPublic): void {
  w.u16(p.type).u16(p.nameAlg).u32(p.objectAttributes >>> 0).tpm2b(p.authPolicy);
  switch (p.type) {
    case TPM_ALG.RSA:
      writeSymDef(w, p.parameters.symmetric);
      writeAsymScheme(w, p.parameters.scheme);
      w.u16(p.parameters.keyBits).u32(p.parameters.exponent);
      w.tpm2b(p.unique);
      return;
    case TPM_ALG.ECC:
      writeSymDef(w, p.parameters.symmetric);
      writeAsymScheme(w, p.parameters.scheme);
      w.u16(p.parameters.curveId);
      writeKdf(w, p.parameters.kdf);
      w.tpm2b(p.unique.x).tpm2b(p.unique.y);
      return;
    case TPM_ALG.KEYEDHASH: {
      const s = p.parameters.scheme;
      w.u16(s.scheme);
      if (s.scheme === TPM_ALG.HMAC) w.u16(s.hashAlg);
      else if (s.scheme === TPM_ALG.XOR) w.u16(s.hashAlg).u16(s.kdf ?? TPM_ALG.NULL);
      else if (s.scheme !== TPM_ALG.NULL) throw new Tpm2FormatError(`unknown keyed-hash scheme ${algName(s.scheme)}`);
      w.tpm2b(p.unique);
      return;
    }
    case TPM_ALG.SYMCIPHER:
      writeSymDef(w, p.parameters.sym);
      w.tpm2b(p.unique);
      return;
    default:
      throw new Tpm2FormatError(`unknown TPMT_PUBLIC type ${algName((p as { type: number }).type)}`);
  }
}

export function readTpmtPublic(r: TpmReader): TpmtPublic {
  const type = r.u16('type');
  const nameAlg = r.u16('nameAlg');
  const objectAttributes = r.u32('objectAttributes');
  const authPolicy = r.tpm2b('authPolicy', 64);
  const common = { nameAlg, objectAttributes, authPolicy };
  switch (type) {
    case TPM_ALG.RSA: {
      const symmetric = readSymDef(r, 'symmetric');
      const scheme = readAsymScheme(r, 'scheme');
      const keyBits = r.u16('keyBits');
      const exponent = r.u32('exponent');
      const unique = r.tpm2b('unique.rsa', 512);
      return { type, ...common, parameters: { symmetric, scheme, keyBits, exponent }, unique };
    }
    case TPM_ALG.ECC: {
      const symmetric = readSymDef(r, 'symmetric');
      const scheme = readAsymScheme(r, 'scheme');
      const curveId = r.u16('curveID');
      const kdf = readKdf(r, 'kdf');
      const x = r.tpm2b('unique.ecc.x', 128);
      const y = r.tpm2b('unique.ecc.y', 128);
      return { type, ...common, parameters: { symmetric, scheme, curveId, kdf }, unique: { x, y } };
    }
    case TPM_ALG.KEYEDHASH: {
      const scheme = r.u16('scheme');
      let parameters: KeyedHashParms;
      if (scheme === TPM_ALG.HMAC) parameters = { scheme: { scheme, hashAlg: r.u16('scheme.hashAlg') } };
      else if (scheme === TPM_ALG.XOR) parameters = { scheme: { scheme, hashAlg: r.u16('scheme.hashAlg'), kdf: r.u16('scheme.kdf') } };
      else if (scheme === TPM_ALG.NULL) parameters = { scheme: { scheme, hashAlg: TPM_ALG.NULL } };
      else throw new Tpm2FormatError(`${r.what}: unknown keyed-hash scheme ${algName(scheme)}`);
      return { type, ...common, parameters, unique: r.tpm2b('unique.keyedHash', 64) };
    }
    case TPM_ALG.SYMCIPHER: {
      const sym = readSymDef(r, 'sym');
      return { type, ...common, parameters: { sym }, unique: r.tpm2b('unique.sym', 64) };
    }
    default:
      throw new Tpm2FormatError(`${r.what}: unknown TPMT_PUBLIC type ${algName(type)}`);
  }
}

/** TPMT_PUBLIC bytes. */
export function marshalPublic(p: TpmtPublic): Uint8Array {
  const w = new TpmWriter();
  writeTpmtPublic(w, p);
  return w.finish();
}

/** TPM2B_PUBLIC bytes (u16 size + TPMT_PUBLIC). */
export function marshalPublic2B(p: TpmtPublic): Uint8Array {
  return new TpmWriter().tpm2b(marshalPublic(p)).finish();
}

/** Parses TPMT_PUBLIC bytes (the whole buffer). */
export function unmarshalPublic(bytes: Uint8Array): TpmtPublic {
  const r = new TpmReader(bytes, 'TPMT_PUBLIC');
  const p = readTpmtPublic(r);
  r.end();
  return p;
}

/** The TPMT_PUBLIC bytes inside TPM2B_PUBLIC bytes (checks the size field). */
export function publicArea(tpm2bPublic: Uint8Array): Uint8Array {
  const r = new TpmReader(tpm2bPublic, 'TPM2B_PUBLIC');
  const inner = r.tpm2b('publicArea');
  r.end();
  if (inner.byteLength === 0) throw new Tpm2FormatError('TPM2B_PUBLIC: empty publicArea');
  return inner;
}

/** Parses TPM2B_PUBLIC bytes. */
export function unmarshalPublic2B(tpm2bPublic: Uint8Array): TpmtPublic {
  return unmarshalPublic(publicArea(tpm2bPublic));
}

// ---- Name (Part 1 §16: nameAlg || H_nameAlg(TPMT_PUBLIC)) -----------------------------------------------------------

/** The object's Name from its TPMT_PUBLIC bytes (hashes the bytes as given) or structure (re-marshalled). */
export function objectName(pub: TpmtPublic | Uint8Array): Uint8Array {
  const bytes = pub instanceof Uint8Array ? pub : marshalPublic(pub);
  if (bytes.byteLength < 4) throw new Tpm2FormatError('TPMT_PUBLIC: too short to carry a nameAlg');
  const nameAlg = (bytes[2]! << 8) | bytes[3]!;
  const info = HASH_INFO[nameAlg];
  if (!info) throw new Tpm2UnsupportedError(`object nameAlg ${algName(nameAlg)} not supported`);
  const digest = createHash(info.name).update(bytes).digest();
  const out = new Uint8Array(2 + digest.length);
  out[0] = nameAlg >> 8;
  out[1] = nameAlg & 0xff;
  out.set(digest, 2);
  return out;
}

// ---- templates ------------------------------------------------------------------------------------------------------

const NULL_SYM: SymDefObject = { algorithm: TPM_ALG.NULL, keyBits: 0, mode: 0 };
const NULL_SCHEME: AsymScheme = { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL };
const NULL_KDF: KdfScheme = { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL };

const SIGNING_ATTRS =
  TPMA_OBJECT.FIXED_TPM | TPMA_OBJECT.FIXED_PARENT | TPMA_OBJECT.SENSITIVE_DATA_ORIGIN | TPMA_OBJECT.USER_WITH_AUTH |
  TPMA_OBJECT.SIGN_ENCRYPT;

/** Unrestricted ECC NIST-curve signing key, scheme NULL (the scheme and hash are chosen per TPM2_Sign). */
export function eccSigningTemplate(curveId: number): EccPublic {
  return {
    type: TPM_ALG.ECC,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: SIGNING_ATTRS,
    authPolicy: new Uint8Array(0),
    parameters: { symmetric: { ...NULL_SYM }, scheme: { ...NULL_SCHEME }, curveId, kdf: { ...NULL_KDF } },
    unique: { x: new Uint8Array(0), y: new Uint8Array(0) },
  };
}

/** Unrestricted ECC NIST P-256 signing key, scheme NULL. */
export function eccP256SigningTemplate(): EccPublic {
  return eccSigningTemplate(TPM_ECC.NIST_P256);
}

/** Unrestricted RSA signing key of `keyBits`, scheme NULL (chosen per TPM2_Sign), default exponent. */
export function rsaSigningTemplate(keyBits: number): RsaPublic {
  return {
    type: TPM_ALG.RSA,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: SIGNING_ATTRS,
    authPolicy: new Uint8Array(0),
    parameters: { symmetric: { ...NULL_SYM }, scheme: { ...NULL_SCHEME }, keyBits, exponent: 0 },
    unique: new Uint8Array(0),
  };
}

/** Unrestricted RSA-2048 signing key, scheme NULL, default exponent. */
export function rsa2048SigningTemplate(): RsaPublic {
  return rsaSigningTemplate(2048);
}

/** Attestation key: restricted ECC P-256 signing key with ECDSA-SHA256 (fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign). */
export function attestationKeyTemplate(): EccPublic {
  return {
    type: TPM_ALG.ECC,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: SIGNING_ATTRS | TPMA_OBJECT.RESTRICTED,
    authPolicy: new Uint8Array(0),
    parameters: {
      symmetric: { ...NULL_SYM },
      scheme: { scheme: TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256 },
      curveId: TPM_ECC.NIST_P256,
      kdf: { ...NULL_KDF },
    },
    unique: { x: new Uint8Array(0), y: new Uint8Array(0) },
  };
}

/**
 * SRK: the ECC NIST P-256 storage primary of TCG TPM v2.0 Provisioning Guidance §7.5.1 — fixedTPM|fixedParent|
 * sensitiveDataOrigin|userWithAuth|noDA|restricted|decrypt, AES-128-CFB, scheme NULL, kdf NULL, unique x/y = 32 zero bytes.
 */
export function srkEccTemplate(): EccPublic {
  return {
    type: TPM_ALG.ECC,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes:
      TPMA_OBJECT.FIXED_TPM | TPMA_OBJECT.FIXED_PARENT | TPMA_OBJECT.SENSITIVE_DATA_ORIGIN | TPMA_OBJECT.USER_WITH_AUTH |
      TPMA_OBJECT.NO_DA | TPMA_OBJECT.RESTRICTED | TPMA_OBJECT.DECRYPT,
    authPolicy: new Uint8Array(0),
    parameters: {
      symmetric: { algorithm: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.CFB },
      scheme: { ...NULL_SCHEME },
      curveId: TPM_ECC.NIST_P256,
      kdf: { ...NULL_KDF },
    },
    unique: { x: new Uint8Array(32), y: new Uint8Array(32) },
  };
}

/** True for a restricted decryption (storage) key that can parent other objects. */
export function isStorageKey(p: TpmtPublic): boolean {
  const a = p.objectAttributes;
  return (
    (p.type === TPM_ALG.ECC || p.type === TPM_ALG.RSA) &&
    (a & TPMA_OBJECT.RESTRICTED) !== 0 &&
    (a & TPMA_OBJECT.DECRYPT) !== 0 &&
    (a & TPMA_OBJECT.SIGN_ENCRYPT) === 0 &&
    (a & TPMA_OBJECT.FIXED_TPM) !== 0 &&
    p.parameters.symmetric.algorithm !== TPM_ALG.NULL
  );
}

// ---- SubjectPublicKeyInfo -------------------------------------------------------------------------------------------

const JWK_CURVES: Record<number, { crv: string; size: number }> = {
  [TPM_ECC.NIST_P256]: { crv: 'P-256', size: 32 },
  [TPM_ECC.NIST_P384]: { crv: 'P-384', size: 48 },
  [TPM_ECC.NIST_P521]: { crv: 'P-521', size: 66 },
};

function leftPad(b: Uint8Array, size: number, what: string): Buffer {
  let start = 0;
  while (start < b.byteLength && b[start] === 0 && b.byteLength - start > size) start++;
  const trimmed = b.subarray(start);
  if (trimmed.byteLength > size) throw new Tpm2FormatError(`${what} is ${trimmed.byteLength} bytes, expected at most ${size}`);
  const out = Buffer.alloc(size);
  out.set(trimmed, size - trimmed.byteLength);
  return out;
}

/** DER SubjectPublicKeyInfo of an RSA or NIST-curve ECC public area (via node:crypto JWK import). */
export function publicToSpki(p: TpmtPublic): Uint8Array {
  let jwk: Record<string, string>;
  if (p.type === TPM_ALG.ECC) {
    const curve = JWK_CURVES[p.parameters.curveId];
    if (!curve) throw new Tpm2UnsupportedError(`ECC curve 0x${p.parameters.curveId.toString(16)} not supported`);
    if (p.unique.x.byteLength === 0 || p.unique.y.byteLength === 0) throw new Tpm2FormatError('ECC public point is empty');
    jwk = {
      kty: 'EC',
      crv: curve.crv,
      x: leftPad(p.unique.x, curve.size, 'ECC x').toString('base64url'),
      y: leftPad(p.unique.y, curve.size, 'ECC y').toString('base64url'),
    };
  } else if (p.type === TPM_ALG.RSA) {
    if (p.unique.byteLength === 0) throw new Tpm2FormatError('RSA modulus is empty');
    const e = p.parameters.exponent === 0 ? 65537 : p.parameters.exponent;
    const eb = Buffer.alloc(4);
    eb.writeUInt32BE(e >>> 0);
    let i = 0;
    while (i < 3 && eb[i] === 0) i++;
    jwk = { kty: 'RSA', n: Buffer.from(p.unique).toString('base64url'), e: eb.subarray(i).toString('base64url') };
  } else {
    throw new Tpm2UnsupportedError(`no SubjectPublicKeyInfo for a ${algName(p.type)} object`);
  }
  try {
    return new Uint8Array(createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }));
  } catch (err) {
    throw new Tpm2FormatError(`public key rejected by node:crypto: ${(err as Error).message}`, { cause: err });
  }
}

// ---- key-establishment (decryption) keys (cmc) -------------------------------------------------------------------

const DECRYPT_ATTRS =
  TPMA_OBJECT.FIXED_TPM | TPMA_OBJECT.FIXED_PARENT | TPMA_OBJECT.SENSITIVE_DATA_ORIGIN | TPMA_OBJECT.USER_WITH_AUTH |
  TPMA_OBJECT.DECRYPT;

/** Unrestricted ECC P-256 decryption (key-agreement) key: decrypt, not sign; scheme NULL (ECDH_ZGen allows it). */
export function eccP256DecryptTemplate(): EccPublic {
  return { ...eccP256SigningTemplate(), objectAttributes: DECRYPT_ATTRS };
}

/** Unrestricted RSA-2048 decryption key: decrypt, not sign; scheme NULL (OAEP chosen per TPM2_RSA_Decrypt). */
export function rsa2048DecryptTemplate(): RsaPublic {
  return { ...rsa2048SigningTemplate(), objectAttributes: DECRYPT_ATTRS };
}
