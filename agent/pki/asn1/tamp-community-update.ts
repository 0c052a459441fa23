// RFC 5934 §4.7 TAMPCommunityUpdate ::= SEQUENCE { version [0] DEFAULT v2, terse [1] DEFAULT verbose,
//   msgRef TAMPMsgRef, updates CommunityUpdates }
// CommunityUpdates ::= SEQUENCE { remove [1] CommunityIdentifierList OPTIONAL, add [2] CommunityIdentifierList OPTIONAL }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type Bytes, encodeNode, isContext, parseDer, seqChildren } from './der.js';
import { OID_CT_TAMP_COMMUNITY_UPDATE } from './tamp-oids.js';
import { communitiesToSchema, msgRefToSchema, readCommunities, readMsgRef, readVersionTerse, versionTerseToSchema, type TampMsgRef } from './tamp-msg-ref.js';

export class TampCommunityUpdate {
  static readonly CONTENT_TYPE = OID_CT_TAMP_COMMUNITY_UPDATE;
  constructor(readonly msgRef: TampMsgRef, readonly remove: string[], readonly add: string[], readonly terse = false) {}

  toDer(): Uint8Array {
    const updates = new asn1js.Sequence({ value: [...(this.remove.length ? [communitiesToSchema(this.remove, 1)] : []), ...(this.add.length ? [communitiesToSchema(this.add, 2)] : [])] });
    return encodeNode(new asn1js.Sequence({ value: [...versionTerseToSchema(this.terse), msgRefToSchema(this.msgRef), updates] }));
  }

  static fromDer(der: Bytes): TampCommunityUpdate {
    const p = 'TAMPCommunityUpdate';
    const { terse, rest } = readVersionTerse(seqChildren(parseDer(der, p), p), p, true);
    if (rest.length !== 2) throw new Asn1DecodeError('bad-value', p, 'msgRef and updates required');
    const kids = seqChildren(rest[1], `${p}.updates`);
    const rm = kids.find((k) => isContext(k, 1));
    const add = kids.find((k) => isContext(k, 2));
    if (kids.length !== (rm ? 1 : 0) + (add ? 1 : 0)) throw new Asn1DecodeError('bad-tag', `${p}.updates`, 'only remove [1] and add [2]');
    return new TampCommunityUpdate(readMsgRef(rest[0], `${p}.msgRef`), rm ? readCommunities(rm, `${p}.remove`, 1) : [], add ? readCommunities(add, `${p}.add`, 2) : [], terse);
  }
}
