// The lab verifier of the TPM2_Quote platform statement beside tcg-attest-tpm-certify. Written from the TPM 2.0
// Library spec (Part 2 §10.12.12 TPMS_ATTEST, §10.12.4 TPMS_QUOTE_INFO, §10.6.2 TPMS_PCR_SELECTION, §11.3.4
// TPMT_SIGNATURE; Part 3 §18.4 TPM2_Quote) and the statement shape implementations send under 2.23.133.20.2
// (draft-ietf-lamps-csr-attestation-28 defines none):
//   TcgAttestQuote ::= SEQUENCE { tpmSAttest OCTET STRING, signature OCTET STRING, pcrValues OCTET STRING OPTIONAL }
// pcrValues: the quoted PCR values concatenated in pcrSelect order. Only asn1js and node:crypto are used here.
import { createHash, createPublicKey, verify as cryptoVerify, constants as cryptoConstants, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';

/** The quote statement type the lab expects unless told otherwise (a placeholder; see the header). */
export const TCG_ATTEST_TPM_QUOTE = '2.23.133.20.2';

const TPM_GENERATED_VALUE = 0xff544347; // Part 2 §6.2
const TPM_ST_ATTEST_QUOTE = 0x8018; // Part 2 §6.9
const HASHES: Record<number, { name: string; size: number; bank: string }> = {
  0x0004: { name: 'sha1', size: 20, bank: 'sha1' },
  0x000b: { name: 'sha256', size: 32, bank: 'sha256' },
  0x000c: { name: 'sha384', size: 48, bank: 'sha384' },
  0x000d: { name: 'sha512', size: 64, bank: 'sha512' },
};
const BANK_ALG: Record<string, number> = { sha1: 0x0004, sha256: 0x000b, sha384: 0x000c, sha512: 0x000d };
const TPM_ALG_RSASSA = 0x0014;
const TPM_ALG_RSAPSS = 0x0016;
const TPM_ALG_ECDSA = 0x0018;

/** What the lab's policy asks: a quote of these PCRs in this bank (default sha256), statement type `type`. */
export interface QuotePolicy {
  pcrs: number[];
  bank?: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  type?: string;
}

export type QuoteReason = 'attest.missing' | 'attest.bad-structure' | 'attest.bad-signature' | 'attest.nonce-unknown' | 'attest.pcr-mismatch';

export interface VerifiedQuote {
  extraData: Uint8Array;
  bank: string;
  /** PCR index → value, as the quote's pcrDigest covers them. */
  pcrs: Map<number, Uint8Array>;
  clock: bigint;
  resetCount: number;
  restartCount: number;
  firmwareVersion: bigint;
}

export interface QuoteAttest {
  magic: number;
  type: number;
  qualifiedSigner: Uint8Array;
  extraData: Uint8Array;
  clock: bigint;
  resetCount: number;
  restartCount: number;
  safe: number;
  firmwareVersion: bigint;
  pcrSelect: { hashAlg: number; pcrs: number[] }[];
  pcrDigest: Uint8Array;
}

class Reader {
  off = 0;
  private readonly dv: DataView;
  constructor(
    private readonly b: Uint8Array,
    private readonly what: string,
  ) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  private need(n: number, field: string): void {
    if (this.off + n > this.b.byteLength) throw new Error(`${this.what}: truncated in ${field}`);
  }
  u8(f: string): number {
    this.need(1, f);
    return this.dv.getUint8(this.off++);
  }
  u16(f: string): number {
    this.need(2, f);
    const v = this.dv.getUint16(this.off);
    this.off += 2;
    return v;
  }
  u32(f: string): number {
    this.need(4, f);
    const v = this.dv.getUint32(this.off);
    this.off += 4;
    return v;
  }
  u64(f: string): bigint {
    this.need(8, f);
    const v = this.dv.getBigUint64(this.off);
    this.off += 8;
    return v;
  }
  bytes(n: number, f: string): Uint8Array {
    this.need(n, f);
    const v = this.b.slice(this.off, this.off + n);
    this.off += n;
    return v;
  }
  tpm2b(f: string): Uint8Array {
    return this.bytes(this.u16(f), f);
  }
  end(): void {
    if (this.off !== this.b.byteLength) throw new Error(`${this.what}: ${this.b.byteLength - this.off} trailing byte(s)`);
  }
}

/** TPMS_ATTEST with attested = TPMS_QUOTE_INFO (Part 2 §10.12.12, §10.12.4); exact length. */
export function readQuoteAttest(b: Uint8Array): QuoteAttest {
  const r = new Reader(b, 'TPMS_ATTEST');
  const magic = r.u32('magic');
  if (magic !== TPM_GENERATED_VALUE) throw new Error(`TPMS_ATTEST: magic 0x${magic.toString(16)} is not TPM_GENERATED_VALUE`);
  const type = r.u16('type');
  if (type !== TPM_ST_ATTEST_QUOTE) throw new Error(`TPMS_ATTEST: type 0x${type.toString(16)} is not TPM_ST_ATTEST_QUOTE (0x8018)`);
  const qualifiedSigner = r.tpm2b('qualifiedSigner');
  const extraData = r.tpm2b('extraData');
  const clock = r.u64('clockInfo.clock');
  const resetCount = r.u32('clockInfo.resetCount');
  const restartCount = r.u32('clockInfo.restartCount');
  const safe = r.u8('clockInfo.safe');
  const firmwareVersion = r.u64('firmwareVersion');
  const count = r.u32('pcrSelect.count');
  if (count > 16) throw new Error(`TPMS_ATTEST: ${count} PCR selections`);
  const pcrSelect: QuoteAttest['pcrSelect'] = [];
  for (let i = 0; i < count; i++) {
    const hashAlg = r.u16(`pcrSelect[${i}].hash`);
    const map = r.bytes(r.u8(`pcrSelect[${i}].sizeofSelect`), `pcrSelect[${i}].pcrSelect`);
    const pcrs: number[] = [];
    map.forEach((byte, j) => {
      for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) pcrs.push(j * 8 + bit);
    });
    pcrSelect.push({ hashAlg, pcrs });
  }
  const pcrDigest = r.tpm2b('pcrDigest');
  r.end();
  return { magic, type, qualifiedSigner, extraData, clock, resetCount, restartCount, safe, firmwareVersion, pcrSelect, pcrDigest };
}

