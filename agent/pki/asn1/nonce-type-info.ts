// Shared shape of NonceRequestTypeInfo / NonceResponseTypeInfo (draft-ietf-lamps-attestation-freshness-08 §3.1):
//   SEQUENCE { type OBJECT IDENTIFIER, <info> ANY DEFINED BY type OPTIONAL }
// The concrete types are in nonce-request-type-info.ts and nonce-response-type-info.ts.
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, checkOid, cloneNode, encodeNode, hex, parseDer, readOid, seqChildren } from './der.js';

export interface TypeInfoFields {
  type: string;
  /** Type-specific content (an asn1js element or its DER); omitted when undefined. */
  info?: AsnNode | Uint8Array;
}

export interface TypeInfoJson {
  type: string;
  info?: string; // hex DER
}

export abstract class NonceTypeInfoBase {
  type = '';
  info?: AsnNode;

  protected init(params: { schema: AsnNode } | TypeInfoFields, name: string): void {
    if ('schema' in params) {
      this.fromSchema(params.schema);
    } else {
      checkOid(`${name}.type`, params.type);
      this.type = params.type;
      if (params.info !== undefined) this.info = params.info instanceof Uint8Array ? parseDer(params.info, `${name}.info`) : params.info;
    }
  }

  protected abstract get typeName(): string;

  fromSchema(schema: AsnNode, path = this.typeName): void {
    const kids = seqChildren(schema, path);
    this.type = readOid(kids[0], `${path}.type`);
    delete this.info;
    if (kids.length > 1) this.info = cloneNode(kids[1]!, `${path}.info`);
    if (kids.length > 2) throw new Asn1DecodeError('extra-field', `${path}[2]`, `${this.typeName} has ${kids.length} elements, expected 1 or 2`);
  }

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

