// CertId and the oldCertID control, RFC 4211 §6.5:
//   CertId ::= SEQUENCE { issuer GeneralName, serialNumber INTEGER }
//   id-regCtrl-oldCertID (1.3.6.1.5.5.7.5.1.5): AttributeTypeAndValue in CertRequest.controls of a kur.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from '../../../pki/asn1/errors.js';
import { type AsnNode, verifySchema } from '../../../pki/asn1/der.js';
import { certificateFromDer } from '../../../pki/cert.js';
import { OID_REG_CTRL_OLD_CERT_ID } from '../constants.js';

export interface CertIdParams {
  /** The issuer Name (written as GeneralName directoryName). */
  issuer: pkijs.RelativeDistinguishedNames;
  serialNumber: asn1js.Integer;
}

export class CertId {
  issuer: pkijs.RelativeDistinguishedNames;
  serialNumber: asn1js.Integer;

  constructor(params: CertIdParams) {
    this.issuer = params.issuer;
    this.serialNumber = params.serialNumber;
  }

  static ofCertificate(certDer: Uint8Array): CertId {
    const c = certificateFromDer(certDer);
    return new CertId({ issuer: c.issuer, serialNumber: c.serialNumber });
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Constructed({ name: 'issuer', idBlock: { tagClass: 3, tagNumber: 4 }, value: [new asn1js.Any()] }), new asn1js.Integer({ name: 'serialNumber' })] });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new pkijs.GeneralName({ type: 4, value: this.issuer }).toSchema() as asn1js.AsnType, new asn1js.Integer({ valueHex: this.serialNumber.valueBlock.valueHexView })] });
  }

  static fromSchema(node: AsnNode, path = 'CertId'): CertId {
    const m = verifySchema(node, CertId.schema(), path);
    try {
      const issuer = new pkijs.RelativeDistinguishedNames({ schema: (m.issuer as asn1js.Constructed).valueBlock.value[0] });
      return new CertId({ issuer, serialNumber: m.serialNumber as asn1js.Integer });
    } catch (cause) {
      throw new Asn1DecodeError('bad-value', `${path}.issuer`, 'not a directoryName', { cause });
    }
  }

  /** The control AttributeTypeAndValue { id-regCtrl-oldCertID, CertId }. */
  toControl(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID_REG_CTRL_OLD_CERT_ID }), this.toSchema()] });
  }
}
