// RFC 5934 §4.6 TAMPApexUpdateConfirm ::= SEQUENCE { version [0] DEFAULT v2, apexReplace TAMPMsgRef,
//   apexConfirm ApexUpdateConfirm }
// ApexUpdateConfirm ::= CHOICE { terseApexConfirm [0] StatusCode, verboseApexConfirm [1] SEQUENCE { status StatusCode,
//   taInfo TrustAnchorChoiceList, communities [1] OPTIONAL, tampSeqNumbers [2] OPTIONAL } }
import * as asn1js from 'asn1js';
import type * as pkijs from 'pkijs';
import { Asn1DecodeError } from './errors.js';
import { type Bytes, encodeNode, isContext, parseDer, seqChildren } from './der.js';
import { OID_CT_TAMP_APEX_UPDATE_CONFIRM } from './tamp-oids.js';
import { children, ctxCons, ctxPrim, msgRefToSchema, readMsgRef, readStatus, readTrustAnchorChoice, readVersionTerse, statusToSchema, type TampMsgRef } from './tamp-msg-ref.js';

export class TampApexUpdateConfirm {
  static readonly CONTENT_TYPE = OID_CT_TAMP_APEX_UPDATE_CONFIRM;
  constructor(readonly apexReplace: TampMsgRef, readonly status: number, readonly trustAnchors?: pkijs.Certificate[]) {}

  toDer(): Uint8Array {
    const confirm = this.trustAnchors
      ? ctxCons(1, [statusToSchema(this.status), new asn1js.Sequence({ value: this.trustAnchors.map((c) => c.toSchema()) })])
      : ctxPrim(0, new Uint8Array(statusToSchema(this.status).valueBlock.valueHexView));
    return encodeNode(new asn1js.Sequence({ value: [msgRefToSchema(this.apexReplace), confirm] }));
  }

  static fromDer(der: Bytes): TampApexUpdateConfirm {
    const p = 'TAMPApexUpdateConfirm';
    const { rest } = readVersionTerse(seqChildren(parseDer(der, p), p), p, false);
    const ref = readMsgRef(rest[0], `${p}.apexReplace`);
    const c = rest[1];
    if (isContext(c, 0, false)) return new TampApexUpdateConfirm(ref, Number(new asn1js.Enumerated({ valueHex: (c as asn1js.Primitive).valueBlock.valueHexView }).valueBlock.valueDec));
    if (isContext(c, 1, true)) {
      const [st, tas] = children(c!);
      return new TampApexUpdateConfirm(ref, readStatus(st, `${p}.status`), seqChildren(tas, `${p}.taInfo`).map((t, i) => readTrustAnchorChoice(t, `${p}.taInfo[${i}]`)));
    }
    throw new Asn1DecodeError('bad-tag', `${p}.apexConfirm`, 'expected [0] terse or [1] verbose');
  }
}
