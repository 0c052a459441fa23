// The simple CMC controls (RFC 5272 §6): transactionId (§6.6, INTEGER), senderNonce/recipientNonce (§6.6,
// OCTET STRING), queryPending (§6.13, the pendToken OCTET STRING), statusInfoV2 (§6.1.1), and their typed readers.
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { readBigInt, readOctets } from '../../pki/asn1/der.js';
import { CMCStatusInfoV2 } from './cmc-status-info-v2.js';
import { OID_CMC } from './constants.js';
import { TaggedAttribute } from './tagged-attribute.js';

export function transactionIdControl(bodyPartID: number, id: bigint): TaggedAttribute {
  return new TaggedAttribute({ bodyPartID, attrType: OID_CMC.transactionId, attrValues: [new asn1js.Integer({ valueHex: bigintBytes(id) })] });
}
export function senderNonceControl(bodyPartID: number, nonce: Uint8Array): TaggedAttribute {
  return new TaggedAttribute({ bodyPartID, attrType: OID_CMC.senderNonce, attrValues: [new asn1js.OctetString({ valueHex: nonce })] });
}
export function recipientNonceControl(bodyPartID: number, nonce: Uint8Array): TaggedAttribute {
  return new TaggedAttribute({ bodyPartID, attrType: OID_CMC.recipientNonce, attrValues: [new asn1js.OctetString({ valueHex: nonce })] });
}
export function queryPendingControl(bodyPartID: number, pendToken: Uint8Array): TaggedAttribute {
  return new TaggedAttribute({ bodyPartID, attrType: OID_CMC.queryPending, attrValues: [new asn1js.OctetString({ valueHex: pendToken })] });
}
export function statusInfoV2Control(bodyPartID: number, s: CMCStatusInfoV2): TaggedAttribute {
  return new TaggedAttribute({ bodyPartID, attrType: OID_CMC.statusInfoV2, attrValues: [s.toSchema()] });
}

/** At most one control of `type` (RFC 5272 §6: these controls occur once); its single value, or undefined. */
function one(controls: TaggedAttribute[], type: string, name: string): asn1js.AsnType | undefined {
  const found = controls.filter((c) => c.attrType === type);
  if (found.length > 1) throw new Asn1DecodeError('duplicate', name, `${found.length} ${name} controls`);
  return found[0]?.single(name);
}

export function readTransactionId(controls: TaggedAttribute[]): bigint | undefined {
  const v = one(controls, OID_CMC.transactionId, 'transactionId');
  return v === undefined ? undefined : readBigInt(v, 'transactionId');
}
export function readSenderNonce(controls: TaggedAttribute[]): Uint8Array | undefined {
  const v = one(controls, OID_CMC.senderNonce, 'senderNonce');
  return v === undefined ? undefined : readOctets(v, 'senderNonce');
}
export function readRecipientNonce(controls: TaggedAttribute[]): Uint8Array | undefined {
  const v = one(controls, OID_CMC.recipientNonce, 'recipientNonce');
  return v === undefined ? undefined : readOctets(v, 'recipientNonce');
}
export function readQueryPending(controls: TaggedAttribute[]): Uint8Array | undefined {
  const v = one(controls, OID_CMC.queryPending, 'queryPending');
  return v === undefined ? undefined : readOctets(v, 'queryPending');
}
export function readStatusInfoV2(controls: TaggedAttribute[]): CMCStatusInfoV2[] {
  return controls.filter((c) => c.attrType === OID_CMC.statusInfoV2).map((c, i) => CMCStatusInfoV2.fromSchema(c.single('statusInfoV2'), `statusInfoV2[${i}]`));
}

/** Two's-complement big-endian bytes of a non-negative bigint (minimal, with a leading 0 when the top bit is set). */
function bigintBytes(n: bigint): ArrayBuffer {
  let h = n.toString(16);
  if (h.length % 2) h = '0' + h;
  if (parseInt(h.slice(0, 2), 16) & 0x80) h = '00' + h;
  const b = Buffer.from(h, 'hex');
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
}
