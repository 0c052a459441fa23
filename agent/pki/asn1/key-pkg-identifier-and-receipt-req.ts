// RFC 7191 §2 signed attribute id-aa-KP-keyPkgIdAndReceiptReq:
//   KeyPkgIdentifierAndReceiptReq ::= SEQUENCE { pkgID KeyPkgID, receiptReq KeyPkgReceiptReq OPTIONAL }
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, type Bytes, parseDer, readOctets, seqChildren, verifySchema } from './der.js';
import { OID_AA_KP_KEY_PKG_ID_AND_RECEIPT_REQ } from './key-package-oids.js';
import { KeyPkgReceiptReq } from './key-pkg-receipt-req.js';

export class KeyPkgIdentifierAndReceiptReq {
  static readonly ATTRIBUTE_TYPE = OID_AA_KP_KEY_PKG_ID_AND_RECEIPT_REQ;
  pkgID: Uint8Array;
  receiptReq?: KeyPkgReceiptReq;

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.OctetString({ name: 'pkgID' }), KeyPkgReceiptReq.schema({ name: 'receiptReq', optional: true })] });
  }

  constructor(params: { schema: AsnNode } | { pkgID: Uint8Array; receiptReq?: KeyPkgReceiptReq }) {
    if ('schema' in params) {
      const path = 'KeyPkgIdentifierAndReceiptReq';
      const [id, req, ...extra] = seqChildren(params.schema, path);
      if (extra.length) throw new Asn1DecodeError('extra-field', path, `${extra.length} extra element(s)`);
      this.pkgID = readOctets(id, `${path}.pkgID`);
      if (this.pkgID.byteLength === 0) throw new Asn1DecodeError('bad-value', `${path}.pkgID`, 'empty');
      if (req !== undefined) this.receiptReq = new KeyPkgReceiptReq({ schema: req });
      verifySchema(params.schema, KeyPkgIdentifierAndReceiptReq.schema(), path);
      return;
    }
    if (params.pkgID.byteLength === 0) throw new Asn1EncodeError('KeyPkgIdentifierAndReceiptReq.pkgID must not be empty');
    this.pkgID = new Uint8Array(params.pkgID);
    if (params.receiptReq) this.receiptReq = params.receiptReq;
  }

  static fromDer(der: Bytes): KeyPkgIdentifierAndReceiptReq {
    return new KeyPkgIdentifierAndReceiptReq({ schema: parseDer(der, 'KeyPkgIdentifierAndReceiptReq') });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [new asn1js.OctetString({ valueHex: this.pkgID }), ...(this.receiptReq ? [this.receiptReq.toSchema()] : [])],
    });
  }
}
