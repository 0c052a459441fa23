// CMP/CMC NonceResponse, draft-ietf-lamps-attestation-freshness-08 §3.1 and Appendix B (module Att-Fresh-Req):
//   NonceResponse ::= SEQUENCE {
//      nonce        OCTET STRING (SIZE(0 | 8..64)),  -- zero length: no freshness proof required
//      expiry       INTEGER OPTIONAL,                -- validity in seconds
//      respTypeInfo NonceResponseTypeInfo OPTIONAL }
// Carried in CMP genp as InfoTypeAndValue { id-it-nonceResponse (TBD2), NonceResponse } (§5), in CMC as the
// control id-cmc-nonceResp (TBD5) (§7).
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { NonceResponseTypeInfo } from './nonce-response-type-info.js';
import { NONCE_LEN_MAX, NONCE_LEN_MIN } from './nonce-request.js';
import { type AsnNode, type Bytes, Tag, encodeNode, hex, isUniversal, parseDer, readBigInt, readOctets, readOid, seqChildren, verifySchema } from './der.js';
import { OID_ID_IT_NONCE_RESPONSE } from './oids.js';

/** Largest expiry (seconds) accepted; the draft gives no bound, this keeps it a safe JS number. */
export const NONCE_EXPIRY_MAX = 0xffffffff;

export interface NonceResponseJson {
  nonce: string; // hex
  expiry?: number;
  respTypeInfo?: ReturnType<NonceResponseTypeInfo['toJSON']>;
}

function checkNonceSize(n: number): boolean {
  return n === 0 || (n >= NONCE_LEN_MIN && n <= NONCE_LEN_MAX);
}

export class NonceResponse {
  static readonly CLASS_NAME = 'NonceResponse';
  nonce: Uint8Array;
  expiry?: number;
  respTypeInfo?: NonceResponseTypeInfo;

  constructor(params: { nonce: Uint8Array; expiry?: number; respTypeInfo?: NonceResponseTypeInfo }) {
    if (!(params.nonce instanceof Uint8Array) || !checkNonceSize(params.nonce.byteLength)) throw new Asn1EncodeError(`NonceResponse.nonce must be 0 or ${NONCE_LEN_MIN}..${NONCE_LEN_MAX} bytes`);
    this.nonce = params.nonce;
    if (params.expiry !== undefined) {
      if (!Number.isSafeInteger(params.expiry) || params.expiry < 0 || params.expiry > NONCE_EXPIRY_MAX) throw new Asn1EncodeError(`NonceResponse.expiry must be 0..${NONCE_EXPIRY_MAX} seconds`);
      this.expiry = params.expiry;
    }
    if (params.respTypeInfo !== undefined) this.respTypeInfo = params.respTypeInfo;
  }

  /** True when the RA/CA signalled that no freshness proof is needed (zero-length nonce). */
  get freshnessRequired(): boolean {
    return this.nonce.byteLength > 0;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        new asn1js.OctetString({ name: 'nonce' }),
        new asn1js.Integer({ name: 'expiry', optional: true }),
        new asn1js.Sequence({ name: 'respTypeInfo', optional: true }),
      ],
    });
  }

  static fromSchema(node: AsnNode, path = NonceResponse.CLASS_NAME): NonceResponse {
    const kids = seqChildren(node, path);
    // field checks that name the field (or the stray element's index) before the schema match
    const nonce = readOctets(kids[0], `${path}.nonce`);
    if (!checkNonceSize(nonce.byteLength)) throw new Asn1DecodeError('constraint', `${path}.nonce`, `SIZE(0 | ${NONCE_LEN_MIN}..${NONCE_LEN_MAX}): ${nonce.byteLength} bytes`);
    let i = isUniversal(kids[1], Tag.INTEGER) ? 2 : 1;
    if (kids[i] !== undefined && !isUniversal(kids[i], Tag.SEQUENCE)) throw new Asn1DecodeError('bad-tag', `${path}[${i}]`, 'expected INTEGER expiry or SEQUENCE respTypeInfo');
    if (kids[i] !== undefined) i++;
    if (i < kids.length) throw new Asn1DecodeError('extra-field', `${path}[${i}]`, `unexpected element after ${i} field(s)`);
    const m = verifySchema(node, NonceResponse.schema(), path);
    let expiry: number | undefined;
    if (m.expiry !== undefined) {
      const v = readBigInt(m.expiry, `${path}.expiry`);
      if (v < 0n || v > BigInt(NONCE_EXPIRY_MAX)) throw new Asn1DecodeError('constraint', `${path}.expiry`, `${v} seconds outside 0..${NONCE_EXPIRY_MAX}`);
      expiry = Number(v);
    }
    return new NonceResponse({
      nonce: readOctets(m.nonce, `${path}.nonce`),
      ...(expiry !== undefined ? { expiry } : {}),
      ...(m.respTypeInfo !== undefined ? { respTypeInfo: NonceResponseTypeInfo.fromSchema(m.respTypeInfo, `${path}.respTypeInfo`) } : {}),
    });
  }

  toSchema(): asn1js.Sequence {
    if (!checkNonceSize(this.nonce.byteLength)) throw new Asn1EncodeError(`NonceResponse.nonce must be 0 or ${NONCE_LEN_MIN}..${NONCE_LEN_MAX} bytes`);
    const buf = new ArrayBuffer(this.nonce.byteLength);
    new Uint8Array(buf).set(this.nonce);
    const value: AsnNode[] = [new asn1js.OctetString({ valueHex: buf })];
    if (this.expiry !== undefined) value.push(new asn1js.Integer({ value: this.expiry }));
    if (this.respTypeInfo !== undefined) value.push(this.respTypeInfo.toSchema());
    return new asn1js.Sequence({ value });
  }

  toJSON(): NonceResponseJson {
    const j: NonceResponseJson = { nonce: hex(this.nonce) };
    if (this.expiry !== undefined) j.expiry = this.expiry;
    if (this.respTypeInfo !== undefined) j.respTypeInfo = this.respTypeInfo.toJSON();
    return j;
  }

  static fromBER(bytes: Bytes): NonceResponse {
    return NonceResponse.fromSchema(parseDer(bytes, NonceResponse.CLASS_NAME));
  }

  toDER(): Uint8Array {
    return encodeNode(this.toSchema());
  }

  /** CMP genp content: InfoTypeAndValue ::= SEQUENCE { infoType id-it-nonceResponse, infoValue NonceResponse }. */
  toInfoTypeAndValue(infoType: string = OID_ID_IT_NONCE_RESPONSE): asn1js.Sequence {
    return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: infoType }), this.toSchema()] });
  }

  static fromInfoTypeAndValue(itav: AsnNode, path = 'InfoTypeAndValue', infoType: string = OID_ID_IT_NONCE_RESPONSE): NonceResponse {
    const kids = seqChildren(itav, path);
    const oid = readOid(kids[0], `${path}.infoType`);
    if (oid !== infoType) throw new Asn1DecodeError('bad-value', `${path}.infoType`, `expected id-it-nonceResponse ${infoType}, got ${oid}`);
    if (kids[1] === undefined) throw new Asn1DecodeError('missing-field', `${path}.infoValue`, 'absent');
    if (kids.length > 2) throw new Asn1DecodeError('extra-field', `${path}[2]`, 'unexpected element');
    return NonceResponse.fromSchema(kids[1], `${path}.infoValue(NonceResponse)`);
  }
}
