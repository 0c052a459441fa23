// RFC 5934 §4.3 TAMPUpdate ::= SEQUENCE {
//   version [0] TAMPVersion DEFAULT v2, terse [1] TerseOrVerbose DEFAULT verbose, msgRef TAMPMsgRef,
//   updates SEQUENCE SIZE (1..MAX) OF TrustAnchorUpdate, tampSeqNumbers [2] TAMPSequenceNumbers OPTIONAL }
// TrustAnchorUpdate ::= CHOICE {
//   add [1] TrustAnchorChoice,            -- a tagged CHOICE is always explicit (X.680 §31.2.7)
//   remove [2] SubjectPublicKeyInfo,      -- implicit
//   change [3] EXPLICIT TrustAnchorChangeInfoChoice }
// TrustAnchorChangeInfoChoice ::= CHOICE { tbsCertChange [0] TBSCertificateChangeInfo, taChange [1] TrustAnchorChangeInfo }
// TrustAnchorChangeInfo ::= SEQUENCE { pubKey SubjectPublicKeyInfo, keyId KeyIdentifier OPTIONAL,
//   taTitle TrustAnchorTitle OPTIONAL, certPath CertPathControls OPTIONAL, exts [1] Extensions OPTIONAL }
// TBSCertificateChangeInfo ::= SEQUENCE { serialNumber OPTIONAL, signature [0] OPTIONAL, issuer [1] OPTIONAL,
//   validity [2] OPTIONAL, subject [3] OPTIONAL, subjectPublicKeyInfo [4] SubjectPublicKeyInfo, exts [5] EXPLICIT OPTIONAL }
// A change is decoded as far as enrolld acts on it (the key it names, a new title); its DER is kept whole.
import * as asn1js from 'asn1js';
import { Asn1DecodeError, Asn1EncodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, encodeNode, isContext, isUniversal, parseDer, seqChildren, verifySchema } from './der.js';
import { explicit, explicitInner, implicitConstructed, taggedChildren, terseFields, type TerseOrVerbose } from './tamp-fields.js';
import { TAMPMsgRef } from './tamp-msg-ref.js';
import { readTampHead, tampHeadSchema } from './tamp-schema.js';
import { OID_CT_TAMP_UPDATE } from './tamp-oids.js';
import { type TAMPSequenceNumber, sequenceNumberNodes, sequenceNumbersFromChildren } from './tamp-sequence-number.js';
import { type TrustAnchorChoice, trustAnchorChoiceFromNode, trustAnchorChoiceToSchema } from './trust-anchor-choice.js';

export type TrustAnchorChange =
  | { form: 'taChange'; pubKey: Uint8Array; taTitle?: string; der: Uint8Array }
  | { form: 'tbsCertChange'; pubKey: Uint8Array; der: Uint8Array };

export type TrustAnchorUpdate =
  | { kind: 'add'; ta: TrustAnchorChoice }
  | { kind: 'remove'; pubKey: Uint8Array }
  | { kind: 'change'; change: TrustAnchorChange };

function changeFromNode(node: AsnNode, path: string): TrustAnchorChange {
  const der = encodeNode(node);
  if (isContext(node, 1, true)) {
    const k = taggedChildren(node, 1, path);
    if (!isUniversal(k[0], Tag.SEQUENCE)) throw new Asn1DecodeError('bad-tag', `${path}.pubKey`, 'expected SubjectPublicKeyInfo');
    const out: TrustAnchorChange = { form: 'taChange', pubKey: encodeNode(k[0]!), der };
    const title = k.slice(1).find((n) => isUniversal(n, Tag.UTF8String)) as asn1js.Utf8String | undefined;
    if (title) out.taTitle = title.valueBlock.value;
    return out;
  }
  if (isContext(node, 0, true)) {
    const k = taggedChildren(node, 0, path);
    const spki = k.find((n) => isContext(n, 4, true));
    if (!spki) throw new Asn1DecodeError('missing-field', `${path}.subjectPublicKeyInfo`, 'absent');
    return { form: 'tbsCertChange', pubKey: encodeNode(new asn1js.Sequence({ value: taggedChildren(spki, 4, path) as asn1js.BaseBlock[] })), der };
  }
  throw new Asn1DecodeError('bad-tag', path, 'not a TrustAnchorChangeInfoChoice alternative');
}

