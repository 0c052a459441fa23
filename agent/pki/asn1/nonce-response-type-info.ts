// NonceResponseTypeInfo, draft-ietf-lamps-attestation-freshness-08 §3.1 / Appendix B (module Att-Fresh-Req):
//   NonceResponseTypeInfo ::= SEQUENCE { type OBJECT IDENTIFIER, respInfo ANY DEFINED BY type OPTIONAL }
import * as asn1js from 'asn1js';
import { NonceTypeInfoBase, type TypeInfoFields } from './nonce-type-info.js';
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

  constructor(params: { schema: AsnNode } | { type: string; respInfo?: AsnNode | Uint8Array }) {
    super();
    this.init('schema' in params ? params : ({ type: params.type, ...(params.respInfo !== undefined ? { info: params.respInfo } : {}) } as TypeInfoFields), NonceResponseTypeInfo.CLASS_NAME);
  }

  static schema(parameters: { names?: { blockName?: string; type?: string; respInfo?: string } } = {}): asn1js.Sequence {
    const n = parameters.names ?? {};
    return new asn1js.Sequence({
      name: n.blockName ?? '',
      value: [new asn1js.ObjectIdentifier({ name: n.type ?? 'type' }), new asn1js.Any({ name: n.respInfo ?? 'respInfo', optional: true })],
    });
  }

  static fromBER(bytes: Bytes): NonceResponseTypeInfo {
    return new NonceResponseTypeInfo({ schema: parseDer(bytes, NonceResponseTypeInfo.CLASS_NAME) });
  }
}
