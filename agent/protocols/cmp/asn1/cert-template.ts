// CertTemplate, RFC 4211 §5 (module PKIXCRMF-2009: IMPLICIT TAGS; Name is a CHOICE so its tag is explicit):
//   CertTemplate ::= SEQUENCE { version [0], serialNumber [1], signingAlg [2], issuer [3] Name, validity [4],
//     subject [5] Name, publicKey [6] SubjectPublicKeyInfo, issuerUID [7], subjectUID [8], extensions [9] Extensions }
// Only subject, publicKey and extensions are written (RFC 9483 §4.1.1); all fields are read back.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from '../../../pki/asn1/errors.js';
import { type AsnNode, parseDer, seqChildren } from '../../../pki/asn1/der.js';
import { contextTag, explicit, unwrapExplicit } from './tags.js';

export class CertTemplate {
  subject?: pkijs.RelativeDistinguishedNames;
  /** DER SubjectPublicKeyInfo. */
  publicKey?: Uint8Array;
  extensions?: pkijs.Extension[];

  constructor(init: Partial<CertTemplate> = {}) {
    Object.assign(this, init);
  }

  toSchema(): asn1js.Sequence {
    const value: AsnNode[] = [];
    if (this.subject) value.push(explicit(5, this.subject.toSchema()));
    if (this.publicKey) {
      const spki = parseDer(this.publicKey, 'CertTemplate.publicKey') as asn1js.Sequence;
      value.push(new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 6 }, value: spki.valueBlock.value }));
    }
    if (this.extensions?.length) {
      value.push(new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 9 }, value: this.extensions.map((e) => e.toSchema()) }));
    }
    return new asn1js.Sequence({ value });
  }

  static fromSchema(node: AsnNode, path = 'CertTemplate'): CertTemplate {
    const t = new CertTemplate();
    let last = -1;
    for (const [i, k] of seqChildren(node, path).entries()) {
      const n = contextTag(k);
      if (n === undefined || n <= last || n > 9) throw new Asn1DecodeError('bad-tag', `${path}[${i}]`, 'unexpected or out-of-order field');
      last = n;
      const kids = ((k as asn1js.Constructed).valueBlock.value ?? []) as AsnNode[];
      try {
        if (n === 5) t.subject = new pkijs.RelativeDistinguishedNames({ schema: unwrapExplicit(k, `${path}.subject`) });
        if (n === 6) t.publicKey = new Uint8Array(new asn1js.Sequence({ value: kids }).toBER(false));
        if (n === 9) t.extensions = kids.map((e) => new pkijs.Extension({ schema: e }));
      } catch (cause) {
        if (cause instanceof Asn1DecodeError) throw cause;
        throw new Asn1DecodeError('bad-value', `${path}[${n}]`, 'undecodable field', { cause });
      }
    }
    return t;
  }
}
