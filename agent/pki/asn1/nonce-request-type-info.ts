// NonceRequestTypeInfo, draft-ietf-lamps-attestation-freshness-08 §3.1 / Appendix B (module Att-Fresh-Req):
//   NonceRequestTypeInfo ::= SEQUENCE { type OBJECT IDENTIFIER, reqInfo ANY DEFINED BY type OPTIONAL }
import * as asn1js from 'asn1js';
import { NonceTypeInfoBase, type TypeInfoFields } from './nonce-type-info.js';
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

  constructor(params: { schema: AsnNode } | { type: string; reqInfo?: AsnNode | Uint8Array }) {
    super();
    this.init('schema' in params ? params : ({ type: params.type, ...(params.reqInfo !== undefined ? { info: params.reqInfo } : {}) } as TypeInfoFields), NonceRequestTypeInfo.CLASS_NAME);
  }

  static schema(parameters: { names?: { blockName?: string; type?: string; reqInfo?: string } } = {}): asn1js.Sequence {
    const n = parameters.names ?? {};
    return new asn1js.Sequence({
      name: n.blockName ?? '',
      value: [new asn1js.ObjectIdentifier({ name: n.type ?? 'type' }), new asn1js.Any({ name: n.reqInfo ?? 'reqInfo', optional: true })],
    });
  }

  static fromBER(bytes: Bytes): NonceRequestTypeInfo {
    return new NonceRequestTypeInfo({ schema: parseDer(bytes, NonceRequestTypeInfo.CLASS_NAME) });
  }
}
