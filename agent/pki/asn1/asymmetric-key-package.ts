// RFC 5958 §3 AsymmetricKeyPackage (content type id-ct-KP-aKeyPackage):
//   AsymmetricKeyPackage ::= SEQUENCE SIZE (1..MAX) OF OneAsymmetricKey
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, parseDer, seqChildren, verifySchema } from './der.js';
import { OID_CT_KP_AKEY_PACKAGE } from './key-package-oids.js';
import { OneAsymmetricKey } from './one-asymmetric-key.js';

export class AsymmetricKeyPackage {
  static readonly CONTENT_TYPE = OID_CT_KP_AKEY_PACKAGE;
  keys: OneAsymmetricKey[];

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.Repeated({ name: 'keys', value: OneAsymmetricKey.schema() })] });
  }

  constructor(params: { schema: AsnNode } | { keys: OneAsymmetricKey[] }) {
    if ('schema' in params) {
      const items = seqChildren(params.schema, 'AsymmetricKeyPackage');
      if (items.length === 0) throw new Asn1DecodeError('constraint', 'AsymmetricKeyPackage', 'no keys');
      this.keys = items.map((k) => new OneAsymmetricKey({ schema: k }));
      try {
        verifySchema(params.schema, AsymmetricKeyPackage.schema(), 'AsymmetricKeyPackage');
      } catch (e) {
        this.wipe();
        throw e;
      }
      return;
    }
    if (params.keys.length === 0) throw new Asn1EncodeError('AsymmetricKeyPackage must hold at least one key');
    this.keys = params.keys;
  }

  /** Decodes DER without copying the input (the caller wipes it); the keys are copies this object wipes in wipe(). */
  static fromDer(der: Bytes): AsymmetricKeyPackage {
    // parsed in place: the decoded keys are fresh copies (wipe()); the input stays the caller's to wipe
    return new AsymmetricKeyPackage({ schema: parseDer(der, 'AsymmetricKeyPackage', { inPlace: true }) });
  }

  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: this.keys.map((k) => k.toSchema()) });
  }

  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }

  wipe(): void {
    for (const k of this.keys) k.wipe();
  }
}
