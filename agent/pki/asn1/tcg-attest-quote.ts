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
import type { AttestationStatement } from './evidence-statement.js';
import { type AsnNode, type Bytes, hex, parseDer } from './der.js';
import { TpmAttestStatement, readTpmStatement, statementNode, tpmStatementSchema } from './tpm-attest-statement.js';

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

export class TcgAttestQuote extends TpmAttestStatement {
  static readonly CLASS_NAME = 'TcgAttestQuote';
  pcrValues?: Uint8Array;

  constructor(params: TcgAttestQuoteFields) {
    super(TcgAttestQuote.CLASS_NAME, params);
    if (params.pcrValues !== undefined) this.pcrValues = params.pcrValues;
  }

  protected third(): Uint8Array | undefined {
    return this.pcrValues;
  }

  static schema(parameters: { names?: { blockName?: string; tpmSAttest?: string; signature?: string; pcrValues?: string } } = {}): asn1js.Sequence {
    const n = parameters.names ?? {};
    return tpmStatementSchema({ ...n, ...(n.pcrValues !== undefined ? { third: n.pcrValues } : {}) }, 'pcrValues');
  }

  static fromSchema(node: AsnNode, path = TcgAttestQuote.CLASS_NAME): TcgAttestQuote {
    const f = readTpmStatement(node, path, TcgAttestQuote.CLASS_NAME, 'pcrValues', TcgAttestQuote.schema());
    return new TcgAttestQuote({ tpmSAttest: f.tpmSAttest, signature: f.signature, ...(f.third !== undefined ? { pcrValues: f.third } : {}) });
  }

  toJSON(): TcgAttestQuoteJson {
    const j: TcgAttestQuoteJson = { tpmSAttest: hex(this.tpmSAttest), signature: hex(this.signature) };
    if (this.pcrValues !== undefined) j.pcrValues = hex(this.pcrValues);
    return j;
  }

  static fromBER(bytes: Bytes): TcgAttestQuote {
    return TcgAttestQuote.fromSchema(parseDer(bytes, TcgAttestQuote.CLASS_NAME));
  }

  /** Wraps this statement as AttestationStatement { type, this }; `type` is the configured quote statement OID. */
  toAttestationStatement(type: string): AttestationStatement {
    return this.statementOf(type);
  }

  /** Decodes the stmt of an AttestationStatement whose type must be `type` (the configured quote OID). */
  static fromAttestationStatement(st: AttestationStatement, type: string): TcgAttestQuote {
    return TcgAttestQuote.fromSchema(statementNode(st, type), 'AttestationStatement.stmt(TcgAttestQuote)');
  }
}

