// RFC 7191 §5 SIREntityName ::= SEQUENCE { sirenType OBJECT IDENTIFIER, sirenValue OCTET STRING }
// (sirenValue CONTAINS the DER value named by sirenType; for id-dn a DistinguishedName).
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, checkOid, encodeNode, parseDer, readOctets, readOid, seqChildren, verifySchema } from './der.js';
import { OID_SIREN_DN } from './key-package-oids.js';

export interface SIREntityNameFields {
  sirenType: string;
  sirenValue: Uint8Array;
}

export class SIREntityName {
  static readonly CLASS_NAME = 'SIREntityName';
  sirenType: string;
  sirenValue: Uint8Array;

  constructor(params: SIREntityNameFields) {
    checkOid('SIREntityName.sirenType', params.sirenType);
    this.sirenType = params.sirenType;
    this.sirenValue = new Uint8Array(params.sirenValue);
  }

  /** sirenType is Any here: readOid checks it so a bad one is named `path.sirenType`. */
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Any({ name: 'sirenType' }), new asn1js.Any({ name: 'sirenValue' })] });
  }

  static fromSchema(node: AsnNode, path = SIREntityName.CLASS_NAME): SIREntityName {
    const [t, v, ...extra] = seqChildren(node, path);
    if (extra.length) throw new Asn1DecodeError('extra-field', path, `${extra.length} extra element(s)`);
    const sirenType = readOid(t, `${path}.sirenType`);
    const sirenValue = readOctets(v, `${path}.sirenValue`);
    verifySchema(node, SIREntityName.schema(), path);
    return new SIREntityName({ sirenType, sirenValue });
  }

  /** id-dn SIREntityName for a DER DistinguishedName (e.g. a certificate's subject). */
  static fromDistinguishedName(dnDer: Uint8Array): SIREntityName {
    return new SIREntityName({ sirenType: OID_SIREN_DN, sirenValue: dnDer });
  }

  static fromDer(der: Bytes): SIREntityName {
    return SIREntityName.fromSchema(parseDer(der, SIREntityName.CLASS_NAME));
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [new asn1js.ObjectIdentifier({ value: this.sirenType }), new asn1js.OctetString({ valueHex: this.sirenValue })],
    });
  }

  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }

  equals(o: SIREntityName): boolean {
    return this.sirenType === o.sirenType && Buffer.from(this.sirenValue).equals(Buffer.from(o.sirenValue));
  }
}
