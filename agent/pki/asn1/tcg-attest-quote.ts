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
import { type AsnNode, type Bytes, encodeNode, hex, parseDer, readOctets, seqChildren } from './der.js';

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
    return new asn1js.Sequence({
      name: n.blockName ?? '',
      value: [
        new asn1js.OctetString({ name: n.tpmSAttest ?? 'tpmSAttest' }),
        new asn1js.OctetString({ name: n.signature ?? 'signature' }),
        new asn1js.OctetString({ name: n.pcrValues ?? 'pcrValues', optional: true }),
      ],
    });
  }

  fromSchema(schema: AsnNode, path = 'TcgAttestQuote'): void {
    const kids = seqChildren(schema, path);
    this.tpmSAttest = readOctets(kids[0], `${path}.tpmSAttest`);
    this.signature = readOctets(kids[1], `${path}.signature`);
    delete this.pcrValues;
    if (kids.length > 2) this.pcrValues = readOctets(kids[2], `${path}.pcrValues`);
    if (kids.length > 3) throw new Asn1DecodeError('extra-field', `${path}[3]`, `TcgAttestQuote has ${kids.length} elements, expected 2 or 3`);
  }

  toSchema(): asn1js.Sequence {
    const value: AsnNode[] = [new asn1js.OctetString({ valueHex: copy(this.tpmSAttest) }), new asn1js.OctetString({ valueHex: copy(this.signature) })];
    if (this.pcrValues !== undefined) value.push(new asn1js.OctetString({ valueHex: copy(this.pcrValues) }));
    return new asn1js.Sequence({ value });
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

function copy(b: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(b.byteLength);
  new Uint8Array(out).set(b);
  return out;
}
