// The shape the TPM statements of draft-ietf-lamps-csr-attestation share (its TPM appendix):
//   SEQUENCE { tpmSAttest OCTET STRING, signature OCTET STRING, <third> OCTET STRING OPTIONAL }
// — certify (third = tpmTPublic) and quote (third = pcrValues). One schema, reader, writer and base class for both.
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { AttestationStatement } from './evidence-statement.js';
import { type AsnNode, encodeNode, readOctets, seqChildren, toArrayBuffer, verifySchema } from './der.js';

export interface TpmStatementNames {
  blockName?: string;
  tpmSAttest?: string;
  signature?: string;
  third?: string;
}

export interface TpmStatementFields {
  tpmSAttest: Uint8Array;
  signature: Uint8Array;
  third?: Uint8Array;
}

export function tpmStatementSchema(names: TpmStatementNames, thirdName: string): asn1js.Sequence {
  return new asn1js.Sequence({
    name: names.blockName ?? '',
    value: [
      new asn1js.OctetString({ name: names.tpmSAttest ?? 'tpmSAttest' }),
      new asn1js.OctetString({ name: names.signature ?? 'signature' }),
      new asn1js.OctetString({ name: names.third ?? thirdName, optional: true }),
    ],
  });
}

/** Reads the three fields (errors name `path.<field>`, the third by `thirdName`), then checks the node against the class's schema. */
export function readTpmStatement(node: AsnNode, path: string, className: string, thirdName: string, schema: asn1js.Sequence): TpmStatementFields {
  const kids = seqChildren(node, path);
  const out: TpmStatementFields = { tpmSAttest: readOctets(kids[0], `${path}.tpmSAttest`), signature: readOctets(kids[1], `${path}.signature`) };
  if (kids.length > 2) out.third = readOctets(kids[2], `${path}.${thirdName}`);
  if (kids.length > 3) throw new Asn1DecodeError('extra-field', `${path}[3]`, `${className} has ${kids.length} elements, expected 2 or 3`);
  verifySchema(node, schema, path);
  return out;
}

export function tpmStatementToSchema(f: TpmStatementFields): asn1js.Sequence {
  const value: AsnNode[] = [new asn1js.OctetString({ valueHex: toArrayBuffer(f.tpmSAttest) }), new asn1js.OctetString({ valueHex: toArrayBuffer(f.signature) })];
  if (f.third !== undefined) value.push(new asn1js.OctetString({ valueHex: toArrayBuffer(f.third) }));
  return new asn1js.Sequence({ value });
}

/** What TcgAttestCertify and TcgAttestQuote share: the two required fields, the encoding, the statement wrapper. */
export abstract class TpmAttestStatement {
  tpmSAttest: Uint8Array;
  signature: Uint8Array;

  protected constructor(className: string, params: { tpmSAttest: Uint8Array; signature: Uint8Array }) {
    if (!(params.tpmSAttest instanceof Uint8Array) || !(params.signature instanceof Uint8Array)) throw new Asn1EncodeError(`${className}: tpmSAttest and signature are required byte arrays`);
    this.tpmSAttest = params.tpmSAttest;
    this.signature = params.signature;
  }

  /** The optional third OCTET STRING (tpmTPublic / pcrValues). */
  protected abstract third(): Uint8Array | undefined;

  toSchema(): asn1js.Sequence {
    const third = this.third();
    return tpmStatementToSchema({ tpmSAttest: this.tpmSAttest, signature: this.signature, ...(third !== undefined ? { third } : {}) });
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }

  /** Wraps this statement as AttestationStatement { type, this }. */
  protected statementOf(type: string): AttestationStatement {
    return new AttestationStatement({ type, stmt: this.toSchema() });
  }
}

/** The stmt of an AttestationStatement whose type must be `type`, with the path the statement readers name. */
export function statementNode(st: AttestationStatement, type: string): AsnNode {
  if (st.type !== type) throw new Asn1DecodeError('bad-value', 'AttestationStatement.type', `expected ${type}, got ${st.type}`);
  return st.stmt;
}
