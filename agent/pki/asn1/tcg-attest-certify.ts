// The TPM 2.0 key-attestation statement carried as AttestationStatement { type tcg-attest-tpm-certify, stmt }.
// ASN.1 from the csr-attestation TPM appendix (in the draft as Appendix A.2 up to -21 as "Tcg-csr-tpm-certify";
// removed from the draft text in -22, kept in the repository as tpm-appdx.md.donotbuild), unchanged since -09:
//   Tcg-csr-tpm-certify ::= SEQUENCE {
//     tpmSAttest       OCTET STRING,          -- TPMS_ATTEST from TPM2_Certify (the signed blob, no TPM2B size)
//     signature        OCTET STRING,          -- TPMT_SIGNATURE over tpmSAttest by the AK
//     tpmTPublic       OCTET STRING OPTIONAL  -- TPMT_PUBLIC of the certified key (from TPM2_ReadPublic)
//   }
// The sample CSRs (draft repo sampledata/tcgAttestTpmCertify.pem and mwiseman32/csr-attestation-tpm-example
// sample_data/key1-csr.der) confirm: three OCTET STRINGs, tpmSAttest beginning ff544347 8017, tpmTPublic beginning
// with TPMI_ALG_PUBLIC (no TPM2B size prefix). Drafts -07 and earlier had a different, tagged layout (not supported).
import * as asn1js from 'asn1js';
import { EnrolldError } from '../../util/errors.js';
import type { AttestationStatement } from './evidence-statement.js';
import { type AsnNode, type Bytes, hex, parseDer } from './der.js';
import { TpmAttestStatement, readTpmStatement, statementNode, tpmStatementSchema } from './tpm-attest-statement.js';
import { OID_TCG_ATTEST_TPM_CERTIFY } from './oids.js';

export interface TcgAttestCertifyFields {
  tpmSAttest: Uint8Array;
  signature: Uint8Array;
  tpmTPublic?: Uint8Array;
}

export interface TcgAttestCertifyJson {
  tpmSAttest: string;
  signature: string;
  tpmTPublic?: string;
}

export class TcgAttestCertify extends TpmAttestStatement {
  static readonly CLASS_NAME = 'TcgAttestCertify';
  tpmTPublic?: Uint8Array;

  constructor(params: TcgAttestCertifyFields) {
    super(TcgAttestCertify.CLASS_NAME, params);
    if (params.tpmTPublic !== undefined) this.tpmTPublic = params.tpmTPublic;
  }

  protected third(): Uint8Array | undefined {
    return this.tpmTPublic;
  }

  static schema(parameters: { names?: { blockName?: string; tpmSAttest?: string; signature?: string; tpmTPublic?: string } } = {}): asn1js.Sequence {
    const n = parameters.names ?? {};
    return tpmStatementSchema({ ...n, ...(n.tpmTPublic !== undefined ? { third: n.tpmTPublic } : {}) }, 'tpmTPublic');
  }

  static fromSchema(node: AsnNode, path = TcgAttestCertify.CLASS_NAME): TcgAttestCertify {
    const f = readTpmStatement(node, path, TcgAttestCertify.CLASS_NAME, 'tpmTPublic', TcgAttestCertify.schema());
    return new TcgAttestCertify({ tpmSAttest: f.tpmSAttest, signature: f.signature, ...(f.third !== undefined ? { tpmTPublic: f.third } : {}) });
  }

  toJSON(): TcgAttestCertifyJson {
    const j: TcgAttestCertifyJson = { tpmSAttest: hex(this.tpmSAttest), signature: hex(this.signature) };
    if (this.tpmTPublic !== undefined) j.tpmTPublic = hex(this.tpmTPublic);
    return j;
  }

  static fromBER(bytes: Bytes): TcgAttestCertify {
    return TcgAttestCertify.fromSchema(parseDer(bytes, TcgAttestCertify.CLASS_NAME));
  }

  /** Wraps this statement as AttestationStatement { tcg-attest-tpm-certify, this }. */
  toAttestationStatement(): AttestationStatement {
    return this.statementOf(OID_TCG_ATTEST_TPM_CERTIFY);
  }

