// CMP/CMC NonceRequest, draft-ietf-lamps-attestation-freshness-08 §3.1 and Appendix B (module Att-Fresh-Req,
// IMPLICIT TAGS; no tagged fields):
//   NonceRequest ::= SEQUENCE {
//      len         INTEGER (8..64) OPTIONAL,
//      reqTypeInfo NonceRequestTypeInfo OPTIONAL }
// Carried in CMP genm as InfoTypeAndValue { id-it-nonceRequest (TBD1), NonceRequest } (§5) and in CMC as the
// control id-cmc-nonceReq (TBD4) (§7). Earlier drafts (-06) had { len, type, hint } and siemens/cmp-ra-component
// a SEQUENCE OF { len, type, hint, vendorextension }: those are not decoded here.
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { NonceRequestTypeInfo } from './nonce-request-type-info.js';
import { type AsnNode, type Bytes, Tag, checkRange, encodeNode, isUniversal, parseDer, readOid, readSmallInt, seqChildren } from './der.js';
import { OID_ID_IT_NONCE_REQUEST } from './oids.js';

export const NONCE_LEN_MIN = 8;
export const NONCE_LEN_MAX = 64;

export interface NonceRequestJson {
  len?: number;
  reqTypeInfo?: ReturnType<NonceRequestTypeInfo['toJSON']>;
}

export class NonceRequest {
  static readonly CLASS_NAME = 'NonceRequest';
  len?: number;
  reqTypeInfo?: NonceRequestTypeInfo;

  constructor(params: { schema: AsnNode } | { len?: number; reqTypeInfo?: NonceRequestTypeInfo } = {}) {
    if ('schema' in params) {
      this.fromSchema(params.schema);
    } else {
      if (params.len !== undefined) {
        checkRange('NonceRequest.len', params.len, NONCE_LEN_MIN, NONCE_LEN_MAX);
        this.len = params.len;
      }
      if (params.reqTypeInfo !== undefined) this.reqTypeInfo = params.reqTypeInfo;
    }
  }

  static schema(parameters: { names?: { blockName?: string; len?: string; reqTypeInfo?: string } } = {}): asn1js.Sequence {
    const n = parameters.names ?? {};
    return new asn1js.Sequence({
      name: n.blockName ?? '',
      value: [
        new asn1js.Integer({ name: n.len ?? 'len', optional: true }),
        Object.assign(NonceRequestTypeInfo.schema({ names: { blockName: n.reqTypeInfo ?? 'reqTypeInfo' } }), { optional: true }),
      ],
    });
  }

  fromSchema(schema: AsnNode, path = 'NonceRequest'): void {
    const kids = seqChildren(schema, path);
    delete this.len;
    delete this.reqTypeInfo;
    let i = 0;
    if (isUniversal(kids[i], Tag.INTEGER)) this.len = readSmallInt(kids[i++], `${path}.len`, NONCE_LEN_MIN, NONCE_LEN_MAX);
    if (kids[i] !== undefined) {
      if (!isUniversal(kids[i], Tag.SEQUENCE)) throw new Asn1DecodeError('bad-tag', `${path}[${i}]`, 'expected INTEGER len or SEQUENCE reqTypeInfo');
      const t = new NonceRequestTypeInfo({ type: '1.1' });
      t.fromSchema(kids[i++]!, `${path}.reqTypeInfo`);
      this.reqTypeInfo = t;
    }
    if (i < kids.length) throw new Asn1DecodeError('extra-field', `${path}[${i}]`, `unexpected element after ${i} field(s)`);
  }

  toSchema(): asn1js.Sequence {
    const value: AsnNode[] = [];
    if (this.len !== undefined) {
      checkRange('NonceRequest.len', this.len, NONCE_LEN_MIN, NONCE_LEN_MAX);
      value.push(new asn1js.Integer({ value: this.len }));
    }
    if (this.reqTypeInfo !== undefined) value.push(this.reqTypeInfo.toSchema());
    return new asn1js.Sequence({ value });
  }

  toJSON(): NonceRequestJson {
    const j: NonceRequestJson = {};
    if (this.len !== undefined) j.len = this.len;
    if (this.reqTypeInfo !== undefined) j.reqTypeInfo = this.reqTypeInfo.toJSON();
    return j;
  }

  static fromBER(bytes: Bytes): NonceRequest {
    return new NonceRequest({ schema: parseDer(bytes, NonceRequest.CLASS_NAME) });
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }

  /** CMP genm content: InfoTypeAndValue ::= SEQUENCE { infoType id-it-nonceRequest, infoValue NonceRequest }. */
  toInfoTypeAndValue(infoType: string = OID_ID_IT_NONCE_REQUEST): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: infoType }), this.toSchema()] });
  }

  /** Decodes an InfoTypeAndValue whose infoType must be id-it-nonceRequest. */
  static fromInfoTypeAndValue(itav: AsnNode, path = 'InfoTypeAndValue', infoType: string = OID_ID_IT_NONCE_REQUEST): NonceRequest {
    const kids = seqChildren(itav, path);
    const oid = readOid(kids[0], `${path}.infoType`);
    if (oid !== infoType) throw new Asn1DecodeError('bad-value', `${path}.infoType`, `expected id-it-nonceRequest ${infoType}, got ${oid}`);
    if (kids[1] === undefined) throw new Asn1DecodeError('missing-field', `${path}.infoValue`, 'absent');
    if (kids.length > 2) throw new Asn1DecodeError('extra-field', `${path}[2]`, 'unexpected element');
    const r = new NonceRequest();
    r.fromSchema(kids[1], `${path}.infoValue(NonceRequest)`);
    return r;
  }
}