/** TPMT_SIGNATURE (Part 2 §11.3.4) checked over `message` with the AK public key. */
function verifyTpmSignature(sig: Uint8Array, message: Uint8Array, ak: KeyObject): { ok: boolean; hashAlg: number } {
  const r = new Reader(sig, 'TPMT_SIGNATURE');
  const sigAlg = r.u16('sigAlg');
  const hashAlg = r.u16('hash');
  const h = HASHES[hashAlg];
  if (!h) throw new Error(`TPMT_SIGNATURE: hash 0x${hashAlg.toString(16)} not supported`);
  if (sigAlg === TPM_ALG_ECDSA) {
    const rr = r.tpm2b('signatureR');
    const ss = r.tpm2b('signatureS');
    r.end();
    const curve = ak.asymmetricKeyDetails?.namedCurve;
    const size = curve === 'prime256v1' ? 32 : curve === 'secp384r1' ? 48 : curve === 'secp521r1' ? 66 : 0;
    if (size === 0 || rr.byteLength > size || ss.byteLength > size) throw new Error(`TPMT_SIGNATURE: ECDSA on ${curve ?? 'a non-EC key'}`);
    const p1363 = new Uint8Array(2 * size);
    p1363.set(rr, size - rr.byteLength);
    p1363.set(ss, 2 * size - ss.byteLength);
    return { ok: cryptoVerify(h.name, message, { key: ak, dsaEncoding: 'ieee-p1363' }, p1363), hashAlg };
  }
  if (sigAlg === TPM_ALG_RSASSA || sigAlg === TPM_ALG_RSAPSS) {
    const s = r.tpm2b('sig');
    r.end();
    const padding = sigAlg === TPM_ALG_RSAPSS ? cryptoConstants.RSA_PKCS1_PSS_PADDING : cryptoConstants.RSA_PKCS1_PADDING;
    return { ok: cryptoVerify(h.name, message, { key: ak, padding, saltLength: cryptoConstants.RSA_PSS_SALTLEN_AUTO }, s), hashAlg };
  }
  throw new Error(`TPMT_SIGNATURE: scheme 0x${sigAlg.toString(16)} not supported`);
}

function octets(n: asn1js.AsnType | undefined, field: string): Uint8Array {
  if (!(n instanceof asn1js.OctetString) || n.valueBlock.isConstructed) throw new Error(`TcgAttestQuote.${field} is not a primitive OCTET STRING`);
  return new Uint8Array(n.valueBlock.valueHexView);
}

