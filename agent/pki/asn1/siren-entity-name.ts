// RFC 7191 §5 SIREntityName ::= SEQUENCE { sirenType OBJECT IDENTIFIER, sirenValue OCTET STRING }
// (sirenValue CONTAINS the DER value named by sirenType; for id-dn a DistinguishedName).
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, checkOid, parseDer, readOctets, readOid, seqChildren } from './der.js';
import { OID_SIREN_DN } from './key-package-oids.js';

export interface SIREntityNameFields {
  sirenType: string;
  sirenValue: Uint8Array;
}

export class SIREntityName {
  sirenType: string;
  sirenValue: Uint8Array;

  constructor(params: { schema: AsnNode } | SIREntityNameFields) {
    if ('schema' in params) {
      const [t, v, ...extra] = seqChildren(params.schema, 'SIREntityName');
      if (extra.length) throw new Asn1DecodeError('extra-field', 'SIREntityName', `${extra.length} extra element(s)`);
      this.sirenType = readOid(t, 'SIREntityName.sirenType');
      this.sirenValue = readOctets(v, 'SIREntityName.sirenValue');
      return;
    }
    checkOid('SIREntityName.sirenType', params.sirenType);
    this.sirenType = params.sirenType;
    this.sirenValue = new Uint8Array(params.sirenValue);
  }

  /** id-dn SIREntityName for a DER DistinguishedName (e.g. a certificate's subject). */
  static fromDistinguishedName(dnDer: Uint8Array): SIREntityName {
    return new SIREntityName({ sirenType: OID_SIREN_DN, sirenValue: dnDer });
  }

  static fromDer(der: Bytes): SIREntityName {
    return new SIREntityName({ schema: parseDer(der, 'SIREntityName') });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [new asn1js.ObjectIdentifier({ value: this.sirenType }), new asn1js.OctetString({ valueHex: this.sirenValue })],
    });
  }

  equals(o: SIREntityName): boolean {
    return this.sirenType === o.sirenType && Buffer.from(this.sirenValue).equals(Buffer.from(o.sirenValue));
  }
}
