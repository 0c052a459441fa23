// NonceResponseTypeInfo, draft-ietf-lamps-attestation-freshness-08 §3.1 / Appendix B (module Att-Fresh-Req):
//   NonceResponseTypeInfo ::= SEQUENCE { type OBJECT IDENTIFIER, respInfo ANY DEFINED BY type OPTIONAL }
import type * as asn1js from 'asn1js';
import { NonceTypeInfoBase, typeInfoFromSchema, typeInfoSchema } from './nonce-type-info.js';
import { type AsnNode, type Bytes, parseDer } from './der.js';

export class NonceResponseTypeInfo extends NonceTypeInfoBase {
  static readonly CLASS_NAME = 'NonceResponseTypeInfo';
  protected get typeName(): string {
    return NonceResponseTypeInfo.CLASS_NAME;
  }
  /** `respInfo`: type-specific response content, if any. */
  get respInfo(): AsnNode | undefined {
    return this.info;
  }

  constructor(params: { type: string; respInfo?: AsnNode | Uint8Array }) {
    super({ type: params.type, ...(params.respInfo !== undefined ? { info: params.respInfo } : {}) }, NonceResponseTypeInfo.CLASS_NAME);
  }

  static schema(): asn1js.Sequence {
    return typeInfoSchema('respInfo');
  }

  static fromSchema(node: AsnNode, path = NonceResponseTypeInfo.CLASS_NAME): NonceResponseTypeInfo {
    const f = typeInfoFromSchema(node, NonceResponseTypeInfo.schema(), 'respInfo', path);
    return new NonceResponseTypeInfo({ type: f.type, ...(f.info !== undefined ? { respInfo: f.info } : {}) });
  }

  static fromBER(bytes: Bytes): NonceResponseTypeInfo {
    return NonceResponseTypeInfo.fromSchema(parseDer(bytes, NonceResponseTypeInfo.CLASS_NAME));
  }
}
