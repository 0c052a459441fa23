// The lab's verifier side of remote-attest-01, written from draft-ietf-acme-rats-01 (-02 has the same wire text) and
// draft-ietf-rats-msg-wrap-23 (and the TPM 2.0 Library Part 2 structures) with its own codecs: nothing here comes
// from the agent. The challenge answer (the JWS payload) is a CMW — JSON record [type, base64url value, ? ind] or
// CBOR record [type, bytes, ? ind] — or a compact JWE of one (RFC 7516) encrypted to the key this lab offered as
// verifierEncryptionCredential. The record's value is a DER AttestationBundle (draft-ietf-lamps-csr-attestation)
// holding a TPM2_Certify statement.
// Checks: AK certificate chain to the attestation roots with the AIK EKU, AK signature over TPMS_ATTEST, magic and
// type, extraData == the freshness_nonce of this challenge, certified Name == nameAlg || H(tpmTPublic), the key is
// TPM-resident; the certified public key is returned so finalize can compare it with the CSR key.
import { createHash, createPublicKey, generateKeyPairSync, verify as cryptoVerify, X509Certificate, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { decode as cborDecode } from 'cbor-x';
import { compactDecrypt } from 'jose';

/** The lab's own copy of the names the drafts define (not imported from the agent). */
export const RATS = {
  challengeType: 'remote-attest-01',
  identifierType: 'remote-attestation',
  cmwJson: 'application/cmw+json',
  cmwCbor: 'application/cmw+cbor',
  /** The record type the lab accepts: a DER AttestationBundle (vendor tree, RFC 6838 §3.2). */
  bundleType: 'application/vnd.enrolld.attestation-bundle+der',
  /** msg-wrap-23 cm-type: evidence is bit 2. */
  indEvidence: 4,
  tcgAttestTpmCertify: '2.23.133.20.1',
  aikEku: '2.23.133.8.3',
} as const;

export class RatsRefusal extends Error {}
const refuse = (why: string): never => {
  throw new RatsRefusal(why);
};

/** A key pair the lab offers as verifierEncryptionCredential (ECDH-ES on P-256). */
export interface LabEncryptionKey {
  jwk: Record<string, string>;
  privateKey: KeyObject;
}
export function labEncryptionKey(): LabEncryptionKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const j = publicKey.export({ format: 'jwk' }) as Record<string, string>;
  return { jwk: { kty: 'EC', crv: 'P-256', x: j.x!, y: j.y!, use: 'enc', kid: createHash('sha256').update(j.x!).digest('base64url').slice(0, 16) }, privateKey };
}

/** What a decoded answer held (tests read it). */
export interface DecodedAnswer {
  encrypted: boolean;
  jweHeader?: Record<string, unknown>;
  record: { type: string; value: Uint8Array; ind?: number };
}

/** RFC 7516 compact serialization: five base64url parts. */
const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function parseRecord(bytes: Uint8Array, json: boolean): DecodedAnswer['record'] {
  let r: unknown;
  try {
    r = json ? JSON.parse(Buffer.from(bytes).toString('utf8')) : cborDecode(Buffer.from(bytes));
  } catch (e) {
    return refuse(`the CMW does not decode as ${json ? 'JSON' : 'CBOR'}: ${(e as Error).message}`);
  }
  if (!Array.isArray(r) || r.length < 2 || r.length > 3) return refuse('the CMW is not a record [type, value, ? ind] (collections are not accepted here)');
  const [type, value, ind] = r as unknown[];
  if (typeof type !== 'string') return refuse('CMW record type is not a media type string');
  let v: Uint8Array;
  if (json) {
    if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value)) return refuse('JSON CMW value is not base64url');
    v = new Uint8Array(Buffer.from(value, 'base64url'));
  } else {
    if (!(value instanceof Uint8Array)) return refuse('CBOR CMW value is not a byte string');
    v = value;
  }
  if (ind !== undefined && (typeof ind !== 'number' || !Number.isInteger(ind) || ind < 1 || ind > 0xffffffff)) return refuse('CMW ind is not a non-zero uint32');
  return { type, value: v, ...(ind !== undefined ? { ind: ind as number } : {}) };
}

