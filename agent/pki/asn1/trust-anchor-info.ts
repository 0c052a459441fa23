// RFC 5914 §2 TrustAnchorInfo (module IMPLICIT TAGS):
//   TrustAnchorInfo ::= SEQUENCE {
//     version   TrustAnchorInfoVersion DEFAULT v1,   -- v1(1)
//     pubKey    SubjectPublicKeyInfo,
//     keyId     KeyIdentifier,
//     taTitle   TrustAnchorTitle OPTIONAL,          -- UTF8String (SIZE (1..64))
//     certPath  CertPathControls OPTIONAL,
//     exts      [1] EXPLICIT Extensions OPTIONAL,
//     taTitleLangTag [2] UTF8String OPTIONAL }
//   CertPathControls ::= SEQUENCE { taName Name, certificate [0] Certificate OPTIONAL, policySet [1] …,
//     policyFlags [2] …, nameConstr [3] …, pathLenConstraint [4] … }
// certPath is kept as DER (its taName and certificate are decoded); exts as DER of the Extensions SEQUENCE.
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, encodeNode, isContext, isUniversal, parseDer, readOctets, readSmallInt, seqChildren, explicitSchema, verifySchema } from './der.js';
import { explicit, explicitInner, implicitPrimitive, taggedChildren } from './tamp-fields.js';

export interface CertPathControls {
  /** DER Name. */
  taName: Uint8Array;
  /** DER Certificate ([0] re-tagged as SEQUENCE), when present. */
  certificate?: Uint8Array;
  /** DER of the whole CertPathControls. */
  der: Uint8Array;
}

function certPathFrom(node: AsnNode, path: string): CertPathControls {
  const k = seqChildren(node, path);
  if (!isUniversal(k[0], Tag.SEQUENCE)) throw new Asn1DecodeError('bad-tag', `${path}.taName`, 'expected Name');
  const out: CertPathControls = { taName: encodeNode(k[0]!), der: encodeNode(node) };
  if (isContext(k[1], 0, true)) out.certificate = encodeNode(new asn1js.Sequence({ value: taggedChildren(k[1], 0, `${path}.certificate`) as asn1js.BaseBlock[] }));
  return out;
}

export interface TrustAnchorInfoParams {
  pubKey: Uint8Array;
  keyId: Uint8Array;
  taTitle?: string;
  /** Built from taName (+ certificate), or a decoded CertPathControls kept whole. */
  certPath?: { taName: Uint8Array; certificate?: Uint8Array } | CertPathControls;
  exts?: Uint8Array;
  taTitleLangTag?: string;
}

export class TrustAnchorInfo {
  static readonly CLASS_NAME = 'TrustAnchorInfo';
  pubKey: Uint8Array;
  keyId: Uint8Array;
  taTitle?: string;
  certPath?: CertPathControls;
  exts?: Uint8Array;
  taTitleLangTag?: string;

  constructor(p: TrustAnchorInfoParams) {
    this.pubKey = p.pubKey;
    this.keyId = p.keyId;
    if (p.taTitle !== undefined) {
      if (p.taTitle.length < 1 || p.taTitle.length > 64) throw new Asn1EncodeError('taTitle must be 1..64 characters');
      this.taTitle = p.taTitle;
    }
    if (p.certPath && 'der' in p.certPath) this.certPath = p.certPath;
    else if (p.certPath) {
      const value: asn1js.BaseBlock[] = [parseDer(p.certPath.taName, 'taName') as asn1js.BaseBlock];
      if (p.certPath.certificate) {
        const c = seqChildren(parseDer(p.certPath.certificate, 'certificate'), 'certificate');
        value.push(new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: c as asn1js.BaseBlock[] }));
      }
      this.certPath = certPathFrom(new asn1js.Sequence({ value }), 'certPath');
    }
    if (p.exts) this.exts = p.exts;
    if (p.taTitleLangTag !== undefined) this.taTitleLangTag = p.taTitleLangTag;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Integer({ name: 'version', optional: true }),
        new asn1js.Sequence({ name: 'pubKey' }),
        new asn1js.OctetString({ name: 'keyId' }),
        new asn1js.Utf8String({ name: 'taTitle', optional: true }),
        new asn1js.Sequence({ name: 'certPath', optional: true }),
        explicitSchema(1, 'exts'),
        new asn1js.Primitive({ name: 'taTitleLangTag', optional: true, idBlock: { tagClass: 3, tagNumber: 2 } }),
      ],
    });
  }

  static fromSchema(node: AsnNode, path = TrustAnchorInfo.CLASS_NAME): TrustAnchorInfo {
    const k = seqChildren(node, path);
    let i = 0;
    if (isUniversal(k[0], Tag.INTEGER)) {
      readSmallInt(k[0], `${path}.version`, 1, 1);
      i++;
    }
    if (!isUniversal(k[i], Tag.SEQUENCE)) throw new Asn1DecodeError('bad-tag', `${path}.pubKey`, 'expected SubjectPublicKeyInfo');
    const p: TrustAnchorInfoParams = { pubKey: encodeNode(k[i++]!), keyId: readOctets(k[i++], `${path}.keyId`) };
    if (isUniversal(k[i], Tag.UTF8String)) {
      const t = (k[i++] as asn1js.Utf8String).valueBlock.value;
      if (t.length < 1 || t.length > 64) throw new Asn1DecodeError('constraint', `${path}.taTitle`, 'SIZE (1..64)');
      p.taTitle = t;
    }
    if (isUniversal(k[i], Tag.SEQUENCE)) p.certPath = certPathFrom(k[i++]!, `${path}.certPath`);
    if (isContext(k[i], 1, true)) p.exts = encodeNode(explicitInner(k[i++], 1, `${path}.exts`));
    if (isContext(k[i], 2, false)) p.taTitleLangTag = Buffer.from((k[i++] as asn1js.Primitive).valueBlock.valueHexView).toString('utf8');
    if (i !== k.length) throw new Asn1DecodeError('extra-field', path, `${k.length - i} unexpected element(s)`);
    verifySchema(node, TrustAnchorInfo.schema(), path);
    return new TrustAnchorInfo(p);
  }

  static fromDer(der: Bytes): TrustAnchorInfo {
    return TrustAnchorInfo.fromSchema(parseDer(der, TrustAnchorInfo.CLASS_NAME));
  }

  toSchema(): asn1js.Sequence {
    const v: AsnNode[] = [parseDer(this.pubKey, 'pubKey'), new asn1js.OctetString({ valueHex: this.keyId })];
    if (this.taTitle !== undefined) v.push(new asn1js.Utf8String({ value: this.taTitle }));
    if (this.certPath) v.push(parseDer(this.certPath.der, 'certPath'));
    if (this.exts) v.push(explicit(1, parseDer(this.exts, 'exts')));
    if (this.taTitleLangTag !== undefined) v.push(implicitPrimitive(2, new Uint8Array(Buffer.from(this.taTitleLangTag, 'utf8'))));
    return new asn1js.Sequence({ value: v as asn1js.BaseBlock[] });
  }

  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
