// RFC 5934 §4.3 TrustAnchorUpdate ::= CHOICE {
//   add [1] TrustAnchorChoice,            -- a tagged CHOICE is always explicit (X.680 §31.2.7)
//   remove [2] SubjectPublicKeyInfo,      -- implicit
//   change [3] EXPLICIT TrustAnchorChangeInfoChoice }
import * as asn1js from 'asn1js';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, isContext, parseDer, seqChildren, verifySchema } from './der.js';
import { asSequence, explicit, explicitInner, implicitConstructed } from './tamp-fields.js';
import { TrustAnchorChangeInfoChoice } from './trust-anchor-change-info-choice.js';
import { TrustAnchorChoice } from './trust-anchor-choice.js';

/** The alternative a TrustAnchorUpdate holds, as plain data (constructor parameters). */
export type TrustAnchorUpdateFields =
  | { kind: 'add'; ta: TrustAnchorChoice }
  | { kind: 'remove'; pubKey: Uint8Array } // DER SubjectPublicKeyInfo
  | { kind: 'change'; change: TrustAnchorChangeInfoChoice };

const ctx = (tagNumber: number) => ({ tagClass: 3, tagNumber });

export class TrustAnchorUpdate {
  static readonly CLASS_NAME = 'TrustAnchorUpdate';
  readonly value: TrustAnchorUpdateFields;

  constructor(params: TrustAnchorUpdateFields) {
    this.value = params;
  }

  get kind(): TrustAnchorUpdateFields['kind'] {
    return this.value.kind;
  }

  /** The three alternatives; the contents are checked by fromSchema's readers (named paths). */
  static schema(): asn1js.Choice {
    return new asn1js.Choice({
      value: [
        new asn1js.Constructed({ name: 'add', idBlock: ctx(1), value: [new asn1js.Any({ name: 'ta' })] }),
        new asn1js.Constructed({ name: 'remove', idBlock: ctx(2), value: [new asn1js.Sequence({ name: 'algorithm' }), new asn1js.BitString({ name: 'subjectPublicKey' })] }),
        new asn1js.Constructed({ name: 'change', idBlock: ctx(3), value: [new asn1js.Any({ name: 'change' })] }),
      ],
    });
  }

  static fromSchema(node: AsnNode | undefined, path = TrustAnchorUpdate.CLASS_NAME): TrustAnchorUpdate {
    // the alternative's reader runs first so that its errors name the field; then the schema is checked
    const u = new TrustAnchorUpdate(readAlternative(node, path));
    verifySchema(node, TrustAnchorUpdate.schema() as unknown as AsnNode, path);
    return u;
  }

  static fromDer(der: Bytes): TrustAnchorUpdate {
    return TrustAnchorUpdate.fromSchema(parseDer(der, TrustAnchorUpdate.CLASS_NAME));
  }

  toSchema(): AsnNode {
    const u = this.value;
    if (u.kind === 'add') return explicit(1, u.ta.toSchema());
    if (u.kind === 'remove') return implicitConstructed(2, seqChildren(parseDer(u.pubKey, 'SubjectPublicKeyInfo'), 'SubjectPublicKeyInfo'));
    return explicit(3, u.change.toSchema());
  }

  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }
}

export const asTrustAnchorUpdate = (u: TrustAnchorUpdate | TrustAnchorUpdateFields): TrustAnchorUpdate => (u instanceof TrustAnchorUpdate ? u : new TrustAnchorUpdate(u));

function readAlternative(node: AsnNode | undefined, path: string): TrustAnchorUpdateFields {
  if (isContext(node, 1, true)) return { kind: 'add', ta: TrustAnchorChoice.fromSchema(explicitInner(node, 1, `${path}.add`), `${path}.add`) };
  if (isContext(node, 2, true)) return { kind: 'remove', pubKey: encodeNode(asSequence(node!, 2, `${path}.remove`)) };
  if (isContext(node, 3, true)) return { kind: 'change', change: TrustAnchorChangeInfoChoice.fromSchema(explicitInner(node, 3, `${path}.change`), `${path}.change`) };
  throw new Asn1DecodeError(node ? 'bad-tag' : 'missing-field', path, 'not a TrustAnchorUpdate alternative');
}
