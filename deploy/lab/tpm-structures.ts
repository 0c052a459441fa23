// The TPM 2.0 structures the lab verifier reads, from TPM 2.0 Library Part 2 (Structures): TPMS_ATTEST (§10.12.12)
// of type TPM_ST_ATTEST_CERTIFY with TPMS_CERTIFY_INFO (§10.12.3), TPMT_PUBLIC (§12.2.4) for ECC and RSA keys,
// TPMT_SIGNATURE (§11.3.4) for ECDSA and RSASSA, and the object Name (Part 1 §16: nameAlg || H_nameAlg(TPMT_PUBLIC)).
// All integers are big-endian; a TPM2B is a UINT16 size and that many bytes.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

/** Part 2 §6.3 TPM_ALG_ID values used here. */
export const ALG = { RSA: 0x0001, SHA1: 0x0004, SHA256: 0x000b, SHA384: 0x000c, SHA512: 0x000d, NULL: 0x0010, RSASSA: 0x0014, RSAPSS: 0x0016, ECDSA: 0x0018, ECDAA: 0x001a, ECC: 0x0023 } as const;
/** Part 2 §8.3 TPMA_OBJECT bits. */
export const OBJECT = { FIXED_TPM: 1 << 1, FIXED_PARENT: 1 << 4, SENSITIVE_DATA_ORIGIN: 1 << 5, RESTRICTED: 1 << 16, DECRYPT: 1 << 17, SIGN_ENCRYPT: 1 << 18 } as const;
/** Part 2 §6.2 TPM_GENERATED_VALUE and §6.9 TPM_ST_ATTEST_CERTIFY. */
const TPM_GENERATED_VALUE = 0xff544347;
const TPM_ST_ATTEST_CERTIFY = 0x8017;
const HASH_NAMES: Record<number, string> = { [ALG.SHA1]: 'sha1', [ALG.SHA256]: 'sha256', [ALG.SHA384]: 'sha384', [ALG.SHA512]: 'sha512' };
/** Part 2 §6.4 TPM_ECC_CURVE → JWK crv and coordinate size. */
const CURVES: Record<number, { crv: string; size: number }> = { 0x0003: { crv: 'P-256', size: 32 }, 0x0004: { crv: 'P-384', size: 48 }, 0x0005: { crv: 'P-521', size: 66 } };

export class TpmStructureError extends Error {}

class Reader {
  private off = 0;
  constructor(
    private readonly b: Uint8Array,
    private readonly what: string,
  ) {}
  private need(n: number): void {
    if (this.off + n > this.b.byteLength) throw new TpmStructureError(`${this.what}: truncated at offset ${this.off}`);
  }
  u8(): number {
    this.need(1);
    return this.b[this.off++]!;
  }
  u16(): number {
    this.need(2);
    const v = (this.b[this.off]! << 8) | this.b[this.off + 1]!;
    this.off += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.off, 4).getUint32(0);
    this.off += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.off, 8).getBigUint64(0);
    this.off += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.b.slice(this.off, this.off + n);
    this.off += n;
    return v;
  }
  tpm2b(): Uint8Array {
    return this.bytes(this.u16());
  }
  end(): void {
    if (this.off !== this.b.byteLength) throw new TpmStructureError(`${this.what}: ${this.b.byteLength - this.off} trailing byte(s)`);
  }
}

export interface CertifyAttest {
  qualifiedSigner: Uint8Array;
  extraData: Uint8Array;
  clock: bigint;
  resetCount: number;
  restartCount: number;
  safe: boolean;
  firmwareVersion: bigint;
  /** TPMS_CERTIFY_INFO.name: the certified object's Name. */
  name: Uint8Array;
  qualifiedName: Uint8Array;
}

/** §10.12.12 TPMS_ATTEST, which must be TPM-generated and of type TPM_ST_ATTEST_CERTIFY. */
export function readCertifyAttest(b: Uint8Array): CertifyAttest {
  const r = new Reader(b, 'TPMS_ATTEST');
  const magic = r.u32();
  if (magic !== TPM_GENERATED_VALUE) throw new TpmStructureError(`TPMS_ATTEST magic 0x${magic.toString(16)} is not TPM_GENERATED_VALUE`);
  const type = r.u16();
  if (type !== TPM_ST_ATTEST_CERTIFY) throw new TpmStructureError(`TPMS_ATTEST type 0x${type.toString(16)} is not TPM_ST_ATTEST_CERTIFY`);
  const qualifiedSigner = r.tpm2b();
  const extraData = r.tpm2b();
  const clock = r.u64(); // §10.11.1 TPMS_CLOCK_INFO
  const resetCount = r.u32();
  const restartCount = r.u32();
  const safe = r.u8() !== 0;
  const firmwareVersion = r.u64();
  const name = r.tpm2b();
  const qualifiedName = r.tpm2b();
  r.end();
  return { qualifiedSigner, extraData, clock, resetCount, restartCount, safe, firmwareVersion, name, qualifiedName };
}

