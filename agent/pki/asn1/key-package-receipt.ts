// RFC 7191 §3 KeyPackageReceipt (content type id-ct-KP-keyPackageReceipt):
//   KeyPackageReceipt ::= SEQUENCE {
//     version KeyPkgVersion DEFAULT v2,
//     receiptOf KeyPkgIdentifier,
//     receivedBy SIREntityName }
//   KeyPkgVersion ::= INTEGER { v1(1), v2(2) } (1 .. 65535)
// DER omits the default version; an explicit v2 is accepted on decode, any other version refused.
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, encodeNode, isUniversal, parseDer, readSmallInt, seqChildren, verifySchema } from './der.js';
import { OID_CT_KP_KEY_PACKAGE_RECEIPT } from './key-package-oids.js';
import { KeyPkgIdentifier } from './key-pkg-identifier.js';
import { SIREntityName } from './siren-entity-name.js';

export const KEY_PKG_VERSION_V2 = 2;

export class KeyPackageReceipt {
  static readonly CONTENT_TYPE = OID_CT_KP_KEY_PACKAGE_RECEIPT;
  readonly version = KEY_PKG_VERSION_V2;
  receiptOf: KeyPkgIdentifier;
  receivedBy: SIREntityName;

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [new asn1js.Integer({ name: 'version', optional: true }), KeyPkgIdentifier.schema() as unknown as asn1js.BaseBlock, SIREntityName.schema()],
    });
  }

  constructor(params: { schema: AsnNode } | { receiptOf: KeyPkgIdentifier; receivedBy: SIREntityName }) {
    if ('schema' in params) {
      const path = 'KeyPackageReceipt';
      const kids = seqChildren(params.schema, path);
      let i = 0;
      if (isUniversal(kids[0], Tag.INTEGER)) {
        readSmallInt(kids[0], `${path}.version`, KEY_PKG_VERSION_V2, KEY_PKG_VERSION_V2);
        i++;
      }
      if (kids[i] === undefined) throw new Asn1DecodeError('missing-field', `${path}.receiptOf`, 'absent');
      this.receiptOf = new KeyPkgIdentifier({ schema: kids[i]! });
      this.receivedBy = SIREntityName.fromSchema(kids[i + 1] as AsnNode);
      if (kids.length > i + 2) throw new Asn1DecodeError('extra-field', path, `${kids.length - i - 2} extra element(s)`);
      verifySchema(params.schema, KeyPackageReceipt.schema(), path);
      return;
    }
    this.receiptOf = params.receiptOf;
    this.receivedBy = params.receivedBy;
  }

  static fromDer(der: Bytes): KeyPackageReceipt {
    return new KeyPackageReceipt({ schema: parseDer(der, 'KeyPackageReceipt') });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [this.receiptOf.toSchema(), this.receivedBy.toSchema()] });
  }

  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
