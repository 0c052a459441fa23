// RFC 5934 §4.2 TAMPStatusResponse ::= SEQUENCE { version [0] DEFAULT v2, query TAMPMsgRef, response StatusResponse,
//   usesApex BOOLEAN DEFAULT TRUE }
// StatusResponse ::= CHOICE { terseResponse [0] TerseStatusResponse, verboseResponse [1] VerboseStatusResponse }
// TerseStatusResponse ::= SEQUENCE { taKeyIds KeyIdentifiers, communities CommunityIdentifierList OPTIONAL }
// VerboseStatusResponse ::= SEQUENCE { taInfo TrustAnchorChoiceList, continPubKeyDecryptAlg AlgorithmIdentifier OPTIONAL,
//   communities [1] CommunityIdentifierList OPTIONAL, tampSeqNumbers [2] TAMPSequenceNumbers OPTIONAL }
// TAMPSequenceNumbers ::= SEQUENCE OF SEQUENCE { keyId KeyIdentifier, seqNumber SeqNumber }
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from './errors.js';
import { type Bytes, encodeNode, parseDer, readBigInt, readOctets, seqChildren, isContext } from './der.js';
import { OID_CT_TAMP_STATUS_RESPONSE } from './tamp-oids.js';
import { children, communitiesToSchema, ctxCons, msgRefToSchema, readCommunities, readMsgRef, readTrustAnchorChoice, readVersionTerse, type TampMsgRef } from './tamp-msg-ref.js';

export interface TampSeqNumber {
  keyId: Uint8Array;
  seqNumber: bigint;
}

export function seqNumbersToSchema(list: readonly TampSeqNumber[], tag?: number): asn1js.AsnType {
  const items = list.map((s) => new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: s.keyId }), new asn1js.Integer({ value: Number(s.seqNumber) })] }));
  return tag === undefined ? new asn1js.Sequence({ value: items }) : ctxCons(tag, items);
}

export function readSeqNumbers(kids: asn1js.AsnType[], path: string): TampSeqNumber[] {
  return kids.map((k, i) => {
    const [id, n] = seqChildren(k, `${path}[${i}]`);
    return { keyId: readOctets(id, `${path}[${i}].keyId`), seqNumber: readBigInt(n, `${path}[${i}].seqNumber`) };
  });
}

export type TampStatus =
  | { terse: true; taKeyIds: Uint8Array[]; communities?: string[] }
  | { terse: false; trustAnchors: pkijs.Certificate[]; communities?: string[]; seqNumbers?: TampSeqNumber[] };

export class TampStatusResponse {
  static readonly CONTENT_TYPE = OID_CT_TAMP_STATUS_RESPONSE;
  constructor(readonly query: TampMsgRef, readonly status: TampStatus, readonly usesApex = true) {}

  toDer(): Uint8Array {
    const s = this.status;
    const resp = s.terse
      ? ctxCons(0, [new asn1js.Sequence({ value: s.taKeyIds.map((k) => new asn1js.OctetString({ valueHex: k })) }), ...(s.communities ? [communitiesToSchema(s.communities)] : [])])
      : ctxCons(1, [
          new asn1js.Sequence({ value: s.trustAnchors.map((c) => c.toSchema()) }),
          ...(s.communities ? [communitiesToSchema(s.communities, 1)] : []),
          ...(s.seqNumbers ? [seqNumbersToSchema(s.seqNumbers, 2)] : []),
        ]);
    return encodeNode(new asn1js.Sequence({ value: [msgRefToSchema(this.query), resp, ...(this.usesApex ? [] : [new asn1js.Boolean({ value: false })])] }));
  }

  static fromDer(der: Bytes): TampStatusResponse {
    const p = 'TAMPStatusResponse';
    const { rest } = readVersionTerse(seqChildren(parseDer(der, p), p), p, false);
    if (rest.length < 2) throw new Asn1DecodeError('bad-value', p, 'query and response required');
    const query = readMsgRef(rest[0], `${p}.query`);
    const r = rest[1]!;
    let status: TampStatus;
    if (isContext(r, 0, true)) {
      const [ids, comm] = children(r);
      status = { terse: true, taKeyIds: seqChildren(ids, `${p}.taKeyIds`).map((k, i) => readOctets(k, `${p}.taKeyIds[${i}]`)), ...(comm ? { communities: readCommunities(comm, `${p}.communities`) } : {}) };
    } else if (isContext(r, 1, true)) {
      const kids = children(r);
      const tas = seqChildren(kids[0], `${p}.taInfo`).map((c, i) => readTrustAnchorChoice(c, `${p}.taInfo[${i}]`));
      const comm = kids.find((k) => isContext(k, 1));
      const seqs = kids.find((k) => isContext(k, 2));
      status = { terse: false, trustAnchors: tas, ...(comm ? { communities: readCommunities(comm, `${p}.communities`, 1) } : {}), ...(seqs ? { seqNumbers: readSeqNumbers(children(seqs), `${p}.tampSeqNumbers`) } : {}) };
    } else throw new Asn1DecodeError('bad-tag', `${p}.response`, 'expected [0] terse or [1] verbose');
    const usesApex = rest[2] instanceof asn1js.Boolean ? rest[2].valueBlock.value : true;
    return new TampStatusResponse(query, status, usesApex);
  }
}
