// RFC 5934 §4.2 TAMPStatusResponse ::= SEQUENCE {
//   version [0] TAMPVersion DEFAULT v2, query TAMPMsgRef, response StatusResponse, usesApex BOOLEAN DEFAULT TRUE }
//   StatusResponse ::= CHOICE { terseResponse [0] TerseStatusResponse, verboseResponse [1] VerboseStatusResponse }
//   TerseStatusResponse ::= SEQUENCE { taKeyIds KeyIdentifiers, communities CommunityIdentifierList OPTIONAL }
//   VerboseStatusResponse ::= SEQUENCE { taInfo TrustAnchorChoiceList, continPubKeyDecryptAlg [0] AlgorithmIdentifier
//     OPTIONAL, communities [1] CommunityIdentifierList OPTIONAL, tampSeqNumbers [2] TAMPSequenceNumbers OPTIONAL }
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, isContext, isUniversal, parseDer, readOctets, seqChildren, verifySchema } from './der.js';
import { communityList, communityListNode, implicitConstructed, oidNodes, readBoolean, readOidList, readVersion, taggedChildren } from './tamp-fields.js';
import { TAMPMsgRef } from './tamp-msg-ref.js';
import { versionSchema } from './tamp-schema.js';
import { OID_CT_TAMP_STATUS_RESPONSE } from './tamp-oids.js';
import { type TAMPSequenceNumber, type TAMPSequenceNumberFields, asTAMPSequenceNumber, sequenceNumberNodes, sequenceNumbersFromChildren } from './tamp-sequence-number.js';
import { TrustAnchorChoice } from './trust-anchor-choice.js';

export interface TerseStatusResponse {
  kind: 'terse';
  taKeyIds: Uint8Array[];
  communities?: string[];
}
/** `S`: the sequence-number entries (class instances once constructed; their plain fields are accepted). */
export interface VerboseStatusResponse<S extends TAMPSequenceNumberFields = TAMPSequenceNumber> {
  kind: 'verbose';
  taInfo: TrustAnchorChoice[];
  /** DER AlgorithmIdentifier ([0] re-tagged as SEQUENCE). */
  continPubKeyDecryptAlg?: Uint8Array;
  communities?: string[];
  tampSeqNumbers?: S[];
}
export type StatusResponse<S extends TAMPSequenceNumberFields = TAMPSequenceNumber> = TerseStatusResponse | VerboseStatusResponse<S>;

export function taListFromNode(node: AsnNode | undefined, path: string): TrustAnchorChoice[] {
  const k = seqChildren(node, path);
  if (k.length === 0) throw new Asn1DecodeError('constraint', path, 'TrustAnchorChoiceList needs at least one entry');
  return k.map((n, i) => TrustAnchorChoice.fromSchema(n, `${path}[${i}]`));
}
export function taListNode(list: readonly TrustAnchorChoice[]): asn1js.Sequence {
  if (list.length === 0) throw new Asn1EncodeError('TrustAnchorChoiceList needs at least one entry');
  return new asn1js.Sequence({ value: list.map((c) => c.toSchema()) as asn1js.BaseBlock[] });
}

export class TAMPStatusResponse {
  static readonly CONTENT_TYPE = OID_CT_TAMP_STATUS_RESPONSE;
  query: TAMPMsgRef;
  response: StatusResponse;
  usesApex: boolean;

