// RFC 5958 §2 OneAsymmetricKey ::= SEQUENCE {
//   version Version,                                   -- v1(0) | v2(1); v2 iff publicKey present
//   privateKeyAlgorithm PrivateKeyAlgorithmIdentifier,
//   privateKey PrivateKey,                             -- OCTET STRING
//   attributes [0] Attributes OPTIONAL,                -- IMPLICIT SET OF Attribute
//   ..., [[2: publicKey [1] PublicKey OPTIONAL ]], ... } -- IMPLICIT BIT STRING
// The v1 form is PKCS#8 PrivateKeyInfo (pkijs.PrivateKeyInfo parses that); v2 adds publicKey, which pkijs does not
// know, so this type reads the outer SEQUENCE itself and hands privateKey on as a v1 PrivateKeyInfo (toPkcs8()).
// privateKey is secret: wipe() zeros the copies this object holds.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, cloneNode, encodeNode, isContext, readOctets, readSmallInt, seqChildren, verifySchema } from './der.js';

export class OneAsymmetricKey {
  version: 0 | 1;
  privateKeyAlgorithm: pkijs.AlgorithmIdentifier;
  privateKey: Uint8Array;
  attributes?: AsnNode[];
  publicKey?: Uint8Array;

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Integer({ name: 'version' }),
        pkijs.AlgorithmIdentifier.schema({ names: { blockName: 'privateKeyAlgorithm' } }),
        new asn1js.OctetString({ name: 'privateKey' }),
        new asn1js.Constructed({ name: 'attributes', optional: true, idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.Repeated({ value: new asn1js.Sequence() })] }),
        new asn1js.Primitive({ name: 'publicKey', optional: true, idBlock: { tagClass: 3, tagNumber: 1 } }),
      ],
    });
  }

  constructor(params: { schema: AsnNode } | { privateKeyAlgorithm: pkijs.AlgorithmIdentifier; privateKey: Uint8Array; publicKey?: Uint8Array }) {
    if ('schema' in params) {
      const path = 'OneAsymmetricKey';
      const kids = seqChildren(params.schema, path);
      this.version = readSmallInt(kids[0], `${path}.version`, 0, 1) as 0 | 1;
      try {
        this.privateKeyAlgorithm = new pkijs.AlgorithmIdentifier({ schema: cloneNode(kids[1] ?? new asn1js.Null(), `${path}.privateKeyAlgorithm`) });
      } catch (cause) {
        throw new Asn1DecodeError('bad-tag', `${path}.privateKeyAlgorithm`, 'not an AlgorithmIdentifier', { cause });
      }
      this.privateKey = readOctets(kids[2], `${path}.privateKey`);
      let i = 3;
      if (isContext(kids[i], 0, true)) this.attributes = ((kids[i++] as asn1js.Constructed).valueBlock.value as AsnNode[]).map((a, j) => cloneNode(a, `${path}.attributes[${j}]`));
      if (isContext(kids[i], 1, false)) {
        const bits = (kids[i++] as asn1js.Primitive).valueBlock.valueHexView;
        if (bits.byteLength < 1 || bits[0] !== 0) throw new Asn1DecodeError('bad-value', `${path}.publicKey`, 'BIT STRING with unused bits');
        this.publicKey = new Uint8Array(bits.subarray(1));
      }
      if (kids.length > i) throw new Asn1DecodeError('extra-field', path, `${kids.length - i} unknown trailing element(s)`);
      if (this.publicKey && this.version !== 1) throw new Asn1DecodeError('constraint', `${path}.version`, 'publicKey present but version is v1');
      try {
        verifySchema(params.schema, OneAsymmetricKey.schema(), path);
      } catch (e) {
        this.wipe();
        throw e;
      }
      return;
    }
    this.version = params.publicKey ? 1 : 0;
    this.privateKeyAlgorithm = params.privateKeyAlgorithm;
    this.privateKey = new Uint8Array(params.privateKey);
    if (params.publicKey) this.publicKey = new Uint8Array(params.publicKey);
  }

  /** Builds a OneAsymmetricKey (v1) from PKCS#8 DER. */
  static fromPkcs8(pkcs8: Uint8Array): OneAsymmetricKey {
    const root = asn1js.fromBER(pkcs8);
    if (root.offset !== pkcs8.byteLength) throw new Asn1DecodeError('malformed', 'PrivateKeyInfo', 'not one DER element');
    return new OneAsymmetricKey({ schema: root.result });
  }

  /** PKCS#8 PrivateKeyInfo (v1) DER of the key, without attributes/publicKey. The caller wipes it. */
  toPkcs8(): Uint8Array {
    return encodeNode(
      new asn1js.Sequence({
        value: [new asn1js.Integer({ value: 0 }), this.privateKeyAlgorithm.toSchema(), new asn1js.OctetString({ valueHex: this.privateKey })],
      }),
    );
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.Integer({ value: this.version }),
        this.privateKeyAlgorithm.toSchema(),
        new asn1js.OctetString({ valueHex: this.privateKey }),
        ...(this.attributes ? [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: this.attributes })] : []),
        ...(this.publicKey
          ? [new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 1 }, valueHex: new Uint8Array([0, ...this.publicKey]) })]
          : []),
      ],
    });
  }

  wipe(): void {
    this.privateKey.fill(0);
  }
}

