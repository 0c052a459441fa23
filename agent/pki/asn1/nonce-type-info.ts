// Shared shape of NonceRequestTypeInfo / NonceResponseTypeInfo (draft-ietf-lamps-attestation-freshness-08 §3.1):
//   SEQUENCE { type OBJECT IDENTIFIER, <info> ANY DEFINED BY type OPTIONAL }
// The concrete types are in nonce-request-type-info.ts and nonce-response-type-info.ts.
import * as asn1js from 'asn1js';
import { type AsnNode, checkOid, cloneNode, encodeNode, hex, parseDer, readOid, seqChildren, verifySchema } from './der.js';

export interface TypeInfoFields {
  type: string;
  /** Type-specific content (an asn1js element or its DER); omitted when undefined. */
  info?: AsnNode | Uint8Array;
}

export interface TypeInfoJson {
  type: string;
  info?: string; // hex DER
}

/** The schema of either type, with the ANY element named `info`. */
export function typeInfoSchema(infoName: string): asn1js.Sequence {
  return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ name: 'type' }), new asn1js.Any({ name: infoName, optional: true })] });
}

/** Reads the fields of either type through its schema; errors name `path.type` and `path[2]` as before. */
export function typeInfoFromSchema(node: AsnNode, schema: asn1js.Sequence, infoName: string, path: string): { type: string; info?: AsnNode } {
  // the OID is checked first so that an absent or mistagged type names `path.type`
  readOid(seqChildren(node, path)[0], `${path}.type`);
  const m = verifySchema(node, schema, path);
  const type = readOid(m.type, `${path}.type`);
  return m[infoName] === undefined ? { type } : { type, info: cloneNode(m[infoName] as AsnNode, `${path}.info`) };
}

export abstract class NonceTypeInfoBase {
  type: string;
  info?: AsnNode;

  protected constructor(params: TypeInfoFields, name: string) {
    checkOid(`${name}.type`, params.type);
    this.type = params.type;
    if (params.info !== undefined) this.info = params.info instanceof Uint8Array ? parseDer(params.info, `${name}.info`) : params.info;
  }

  protected abstract get typeName(): string;

  toSchema(): asn1js.Sequence {
    const value: AsnNode[] = [new asn1js.ObjectIdentifier({ value: this.type })];
    if (this.info !== undefined) value.push(cloneNode(this.info, `${this.typeName}.info`));
    return new asn1js.Sequence({ value });
  }

  toJSON(): TypeInfoJson {
    return this.info === undefined ? { type: this.type } : { type: this.type, info: hex(encodeNode(this.info)) };
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