/** TcgAttestQuote from a statement's stmt (an asn1js element or its DER). */
export function readTcgAttestQuote(stmt: unknown): { tpmSAttest: Uint8Array; signature: Uint8Array; pcrValues?: Uint8Array } {
  const der = stmt instanceof Uint8Array ? stmt : new Uint8Array((stmt as asn1js.BaseBlock).toBER(false));
  const parsed = asn1js.fromBER(der);
  if (parsed.offset === -1 || parsed.offset !== der.byteLength) throw new Error('TcgAttestQuote is not one DER element');
  const seq = parsed.result;
  if (!(seq instanceof asn1js.Sequence)) throw new Error('TcgAttestQuote is not a SEQUENCE');
  const kids = seq.valueBlock.value as asn1js.AsnType[];
  if (kids.length < 2 || kids.length > 3) throw new Error(`TcgAttestQuote has ${kids.length} elements, expected 2 or 3`);
  return { tpmSAttest: octets(kids[0], 'tpmSAttest'), signature: octets(kids[1], 'signature'), ...(kids[2] ? { pcrValues: octets(kids[2], 'pcrValues') } : {}) };
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * Checks the bundle's quote statement against the policy: present (one), signed by the AK (`akSpki`, the AK
 * certificate's SubjectPublicKeyInfo DER), bound to `nonce` (the certify statement's extraData), selecting exactly
 * the asked PCRs in the asked bank, and pcrDigest = H(pcrValues) with the signature's hash (Part 3 §18.4).
 * Refuses through `fail`.
 */
export function verifyTpmQuote(
  statements: ReadonlyArray<{ type: string; stmt: unknown }>,
  policy: QuotePolicy,
  akSpki: Uint8Array,
  nonce: Uint8Array,
  fail: (reason: QuoteReason, detail: string) => never,
): VerifiedQuote {
  const type = policy.type ?? TCG_ATTEST_TPM_QUOTE;
  const bank = policy.bank ?? 'sha256';
  const asked = [...new Set(policy.pcrs)].sort((a, b) => a - b);
  const found = statements.filter((s) => s.type === type);
  if (found.length === 0) fail('attest.missing', `no TPM2_Quote statement (${type}) though the policy asks for PCRs ${bank}:${asked.join(',')}`);
  if (found.length > 1) fail('attest.bad-structure', `${found.length} TPM2_Quote statements (${type}), expected one`);
  let st!: ReturnType<typeof readTcgAttestQuote>;
  let attest!: QuoteAttest;
  try {
    st = readTcgAttestQuote(found[0]!.stmt);
    attest = readQuoteAttest(st.tpmSAttest);
  } catch (e) {
    fail('attest.bad-structure', `quote: ${(e as Error).message}`);
  }
  let sig!: { ok: boolean; hashAlg: number };
  try {
    sig = verifyTpmSignature(st.signature, st.tpmSAttest, createPublicKey({ key: Buffer.from(akSpki), format: 'der', type: 'spki' }));
  } catch (e) {
    fail('attest.bad-signature', `quote: ${(e as Error).message}`);
  }
  if (!sig.ok) fail('attest.bad-signature', 'quote: the AK signature over tpmSAttest does not verify');
  if (hexOf(attest.extraData) !== hexOf(nonce)) fail('attest.nonce-unknown', `quote: extraData ${hexOf(attest.extraData)} is not the nonce of the certify statement`);
  const sel = attest.pcrSelect.filter((s) => s.pcrs.length > 0);
  const want = `${bank}:${asked.join(',')}`;
  const got = sel.map((s) => `${HASHES[s.hashAlg]?.bank ?? `0x${s.hashAlg.toString(16)}`}:${s.pcrs.join(',')}`).join(' ');
  if (sel.length !== 1 || sel[0]!.hashAlg !== BANK_ALG[bank] || sel[0]!.pcrs.join(',') !== asked.join(',')) fail('attest.pcr-mismatch', `quote: pcrSelect is ${got || 'empty'}, the policy asks for ${want}`);
  const size = HASHES[BANK_ALG[bank]!]!.size;
  if (!st.pcrValues) fail('attest.pcr-mismatch', 'quote: no pcrValues, the PCR values cannot be appraised');
  if (st.pcrValues!.byteLength !== asked.length * size) fail('attest.pcr-mismatch', `quote: pcrValues is ${st.pcrValues!.byteLength} bytes, expected ${asked.length} × ${size}`);
  const digest = createHash(HASHES[sig.hashAlg]!.name).update(st.pcrValues!).digest();
  if (hexOf(digest) !== hexOf(attest.pcrDigest)) fail('attest.pcr-mismatch', `quote: pcrDigest ${hexOf(attest.pcrDigest)} is not the ${HASHES[sig.hashAlg]!.name} of the given PCR values (${hexOf(digest)})`);
  const pcrs = new Map<number, Uint8Array>(asked.map((p, i) => [p, st.pcrValues!.slice(i * size, (i + 1) * size)]));
  return { extraData: attest.extraData, bank, pcrs, clock: attest.clock, resetCount: attest.resetCount, restartCount: attest.restartCount, firmwareVersion: attest.firmwareVersion };
}
