// RFC 5914 §2 TrustAnchorChoice ::= CHOICE {
//   certificate  Certificate,
//   tbsCert      [1] EXPLICIT TBSCertificate,
//   taInfo       [2] EXPLICIT TrustAnchorInfo }
// tbsCert is decoded only as far as its tag (kept as DER); enrolld stores certificate and taInfo-with-certificate TAs.
import * as asn1js from 'asn1js';
import type * as pkijs from 'pkijs';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, encodeNode, isContext, isUniversal, parseDer, Tag, verifySchema } from './der.js';
import { certificateFromDer } from '../cert.js';
import { explicit, explicitInner } from './tamp-fields.js';
import { TrustAnchorInfo } from './trust-anchor-info.js';

/** The alternative a TrustAnchorChoice holds, as plain data (constructor parameters). */
export type TrustAnchorChoiceFields =
  | { kind: 'certificate'; der: Uint8Array; certificate: pkijs.Certificate }
  | { kind: 'tbsCert'; der: Uint8Array }
  | { kind: 'taInfo'; info: TrustAnchorInfo };

const ctx = (tagNumber: number) => ({ tagClass: 3, tagNumber });

export class TrustAnchorChoice {
  static readonly CLASS_NAME = 'TrustAnchorChoice';
  readonly value: TrustAnchorChoiceFields;

  constructor(params: TrustAnchorChoiceFields) {
    this.value = params;
  }

  /** The certificate alternative from DER (decoded with pkijs). */
  static fromCertificate(der: Uint8Array, certificate: pkijs.Certificate = certificateFromDer(der)): TrustAnchorChoice {
    return new TrustAnchorChoice({ kind: 'certificate', der, certificate });
  }

  get kind(): TrustAnchorChoiceFields['kind'] {
    return this.value.kind;
  }

  /** The three alternatives; the contents are checked by fromSchema's readers (named paths). */
  static schema(): asn1js.Choice {
    return new asn1js.Choice({
      value: [
        new asn1js.Sequence({ name: 'certificate', value: [new asn1js.Sequence({ name: 'tbsCertificate' }), new asn1js.Sequence({ name: 'signatureAlgorithm' }), new asn1js.BitString({ name: 'signatureValue' })] }),
        new asn1js.Constructed({ name: 'tbsCert', idBlock: ctx(1), value: [new asn1js.Sequence({ name: 'tbsCertificate' })] }),
        new asn1js.Constructed({ name: 'taInfo', idBlock: ctx(2), value: [new asn1js.Sequence({ name: 'trustAnchorInfo' })] }),
      ],
    });
  }

  static fromSchema(node: AsnNode | undefined, path = TrustAnchorChoice.CLASS_NAME): TrustAnchorChoice {
    // the alternative's reader runs first so that its errors name the field; then the schema is checked
    const c = new TrustAnchorChoice(readAlternative(node, path));
    verifySchema(node, TrustAnchorChoice.schema() as unknown as AsnNode, path);
    return c;
  }

  static fromDer(der: Bytes): TrustAnchorChoice {
    return TrustAnchorChoice.fromSchema(parseDer(der, TrustAnchorChoice.CLASS_NAME));
  }

  toSchema(): AsnNode {
    const c = this.value;
    switch (c.kind) {
      case 'certificate':
        return parseDer(c.der, 'certificate');
      case 'tbsCert':
        return explicit(1, parseDer(c.der, 'tbsCert'));
      case 'taInfo':
        return explicit(2, c.info.toSchema());
    }
  }

  toDer(): Uint8Array {
    return encodeNode(this.toSchema());
  }

  /** The certificate the choice carries (certificate, or taInfo.certPath.certificate), if any. */
  certificateDer(): Uint8Array | undefined {
    const c = this.value;
    if (c.kind === 'certificate') return c.der;
    if (c.kind === 'taInfo') return c.info.certPath?.certificate;
    return undefined;
  }

  /** DER SubjectPublicKeyInfo of the TA key. */
  spki(): Uint8Array | undefined {
    const c = this.value;
    if (c.kind === 'certificate') return new Uint8Array(c.certificate.subjectPublicKeyInfo.toSchema().toBER(false));
    if (c.kind === 'taInfo') return c.info.pubKey;
    return undefined;
  }
}

function readAlternative(node: AsnNode | undefined, path: string): TrustAnchorChoiceFields {
  if (node === undefined) throw new Asn1DecodeError('missing-field', path, 'absent');
  if (isUniversal(node, Tag.SEQUENCE)) {
    const der = encodeNode(node);
    try {
      return { kind: 'certificate', der, certificate: certificateFromDer(der) };
    } catch (e) {
      throw new Asn1DecodeError('bad-value', path, `not a Certificate: ${(e as Error).message}`, { cause: e });
    }
  }
  if (isContext(node, 1)) return { kind: 'tbsCert', der: encodeNode(explicitInner(node, 1, `${path}.tbsCert`)) };
  if (isContext(node, 2)) return { kind: 'taInfo', info: TrustAnchorInfo.fromSchema(explicitInner(node, 2, `${path}.taInfo`), `${path}.taInfo`) };
  throw new Asn1DecodeError('bad-tag', path, 'not a TrustAnchorChoice alternative');
}
