// RFC 5934 §4.7 TAMPCommunityUpdate ::= SEQUENCE {
//   version [0] TAMPVersion DEFAULT v2, terse [1] TerseOrVerbose DEFAULT verbose, msgRef TAMPMsgRef, updates CommunityUpdates }
//   CommunityUpdates ::= SEQUENCE { remove [1] CommunityIdentifierList OPTIONAL, add [2] CommunityIdentifierList OPTIONAL }
//   -- at least one of remove/add must be present
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, isContext, parseDer, seqChildren, verifySchema } from './der.js';
import { implicitConstructed, oidNodes, readOidList, taggedChildren, terseFields, type TerseOrVerbose } from './tamp-fields.js';
import { TAMPMsgRef } from './tamp-msg-ref.js';
import { readTampHead, tampHeadSchema } from './tamp-schema.js';
import { OID_CT_TAMP_COMMUNITY_UPDATE } from './tamp-oids.js';

export interface CommunityUpdates {
  remove?: string[];
  add?: string[];
}

export class TAMPCommunityUpdate {
  static readonly CONTENT_TYPE = OID_CT_TAMP_COMMUNITY_UPDATE;
  terse: TerseOrVerbose;
  msgRef: TAMPMsgRef;
  updates: CommunityUpdates;

  constructor(p: { terse?: TerseOrVerbose; msgRef: TAMPMsgRef; updates: CommunityUpdates }) {
    if (!p.updates.add && !p.updates.remove) throw new Asn1EncodeError('CommunityUpdates needs remove or add');
    this.terse = p.terse ?? 'verbose';
    this.msgRef = p.msgRef;
    this.updates = p.updates;
  }
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({ value: [...tampHeadSchema(), new asn1js.Sequence({ name: 'updates' })] });
  }
  static fromSchema(node: AsnNode, path = 'TAMPCommunityUpdate'): TAMPCommunityUpdate {
    const k = seqChildren(node, path);
    const { terse, msgRef, next } = readTampHead(k, path);
    let i = next;
    const u = seqChildren(k[i++], `${path}.updates`);
    const updates: CommunityUpdates = {};
    let j = 0;
    if (isContext(u[j], 1, true)) updates.remove = readOidList(taggedChildren(u[j++], 1, `${path}.updates.remove`), `${path}.updates.remove`);
    if (isContext(u[j], 2, true)) updates.add = readOidList(taggedChildren(u[j++], 2, `${path}.updates.add`), `${path}.updates.add`);
    if (j === 0) throw new Asn1DecodeError('missing-field', `${path}.updates`, 'remove or add must be present');
    if (j !== u.length || i !== k.length) throw new Asn1DecodeError('extra-field', path, 'unexpected elements');
    verifySchema(node, TAMPCommunityUpdate.schema(), path);
    return new TAMPCommunityUpdate({ terse, msgRef, updates });
  }
  static fromDer(der: Bytes): TAMPCommunityUpdate {
    return TAMPCommunityUpdate.fromSchema(parseDer(der, 'TAMPCommunityUpdate'));
  }
  toSchema(): asn1js.Sequence {
    const u = this.updates;
    return new asn1js.Sequence({
      value: [
        ...terseFields(this.terse),
        this.msgRef.toSchema(),
        new asn1js.Sequence({
          value: [
            ...(u.remove ? [implicitConstructed(1, oidNodes(u.remove, 'community'))] : []),
            ...(u.add ? [implicitConstructed(2, oidNodes(u.add, 'community'))] : []),
          ],
        }),
      ] as asn1js.BaseBlock[],
    });
  }
  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
