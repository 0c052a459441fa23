// CMCStatusInfoV2 (RFC 5272 §6.1.1, RFC 6402 §2.3):
//   SEQUENCE { cMCStatus CMCStatus, bodyList SEQUENCE SIZE (1..MAX) OF BodyPartReference,
//              statusString UTF8String OPTIONAL, otherInfo OtherStatusInfo OPTIONAL }
//   OtherStatusInfo ::= CHOICE { failInfo CMCFailInfo, pendInfo PendInfo, extendedFailInfo ExtendedFailInfo }
//   PendInfo ::= SEQUENCE { pendToken OCTET STRING, pendTime GeneralizedTime }
//   ExtendedFailInfo ::= SEQUENCE { failInfoOID OBJECT IDENTIFIER, failInfoValue ANY }
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from '../../pki/asn1/errors.js';
import { cloneNode, isUniversal, readOctets, readOid, readSmallInt, seqChildren, Tag, verifySchema, type AsnNode } from '../../pki/asn1/der.js';
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

export interface CMCStatusInfoV2Params {
  cMCStatus: CmcStatusName;
  /** SIZE (1..MAX). */
  bodyList: BodyPartReference[];
  statusString?: string | undefined;
  otherInfo?: OtherStatusInfo | undefined;
}

export class CMCStatusInfoV2 {
  readonly cMCStatus: CmcStatusName;
  readonly bodyList: BodyPartReference[];
  readonly statusString?: string;
  readonly otherInfo?: OtherStatusInfo;

  constructor(params: CMCStatusInfoV2Params) {
    if (params.bodyList.length === 0) throw new Asn1EncodeError('bodyList must not be empty (SIZE(1..MAX))');
    this.cMCStatus = params.cMCStatus;
    this.bodyList = params.bodyList;
    if (params.statusString !== undefined) this.statusString = params.statusString;
    if (params.otherInfo !== undefined) this.otherInfo = params.otherInfo;
  }

  static schema(): asn1js.Sequence {
    // CMCStatus / CMCFailInfo: INTEGER in RFC 5272's module, ENUMERATED in some implementations (both accepted)
    return new asn1js.Sequence({
      value: [
        new asn1js.Choice({ value: [new asn1js.Integer({ name: 'cMCStatus' }), new asn1js.Enumerated({ name: 'cMCStatus' })] }),
        new asn1js.Sequence({ name: 'bodyList' }),
        new asn1js.Utf8String({ name: 'statusString', optional: true }),
        new asn1js.Choice({
          optional: true,
          value: [new asn1js.Integer({ name: 'failInfo' }), new asn1js.Enumerated({ name: 'failInfo' }), new asn1js.Sequence({ name: 'otherInfoSeq' })],
        }),
      ],
    });
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
    const m = verifySchema(node, CMCStatusInfoV2.schema(), path);
    const code = readEnum(m.cMCStatus, `${path}.cMCStatus`, 0, 7);
    const status = statusName(code);
    if (!status) throw new Asn1DecodeError('constraint', `${path}.cMCStatus`, `unknown CMCStatus ${code}`);
    const bodyList = seqChildren(m.bodyList, `${path}.bodyList`).map((n, i) => readBodyPartReference(n, `${path}.bodyList[${i}]`));
    if (bodyList.length === 0) throw new Asn1DecodeError('constraint', `${path}.bodyList`, 'empty');
    const statusString = m.statusString ? (m.statusString as asn1js.Utf8String).valueBlock.value : undefined;
    let otherInfo: OtherStatusInfo | undefined;
    const p = `${path}.otherInfo`;
    if (m.failInfo) otherInfo = { failInfo: CMC_FAIL_INFO[readEnum(m.failInfo, `${p}.failInfo`, 0, CMC_FAIL_INFO.length - 1)]! };
    else if (m.otherInfoSeq) {
      const s = seqChildren(m.otherInfoSeq, p);
      if (s.length !== 2) throw new Asn1DecodeError('constraint', p, `${s.length} elements, 2 expected`);
      if (isUniversal(s[0], Tag.OCTET_STRING)) {
        if (!(s[1] instanceof asn1js.GeneralizedTime)) throw new Asn1DecodeError('bad-tag', `${p}.pendInfo.pendTime`, 'expected GeneralizedTime');
        otherInfo = { pendInfo: { pendToken: readOctets(s[0], `${p}.pendInfo.pendToken`), pendTime: s[1].toDate() } };
      } else {
        otherInfo = { extendedFailInfo: { failInfoOID: readOid(s[0], `${p}.extendedFailInfo.failInfoOID`), failInfoValue: cloneNode(s[1]!, `${p}.extendedFailInfo.failInfoValue`) } };
      }
    }
    return new CMCStatusInfoV2({ cMCStatus: status, bodyList, statusString, otherInfo });
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
