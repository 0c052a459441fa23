// PKIHeader, RFC 4210 §5.1.1 (module PKIXCMP-2009: EXPLICIT TAGS):
//   PKIHeader ::= SEQUENCE { pvno INTEGER, sender GeneralName, recipient GeneralName,
//     messageTime [0] GeneralizedTime OPTIONAL, protectionAlg [1] AlgorithmIdentifier OPTIONAL,
//     senderKID [2] KeyIdentifier OPTIONAL, recipKID [3] KeyIdentifier OPTIONAL, transactionID [4] OCTET STRING OPTIONAL,
//     senderNonce [5] OCTET STRING OPTIONAL, recipNonce [6] OCTET STRING OPTIONAL, freeText [7] PKIFreeText OPTIONAL,
//     generalInfo [8] SEQUENCE SIZE (1..MAX) OF InfoTypeAndValue OPTIONAL }
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from '../../../pki/asn1/errors.js';
import { type AsnNode, explicitSchema, readOctets, readSmallInt, verifySchema } from '../../../pki/asn1/der.js';
import { InfoTypeAndValue, genContent, readGenContent } from './info-type-and-value.js';
import { explicit, freeText, readFreeText, unwrapExplicit } from './tags.js';

/** The optional [n] EXPLICIT header fields, by tag number. */
const TAGGED = ['messageTime', 'protectionAlg', 'senderKID', 'recipKID', 'transactionID', 'senderNonce', 'recipNonce', 'freeText', 'generalInfo'] as const;

export interface PKIHeaderParams {
  pvno?: number;
  sender?: pkijs.GeneralName;
  recipient?: pkijs.GeneralName;
  messageTime?: Date;
  protectionAlg?: pkijs.AlgorithmIdentifier;
  senderKID?: Uint8Array;
  recipKID?: Uint8Array;
  transactionID?: Uint8Array;
  senderNonce?: Uint8Array;
  recipNonce?: Uint8Array;
  freeText?: string[];
  generalInfo?: InfoTypeAndValue[];
}

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

  constructor(params: PKIHeaderParams = {}) {
    Object.assign(this, Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)));
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [new asn1js.Integer({ name: 'pvno' }), new asn1js.Any({ name: 'sender' }), new asn1js.Any({ name: 'recipient' }), ...TAGGED.map((name, n) => explicitSchema(n, name))],
    });
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
    const m = verifySchema(node, PKIHeader.schema(), path);
    const h = new PKIHeader({ pvno: readSmallInt(m.pvno, `${path}.pvno`, 1, 3) });
    try {
      h.sender = new pkijs.GeneralName({ schema: m.sender });
      h.recipient = new pkijs.GeneralName({ schema: m.recipient });
    } catch (cause) {
      throw new Asn1DecodeError('bad-value', `${path}.sender/recipient`, 'not a GeneralName', { cause });
    }
    const inner = (n: number): [AsnNode, string] | undefined => {
      const k = m[TAGGED[n]!] as AsnNode | undefined;
      const p = `${path}[${n}]`;
      return k ? [unwrapExplicit(k, p), p] : undefined;
    };
    const time = inner(0);
    if (time) {
      if (!(time[0] instanceof asn1js.GeneralizedTime)) throw new Asn1DecodeError('bad-tag', time[1], 'expected GeneralizedTime');
      h.messageTime = time[0].toDate();
    }
    const alg = inner(1);
    if (alg) {
      try {
        h.protectionAlg = new pkijs.AlgorithmIdentifier({ schema: alg[0] });
      } catch (cause) {
        throw new Asn1DecodeError('bad-value', alg[1], 'not an AlgorithmIdentifier', { cause });
      }
    }
    const oct = (n: number): Uint8Array | undefined => {
      const k = inner(n);
      return k && readOctets(k[0], k[1]);
    };
    const octets = { senderKID: oct(2), recipKID: oct(3), transactionID: oct(4), senderNonce: oct(5), recipNonce: oct(6) };
    for (const [k, v] of Object.entries(octets)) if (v) h[k as keyof typeof octets] = v;
    const text = inner(7);
    if (text) h.freeText = readFreeText(text[0], text[1]);
    const info = inner(8);
    if (info) h.generalInfo = readGenContent(info[0], info[1]);
    return h;
  }
}
