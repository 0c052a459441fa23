// RFC 5934 §4.4 TAMPUpdateConfirm ::= SEQUENCE { version [0] DEFAULT v2, update TAMPMsgRef, confirm UpdateConfirm }
// UpdateConfirm ::= CHOICE { terseConfirm [0] TerseUpdateConfirm, verboseConfirm [1] VerboseUpdateConfirm }
// TerseUpdateConfirm ::= StatusCodeList;  VerboseUpdateConfirm ::= SEQUENCE { status StatusCodeList,
//   taInfo TrustAnchorChoiceList, tampSeqNumbers TAMPSequenceNumbers OPTIONAL, usesApex BOOLEAN DEFAULT TRUE }
import * as asn1js from 'asn1js';
import type * as pkijs from 'pkijs';
import { Asn1DecodeError } from './errors.js';
import { type Bytes, encodeNode, isContext, parseDer, seqChildren } from './der.js';
import { OID_CT_TAMP_UPDATE_CONFIRM } from './tamp-oids.js';
import { children, ctxCons, msgRefToSchema, readMsgRef, readStatus, readTrustAnchorChoice, readVersionTerse, statusToSchema, type TampMsgRef } from './tamp-msg-ref.js';

export class TampUpdateConfirm {
  static readonly CONTENT_TYPE = OID_CT_TAMP_UPDATE_CONFIRM;
  constructor(
    readonly update: TampMsgRef,
    /** One StatusCode per TrustAnchorUpdate, in order. */
    readonly statuses: number[],
    /** Verbose: the trust anchors held after the update; undefined = terse. */
    readonly trustAnchors?: pkijs.Certificate[],
  ) {}

  toDer(): Uint8Array {
    const codes = this.statuses.map(statusToSchema);
    const confirm = this.trustAnchors
      ? ctxCons(1, [new asn1js.Sequence({ value: codes }), new asn1js.Sequence({ value: this.trustAnchors.map((c) => c.toSchema()) })])
      : ctxCons(0, codes);
    return encodeNode(new asn1js.Sequence({ value: [msgRefToSchema(this.update), confirm] }));
  }

  static fromDer(der: Bytes): TampUpdateConfirm {
    const p = 'TAMPUpdateConfirm';
    const { rest } = readVersionTerse(seqChildren(parseDer(der, p), p), p, false);
    const update = readMsgRef(rest[0], `${p}.update`);
    const c = rest[1];
    if (isContext(c, 0, true)) return new TampUpdateConfirm(update, children(c!).map((s, i) => readStatus(s, `${p}.terse[${i}]`)));
    if (isContext(c, 1, true)) {
      const [st, tas] = children(c!);
      return new TampUpdateConfirm(
        update,
        seqChildren(st, `${p}.status`).map((s, i) => readStatus(s, `${p}.status[${i}]`)),
        seqChildren(tas, `${p}.taInfo`).map((t, i) => readTrustAnchorChoice(t, `${p}.taInfo[${i}]`)),
      );
    }
    throw new Asn1DecodeError('bad-tag', `${p}.confirm`, 'expected [0] terse or [1] verbose');
  }
}
