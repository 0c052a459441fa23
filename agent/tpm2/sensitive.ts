// TPMT_SENSITIVE / TPM2B_SENSITIVE (Part 2 §12.3.2.4–5) and the unwrapped duplicate TPM2_Import takes (Part 1 §23.3.2:
// with neither inner nor outer wrapper the TPM2B_PRIVATE buffer is the TPM2B_SENSITIVE itself), plus the public
// templates of imported keys and sealed data objects. The buffers built here carry private key bits: they are sized
// exactly and written in place (no growable writer leaving copies behind) so the caller can wipe them.
import { TPM_ALG, TPM_ECC, TPMA_OBJECT } from './constants.js';
import { Tpm2FormatError } from './errors.js';
import type { TpmtPublic } from './public.js';

/** TPMT_SENSITIVE for the object types enrolld imports. `sensitive` is the TPMU_SENSITIVE_COMPOSITE arm's bytes. */
export interface TpmtSensitive {
  sensitiveType: number;
  authValue: Uint8Array;
  /** obfuscation value (non-storage keys); at most the nameAlg digest size. */
  seedValue: Uint8Array;
  /** rsa: one prime (TPM2B_PRIVATE_KEY_RSA); ecc: d (TPM2B_ECC_PARAMETER); keyedHash: data; symCipher: key. */
  sensitive: Uint8Array;
}

const MAX_SENSITIVE_ARM = 1024;

/** TPM2B_PRIVATE holding an unwrapped duplicate: u16 size ‖ TPM2B_SENSITIVE (u16 size ‖ TPMT_SENSITIVE). */
export function unwrappedDuplicate(s: TpmtSensitive): Uint8Array {
  for (const [name, b, max] of [['authValue', s.authValue, 64], ['seedValue', s.seedValue, 64], ['sensitive', s.sensitive, MAX_SENSITIVE_ARM]] as const) {
    if (b.byteLength > max) throw new Tpm2FormatError(`TPMT_SENSITIVE.${name} too long: ${b.byteLength} bytes`);
  }
  const tpmt = 2 + 2 + s.authValue.byteLength + 2 + s.seedValue.byteLength + 2 + s.sensitive.byteLength;
  const out = new Uint8Array(2 + 2 + tpmt);
  const view = new DataView(out.buffer);
  let o = 0;
  const u16 = (v: number): void => {
    view.setUint16(o, v);
    o += 2;
  };
  const b2 = (b: Uint8Array): void => {
    u16(b.byteLength);
    out.set(b, o);
    o += b.byteLength;
  };
  u16(2 + tpmt);
  u16(tpmt);
  u16(s.sensitiveType);
  b2(s.authValue);
  b2(s.seedValue);
  b2(s.sensitive);
  return out;
}

/** TPMT_SYM_DEF_OBJECT with algorithm TPM_ALG_NULL (no inner wrapper). */
export function symDefObjectNull(): Uint8Array {
  return new Uint8Array([TPM_ALG.NULL >> 8, TPM_ALG.NULL & 0xff]);
}

/**
 * Attributes of an imported signing key: userWithAuth|sign. fixedTPM and fixedParent must be CLEAR for TPM2_Import
 * (Part 3 §13.3.1: TPM_RC_ATTRIBUTES otherwise), sensitiveDataOrigin is CLEAR because the key was made outside the
 * TPM, encryptedDuplication CLEAR (it would require an outer wrapper). With an empty authPolicy no policy session
 * can satisfy the ADMIN role TPM2_Duplicate needs, so the key cannot be duplicated out again.
 */
export const IMPORTED_SIGNING_ATTRS = TPMA_OBJECT.USER_WITH_AUTH | TPMA_OBJECT.SIGN_ENCRYPT;

/** Public area of an imported P-256 signing key (scheme NULL, like created keys). */
export function importedEccP256Public(x: Uint8Array, y: Uint8Array): TpmtPublic {
  return {
    type: TPM_ALG.ECC,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: IMPORTED_SIGNING_ATTRS,
    authPolicy: new Uint8Array(0),
    parameters: {
      symmetric: { algorithm: TPM_ALG.NULL, keyBits: 0, mode: 0 },
      scheme: { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL },
      curveId: TPM_ECC.NIST_P256,
      kdf: { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL },
    },
    unique: { x, y },
  };
}

/** Public area of an imported RSA-2048 signing key (exponent 0 means 65537). */
export function importedRsa2048Public(n: Uint8Array, e: number): TpmtPublic {
  return {
    type: TPM_ALG.RSA,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: IMPORTED_SIGNING_ATTRS,
    authPolicy: new Uint8Array(0),
    parameters: {
      symmetric: { algorithm: TPM_ALG.NULL, keyBits: 0, mode: 0 },
      scheme: { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL },
      keyBits: 2048,
      exponent: e === 65537 ? 0 : e,
    },
    unique: n,
  };
}

/** Most bytes TPM2_Create accepts as sealed data (MAX_SYM_DATA, Part 2 §10.4.3 / Table 2:TPM2B_SENSITIVE_DATA). */
export const MAX_SEALED_DATA = 128;

/**
 * Sealed data object (KEYEDHASH, scheme NULL, neither sign nor decrypt): fixedTPM|fixedParent|userWithAuth|noDA.
 * sensitiveDataOrigin CLEAR — required when the caller supplies the data (Part 3 §12.1.1).
 */
export function sealedDataTemplate(): TpmtPublic {
  return {
    type: TPM_ALG.KEYEDHASH,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: TPMA_OBJECT.FIXED_TPM | TPMA_OBJECT.FIXED_PARENT | TPMA_OBJECT.USER_WITH_AUTH | TPMA_OBJECT.NO_DA,
    authPolicy: new Uint8Array(0),
    parameters: { scheme: { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL } },
    unique: new Uint8Array(0),
  };
}
