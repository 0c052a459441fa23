// RFC 5934 §4.8 TAMPCommunityUpdateConfirm ::= SEQUENCE { version [0] DEFAULT v2, update TAMPMsgRef,
//   commConfirm CommunityConfirm }
// CommunityConfirm ::= CHOICE { terseCommConfirm [0] StatusCode,
//   verboseCommConfirm [1] SEQUENCE { status StatusCode, communities CommunityIdentifierList OPTIONAL } }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type Bytes, encodeNode, isContext, parseDer, seqChildren } from './der.js';
import { OID_CT_TAMP_COMMUNITY_UPDATE_CONFIRM } from './tamp-oids.js';
import { children, communitiesToSchema, ctxCons, ctxPrim, msgRefToSchema, readCommunities, readMsgRef, readStatus, readVersionTerse, statusToSchema, type TampMsgRef } from './tamp-msg-ref.js';

export class TampCommunityUpdateConfirm {
  static readonly CONTENT_TYPE = OID_CT_TAMP_COMMUNITY_UPDATE_CONFIRM;
  constructor(readonly update: TampMsgRef, readonly status: number, readonly communities?: string[]) {}

  toDer(): Uint8Array {
    const confirm = this.communities
      ? ctxCons(1, [statusToSchema(this.status), communitiesToSchema(this.communities)])
      : ctxPrim(0, new Uint8Array(statusToSchema(this.status).valueBlock.valueHexView));
    return encodeNode(new asn1js.Sequence({ value: [msgRefToSchema(this.update), confirm] }));
  }

  static fromDer(der: Bytes): TampCommunityUpdateConfirm {
    const p = 'TAMPCommunityUpdateConfirm';
    const { rest } = readVersionTerse(seqChildren(parseDer(der, p), p), p, false);
    const ref = readMsgRef(rest[0], `${p}.update`);
    const c = rest[1];
    if (isContext(c, 0, false)) return new TampCommunityUpdateConfirm(ref, Number(new asn1js.Enumerated({ valueHex: (c as asn1js.Primitive).valueBlock.valueHexView }).valueBlock.valueDec));
    if (isContext(c, 1, true)) {
      const [st, comm] = children(c!);
      return new TampCommunityUpdateConfirm(ref, readStatus(st, `${p}.status`), comm ? readCommunities(comm, `${p}.communities`) : []);
    }
    throw new Asn1DecodeError('bad-tag', `${p}.commConfirm`, 'expected [0] terse or [1] verbose');
  }
}
