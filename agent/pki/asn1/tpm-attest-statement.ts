// The shape the TPM statements of draft-ietf-lamps-csr-attestation share (its TPM appendix):
//   SEQUENCE { tpmSAttest OCTET STRING, signature OCTET STRING, <third> OCTET STRING OPTIONAL }
// — certify (third = tpmTPublic) and quote (third = pcrValues). One schema, reader and writer for both.
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, readOctets, seqChildren } from './der.js';

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

/** Reads the three fields; errors name `path.<field>` (the third by `thirdName`). */
export function readTpmStatement(schema: AsnNode, path: string, className: string, thirdName: string): TpmStatementFields {
  const kids = seqChildren(schema, path);
  const out: TpmStatementFields = { tpmSAttest: readOctets(kids[0], `${path}.tpmSAttest`), signature: readOctets(kids[1], `${path}.signature`) };
  if (kids.length > 2) out.third = readOctets(kids[2], `${path}.${thirdName}`);
  if (kids.length > 3) throw new Asn1DecodeError('extra-field', `${path}[3]`, `${className} has ${kids.length} elements, expected 2 or 3`);
  return out;
}

export function tpmStatementToSchema(f: TpmStatementFields): asn1js.Sequence {
  const value: AsnNode[] = [new asn1js.OctetString({ valueHex: copy(f.tpmSAttest) }), new asn1js.OctetString({ valueHex: copy(f.signature) })];
  if (f.third !== undefined) value.push(new asn1js.OctetString({ valueHex: copy(f.third) }));
  return new asn1js.Sequence({ value });
}

function copy(b: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(b.byteLength);
  new Uint8Array(out).set(b);
  return out;
}
