// RFC 5934 §4.3 TAMPUpdate ::= SEQUENCE { version [0] DEFAULT v2, terse [1] DEFAULT verbose, msgRef TAMPMsgRef,
//   updates SEQUENCE SIZE (1..MAX) OF TrustAnchorUpdate, tampSeqNumbers [2] TAMPSequenceNumbers OPTIONAL }
// TrustAnchorUpdate ::= CHOICE { add [1] TrustAnchorChoice, remove [2] SubjectPublicKeyInfo,
//   change [3] EXPLICIT TrustAnchorChangeInfoChoice }
// `add` tags a CHOICE, so its tag is explicit; `remove` is IMPLICIT (the SPKI's contents under [2]). `change` is
// decoded as such and refused by the handler (improperTAChange).
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from './errors.js';
import { type Bytes, encodeNode, isContext, parseDer, seqChildren } from './der.js';
import { OID_CT_TAMP_UPDATE } from './tamp-oids.js';
import { children, ctxCons, msgRefToSchema, readMsgRef, readTrustAnchorChoice, readVersionTerse, versionTerseToSchema, type TampMsgRef } from './tamp-msg-ref.js';

export type TrustAnchorUpdate = { add: pkijs.Certificate } | { remove: Uint8Array /* DER SubjectPublicKeyInfo */ } | { change: true };

export class TampUpdate {
  static readonly CONTENT_TYPE = OID_CT_TAMP_UPDATE;
  constructor(readonly msgRef: TampMsgRef, readonly updates: TrustAnchorUpdate[], readonly terse = false) {}

  toDer(): Uint8Array {
    const updates = this.updates.map((u) => {
      if ('add' in u) return ctxCons(1, [u.add.toSchema()]);
      if ('remove' in u) return ctxCons(2, children(asn1js.fromBER(u.remove).result));
      throw new Error('TAMPUpdate: change is not encodable here');
    });
    return encodeNode(new asn1js.Sequence({ value: [...versionTerseToSchema(this.terse), msgRefToSchema(this.msgRef), new asn1js.Sequence({ value: updates })] }));
  }

  static fromDer(der: Bytes): TampUpdate {
    const p = 'TAMPUpdate';
    const { terse, rest } = readVersionTerse(seqChildren(parseDer(der, p), p), p, true);
    if (rest.length < 2) throw new Asn1DecodeError('bad-value', p, 'msgRef and updates required');
    const msgRef = readMsgRef(rest[0], `${p}.msgRef`);
    const list = seqChildren(rest[1], `${p}.updates`);
    if (list.length === 0) throw new Asn1DecodeError('constraint', `${p}.updates`, 'SIZE (1..MAX)');
    const updates = list.map((u, i): TrustAnchorUpdate => {
      const at = `${p}.updates[${i}]`;
      if (isContext(u, 1, true)) return { add: readTrustAnchorChoice(children(u)[0], `${at}.add`) };
      if (isContext(u, 2, true)) {
        const spki = new asn1js.Sequence({ value: children(u) as asn1js.AsnType[] });
        try {
          new pkijs.PublicKeyInfo({ schema: spki });
        } catch (e) {
          throw new Asn1DecodeError('bad-value', `${at}.remove`, `not a SubjectPublicKeyInfo: ${(e as Error).message}`);
        }
        return { remove: encodeNode(spki) };
      }
      if (isContext(u, 3, true)) return { change: true };
      throw new Asn1DecodeError('bad-tag', at, 'expected add [1], remove [2] or change [3]');
    });
    return new TampUpdate(msgRef, updates, terse);
  }
}