export interface TpmPublic {
  type: number;
  nameAlg: number;
  objectAttributes: number;
  /** The public key (ECC or RSA). */
  key: KeyObject;
}

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const leftPad = (b: Uint8Array, n: number): Uint8Array => (b.byteLength >= n ? b : new Uint8Array([...new Uint8Array(n - b.byteLength), ...b]));

/** §12.2.3.2 TPMT_SYM_DEF_OBJECT: algorithm, then keyBits and mode unless TPM_ALG_NULL. */
function skipSymDef(r: Reader): void {
  if (r.u16() !== ALG.NULL) {
    r.u16();
    r.u16();
  }
}

/** §12.2.4 TPMT_PUBLIC of an ECC (§12.2.3.6) or RSA (§12.2.3.5) key. */
export function readPublic(b: Uint8Array): TpmPublic {
  const r = new Reader(b, 'TPMT_PUBLIC');
  const type = r.u16();
  const nameAlg = r.u16();
  const objectAttributes = r.u32();
  r.tpm2b(); // authPolicy
  let key: KeyObject;
  if (type === ALG.ECC) {
    skipSymDef(r);
    const scheme = r.u16(); // TPMT_ECC_SCHEME: details are a hashAlg (+ count for ECDAA)
    if (scheme !== ALG.NULL) {
      r.u16();
      if (scheme === ALG.ECDAA) r.u16();
    }
    const curveId = r.u16();
    if (r.u16() !== ALG.NULL) r.u16(); // TPMT_KDF_SCHEME
    const x = r.tpm2b();
    const y = r.tpm2b();
    r.end();
    const c = CURVES[curveId];
    if (!c) throw new TpmStructureError(`TPMT_PUBLIC: curve 0x${curveId.toString(16)} not supported`);
    key = createPublicKey({ key: { kty: 'EC', crv: c.crv, x: b64u(leftPad(x, c.size)), y: b64u(leftPad(y, c.size)) }, format: 'jwk' });
  } else if (type === ALG.RSA) {
    skipSymDef(r);
    if (r.u16() !== ALG.NULL) r.u16(); // TPMT_RSA_SCHEME
    r.u16(); // keyBits
    const exponent = r.u32() || 65537; // 0 means the default 2^16 + 1
    const n = r.tpm2b();
    r.end();
    const e = new Uint8Array(4);
    new DataView(e.buffer).setUint32(0, exponent);
    let i = 0;
    while (i < 3 && e[i] === 0) i++;
    key = createPublicKey({ key: { kty: 'RSA', n: b64u(n), e: b64u(e.slice(i)) }, format: 'jwk' });
  } else {
    throw new TpmStructureError(`TPMT_PUBLIC: type 0x${type.toString(16)} not supported`);
  }
  return { type, nameAlg, objectAttributes, key };
}

/** DER SubjectPublicKeyInfo of the key. */
export const spkiOf = (p: TpmPublic): Uint8Array => new Uint8Array(p.key.export({ format: 'der', type: 'spki' }));

/** Part 1 §16 Name: nameAlg (UINT16) || H_nameAlg(TPMT_PUBLIC). */
export function objectName(tpmtPublic: Uint8Array): Uint8Array {
  const nameAlg = (tpmtPublic[2]! << 8) | tpmtPublic[3]!;
  const h = HASH_NAMES[nameAlg];
  if (!h || tpmtPublic.byteLength < 4) throw new TpmStructureError(`TPMT_PUBLIC nameAlg 0x${nameAlg.toString(16)} not supported`);
  return new Uint8Array([tpmtPublic[2]!, tpmtPublic[3]!, ...createHash(h).update(tpmtPublic).digest()]);
}

export interface TpmSignature {
  sigAlg: number;
  hashAlg: number;
  /** For node:crypto verify: ECDSA as r||s (ieee-p1363), RSASSA the raw signature. */
  value: Uint8Array;
}

/** §11.3.4 TPMT_SIGNATURE with TPMS_SIGNATURE_ECDSA (§11.3.2) or TPMS_SIGNATURE_RSASSA (§11.3.1). */
export function readSignature(b: Uint8Array, fieldSize: number): TpmSignature {
  const r = new Reader(b, 'TPMT_SIGNATURE');
  const sigAlg = r.u16();
  const hashAlg = r.u16();
  let value: Uint8Array;
  if (sigAlg === ALG.ECDSA) {
    const rr = r.tpm2b();
    const ss = r.tpm2b();
    value = new Uint8Array([...leftPad(rr, fieldSize), ...leftPad(ss, fieldSize)]);
  } else if (sigAlg === ALG.RSASSA || sigAlg === ALG.RSAPSS) {
    value = r.tpm2b();
  } else {
    throw new TpmStructureError(`TPMT_SIGNATURE: scheme 0x${sigAlg.toString(16)} not supported`);
  }
  r.end();
  return { sigAlg, hashAlg, value };
}