/** Decodes the challenge answer; `key` given: only a JWE to it is accepted (evidence never in the clear). */
export async function decodeAnswer(payload: Uint8Array, key: LabEncryptionKey | undefined): Promise<DecodedAnswer> {
  const text = Buffer.from(payload).toString('latin1');
  if (COMPACT_JWE.test(text)) {
    if (!key) return refuse('a JWE answer, but this challenge offered no verifierEncryptionCredential');
    let out: Awaited<ReturnType<typeof compactDecrypt>>;
    try {
      out = await compactDecrypt(text, key.privateKey);
    } catch (e) {
      return refuse(`the JWE does not decrypt with the offered credential: ${(e as Error).message}`);
    }
    const cty = out.protectedHeader.cty;
    if (cty !== RATS.cmwJson && cty !== RATS.cmwCbor) return refuse(`JWE cty ${String(cty)}, expected ${RATS.cmwJson} or ${RATS.cmwCbor}`);
    return { encrypted: true, jweHeader: out.protectedHeader as Record<string, unknown>, record: parseRecord(out.plaintext, cty === RATS.cmwJson) };
  }
  if (key) return refuse('the evidence was sent unencrypted although a verifierEncryptionCredential was offered');
  const first = payload[0];
  if (first === 0x5b /* '[' */) return { encrypted: false, record: parseRecord(payload, true) };
  if (first === 0x82 || first === 0x83 || first === 0x9f) return { encrypted: false, record: parseRecord(payload, false) };
  return refuse('the answer is neither a CMW record (JSON or CBOR) nor a compact JWE');
}

// --- TPM 2.0 structures (Library Part 2), big-endian ---

