// TPM 2.0 constants used by enrolld (TPM 2.0 Library Part 2: Structures; section numbers per rev 1.59).
import type { NvIndex, TpmHandle } from './handles.js';

/** TPM_GENERATED_VALUE — Part 2 §6.2. */
export const TPM_GENERATED_VALUE = 0xff544347;

/** TPM_ALG_ID — Part 2 §6.3. */
export const TPM_ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  HMAC: 0x0005,
  MGF1: 0x0007,
  AES: 0x0006,
  KEYEDHASH: 0x0008,
  XOR: 0x000a,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  SM3_256: 0x0012,
  SM4: 0x0013,
  RSASSA: 0x0014,
  RSAES: 0x0015,
  RSAPSS: 0x0016,
  OAEP: 0x0017,
  ECDSA: 0x0018,
  ECDH: 0x0019,
  ECDAA: 0x001a,
  SM2: 0x001b,
  ECSCHNORR: 0x001c,
  ECMQV: 0x001d,
  KDF1_SP800_56A: 0x0020,
  KDF2: 0x0021,
  KDF1_SP800_108: 0x0022,
  ECC: 0x0023,
  SYMCIPHER: 0x0025,
  CAMELLIA: 0x0026,
  SHA3_256: 0x0027,
  SHA3_384: 0x0028,
  SHA3_512: 0x0029,
  CTR: 0x0040,
  OFB: 0x0041,
  CBC: 0x0042,
  CFB: 0x0043,
  ECB: 0x0044,
} as const;

/** TPM_ECC_CURVE — Part 2 §6.4. */
export const TPM_ECC = {
  NIST_P192: 0x0001,
  NIST_P224: 0x0002,
  NIST_P256: 0x0003,
  NIST_P384: 0x0004,
  NIST_P521: 0x0005,
  BN_P256: 0x0010,
  BN_P638: 0x0011,
  SM2_P256: 0x0020,
} as const;

/** TPM_ST structure tags — Part 2 §6.9. */
export const TPM_ST = {
  NULL: 0x8000,
  ATTEST_NV: 0x8014,
  ATTEST_COMMAND_AUDIT: 0x8015,
  ATTEST_SESSION_AUDIT: 0x8016,
  ATTEST_CERTIFY: 0x8017,
  ATTEST_QUOTE: 0x8018,
  ATTEST_TIME: 0x8019,
  ATTEST_CREATION: 0x801a,
  ATTEST_NV_DIGEST: 0x801c,
  CREATION: 0x8021,
  VERIFIED: 0x8022,
  AUTH_SECRET: 0x8023,
  HASHCHECK: 0x8024,
  AUTH_SIGNED: 0x8025,
} as const;

/** TPM_CAP — Part 2 §6.12. */
export const TPM_CAP = {
  ALGS: 0x00000000,
  HANDLES: 0x00000001,
  COMMANDS: 0x00000002,
  PP_COMMANDS: 0x00000003,
  AUDIT_COMMANDS: 0x00000004,
  PCRS: 0x00000005,
  TPM_PROPERTIES: 0x00000006,
  PCR_PROPERTIES: 0x00000007,
  ECC_CURVES: 0x00000008,
} as const;

/** TPM_PT properties — Part 2 §6.13 (PT_FIXED = 0x100, PT_VAR = 0x200). */
export const TPM_PT = {
  FAMILY_INDICATOR: 0x100,
  MANUFACTURER: 0x105,
  VENDOR_STRING_1: 0x106,
  FIRMWARE_VERSION_1: 0x10b,
  FIRMWARE_VERSION_2: 0x10c,
  HR_TRANSIENT_MIN: 0x10e,
  HR_PERSISTENT_MIN: 0x10f,
  VENDOR_STRING_2: 0x107,
  VENDOR_STRING_3: 0x108,
  VENDOR_STRING_4: 0x109,
  PCR_COUNT: 0x112,
  NV_INDEX_MAX: 0x117,
  NV_BUFFER_MAX: 0x12c,
  HR_NV_INDEX: 0x202,
  HR_TRANSIENT_AVAIL: 0x207,
  HR_PERSISTENT: 0x208,
  HR_PERSISTENT_AVAIL: 0x209,
  NV_COUNTERS_AVAIL: 0x20b,
} as const;

