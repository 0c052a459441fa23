// RFC 7191 §3 KeyPkgIdentifier ::= CHOICE { pkgID KeyPkgID, attribute SingleAttribute {{KeyPkgIdentifiers}} }
//   KeyPkgID ::= OCTET STRING; SingleAttribute = Attribute with exactly one value.
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, Tag, checkOid, cloneNode, encodeNode, isUniversal, readOctets, readOid, seqChildren, verifySchema } from './der.js';

export type KeyPkgIdentifierFields = { pkgID: Uint8Array } | { attribute: { type: string; value: AsnNode } };

export class KeyPkgIdentifier {
  static readonly CLASS_NAME = 'KeyPkgIdentifier';
  pkgID?: Uint8Array;
  attribute?: { type: string; value: AsnNode };

  constructor(params: { schema: AsnNode } | KeyPkgIdentifierFields) {
    if ('schema' in params) {
      this.fromSchema(params.schema);
      return;
    }
    if ('pkgID' in params) {
      if (params.pkgID.byteLength === 0) throw new Asn1EncodeError('KeyPkgIdentifier.pkgID must not be empty');
      this.pkgID = new Uint8Array(params.pkgID);
    } else {
      checkOid('KeyPkgIdentifier.attribute.type', params.attribute.type);
      this.attribute = params.attribute;
    }
  }

  /** The two alternatives; the attribute's value is checked by fromSchema's reader (exactly one). */
  static schema(): asn1js.Choice {
    return new asn1js.Choice({
      value: [
        new asn1js.OctetString({ name: 'pkgID' }),
        new asn1js.Sequence({ name: 'attribute', value: [new asn1js.ObjectIdentifier({ name: 'attrType' }), new asn1js.Set({ name: 'attrValues' })] }),
      ],
    });
  }

  private fromSchema(node: AsnNode): void {
    const path = KeyPkgIdentifier.CLASS_NAME;
    if (isUniversal(node, Tag.OCTET_STRING)) {
      this.pkgID = readOctets(node, `${path}.pkgID`);
      verifySchema(node, KeyPkgIdentifier.schema() as unknown as AsnNode, path);
      return;
    }
    const [t, values, ...extra] = seqChildren(node, `${path}.attribute`);
    if (extra.length) throw new Asn1DecodeError('extra-field', `${path}.attribute`, `${extra.length} extra element(s)`);
    const type = readOid(t, `${path}.attribute.attrType`);
    const vals = seqChildren(values, `${path}.attribute.attrValues`, Tag.SET);
    if (vals.length !== 1) throw new Asn1DecodeError('constraint', `${path}.attribute.attrValues`, `SingleAttribute has ${vals.length} values`);
    verifySchema(node, KeyPkgIdentifier.schema() as unknown as AsnNode, path);
    this.attribute = { type, value: cloneNode(vals[0]!, `${path}.attribute.attrValues[0]`) };
  }

  toSchema(): AsnNode {
    if (this.pkgID) return new asn1js.OctetString({ valueHex: this.pkgID });
    const a = this.attribute!;
    return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: a.type }), new asn1js.Set({ value: [a.value] })] });
  }

  /** A stable key for matching identifiers (hex of the DER). */
  key(): string {
    return Buffer.from(encodeNode(this.toSchema())).toString('hex');
  }
}