export function trustAnchorUpdateFromNode(node: AsnNode | undefined, path: string): TrustAnchorUpdate {
  if (isContext(node, 1, true)) return { kind: 'add', ta: trustAnchorChoiceFromNode(explicitInner(node, 1, `${path}.add`), `${path}.add`) };
  if (isContext(node, 2, true)) return { kind: 'remove', pubKey: encodeNode(new asn1js.Sequence({ value: taggedChildren(node, 2, `${path}.remove`) as asn1js.BaseBlock[] })) };
  if (isContext(node, 3, true)) return { kind: 'change', change: changeFromNode(explicitInner(node, 3, `${path}.change`), `${path}.change`) };
  throw new Asn1DecodeError(node ? 'bad-tag' : 'missing-field', path, 'not a TrustAnchorUpdate alternative');
}

export function trustAnchorUpdateToSchema(u: TrustAnchorUpdate): AsnNode {
  if (u.kind === 'add') return explicit(1, trustAnchorChoiceToSchema(u.ta));
  if (u.kind === 'remove') return implicitConstructed(2, seqChildren(parseDer(u.pubKey, 'SubjectPublicKeyInfo'), 'SubjectPublicKeyInfo'));
  return explicit(3, parseDer(u.change.der, 'TrustAnchorChangeInfoChoice'));
}

/** Builds a taChange (new title for the TA with `pubKey`). */
export function taTitleChange(pubKey: Uint8Array, taTitle: string): TrustAnchorChange {
  if (taTitle.length < 1 || taTitle.length > 64) throw new Asn1EncodeError('taTitle must be 1..64 characters');
  const node = implicitConstructed(1, [parseDer(pubKey, 'pubKey'), new asn1js.Utf8String({ value: taTitle })]);
  return { form: 'taChange', pubKey, taTitle, der: encodeNode(node) };
}

export class TAMPUpdate {
  static readonly CONTENT_TYPE = OID_CT_TAMP_UPDATE;
  terse: TerseOrVerbose;
  msgRef: TAMPMsgRef;
  updates: TrustAnchorUpdate[];
  tampSeqNumbers?: TAMPSequenceNumber[];

  constructor(p: { terse?: TerseOrVerbose; msgRef: TAMPMsgRef; updates: TrustAnchorUpdate[]; tampSeqNumbers?: TAMPSequenceNumber[] }) {
    if (p.updates.length === 0) throw new Asn1EncodeError('TAMPUpdate needs at least one update');
    this.terse = p.terse ?? 'verbose';
    this.msgRef = p.msgRef;
    this.updates = p.updates;
    if (p.tampSeqNumbers) this.tampSeqNumbers = p.tampSeqNumbers;
  }
  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        ...tampHeadSchema(),
        new asn1js.Sequence({ name: 'updates' }),
        new asn1js.Constructed({ name: 'tampSeqNumbers', optional: true, idBlock: { tagClass: 3, tagNumber: 2 } }),
      ],
    });
  }
  static fromSchema(node: AsnNode, path = 'TAMPUpdate'): TAMPUpdate {
    const k = seqChildren(node, path);
    const t = readTampHead(k, path);
    let i = t.next;
    const msgRef = t.msgRef;
    const ups = seqChildren(k[i++], `${path}.updates`);
    if (ups.length === 0) throw new Asn1DecodeError('constraint', `${path}.updates`, 'at least one TrustAnchorUpdate');
    const updates = ups.map((u, j) => trustAnchorUpdateFromNode(u, `${path}.updates[${j}]`));
    const tampSeqNumbers = isContext(k[i], 2, true) ? sequenceNumbersFromChildren(taggedChildren(k[i++], 2, `${path}.tampSeqNumbers`), `${path}.tampSeqNumbers`) : undefined;
    if (i !== k.length) throw new Asn1DecodeError('extra-field', path, 'unexpected elements');
    verifySchema(node, TAMPUpdate.schema(), path);
    return new TAMPUpdate({ terse: t.terse, msgRef, updates, ...(tampSeqNumbers ? { tampSeqNumbers } : {}) });
  }
  static fromDer(der: Bytes): TAMPUpdate {
    return TAMPUpdate.fromSchema(parseDer(der, 'TAMPUpdate'));
  }
  toSchema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: [
        ...terseFields(this.terse),
        this.msgRef.toSchema(),
        new asn1js.Sequence({ value: this.updates.map(trustAnchorUpdateToSchema) as asn1js.BaseBlock[] }),
        ...(this.tampSeqNumbers ? [implicitConstructed(2, sequenceNumberNodes(this.tampSeqNumbers))] : []),
      ] as asn1js.BaseBlock[],
    });
  }
  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}