  /** Decodes the stmt of an AttestationStatement whose type must be tcg-attest-tpm-certify. */
  static fromAttestationStatement(st: AttestationStatement): TcgAttestCertify {
    return TcgAttestCertify.fromSchema(statementNode(st, OID_TCG_ATTEST_TPM_CERTIFY), 'AttestationStatement.stmt(TcgAttestCertify)');
  }

  /** Unmarshals tpmSAttest as a TPMS_ATTEST of type TPM_ST_ATTEST_CERTIFY (throws TpmAttestParseError). */
  certifyInfo(): TpmsAttestCertify {
    return parseTpmsAttestCertify(this.tpmSAttest);
  }
}


/** TPM_GENERATED_VALUE (TPM 2.0 Part 2, 6.2) and TPM_ST_ATTEST_CERTIFY (Part 2, 6.9). */
export const TPM_GENERATED_VALUE = 0xff544347;
export const TPM_ST_ATTEST_CERTIFY = 0x8017;

/** A TPMS_ATTEST bytes that are not a well-formed certify attestation. */
export class TpmAttestParseError extends EnrolldError {
  constructor(detail: string) {
    super('tpm.bad-attest', `TPMS_ATTEST: ${detail}`);
  }
}

/** The fields of TPMS_ATTEST (TPM 2.0 Part 2, 10.12.12) with attested = TPMS_CERTIFY_INFO. */
export interface TpmsAttestCertify {
  magic: number;
  type: number;
  qualifiedSigner: Uint8Array;
  /** The caller's qualifyingData — where enrolld puts the freshness nonce. */
  extraData: Uint8Array;
  clockInfo: { clock: bigint; resetCount: number; restartCount: number; safe: boolean };
  firmwareVersion: bigint;
  /** TPM2B_NAME of the certified key: nameAlg || H(TPMT_PUBLIC). */
  name: Uint8Array;
  qualifiedName: Uint8Array;
}

/** Big-endian TPM unmarshalling of a certify TPMS_ATTEST; exact length, no trailing bytes. */
export function parseTpmsAttestCertify(bytes: Uint8Array): TpmsAttestCertify {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 0;
  const need = (n: number, what: string): void => {
    if (off + n > bytes.byteLength) throw new TpmAttestParseError(`truncated in ${what}`);
  };
  const u8 = (w: string): number => (need(1, w), dv.getUint8(off++));
  const u16 = (w: string): number => { need(2, w); const v = dv.getUint16(off); off += 2; return v; };
  const u32 = (w: string): number => { need(4, w); const v = dv.getUint32(off); off += 4; return v; };
  const u64 = (w: string): bigint => { need(8, w); const v = dv.getBigUint64(off); off += 8; return v; };
  const tpm2b = (w: string): Uint8Array => { const n = u16(w); need(n, w); const v = bytes.slice(off, off + n); off += n; return v; };

  const magic = u32('magic');
  if (magic !== TPM_GENERATED_VALUE) throw new TpmAttestParseError(`magic ${magic.toString(16)} is not TPM_GENERATED_VALUE`);
  const type = u16('type');
  if (type !== TPM_ST_ATTEST_CERTIFY) throw new TpmAttestParseError(`type 0x${type.toString(16)} is not TPM_ST_ATTEST_CERTIFY`);
  const qualifiedSigner = tpm2b('qualifiedSigner');
  const extraData = tpm2b('extraData');
  const clock = u64('clockInfo.clock');
  const resetCount = u32('clockInfo.resetCount');
  const restartCount = u32('clockInfo.restartCount');
  const safe = u8('clockInfo.safe');
  if (safe > 1) throw new TpmAttestParseError(`clockInfo.safe is ${safe}, not a TPMI_YES_NO`);
  const firmwareVersion = u64('firmwareVersion');
  const name = tpm2b('attested.name');
  const qualifiedName = tpm2b('attested.qualifiedName');
  if (off !== bytes.byteLength) throw new TpmAttestParseError(`${bytes.byteLength - off} trailing byte(s)`);
  return { magic, type, qualifiedSigner, extraData, clockInfo: { clock, resetCount, restartCount, safe: safe === 1 }, firmwareVersion, name, qualifiedName };
}
