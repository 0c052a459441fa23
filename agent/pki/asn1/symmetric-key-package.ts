// RFC 6031 §2 SymmetricKeyPackage (content type id-ct-KP-sKeyPackage):
//   SymmetricKeyPackage ::= SEQUENCE {
//     version KeyPkgVersion DEFAULT v1,
//     sKeyPkgAttrs [0] SEQUENCE SIZE (1..MAX) OF Attribute {{ SKeyPkgAttributes }} OPTIONAL,   -- IMPLICIT
//     sKeys SymmetricKeys, ... }
//   SymmetricKeys ::= SEQUENCE SIZE (1..MAX) OF OneSymmetricKey
//   KeyPkgVersion ::= INTEGER { v1(1) } ( v1, ... )
// DER omits the default version; explicit v1 accepted on decode, other versions refused. Decoding parses the input in
// place (no hidden copy of the keys); the caller wipes the input, wipe() the decoded keys.
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, encodeNode, isContext, isUniversal, parseDer, readSmallInt, seqChildren, verifySchema } from './der.js';
import { OID_CT_KP_SKEY_PACKAGE } from './key-package-oids.js';
import { type KeyAttribute, OneSymmetricKey, attributeListSchema, checkAttributeList, readAttributeList } from './one-symmetric-key.js';

export const SKEY_PKG_VERSION_V1 = 1;

export class SymmetricKeyPackage {
  static readonly CONTENT_TYPE = OID_CT_KP_SKEY_PACKAGE;
  readonly version = SKEY_PKG_VERSION_V1;
  sKeyPkgAttrs?: KeyAttribute[];
  sKeys: OneSymmetricKey[];

  /** sKeys' entries are checked by OneSymmetricKey (named paths); the attributes by readAttributeList. */
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Integer({ name: 'version', optional: true }),
        new asn1js.Constructed({ name: 'sKeyPkgAttrs', optional: true, idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.Repeated({ value: new asn1js.Sequence() })] }),
        new asn1js.Sequence({ name: 'sKeys', value: [new asn1js.Repeated({ value: OneSymmetricKey.schema() })] }),
      ],
    });
  }

  constructor(params: { schema: AsnNode } | { sKeyPkgAttrs?: KeyAttribute[]; sKeys: OneSymmetricKey[] }) {
    if ('schema' in params) {
      const path = 'SymmetricKeyPackage';
      const kids = seqChildren(params.schema, path);
      let i = 0;
      if (isUniversal(kids[i], Tag.INTEGER)) readSmallInt(kids[i++], `${path}.version`, SKEY_PKG_VERSION_V1, SKEY_PKG_VERSION_V1);
      if (isContext(kids[i], 0, true)) {
        // [0] IMPLICIT SEQUENCE OF: re-tag as a universal SEQUENCE to reuse the list reader
        const inner = (kids[i++] as asn1js.Constructed).valueBlock.value as AsnNode[];
        this.sKeyPkgAttrs = readAttributeList(new asn1js.Sequence({ value: inner }), `${path}.sKeyPkgAttrs`);
      }
      const keys = seqChildren(kids[i++], `${path}.sKeys`);
      if (keys.length === 0) throw new Asn1DecodeError('constraint', `${path}.sKeys`, 'no keys');
      this.sKeys = keys.map((k) => new OneSymmetricKey({ schema: k }));
      if (kids.length > i) throw new Asn1DecodeError('extra-field', path, `${kids.length - i} extra element(s)`);
      try {
        verifySchema(params.schema, SymmetricKeyPackage.schema(), path);
      } catch (e) {
        this.wipe();
        throw e;
      }
      return;
    }
    if (params.sKeys.length === 0) throw new Asn1EncodeError('SymmetricKeyPackage.sKeys must not be empty');
    if (params.sKeyPkgAttrs) {
      checkAttributeList('SymmetricKeyPackage.sKeyPkgAttrs', params.sKeyPkgAttrs);
      this.sKeyPkgAttrs = params.sKeyPkgAttrs;
    }
    this.sKeys = params.sKeys;
  }

  /** Decodes DER without copying the input (the caller wipes it); the keys are copies this object wipes in wipe(). */
  static fromDer(der: Bytes): SymmetricKeyPackage {
    // parsed in place: the decoded keys are fresh copies (wipe()); the input stays the caller's to wipe
    return new SymmetricKeyPackage({ schema: parseDer(der, 'SymmetricKeyPackage', { inPlace: true }) });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        ...(this.sKeyPkgAttrs
          ? [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: attributeListSchema(this.sKeyPkgAttrs).valueBlock.value })]
          : []),
        new asn1js.Sequence({ value: this.sKeys.map((k) => k.toSchema()) }),
      ],
    });
  }

  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }

  wipe(): void {
    for (const k of this.sKeys) k.wipe();
  }
}
