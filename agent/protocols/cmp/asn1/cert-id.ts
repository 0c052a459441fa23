// CertId and the oldCertID control, RFC 4211 §6.5:
//   CertId ::= SEQUENCE { issuer GeneralName, serialNumber INTEGER }
//   id-regCtrl-oldCertID (1.3.6.1.5.5.7.5.1.5): AttributeTypeAndValue in CertRequest.controls of a kur.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { certificateFromDer } from '../../../pki/cert.js';
import { OID_REG_CTRL_OLD_CERT_ID } from '../constants.js';

export class CertId {
  constructor(public issuer: pkijs.RelativeDistinguishedNames, public serialNumber: asn1js.Integer) {}

  static ofCertificate(certDer: Uint8Array): CertId {
    const c = certificateFromDer(certDer);
    return new CertId(c.issuer, c.serialNumber);
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new pkijs.GeneralName({ type: 4, value: this.issuer }).toSchema() as asn1js.AsnType, new asn1js.Integer({ valueHex: this.serialNumber.valueBlock.valueHexView })] });
  }

  /** The control AttributeTypeAndValue { id-regCtrl-oldCertID, CertId }. */
  toControl(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID_REG_CTRL_OLD_CERT_ID }), this.toSchema()] });
  }
}
