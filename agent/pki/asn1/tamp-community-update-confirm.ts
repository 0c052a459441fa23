// RFC 5934 §4.8 TAMPCommunityUpdateConfirm ::= SEQUENCE {
//   version [0] TAMPVersion DEFAULT v2, update TAMPMsgRef, commConfirm CommunityConfirm }
//   CommunityConfirm ::= CHOICE { terseCommConfirm [0] TerseCommunityConfirm (= StatusCode),
//                                 verboseCommConfirm [1] VerboseCommunityConfirm }
//   VerboseCommunityConfirm ::= SEQUENCE { status StatusCode, communities CommunityIdentifierList OPTIONAL }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, isContext, parseDer, seqChildren, verifySchema } from './der.js';
import { communityList, communityListNode, implicitConstructed, readStatusCode, readTaggedStatusCode, readVersion, statusCodeNode, taggedChildren, taggedStatusCode } from './tamp-fields.js';
import { TAMPMsgRef } from './tamp-msg-ref.js';
import { versionSchema } from './tamp-schema.js';
import { OID_CT_TAMP_COMMUNITY_UPDATE_CONFIRM, type TampStatusCodeName } from './tamp-oids.js';

export type CommunityConfirm = { kind: 'terse'; status: TampStatusCodeName } | { kind: 'verbose'; status: TampStatusCodeName; communities?: string[] };

export class TAMPCommunityUpdateConfirm {
  static readonly CONTENT_TYPE = OID_CT_TAMP_COMMUNITY_UPDATE_CONFIRM;
  update: TAMPMsgRef;
  commConfirm: CommunityConfirm;

  constructor(p: { update: TAMPMsgRef; commConfirm: CommunityConfirm }) {
    this.update = p.update;
    this.commConfirm = p.commConfirm;
  }
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [versionSchema(), new asn1js.Sequence({ name: 'update' }), new asn1js.Any({ name: 'commConfirm' })] });
  }
  static fromSchema(node: AsnNode, path = 'TAMPCommunityUpdateConfirm'): TAMPCommunityUpdateConfirm {
    const k = seqChildren(node, path);
    let i = readVersion(k, 0, path);
    const update = TAMPMsgRef.fromSchema(k[i++]!, `${path}.update`);
    const c = k[i++];
    let commConfirm: CommunityConfirm;
    if (isContext(c, 0, false)) commConfirm = { kind: 'terse', status: readTaggedStatusCode(c, 0, `${path}.terseCommConfirm`) };
    else if (isContext(c, 1, true)) {
      const v = taggedChildren(c, 1, `${path}.verboseCommConfirm`);
      const conf: CommunityConfirm = { kind: 'verbose', status: readStatusCode(v[0], `${path}.verboseCommConfirm.status`) };
      if (v[1] !== undefined) conf.communities = communityList(v[1], `${path}.verboseCommConfirm.communities`);
      if (v.length > 2) throw new Asn1DecodeError('extra-field', `${path}.verboseCommConfirm`, 'unexpected elements');
      commConfirm = conf;
    } else throw new Asn1DecodeError(c ? 'bad-tag' : 'missing-field', `${path}.commConfirm`, 'expected [0] or [1]');
    if (i !== k.length) throw new Asn1DecodeError('extra-field', path, 'unexpected elements');
    verifySchema(node, TAMPCommunityUpdateConfirm.schema(), path);
    return new TAMPCommunityUpdateConfirm({ update, commConfirm });
  }
  static fromDer(der: Bytes): TAMPCommunityUpdateConfirm {
    return TAMPCommunityUpdateConfirm.fromSchema(parseDer(der, 'TAMPCommunityUpdateConfirm'));
  }
  toSchema(): asn1js.Sequence {
    const c = this.commConfirm;
    const node = c.kind === 'terse' ? taggedStatusCode(0, c.status) : implicitConstructed(1, [statusCodeNode(c.status), ...(c.communities ? [communityListNode(c.communities)] : [])]);
    return new asn1js.Sequence({ value: [this.update.toSchema(), node] });
  }
  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
