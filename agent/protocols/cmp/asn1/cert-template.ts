// CertTemplate, RFC 4211 §5 (module PKIXCRMF-2009: IMPLICIT TAGS; Name is a CHOICE so its tag is explicit):
//   CertTemplate ::= SEQUENCE { version [0], serialNumber [1], signingAlg [2], issuer [3] Name, validity [4],
//     subject [5] Name, publicKey [6] SubjectPublicKeyInfo, issuerUID [7], subjectUID [8], extensions [9] Extensions }
// Only subject, publicKey and extensions are written (RFC 9483 §4.1.1); all fields are read back.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Asn1DecodeError } from '../../../pki/asn1/errors.js';
import { type AsnNode, parseDer, verifySchema } from '../../../pki/asn1/der.js';
import { explicit, unwrapExplicit } from './tags.js';

/** CertTemplate field names by context tag number. */
const FIELDS = ['version', 'serialNumber', 'signingAlg', 'issuer', 'validity', 'subject', 'publicKey', 'issuerUID', 'subjectUID', 'extensions'] as const;
/** Fields whose IMPLICIT tag is on a primitive (INTEGER, BIT STRING). */
const PRIMITIVE = new Set([0, 1, 7, 8]);

export interface CertTemplateParams {
  subject?: pkijs.RelativeDistinguishedNames;
  /** DER SubjectPublicKeyInfo. */
  publicKey?: Uint8Array;
  extensions?: pkijs.Extension[];
}

export class CertTemplate {
  subject?: pkijs.RelativeDistinguishedNames;
  /** DER SubjectPublicKeyInfo. */
  publicKey?: Uint8Array;
  extensions?: pkijs.Extension[];

  constructor(params: CertTemplateParams = {}) {
    if (params.subject) this.subject = params.subject;
    if (params.publicKey) this.publicKey = params.publicKey;
    if (params.extensions) this.extensions = params.extensions;
  }

  static schema(): asn1js.Sequence {
    return new asn1js.Sequence({
      value: FIELDS.map((name, n) => {
        const idBlock = { tagClass: 3, tagNumber: n };
        return PRIMITIVE.has(n) ? new asn1js.Primitive({ name, optional: true, idBlock }) : new asn1js.Constructed({ name, optional: true, idBlock });
      }),
    });
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
    const m = verifySchema(node, CertTemplate.schema(), path);
    const t = new CertTemplate();
    const kids = (k: AsnNode): AsnNode[] => ((k as asn1js.Constructed).valueBlock.value ?? []) as AsnNode[];
    const field = <T>(name: (typeof FIELDS)[number], read: (k: AsnNode, p: string) => T): T | undefined => {
      if (!m[name]) return undefined;
      try {
        return read(m[name], `${path}.${name}`);
      } catch (cause) {
        if (cause instanceof Asn1DecodeError) throw cause;
        throw new Asn1DecodeError('bad-value', `${path}.${name}`, 'undecodable field', { cause });
      }
    };
    const subject = field('subject', (k, p) => new pkijs.RelativeDistinguishedNames({ schema: unwrapExplicit(k, p) }));
    const publicKey = field('publicKey', (k) => new Uint8Array(new asn1js.Sequence({ value: kids(k) }).toBER(false)));
    const extensions = field('extensions', (k) => kids(k).map((e) => new pkijs.Extension({ schema: e })));
    if (subject) t.subject = subject;
    if (publicKey) t.publicKey = publicKey;
    if (extensions) t.extensions = extensions;
    return t;
  }
}
