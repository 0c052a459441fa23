// NonceRequestTypeInfo, draft-ietf-lamps-attestation-freshness-08 §3.1 / Appendix B (module Att-Fresh-Req):
//   NonceRequestTypeInfo ::= SEQUENCE { type OBJECT IDENTIFIER, reqInfo ANY DEFINED BY type OPTIONAL }
import type * as asn1js from 'asn1js';
import { NonceTypeInfoBase, typeInfoFromSchema, typeInfoSchema } from './nonce-type-info.js';
import { type AsnNode, type Bytes, parseDer } from './der.js';

export class NonceRequestTypeInfo extends NonceTypeInfoBase {
  static readonly CLASS_NAME = 'NonceRequestTypeInfo';
  protected get typeName(): string {
    return NonceRequestTypeInfo.CLASS_NAME;
  }
  /** `reqInfo`: type-specific request content, if any. */
  get reqInfo(): AsnNode | undefined {
    return this.info;
  }

  constructor(params: { type: string; reqInfo?: AsnNode | Uint8Array }) {
    super({ type: params.type, ...(params.reqInfo !== undefined ? { info: params.reqInfo } : {}) }, NonceRequestTypeInfo.CLASS_NAME);
  }

  static schema(): asn1js.Sequence {
    return typeInfoSchema('reqInfo');
  }

  static fromSchema(node: AsnNode, path = NonceRequestTypeInfo.CLASS_NAME): NonceRequestTypeInfo {
    const f = typeInfoFromSchema(node, NonceRequestTypeInfo.schema(), 'reqInfo', path);
    return new NonceRequestTypeInfo({ type: f.type, ...(f.info !== undefined ? { reqInfo: f.info } : {}) });
  }

  static fromBER(bytes: Bytes): NonceRequestTypeInfo {
    return NonceRequestTypeInfo.fromSchema(parseDer(bytes, NonceRequestTypeInfo.CLASS_NAME));
  }
}
