// The TPM 2.0 platform-attestation statement carried as AttestationStatement { type tcg-attest-tpm-quote, stmt }.
// draft-ietf-lamps-csr-attestation-28 defines no quote statement (its TPM appendix, tpm-appdx.md.donotbuild, has
// only tcg-attest-tpm-certify); this is the shape implementations already send under 2.23.133.20.2, the
// certify statement's layout with the PCR values in place of tpmTPublic (see agent/attest/constants.ts):
//   TcgAttestQuote ::= SEQUENCE {
//     tpmSAttest       OCTET STRING,          -- TPMS_ATTEST from TPM2_Quote (TPM_ST_ATTEST_QUOTE, no TPM2B size)
//     signature        OCTET STRING,          -- TPMT_SIGNATURE over tpmSAttest by the AK
//     pcrValues        OCTET STRING OPTIONAL  -- the quoted PCR values, concatenated in TPMS_QUOTE_INFO.pcrSelect
//   }                                         --   order (TPM 2.0 Part 1 §17.6.1: the pcrDigest input)
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { AttestationStatement } from './evidence-statement.js';
import { type AsnNode, type Bytes, encodeNode, hex, parseDer } from './der.js';
import { readTpmStatement, tpmStatementSchema, tpmStatementToSchema } from './tpm-attest-statement.js';

export interface TcgAttestQuoteFields {
  tpmSAttest: Uint8Array;
  signature: Uint8Array;
  pcrValues?: Uint8Array;
}

export interface TcgAttestQuoteJson {
  tpmSAttest: string;
  signature: string;
  pcrValues?: string;
}

export class TcgAttestQuote {
  static readonly CLASS_NAME = 'TcgAttestQuote';
  tpmSAttest: Uint8Array;
  signature: Uint8Array;
  pcrValues?: Uint8Array;

  constructor(params: { schema: AsnNode } | TcgAttestQuoteFields) {
    if ('schema' in params) {
      this.tpmSAttest = new Uint8Array();
      this.signature = new Uint8Array();
      this.fromSchema(params.schema);
    } else {
      if (!(params.tpmSAttest instanceof Uint8Array) || !(params.signature instanceof Uint8Array)) throw new Asn1EncodeError('TcgAttestQuote: tpmSAttest and signature are required byte arrays');
      this.tpmSAttest = params.tpmSAttest;
      this.signature = params.signature;
      if (params.pcrValues !== undefined) this.pcrValues = params.pcrValues;
    }
  }

  static schema(parameters: { names?: { blockName?: string; tpmSAttest?: string; signature?: string; pcrValues?: string } } = {}): asn1js.Sequence {
    const n = parameters.names ?? {};
    return tpmStatementSchema({ ...n, ...(n.pcrValues !== undefined ? { third: n.pcrValues } : {}) }, 'pcrValues');
  }

  fromSchema(schema: AsnNode, path = 'TcgAttestQuote'): void {
    const f = readTpmStatement(schema, path, 'TcgAttestQuote', 'pcrValues');
    this.tpmSAttest = f.tpmSAttest;
    this.signature = f.signature;
    delete this.pcrValues;
    if (f.third !== undefined) this.pcrValues = f.third;
  }

  toSchema(): asn1js.Sequence {
    return tpmStatementToSchema({ tpmSAttest: this.tpmSAttest, signature: this.signature, ...(this.pcrValues !== undefined ? { third: this.pcrValues } : {}) });
  }

  toJSON(): TcgAttestQuoteJson {
    const j: TcgAttestQuoteJson = { tpmSAttest: hex(this.tpmSAttest), signature: hex(this.signature) };
    if (this.pcrValues !== undefined) j.pcrValues = hex(this.pcrValues);
    return j;
  }

  static fromBER(bytes: Bytes): TcgAttestQuote {
    return new TcgAttestQuote({ schema: parseDer(bytes, TcgAttestQuote.CLASS_NAME) });
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }

  /** Wraps this statement as AttestationStatement { type, this }; `type` is the configured quote statement OID. */
  toAttestationStatement(type: string): AttestationStatement {
    return new AttestationStatement({ type, stmt: this.toSchema() });
  }

  /** Decodes the stmt of an AttestationStatement whose type must be `type` (the configured quote OID). */
  static fromAttestationStatement(st: AttestationStatement, type: string): TcgAttestQuote {
    if (st.type !== type) throw new Asn1DecodeError('bad-value', 'AttestationStatement.type', `expected ${type}, got ${st.type}`);
    const t = Object.create(TcgAttestQuote.prototype) as TcgAttestQuote;
    t.fromSchema(st.stmt, 'AttestationStatement.stmt(TcgAttestQuote)');
    return t;
  }
}

