// CMCStatusInfoV2 (RFC 5272 §6.1.1, RFC 6402 §2.3):
//   SEQUENCE { cMCStatus CMCStatus, bodyList SEQUENCE SIZE (1..MAX) OF BodyPartReference,
//              statusString UTF8String OPTIONAL, otherInfo OtherStatusInfo OPTIONAL }
//   OtherStatusInfo ::= CHOICE { failInfo CMCFailInfo, pendInfo PendInfo, extendedFailInfo ExtendedFailInfo }
//   PendInfo ::= SEQUENCE { pendToken OCTET STRING, pendTime GeneralizedTime }
//   ExtendedFailInfo ::= SEQUENCE { failInfoOID OBJECT IDENTIFIER, failInfoValue ANY }
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from '../../pki/asn1/errors.js';
import { cloneNode, isUniversal, readOctets, readOid, readSmallInt, seqChildren, Tag, type AsnNode } from '../../pki/asn1/der.js';
import { bodyPartReferenceSchema, readBodyPartReference, type BodyPartReference } from './body-part-reference.js';
import { CMC_FAIL_INFO, statusName, type CmcFailInfoName, type CmcStatusName, CMC_STATUS } from './constants.js';

export interface PendInfo {
  pendToken: Uint8Array;
  pendTime: Date;
}

export type OtherStatusInfo =
  | { failInfo: CmcFailInfoName }
  | { pendInfo: PendInfo }
  | { extendedFailInfo: { failInfoOID: string; failInfoValue: AsnNode } };

export class CMCStatusInfoV2 {
  constructor(
    readonly cMCStatus: CmcStatusName,
    readonly bodyList: BodyPartReference[],
    readonly statusString?: string,
    readonly otherInfo?: OtherStatusInfo,
  ) {
    if (bodyList.length === 0) throw new Asn1EncodeError('bodyList must not be empty (SIZE(1..MAX))');
  }

  toSchema(): asn1js.Sequence {
    const value: asn1js.AsnType[] = [
      new asn1js.Integer({ value: CMC_STATUS[this.cMCStatus] }),
      new asn1js.Sequence({ value: this.bodyList.map(bodyPartReferenceSchema) }),
    ];
    if (this.statusString !== undefined) value.push(new asn1js.Utf8String({ value: this.statusString }));
    const o = this.otherInfo;
    if (o && 'failInfo' in o) value.push(new asn1js.Integer({ value: CMC_FAIL_INFO.indexOf(o.failInfo) }));
    else if (o && 'pendInfo' in o) {
      value.push(new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: o.pendInfo.pendToken }), new asn1js.GeneralizedTime({ valueDate: o.pendInfo.pendTime })] }));
    } else if (o && 'extendedFailInfo' in o) {
      value.push(new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: o.extendedFailInfo.failInfoOID }), o.extendedFailInfo.failInfoValue as asn1js.BaseBlock] }));
    }
    return new asn1js.Sequence({ value });
  }

  static fromSchema(node: AsnNode, path = 'CMCStatusInfoV2'): CMCStatusInfoV2 {
    const c = seqChildren(node, path);
    if (c.length < 2) throw new Asn1DecodeError('missing-field', path, `${c.length} elements, at least 2 expected`);
    if (c.length > 4) throw new Asn1DecodeError('extra-field', path, `${c.length} elements, at most 4 expected`);
    const code = readEnum(c[0], `${path}.cMCStatus`, 0, 7);
    const status = statusName(code);
    if (!status) throw new Asn1DecodeError('constraint', `${path}.cMCStatus`, `unknown CMCStatus ${code}`);
    const bodyList = seqChildren(c[1], `${path}.bodyList`).map((n, i) => readBodyPartReference(n, `${path}.bodyList[${i}]`));
    if (bodyList.length === 0) throw new Asn1DecodeError('constraint', `${path}.bodyList`, 'empty');
    let i = 2;
    let statusString: string | undefined;
    if (c[i] !== undefined && isUniversal(c[i], Tag.UTF8String)) statusString = (c[i++] as asn1js.Utf8String).valueBlock.value;
    let otherInfo: OtherStatusInfo | undefined;
    const o = c[i];
    if (o !== undefined) {
      const p = `${path}.otherInfo`;
      if (o instanceof asn1js.Enumerated || o instanceof asn1js.Integer) {
        const f = readEnum(o, `${p}.failInfo`, 0, CMC_FAIL_INFO.length - 1);
        otherInfo = { failInfo: CMC_FAIL_INFO[f]! };
      } else {
        const s = seqChildren(o, p);
        if (s.length !== 2) throw new Asn1DecodeError('constraint', p, `${s.length} elements, 2 expected`);
        if (isUniversal(s[0], Tag.OCTET_STRING)) {
          if (!(s[1] instanceof asn1js.GeneralizedTime)) throw new Asn1DecodeError('bad-tag', `${p}.pendInfo.pendTime`, 'expected GeneralizedTime');
          otherInfo = { pendInfo: { pendToken: readOctets(s[0], `${p}.pendInfo.pendToken`), pendTime: s[1].toDate() } };
        } else {
          otherInfo = { extendedFailInfo: { failInfoOID: readOid(s[0], `${p}.extendedFailInfo.failInfoOID`), failInfoValue: cloneNode(s[1]!, `${p}.extendedFailInfo.failInfoValue`) } };
        }
      }
      i++;
    }
    if (i !== c.length) throw new Asn1DecodeError('bad-tag', `${path}[${i}]`, 'unexpected element');
    return new CMCStatusInfoV2(status, bodyList, statusString, otherInfo);
  }
}

/** CMCStatus and CMCFailInfo are INTEGERs in RFC 5272's module (ENUMERATED in some implementations): accept both. */
function readEnum(node: AsnNode | undefined, path: string, min: number, max: number): number {
  if (node instanceof asn1js.Enumerated && isUniversal(node, 10)) {
    const v = node.valueBlock.valueDec;
    if (!Number.isSafeInteger(v) || v < min || v > max) throw new Asn1DecodeError('constraint', path, `${v} outside ${min}..${max}`);
    return v;
  }
  return readSmallInt(node, path, min, max);
}
