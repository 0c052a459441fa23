// What the plain peer's /csrattrs says (RFC 7030 §4.5.2, clarified by RFC 9908): CsrAttrs ::= SEQUENCE OF AttrOrOID,
// either the classic OID list (an id-ecPublicKey / rsaEncryption attribute naming the curve / key size, plus the
// signature algorithm OID) or the RFC 9908 §3.4 CertificationRequestInfoTemplate.
import * as asn1js from 'asn1js';
import { OID } from '../pki/oids.js';

export interface PlainCsrAttrsOptions {
  /** Key the server asks for (default p384). */
  key?: 'p384' | 'p256' | 'rsa3072' | 'rsa2048';
  /** Signature hash (default sha384 for p384, sha256 otherwise). */
  hash?: 'sha256' | 'sha384' | 'sha512';
  /** 'oids' (default, what libest serves) or 'template' (RFC 9908). */
  form?: 'oids' | 'template';
  /** Ask for challengePassword (RFC 7030 §3.5 / §4.5.2). */
  challengePassword?: boolean;
  /** Append a NUL byte after the base64 text (libest sends its C string terminator; default true). */
  trailingNul?: boolean;
}

const SIG: Record<string, Record<string, string>> = {
  ec: { sha256: OID.ecdsaWithSHA256, sha384: OID.ecdsaWithSHA384, sha512: OID.ecdsaWithSHA512 },
  rsa: { sha256: OID.sha256WithRSA, sha384: OID.sha384WithRSA, sha512: OID.sha512WithRSA },
};

const oid = (value: string): asn1js.ObjectIdentifier => new asn1js.ObjectIdentifier({ value });

export function signatureOidFor(o: PlainCsrAttrsOptions): string {
  const key = o.key ?? 'p384';
  const hash = o.hash ?? (key === 'p384' ? 'sha384' : 'sha256');
  return SIG[key.startsWith('rsa') ? 'rsa' : 'ec']![hash]!;
}

export function encodePlainCsrAttrs(o: PlainCsrAttrsOptions): Uint8Array {
  const key = o.key ?? 'p384';
  const isRsa = key.startsWith('rsa');
  const items: asn1js.AsnType[] = [];
  if ((o.form ?? 'oids') === 'oids') {
    // RFC 7030 §4.5.2 / RFC 9908 §3.2: Attribute { type = key algorithm, values = { curve OID | key size } }.
    const value = isRsa ? new asn1js.Integer({ value: key === 'rsa3072' ? 3072 : 2048 }) : oid(key === 'p384' ? OID.secp384r1 : OID.secp256r1);
    items.push(new asn1js.Sequence({ value: [oid(isRsa ? OID.rsaEncryption : OID.ecPublicKey), new asn1js.Set({ value: [value] })] }));
  } else {
    if (isRsa) throw new Error('the template form is only offered for EC keys here');
    // RFC 9908 §3.4: CertificationRequestInfoTemplate ::= SEQUENCE { version INTEGER { v1(0) }, subject NameTemplate
    // OPTIONAL, subjectPKInfo [0] SubjectPublicKeyInfoTemplate OPTIONAL, attributes [1] Attributes } (IMPLICIT TAGS);
    // SubjectPublicKeyInfoTemplate ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING OPTIONAL }.
    const spkiTemplate = new asn1js.Constructed({
      idBlock: { tagClass: 3, tagNumber: 0 },
      value: [new asn1js.Sequence({ value: [oid(OID.ecPublicKey), oid(key === 'p384' ? OID.secp384r1 : OID.secp256r1)] })],
    });
    const attributes = new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 1 }, value: [] });
    const template = new asn1js.Sequence({ value: [new asn1js.Integer({ value: 0 }), spkiTemplate, attributes] });
    items.push(new asn1js.Sequence({ value: [oid(OID.criTemplate), new asn1js.Set({ value: [template] })] }));
  }
  items.push(oid(signatureOidFor(o)));
  if (o.challengePassword) items.push(oid(OID.challengePassword));
  return new Uint8Array(new asn1js.Sequence({ value: items }).toBER(false));
}
