// RFC 5934 §4.5 TAMPApexUpdate ::= SEQUENCE { version [0] DEFAULT v2, terse [1] DEFAULT verbose, msgRef TAMPMsgRef,
//   clearTrustAnchors BOOLEAN, clearCommunities BOOLEAN, seqNumber SeqNumber OPTIONAL, apexTA TrustAnchorChoice }
import * as asn1js from 'asn1js';
import type * as pkijs from 'pkijs';
import { Asn1DecodeError } from './errors.js';
import { type Bytes, encodeNode, parseDer, readBigInt, seqChildren } from './der.js';
import { OID_CT_TAMP_APEX_UPDATE } from './tamp-oids.js';
import { msgRefToSchema, readMsgRef, readTrustAnchorChoice, readVersionTerse, versionTerseToSchema, type TampMsgRef } from './tamp-msg-ref.js';

export class TampApexUpdate {
  static readonly CONTENT_TYPE = OID_CT_TAMP_APEX_UPDATE;
  constructor(
    readonly msgRef: TampMsgRef,
    readonly apexTA: pkijs.Certificate,
    readonly clearTrustAnchors = false,
    readonly clearCommunities = false,
    /** The new apex's starting sequence number. */
    readonly seqNumber?: bigint,
    readonly terse = false,
  ) {}

  toDer(): Uint8Array {
    return encodeNode(
      new asn1js.Sequence({
        value: [
          ...versionTerseToSchema(this.terse),
          msgRefToSchema(this.msgRef),
          new asn1js.Boolean({ value: this.clearTrustAnchors }),
          new asn1js.Boolean({ value: this.clearCommunities }),
          ...(this.seqNumber !== undefined ? [new asn1js.Integer({ value: Number(this.seqNumber) })] : []),
          this.apexTA.toSchema(),
        ],
      }),
    );
  }

  static fromDer(der: Bytes): TampApexUpdate {
    const p = 'TAMPApexUpdate';
    const { terse, rest } = readVersionTerse(seqChildren(parseDer(der, p), p), p, true);
    if (rest.length !== 4 && rest.length !== 5) throw new Asn1DecodeError('bad-value', p, `expected 4 or 5 elements after version/terse, got ${rest.length}`);
    const [ref, clearTa, clearComm, ...tail] = rest;
    if (!(clearTa instanceof asn1js.Boolean) || !(clearComm instanceof asn1js.Boolean)) throw new Asn1DecodeError('bad-tag', p, 'clearTrustAnchors/clearCommunities must be BOOLEAN');
    const seqNumber = tail.length === 2 ? readBigInt(tail[0], `${p}.seqNumber`) : undefined;
    return new TampApexUpdate(readMsgRef(ref, `${p}.msgRef`), readTrustAnchorChoice(tail[tail.length - 1], `${p}.apexTA`), clearTa.valueBlock.value, clearComm.valueBlock.value, seqNumber, terse);
  }
}
