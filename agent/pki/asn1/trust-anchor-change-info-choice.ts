// RFC 5934 §4.3 TrustAnchorChangeInfoChoice ::= CHOICE {
//   tbsCertChange [0] TBSCertificateChangeInfo, taChange [1] TrustAnchorChangeInfo }   -- IMPLICIT TAGS
// TrustAnchorChangeInfo ::= SEQUENCE { pubKey SubjectPublicKeyInfo, keyId KeyIdentifier OPTIONAL,
//   taTitle TrustAnchorTitle OPTIONAL, certPath CertPathControls OPTIONAL, exts [1] Extensions OPTIONAL }
// TBSCertificateChangeInfo ::= SEQUENCE { serialNumber OPTIONAL, signature [0] OPTIONAL, issuer [1] OPTIONAL,
//   validity [2] OPTIONAL, subject [3] OPTIONAL, subjectPublicKeyInfo [4] SubjectPublicKeyInfo, exts [5] EXPLICIT OPTIONAL }
// A change is decoded as far as enrolld acts on it (the key it names, a new title); its DER is kept whole.
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, encodeNode, isContext, isUniversal, parseDer, verifySchema } from './der.js';
import { implicitConstructed, taggedChildren } from './tamp-fields.js';

export type TrustAnchorChangeForm = 'taChange' | 'tbsCertChange';

export class TrustAnchorChangeInfoChoice {
  static readonly CLASS_NAME = 'TrustAnchorChangeInfoChoice';
  /** The alternative. */
  form: TrustAnchorChangeForm;
  /** DER SubjectPublicKeyInfo of the TA the change names (taChange pubKey, tbsCertChange subjectPublicKeyInfo). */
  pubKey: Uint8Array;
  /** taChange only: the new TrustAnchorTitle. */
  taTitle?: string;
  /** The whole change as received (re-encoded unchanged). */
  der: Uint8Array;

  constructor(p: { form: TrustAnchorChangeForm; pubKey: Uint8Array; taTitle?: string; der: Uint8Array }) {
    this.form = p.form;
    this.pubKey = p.pubKey;
    if (p.taTitle !== undefined) this.taTitle = p.taTitle;
    this.der = p.der;
  }

  static schema(): asn1js.Choice {
    return new asn1js.Choice({
      value: [
        new asn1js.Constructed({ name: 'tbsCertChange', idBlock: { tagClass: 3, tagNumber: 0 } }),
        new asn1js.Constructed({ name: 'taChange', idBlock: { tagClass: 3, tagNumber: 1 }, value: [new asn1js.Sequence({ name: 'pubKey' }), new asn1js.Repeated({ name: 'rest', value: new asn1js.Any() })] }),
      ],
    });
  }

  static fromSchema(node: AsnNode | undefined, path = TrustAnchorChangeInfoChoice.CLASS_NAME): TrustAnchorChangeInfoChoice {
    // the alternative's reader runs first so that its errors name the field; then the schema is checked
    const out = readAlternative(node, path);
    verifySchema(node, TrustAnchorChangeInfoChoice.schema() as unknown as AsnNode, path);
    return out;
  }

  static fromDer(der: Bytes): TrustAnchorChangeInfoChoice {
    return TrustAnchorChangeInfoChoice.fromSchema(parseDer(der, TrustAnchorChangeInfoChoice.CLASS_NAME));
  }

  /** Builds a taChange (new title for the TA with `pubKey`). */
  static taTitleChange(pubKey: Uint8Array, taTitle: string): TrustAnchorChangeInfoChoice {
    if (taTitle.length < 1 || taTitle.length > 64) throw new Asn1EncodeError('taTitle must be 1..64 characters');
    const node = implicitConstructed(1, [parseDer(pubKey, 'pubKey'), new asn1js.Utf8String({ value: taTitle })]);
    return new TrustAnchorChangeInfoChoice({ form: 'taChange', pubKey, taTitle, der: encodeNode(node) });
  }

  toSchema(): AsnNode {
    return parseDer(this.der, TrustAnchorChangeInfoChoice.CLASS_NAME);
  }

  toDer(): Uint8Array {
    return new Uint8Array(this.der);
  }
}

function readAlternative(node: AsnNode | undefined, path: string): TrustAnchorChangeInfoChoice {
  if (node === undefined) throw new Asn1DecodeError('missing-field', path, 'absent');
  const der = encodeNode(node);
  if (isContext(node, 1, true)) {
    const k = taggedChildren(node, 1, path);
    if (!isUniversal(k[0], Tag.SEQUENCE)) throw new Asn1DecodeError('bad-tag', `${path}.pubKey`, 'expected SubjectPublicKeyInfo');
    const title = k.slice(1).find((n) => isUniversal(n, Tag.UTF8String)) as asn1js.Utf8String | undefined;
    return new TrustAnchorChangeInfoChoice({ form: 'taChange', pubKey: encodeNode(k[0]!), ...(title ? { taTitle: title.valueBlock.value } : {}), der });
  }
  if (isContext(node, 0, true)) {
    const k = taggedChildren(node, 0, path);
    const spki = k.find((n) => isContext(n, 4, true));
    if (!spki) throw new Asn1DecodeError('missing-field', `${path}.subjectPublicKeyInfo`, 'absent');
    return new TrustAnchorChangeInfoChoice({ form: 'tbsCertChange', pubKey: encodeNode(new asn1js.Sequence({ value: taggedChildren(spki, 4, path) as asn1js.BaseBlock[] })), der });
  }
  throw new Asn1DecodeError('bad-tag', path, 'not a TrustAnchorChangeInfoChoice alternative');
}
