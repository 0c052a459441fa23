// Freshness nonce request/response, draft-ietf-lamps-attestation-freshness-08 §3.1 / Appendix B (module
// Att-Fresh-Req, no tagged fields):
//   NonceRequest ::= SEQUENCE { len INTEGER (8..64) OPTIONAL, reqTypeInfo NonceRequestTypeInfo OPTIONAL }
//   NonceRequestTypeInfo ::= SEQUENCE { type OBJECT IDENTIFIER, reqInfo ANY DEFINED BY type OPTIONAL }
//   NonceResponse ::= SEQUENCE { nonce OCTET STRING (SIZE(0 | 8..64)), expiry INTEGER OPTIONAL,
//                                respTypeInfo NonceResponseTypeInfo OPTIONAL }
//   NonceResponseTypeInfo ::= SEQUENCE { type OBJECT IDENTIFIER, respInfo ANY DEFINED BY type OPTIONAL }
// CMP: genm/genp InfoTypeAndValue id-it-nonceRequest/-Response (§5); CMC: controls id-cmc-nonceReq/-Resp (§7).
import * as asn1js from 'asn1js';
import { DerError } from '../pki/der.js';
import { type Node, int, isUniversal, oidOf, seq } from './read.js';

const PKIX = '1.3.6.1.5.5.7';
/** The early allocations the agent and lab use for TBD1/TBD2 (id-it) and TBD4/TBD5 (id-cmc). */
export const FRESHNESS_OIDS = {
  itNonceRequest: `${PKIX}.4.99`,
  itNonceResponse: `${PKIX}.4.100`,
  cmcNonceReq: `${PKIX}.7.99`,
  cmcNonceResp: `${PKIX}.7.100`,
} as const;

export interface NonceRequest {
  len?: number;
  type?: string;
  reqInfo?: Node;
}

export function readNonceRequest(n: Node | undefined, path = 'NonceRequest'): NonceRequest {
  const k = seq(n, path);
  const out: NonceRequest = {};
  let i = 0;
  if (isUniversal(k[i], 2)) out.len = int(k[i++], `${path}.len`, 8, 64);
  if (k[i] !== undefined) {
    const t = seq(k[i++], `${path}.reqTypeInfo`);
    if (t.length < 1 || t.length > 2) throw new DerError(`${path}.reqTypeInfo: ${t.length} elements`);
    out.type = oidOf(t[0], `${path}.reqTypeInfo.type`);
    if (t[1] !== undefined) out.reqInfo = t[1];
  }
  if (i < k.length) throw new DerError(`${path}[${i}]: unexpected element`);
  return out;
}

export function nonceResponse(o: { nonce: Uint8Array; expiry?: number; type?: string; respInfo?: Node }): asn1js.Sequence {
  const value: asn1js.BaseBlock[] = [new asn1js.OctetString({ valueHex: o.nonce })];
  if (o.expiry !== undefined) value.push(new asn1js.Integer({ value: o.expiry }));
  if (o.type) value.push(new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: o.type }), ...(o.respInfo ? [o.respInfo as asn1js.BaseBlock] : [])] }));
  return new asn1js.Sequence({ value });
}
