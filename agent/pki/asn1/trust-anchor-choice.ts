// RFC 5914 §2 TrustAnchorChoice ::= CHOICE {
//   certificate  Certificate,
//   tbsCert      [1] EXPLICIT TBSCertificate,
//   taInfo       [2] EXPLICIT TrustAnchorInfo }
// tbsCert is decoded only as far as its tag (kept as DER); enrolld stores certificate and taInfo-with-certificate TAs.
import * as asn1js from 'asn1js';
import type * as pkijs from 'pkijs';
import { Asn1DecodeError } from './errors.js';
import { type AsnNode, type Bytes, Tag, encodeNode, isUniversal, parseDer } from './der.js';
import { certificateFromDer } from '../cert.js';
import { explicit, explicitInner } from './tamp-fields.js';
import { TrustAnchorInfo } from './trust-anchor-info.js';

export type TrustAnchorChoice =
  | { kind: 'certificate'; der: Uint8Array; certificate: pkijs.Certificate }
  | { kind: 'tbsCert'; der: Uint8Array }
  | { kind: 'taInfo'; info: TrustAnchorInfo };

export function trustAnchorChoiceFromNode(node: AsnNode | undefined, path: string): TrustAnchorChoice {
  if (node === undefined) throw new Asn1DecodeError('missing-field', path, 'absent');
  if (isUniversal(node, Tag.SEQUENCE)) {
    const der = encodeNode(node);
    try {
      return { kind: 'certificate', der, certificate: certificateFromDer(der) };
    } catch (e) {
      throw new Asn1DecodeError('bad-value', path, `not a Certificate: ${(e as Error).message}`, { cause: e });
    }
  }
  const b = node as asn1js.BaseBlock;
  if (b.idBlock.tagClass === 3 && b.idBlock.tagNumber === 1) return { kind: 'tbsCert', der: encodeNode(explicitInner(node, 1, `${path}.tbsCert`)) };
  if (b.idBlock.tagClass === 3 && b.idBlock.tagNumber === 2) return { kind: 'taInfo', info: TrustAnchorInfo.fromSchema(explicitInner(node, 2, `${path}.taInfo`), `${path}.taInfo`) };
  throw new Asn1DecodeError('bad-tag', path, 'not a TrustAnchorChoice alternative');
}

export function trustAnchorChoiceFromDer(der: Bytes): TrustAnchorChoice {
  return trustAnchorChoiceFromNode(parseDer(der, 'TrustAnchorChoice'), 'TrustAnchorChoice');
}

export function trustAnchorChoiceToSchema(c: TrustAnchorChoice): AsnNode {
  switch (c.kind) {
    case 'certificate':
      return parseDer(c.der, 'certificate');
    case 'tbsCert':
      return explicit(1, parseDer(c.der, 'tbsCert'));
    case 'taInfo':
      return explicit(2, c.info.toSchema());
  }
}

export const trustAnchorChoiceToDer = (c: TrustAnchorChoice): Uint8Array => encodeNode(trustAnchorChoiceToSchema(c));

/** The certificate a choice carries (certificate, or taInfo.certPath.certificate), if any. */
export function trustAnchorCertificate(c: TrustAnchorChoice): Uint8Array | undefined {
  if (c.kind === 'certificate') return c.der;
  if (c.kind === 'taInfo') return c.info.certPath?.certificate;
  return undefined;
}

/** DER SubjectPublicKeyInfo of the TA key. */
export function trustAnchorSpki(c: TrustAnchorChoice): Uint8Array | undefined {
  if (c.kind === 'certificate') return new Uint8Array(c.certificate.subjectPublicKeyInfo.toSchema().toBER(false));
  if (c.kind === 'taInfo') return c.info.pubKey;
  return undefined;
}
