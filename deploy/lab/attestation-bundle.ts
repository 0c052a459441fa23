// The CSR attestation attribute as the lab reads it (draft-ietf-lamps-csr-attestation §5 ASN.1 module):
//   id-aa-attestation OBJECT IDENTIFIER ::= { id-aa 59 }                       -- 1.2.840.113549.1.9.16.2.59
//   AttestationStatement ::= SEQUENCE { type OBJECT IDENTIFIER, stmt ANY DEFINED BY type, attrs SEQUENCE OF Attribute OPTIONAL }
//   AttestationBundle ::= SEQUENCE { attestations SEQUENCE SIZE (1..MAX) OF AttestationStatement,
//                                    certs SEQUENCE SIZE (1..MAX) OF LimitedCertChoices OPTIONAL }
//   LimitedCertChoices ::= CertificateChoices (WITH COMPONENTS {certificate, other})
// and the TPM2_Certify statement (TCG, tcg-attest-tpm-certify 2.23.133.20.1; the draft's appendix):
//   TcgAttestCertify ::= SEQUENCE { tpmSAttest OCTET STRING, signature OCTET STRING, tpmTPublic OCTET STRING OPTIONAL }
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { der } from './pki/der.js';

export const OID_ID_AA_ATTESTATION = '1.2.840.113549.1.9.16.2.59';
export const OID_TCG_ATTEST_TPM_CERTIFY = '2.23.133.20.1';
/** TCG EK Credential Profile: tcg-kp-AIKCertificate. */
export const OID_TCG_KP_AIK_CERTIFICATE = '2.23.133.8.3';

export class BundleError extends Error {}

export interface Statement {
  type: string;
  stmt: asn1js.AsnType;
}

export interface Bundle {
  attestations: Statement[];
  /** The X.509 certificates of `certs` (the "other" choice is skipped), in order. */
  certificates: pkijs.Certificate[];
}

export interface TcgAttestCertify {
  tpmSAttest: Uint8Array;
  signature: Uint8Array;
  tpmTPublic?: Uint8Array;
}

const children = (n: asn1js.AsnType, path: string): asn1js.AsnType[] => {
  if (!(n instanceof asn1js.Sequence)) throw new BundleError(`${path} is not a SEQUENCE`);
  return n.valueBlock.value as asn1js.AsnType[];
};

/** An AttestationBundle value (DER or decoded). */
export function readBundle(node: asn1js.AsnType | Uint8Array): Bundle {
  const top = node instanceof Uint8Array ? der(node, 'AttestationBundle') : node;
  const kids = children(top, 'AttestationBundle');
  if (kids.length < 1 || kids.length > 2) throw new BundleError(`AttestationBundle has ${kids.length} elements, expected 1 or 2`);
  const stmts = children(kids[0]!, 'AttestationBundle.attestations');
  if (stmts.length === 0) throw new BundleError('AttestationBundle.attestations is empty (SIZE (1..MAX))');
  const attestations = stmts.map((s, i) => {
    const f = children(s, `attestations[${i}]`);
    if (f.length < 2 || f.length > 3 || !(f[0] instanceof asn1js.ObjectIdentifier)) throw new BundleError(`attestations[${i}] is not { type, stmt, attrs? }`);
    if (f.length === 3 && !(f[2] instanceof asn1js.Sequence)) throw new BundleError(`attestations[${i}].attrs is not a SEQUENCE`);
    return { type: f[0].getValue(), stmt: f[1]! };
  });
  const certificates: pkijs.Certificate[] = [];
  if (kids.length === 2) {
    const certs = children(kids[1]!, 'AttestationBundle.certs');
    if (certs.length === 0) throw new BundleError('AttestationBundle.certs is empty (SIZE (1..MAX))');
    certs.forEach((c, i) => {
      if (!(c instanceof asn1js.Sequence)) return; // other [3] CertificateChoices: not X.509, skipped
      try {
        certificates.push(new pkijs.Certificate({ schema: c }));
      } catch (e) {
        throw new BundleError(`certs[${i}] is not an X.509 certificate: ${(e as Error).message}`);
      }
    });
  }
  return { attestations, certificates };
}

/** The AttestationBundle of a CSR's id-aa-attestation attribute; undefined without one. */
export function csrBundle(csr: pkijs.CertificationRequest): Bundle | undefined {
  const attrs = (csr.attributes ?? []).filter((a) => a.type === OID_ID_AA_ATTESTATION);
  if (attrs.length === 0) return undefined;
  if (attrs.length > 1) throw new BundleError('more than one id-aa-attestation attribute');
  const values = attrs[0]!.values ?? [];
  if (values.length !== 1) throw new BundleError(`id-aa-attestation must hold exactly one AttestationBundle, has ${values.length}`);
  return readBundle(values[0] as asn1js.AsnType);
}

/** The stmt of a tcg-attest-tpm-certify statement. */
export function readTcgAttestCertify(stmt: asn1js.AsnType): TcgAttestCertify {
  const f = children(stmt, 'TcgAttestCertify');
  if (f.length < 2 || f.length > 3 || !f.every((x) => x instanceof asn1js.OctetString)) throw new BundleError('TcgAttestCertify is not SEQUENCE { OCTET STRING, OCTET STRING, OCTET STRING OPTIONAL }');
  const oct = (x: asn1js.AsnType): Uint8Array => new Uint8Array((x as asn1js.OctetString).valueBlock.valueHexView);
  return { tpmSAttest: oct(f[0]!), signature: oct(f[1]!), ...(f[2] ? { tpmTPublic: oct(f[2]) } : {}) };
}