class Reader {
  off = 0;
  constructor(private readonly b: Uint8Array) {}
  private need(n: number): void {
    if (this.off + n > this.b.length) refuse(`TPM structure truncated at offset ${this.off}`);
  }
  u8(): number {
    this.need(1);
    return this.b[this.off++]!;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  u32(): number {
    return ((this.u16() << 16) >>> 0) + this.u16();
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  tpm2b(): Uint8Array {
    return this.bytes(this.u16());
  }
  get done(): boolean {
    return this.off === this.b.length;
  }
}

const ALG_NULL = 0x0010;
const ALG_RSA = 0x0001;
const ALG_ECC = 0x0023;
const ALG_RSASSA = 0x0014;
const ALG_ECDSA = 0x0018;
const HASHES: Record<number, string> = { 0x000b: 'sha256', 0x000c: 'sha384', 0x000d: 'sha512' };
const CURVES: Record<number, { crv: string; size: number }> = { 0x0003: { crv: 'P-256', size: 32 }, 0x0004: { crv: 'P-384', size: 48 }, 0x0005: { crv: 'P-521', size: 66 } };
const TPM_GENERATED = 0xff544347;
const ST_ATTEST_CERTIFY = 0x8017;
// TPMA_OBJECT fixedTPM (bit 1), fixedParent (bit 4), sensitiveDataOrigin (bit 5)
const RESIDENT = (1 << 1) | (1 << 4) | (1 << 5);

/** TPMS_ATTEST with TPMS_CERTIFY_INFO (Part 2 §10.12.12, §10.12.8). */
export function parseCertifyAttest(b: Uint8Array): { extraData: Uint8Array; name: Uint8Array; qualifiedName: Uint8Array } {
  const r = new Reader(b);
  if (r.u32() !== TPM_GENERATED) refuse('TPMS_ATTEST magic is not TPM_GENERATED_VALUE');
  if (r.u16() !== ST_ATTEST_CERTIFY) refuse('TPMS_ATTEST type is not TPM_ST_ATTEST_CERTIFY');
  r.tpm2b(); // qualifiedSigner
  const extraData = r.tpm2b();
  r.bytes(17 + 8); // clockInfo, firmwareVersion
  const name = r.tpm2b();
  const qualifiedName = r.tpm2b();
  if (!r.done) refuse('TPMS_ATTEST has trailing bytes');
  return { extraData, name, qualifiedName };
}

/** TPMT_PUBLIC (Part 2 §12.2.4) → attributes and the public key as a JWK (RSA n/e or EC crv/x/y). */
export function parsePublic(b: Uint8Array): { attributes: number; jwk: Record<string, string> } {
  const r = new Reader(b);
  const type = r.u16();
  r.u16(); // nameAlg
  const attributes = r.u32();
  r.tpm2b(); // authPolicy
  const sym = r.u16();
  if (sym !== ALG_NULL) r.bytes(4); // keyBits, mode
  const scheme = r.u16();
  if (scheme !== ALG_NULL) r.u16();
  let jwk: Record<string, string>;
  if (type === ALG_RSA) {
    r.u16(); // keyBits
    const exp = r.u32() || 65537;
    const n = r.tpm2b();
    jwk = { kty: 'RSA', n: Buffer.from(n).toString('base64url'), e: Buffer.from(new Uint8Array([exp >>> 16, (exp >>> 8) & 0xff, exp & 0xff]).subarray(exp >>> 16 ? 0 : 1)).toString('base64url') };
  } else if (type === ALG_ECC) {
    const curve = CURVES[r.u16()] ?? refuse('TPMT_PUBLIC curve not supported');
    const kdf = r.u16();
    if (kdf !== ALG_NULL) r.u16();
    const pad = (v: Uint8Array): string => Buffer.concat([Buffer.alloc(Math.max(0, curve.size - v.length)), v]).toString('base64url');
    jwk = { kty: 'EC', crv: curve.crv, x: pad(r.tpm2b()), y: pad(r.tpm2b()) };
  } else return refuse(`TPMT_PUBLIC type 0x${type.toString(16)} not supported`);
  if (!r.done) refuse('TPMT_PUBLIC has trailing bytes');
  return { attributes, jwk };
}

/** TPMT_SIGNATURE (Part 2 §11.3.4) → node:crypto verify arguments. */
function signatureOf(b: Uint8Array, ak: KeyObject): { hash: string; sig: Uint8Array; key: KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' } } {
  const r = new Reader(b);
  const alg = r.u16();
  const hash = HASHES[r.u16()] ?? refuse('signature hash not supported');
  if (alg === ALG_RSASSA) return { hash, sig: r.tpm2b(), key: ak };
  if (alg !== ALG_ECDSA) return refuse(`signature scheme 0x${alg.toString(16)} not supported`);
  const size = ({ prime256v1: 32, secp384r1: 48, secp521r1: 66 } as Record<string, number>)[String(ak.asymmetricKeyDetails?.namedCurve)] ?? refuse('AK curve not supported');
  const fix = (v: Uint8Array): Buffer => {
    let x = Buffer.from(v);
    while (x.length > size && x[0] === 0) x = x.subarray(1);
    return Buffer.concat([Buffer.alloc(size - x.length), x]);
  };
  return { hash, sig: Buffer.concat([fix(r.tpm2b()), fix(r.tpm2b())]), key: { key: ak, dsaEncoding: 'ieee-p1363' } };
}

/** The statement and AK chain out of a DER AttestationBundle { attestations SEQUENCE OF {type, stmt}, certs OPTIONAL }. */
function parseBundle(der: Uint8Array): { tpmSAttest: Uint8Array; signature: Uint8Array; tpmTPublic: Uint8Array; certs: X509Certificate[] } {
  const top = asn1js.fromBER(der);
  if (top.offset !== der.byteLength || !(top.result instanceof asn1js.Sequence)) return refuse('the CMW value is not one DER AttestationBundle');
  const [atts, certs] = top.result.valueBlock.value;
  if (!(atts instanceof asn1js.Sequence)) return refuse('AttestationBundle.attestations is not a SEQUENCE');
  const certify = atts.valueBlock.value.filter((s) => s instanceof asn1js.Sequence && (s.valueBlock.value[0] as asn1js.ObjectIdentifier | undefined)?.valueBlock?.toString?.() === RATS.tcgAttestTpmCertify);
  if (certify.length !== 1) return refuse(`expected one tcg-attest-tpm-certify statement (${RATS.tcgAttestTpmCertify}), found ${certify.length}`);
  const stmt = (certify[0] as asn1js.Sequence).valueBlock.value[1];
  const parts = stmt instanceof asn1js.Sequence ? stmt.valueBlock.value : [];
  if (parts.length !== 3 || !parts.every((p) => p instanceof asn1js.OctetString)) return refuse('Tcg-csr-tpm-certify is not {tpmSAttest, signature, tpmTPublic} OCTET STRINGs');
  const [a, s, p] = parts.map((x) => new Uint8Array((x as asn1js.OctetString).valueBlock.valueHexView));
  if (!(certs instanceof asn1js.Sequence) || certs.valueBlock.value.length === 0) return refuse('the bundle carries no AK certificate');
  let x509: X509Certificate[];
  try {
    x509 = certs.valueBlock.value.map((c) => new X509Certificate(Buffer.from(c.toBER())));
  } catch (e) {
    return refuse(`AttestationBundle.certs: ${(e as Error).message}`);
  }
  return { tpmSAttest: a!, signature: s!, tpmTPublic: p!, certs: x509 };
}

function checkChain(certs: X509Certificate[], roots: X509Certificate[], at: Date): void {
  for (const c of certs) if (at < new Date(c.validFrom) || at > new Date(c.validTo)) refuse(`certificate ${c.subject} is not valid now`);
  for (let i = 0; i + 1 < certs.length; i++) if (!certs[i]!.verify(certs[i + 1]!.publicKey)) refuse(`${certs[i]!.subject} is not signed by ${certs[i + 1]!.subject}`);
  const last = certs[certs.length - 1]!;
  if (!roots.some((r) => last.checkIssued(r) && last.verify(r.publicKey))) refuse('the AK certificate does not chain to the attestation roots');
  if (!(certs[0]!.keyUsage ?? []).includes(RATS.aikEku)) refuse(`the AK certificate lacks the tcg-kp-AIKCertificate EKU (${RATS.aikEku})`);
}

/** Verifies the record's TPM evidence; returns the certified key (JWK) for the finalize check. */
export function verifyTpmEvidence(rec: DecodedAnswer['record'], o: { nonce: Uint8Array; roots: X509Certificate[]; now: Date; usedBefore?: (extraData: Uint8Array) => boolean }): { jwk: Record<string, string> } {
  if (rec.type !== RATS.bundleType) refuse(`CMW type ${rec.type} not accepted (accepted: ${RATS.bundleType})`);
  if (rec.ind !== undefined && (rec.ind & RATS.indEvidence) === 0) refuse('CMW ind does not say evidence');
  const b = parseBundle(rec.value);
  checkChain(b.certs, o.roots, o.now);
  const ak = b.certs[0]!.publicKey;
  const s = signatureOf(b.signature, ak);
  if (!cryptoVerify(s.hash, b.tpmSAttest, s.key, s.sig)) refuse('the AK signature over TPMS_ATTEST does not verify');
  const att = parseCertifyAttest(b.tpmSAttest);
  if (att.name.length < 2) refuse('certified Name is empty');
  const nameHash = HASHES[(att.name[0]! << 8) | att.name[1]!] ?? refuse('certified Name algorithm not supported');
  if (!Buffer.from(att.name.subarray(2)).equals(createHash(nameHash).update(b.tpmTPublic).digest())) refuse('the certified Name is not the Name of tpmTPublic');
  const pub = parsePublic(b.tpmTPublic);
  if ((pub.attributes & RESIDENT) !== RESIDENT) refuse('the certified key is not TPM-resident (fixedTPM, fixedParent, sensitiveDataOrigin)');
  if (!Buffer.from(att.extraData).equals(Buffer.from(o.nonce))) {
    refuse(o.usedBefore?.(att.extraData) ? 'extraData is the freshness_nonce of an earlier challenge (replayed evidence)' : 'extraData is not the freshness_nonce of this challenge');
  }
  return { jwk: pub.jwk };
}

/** The CSR's key in the same JWK form, for "certified key == CSR key". */
export function spkiJwk(spkiDer: Uint8Array): Record<string, string> {
  const j = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' }).export({ format: 'jwk' }) as Record<string, string>;
  return j.kty === 'RSA' ? { kty: 'RSA', n: j.n!, e: j.e! } : { kty: 'EC', crv: j.crv!, x: j.x!, y: j.y! };
}