/** TPM_HT handle types (the top byte of a handle) — Part 2 §7.2. */
export const TPM_HT = {
  PCR: 0x00,
  NV_INDEX: 0x01,
  HMAC_SESSION: 0x02,
  POLICY_SESSION: 0x03,
  PERMANENT: 0x40,
  TRANSIENT: 0x80,
  PERSISTENT: 0x81,
} as const;

/** First handle of a handle type (for TPM2_GetCapability(TPM_CAP_HANDLES, property = first handle)). */
export const handleRangeStart = (ht: number): number => (ht << 24) >>> 0;

/** Permanent handles — Part 2 §7.4. */
export const TPM_RH = {
  OWNER: 0x40000001 as TpmHandle,
  NULL: 0x40000007 as TpmHandle,
  PW: 0x40000009 as TpmHandle,
  LOCKOUT: 0x4000000a as TpmHandle,
  ENDORSEMENT: 0x4000000b as TpmHandle,
  PLATFORM: 0x4000000c as TpmHandle,
} as const;

/** TPMA_OBJECT bits — Part 2 §8.3.2. */
export const TPMA_OBJECT = {
  FIXED_TPM: 1 << 1,
  ST_CLEAR: 1 << 2,
  FIXED_PARENT: 1 << 4,
  SENSITIVE_DATA_ORIGIN: 1 << 5,
  USER_WITH_AUTH: 1 << 6,
  ADMIN_WITH_POLICY: 1 << 7,
  NO_DA: 1 << 10,
  ENCRYPTED_DUPLICATION: 1 << 11,
  RESTRICTED: 1 << 16,
  DECRYPT: 1 << 17,
  SIGN_ENCRYPT: 1 << 18,
  X509_SIGN: 1 << 19,
} as const;

/** TPMA_NV bits used here — Part 2 §13.4. */
export const TPMA_NV = {
  PPWRITE: 1 << 0,
  OWNERWRITE: 1 << 1,
  AUTHWRITE: 1 << 2,
  POLICYWRITE: 1 << 3,
  PPREAD: 1 << 16,
  OWNERREAD: 1 << 17,
  AUTHREAD: 1 << 18,
  POLICYREAD: 1 << 19,
  NO_DA: 1 << 25,
  WRITTEN: 1 << 29,
  PLATFORMCREATE: 1 << 30,
} as const;

/** Well-known handles: EK certificate NV indices (TCG EK Credential Profile), SRK (TCG Handle Registry: 0x81000001). */
export const WELL_KNOWN = {
  EK_CERT_RSA_NV: 0x01c00002 as NvIndex,
  EK_CERT_ECC_NV: 0x01c0000a as NvIndex,
  /** ECC NIST P-384 EK certificate (high range; swtpm_setup --ecc writes this one). */
  EK_CERT_ECC_P384_NV: 0x01c00016 as NvIndex,
  SRK_PERSISTENT: 0x81000001 as TpmHandle,
} as const;

/** Digest sizes and node:crypto names of the hash algorithms enrolld handles (Part 2 §10.3.1 TPMU_HA). */
export const HASH_INFO: Readonly<Record<number, { name: string; size: number }>> = {
  [TPM_ALG.SHA1]: { name: 'sha1', size: 20 },
  [TPM_ALG.SHA256]: { name: 'sha256', size: 32 },
  [TPM_ALG.SHA384]: { name: 'sha384', size: 48 },
  [TPM_ALG.SHA512]: { name: 'sha512', size: 64 },
  [TPM_ALG.SM3_256]: { name: 'sm3', size: 32 },
  [TPM_ALG.SHA3_256]: { name: 'sha3-256', size: 32 },
  [TPM_ALG.SHA3_384]: { name: 'sha3-384', size: 48 },
  [TPM_ALG.SHA3_512]: { name: 'sha3-512', size: 64 },
};

/** Name of an algorithm id for messages ("0x000b (SHA256)"). */
export function algName(alg: number): string {
  for (const [k, v] of Object.entries(TPM_ALG)) if (v === alg) return k;
  return `0x${alg.toString(16).padStart(4, '0')}`;
}