  constructor(p: { query: TAMPMsgRef; response: StatusResponse<TAMPSequenceNumberFields>; usesApex?: boolean }) {
    const r = p.response;
    this.query = p.query;
    this.response = r.kind === 'verbose' && r.tampSeqNumbers ? { ...r, tampSeqNumbers: r.tampSeqNumbers.map(asTAMPSequenceNumber) } : (r as StatusResponse);
    this.usesApex = p.usesApex ?? true;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        versionSchema(),
        new asn1js.Sequence({ name: 'query' }),
        new asn1js.Choice({
          value: [
            new asn1js.Constructed({ name: 'response', idBlock: { tagClass: 3, tagNumber: 0 } }),
            new asn1js.Constructed({ name: 'response', idBlock: { tagClass: 3, tagNumber: 1 } }),
          ],
        }),
        new asn1js.Boolean({ name: 'usesApex', optional: true }),
      ],
    });
  }

  static fromSchema(node: AsnNode, path = 'TAMPStatusResponse'): TAMPStatusResponse {
    const k = seqChildren(node, path);
    let i = readVersion(k, 0, path);
    const query = TAMPMsgRef.fromSchema(k[i++]!, `${path}.query`);
    const r = k[i++];
    let response: StatusResponse;
    if (isContext(r, 0, true)) {
      const t = taggedChildren(r, 0, `${path}.terseResponse`);
      const ids = seqChildren(t[0], `${path}.terseResponse.taKeyIds`);
      if (ids.length === 0) throw new Asn1DecodeError('constraint', `${path}.terseResponse.taKeyIds`, 'at least one KeyIdentifier');
      response = { kind: 'terse', taKeyIds: ids.map((n, j) => readOctets(n, `${path}.terseResponse.taKeyIds[${j}]`)) };
      if (t[1] !== undefined) response.communities = communityList(t[1], `${path}.terseResponse.communities`);
      if (t.length > 2) throw new Asn1DecodeError('extra-field', `${path}.terseResponse`, 'unexpected elements');
    } else if (isContext(r, 1, true)) {
      const p2 = `${path}.verboseResponse`;
      const t = taggedChildren(r, 1, p2);
      const v: VerboseStatusResponse = { kind: 'verbose', taInfo: taListFromNode(t[0], `${p2}.taInfo`) };
      let j = 1;
      if (isContext(t[j], 0, true)) v.continPubKeyDecryptAlg = encodeNode(new asn1js.Sequence({ value: taggedChildren(t[j++], 0, `${p2}.continPubKeyDecryptAlg`) as asn1js.BaseBlock[] }));
      if (isContext(t[j], 1, true)) v.communities = readOidList(taggedChildren(t[j++], 1, `${p2}.communities`), `${p2}.communities`);
      if (isContext(t[j], 2, true)) v.tampSeqNumbers = sequenceNumbersFromChildren(taggedChildren(t[j++], 2, `${p2}.tampSeqNumbers`), `${p2}.tampSeqNumbers`);
      if (j !== t.length) throw new Asn1DecodeError('extra-field', p2, 'unexpected elements');
      response = v;
    } else throw new Asn1DecodeError(r ? 'bad-tag' : 'missing-field', `${path}.response`, 'expected [0] or [1] StatusResponse');
    let usesApex = true;
    if (isUniversal(k[i], 1)) {
      usesApex = readBoolean(k[i++], `${path}.usesApex`);
      if (usesApex) throw new Asn1DecodeError('not-der', `${path}.usesApex`, 'DEFAULT TRUE must be omitted in DER');
    }
    if (i !== k.length) throw new Asn1DecodeError('extra-field', path, 'unexpected elements');
    verifySchema(node, TAMPStatusResponse.schema(), path);
    return new TAMPStatusResponse({ query, response, usesApex });
  }

  static fromDer(der: Bytes): TAMPStatusResponse {
    return TAMPStatusResponse.fromSchema(parseDer(der, 'TAMPStatusResponse'));
  }

  toSchema(): asn1js.Sequence {
    let resp: AsnNode;
    const r = this.response;
    if (r.kind === 'terse') {
      if (r.taKeyIds.length === 0) throw new Asn1EncodeError('taKeyIds needs at least one KeyIdentifier');
      resp = implicitConstructed(0, [new asn1js.Sequence({ value: r.taKeyIds.map((id) => new asn1js.OctetString({ valueHex: id })) }), ...(r.communities ? [communityListNode(r.communities)] : [])]);
    } else {
      const v: AsnNode[] = [taListNode(r.taInfo)];
      if (r.continPubKeyDecryptAlg) v.push(implicitConstructed(0, seqChildren(parseDer(r.continPubKeyDecryptAlg, 'continPubKeyDecryptAlg'), 'continPubKeyDecryptAlg')));
      if (r.communities) v.push(implicitConstructed(1, oidNodes(r.communities, 'community')));
      if (r.tampSeqNumbers) v.push(implicitConstructed(2, sequenceNumberNodes(r.tampSeqNumbers)));
      resp = implicitConstructed(1, v);
    }
    return new asn1js.Sequence({ value: [this.query.toSchema(), resp, ...(this.usesApex ? [] : [new asn1js.Boolean({ value: false })])] as asn1js.BaseBlock[] });
  }
  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}

