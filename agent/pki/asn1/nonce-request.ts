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
import { type AsnNode, type Bytes, Tag, checkRange, encodeNode, isUniversal, parseDer, readOid, readSmallInt, seqChildren, verifySchema } from './der.js';
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

  constructor(params: { len?: number; reqTypeInfo?: NonceRequestTypeInfo } = {}) {
    if (params.len !== undefined) {
      checkRange('NonceRequest.len', params.len, NONCE_LEN_MIN, NONCE_LEN_MAX);
      this.len = params.len;
    }
    if (params.reqTypeInfo !== undefined) this.reqTypeInfo = params.reqTypeInfo;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [new asn1js.Integer({ name: 'len', optional: true }), new asn1js.Sequence({ name: 'reqTypeInfo', optional: true })],
    });
  }

  static fromSchema(node: AsnNode, path = NonceRequest.CLASS_NAME): NonceRequest {
    const kids = seqChildren(node, path);
    // a stray element is named by its index, as the field walk names it
    let i = isUniversal(kids[0], Tag.INTEGER) ? 1 : 0;
    if (kids[i] !== undefined && !isUniversal(kids[i], Tag.SEQUENCE)) throw new Asn1DecodeError('bad-tag', `${path}[${i}]`, 'expected INTEGER len or SEQUENCE reqTypeInfo');
    if (kids[i] !== undefined) i++;
    if (i < kids.length) throw new Asn1DecodeError('extra-field', `${path}[${i}]`, `unexpected element after ${i} field(s)`);
    const m = verifySchema(node, NonceRequest.schema(), path);
    return new NonceRequest({
      ...(m.len !== undefined ? { len: readSmallInt(m.len, `${path}.len`, NONCE_LEN_MIN, NONCE_LEN_MAX) } : {}),
      ...(m.reqTypeInfo !== undefined ? { reqTypeInfo: NonceRequestTypeInfo.fromSchema(m.reqTypeInfo, `${path}.reqTypeInfo`) } : {}),
    });
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
    return NonceRequest.fromSchema(parseDer(bytes, NonceRequest.CLASS_NAME));
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
    return NonceRequest.fromSchema(kids[1], `${path}.infoValue(NonceRequest)`);
  }
}
