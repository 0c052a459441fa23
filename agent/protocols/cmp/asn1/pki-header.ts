// PKIHeader, RFC 4210 §5.1.1 (module PKIXCMP-2009: EXPLICIT TAGS):
//   PKIHeader ::= SEQUENCE { pvno INTEGER, sender GeneralName, recipient GeneralName,
//     messageTime [0] GeneralizedTime OPTIONAL, protectionAlg [1] AlgorithmIdentifier OPTIONAL,
//     senderKID [2] KeyIdentifier OPTIONAL, recipKID [3] KeyIdentifier OPTIONAL, transactionID [4] OCTET STRING OPTIONAL,
//     senderNonce [5] OCTET STRING OPTIONAL, recipNonce [6] OCTET STRING OPTIONAL, freeText [7] PKIFreeText OPTIONAL,
//     generalInfo [8] SEQUENCE SIZE (1..MAX) OF InfoTypeAndValue OPTIONAL }
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from '../../../pki/asn1/errors.js';
import { type AsnNode, readOctets, readSmallInt, seqChildren } from '../../../pki/asn1/der.js';
import { InfoTypeAndValue, genContent, readGenContent } from './info-type-and-value.js';
import { contextTag, explicit, freeText, readFreeText, unwrapExplicit } from './tags.js';

export class PKIHeader {
  pvno = 2;
  /** GeneralName: directoryName with an empty Name means "NULL-DN". */
  sender: pkijs.GeneralName = new pkijs.GeneralName({ type: 4, value: new pkijs.RelativeDistinguishedNames() });
  recipient: pkijs.GeneralName = new pkijs.GeneralName({ type: 4, value: new pkijs.RelativeDistinguishedNames() });
  messageTime?: Date;
  protectionAlg?: pkijs.AlgorithmIdentifier;
  senderKID?: Uint8Array;
  recipKID?: Uint8Array;
  transactionID?: Uint8Array;
  senderNonce?: Uint8Array;
  recipNonce?: Uint8Array;
  freeText?: string[];
  generalInfo?: InfoTypeAndValue[];

  constructor(init: Partial<PKIHeader> = {}) {
    Object.assign(this, init);
  }

  toSchema(): asn1js.Sequence {
    const oct = (b: Uint8Array): asn1js.OctetString => new asn1js.OctetString({ valueHex: b });
    const value: AsnNode[] = [new asn1js.Integer({ value: this.pvno }), this.sender.toSchema() as AsnNode, this.recipient.toSchema() as AsnNode];
    if (this.messageTime) value.push(explicit(0, new asn1js.GeneralizedTime({ valueDate: this.messageTime })));
    if (this.protectionAlg) value.push(explicit(1, this.protectionAlg.toSchema()));
    if (this.senderKID) value.push(explicit(2, oct(this.senderKID)));
    if (this.recipKID) value.push(explicit(3, oct(this.recipKID)));
    if (this.transactionID) value.push(explicit(4, oct(this.transactionID)));
    if (this.senderNonce) value.push(explicit(5, oct(this.senderNonce)));
    if (this.recipNonce) value.push(explicit(6, oct(this.recipNonce)));
    if (this.freeText?.length) value.push(explicit(7, freeText(this.freeText)));
    if (this.generalInfo?.length) value.push(explicit(8, genContent(this.generalInfo)));
    return new asn1js.Sequence({ value });
  }

  static fromSchema(node: AsnNode, path = 'PKIHeader'): PKIHeader {
    const kids = seqChildren(node, path);
    const h = new PKIHeader();
    h.pvno = readSmallInt(kids[0], `${path}.pvno`, 1, 3);
    try {
      h.sender = new pkijs.GeneralName({ schema: kids[1] });
      h.recipient = new pkijs.GeneralName({ schema: kids[2] });
    } catch (cause) {
      throw new Asn1DecodeError('bad-value', `${path}.sender/recipient`, 'not a GeneralName', { cause });
    }
    let last = -1;
    for (let i = 3; i < kids.length; i++) {
      const t = contextTag(kids[i]);
      const p = `${path}[${t}]`;
      if (t === undefined || t <= last || t > 8) throw new Asn1DecodeError('bad-tag', p, 'unexpected or out-of-order header field');
      last = t;
      const inner = unwrapExplicit(kids[i]!, p);
      switch (t) {
        case 0:
          if (!(inner instanceof asn1js.GeneralizedTime)) throw new Asn1DecodeError('bad-tag', p, 'expected GeneralizedTime');
          h.messageTime = inner.toDate();
          break;
        case 1:
          try {
            h.protectionAlg = new pkijs.AlgorithmIdentifier({ schema: inner });
          } catch (cause) {
            throw new Asn1DecodeError('bad-value', p, 'not an AlgorithmIdentifier', { cause });
          }
          break;
        case 2: h.senderKID = readOctets(inner, p); break;
        case 3: h.recipKID = readOctets(inner, p); break;
        case 4: h.transactionID = readOctets(inner, p); break;
        case 5: h.senderNonce = readOctets(inner, p); break;
        case 6: h.recipNonce = readOctets(inner, p); break;
        case 7: h.freeText = readFreeText(inner, p); break;
        case 8: h.generalInfo = readGenContent(inner, p); break;
      }
    }
    return h;
  }
}
