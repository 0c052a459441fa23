// The SignedData of a certs-only message (RFC 5652 §5.1, RFC 8551 §3.6), decoded for reading only: the structure
// is checked here, but each CertificateChoices / RevocationInfoChoices element is matched as ANY and handed over as
// decoded, so every certificate is compared against the pkijs Certificate schema exactly once (by its parser)
// instead of once per CHOICE alternative and again by CertificateSet (what pkijs.SignedData does).
import * as asn1js from 'asn1js';

const VERSION = 'version';
const DIGEST_ALGORITHMS = 'digestAlgorithms';
const E_CONTENT_TYPE = 'eContentType';
const E_CONTENT = 'eContent';
const CERTIFICATES = 'certificates';
const CRLS = 'crls';
const SIGNER_INFOS = 'signerInfos';

/** The decoded fields a certs-only reader needs; the element arrays are the received blocks, in order. */
export class CertsOnlySignedData {
  version = 0;
  /** EncapsulatedContentInfo.eContentType (§5.2). */
  eContentType = '';
  /** EncapsulatedContentInfo.eContent, when present (§5.2: [0] EXPLICIT OCTET STRING). */
  eContent: asn1js.AsnType | undefined;
  /** CertificateSet elements (§10.2.3 CertificateChoices): a SEQUENCE is a Certificate, [0]–[3] are other choices. */
  certificates: asn1js.BaseBlock[] = [];
  /** RevocationInfoChoices elements (§10.2.1): a SEQUENCE is a CertificateList, [1] is OtherRevocationInfoFormat. */
  crls: asn1js.BaseBlock[] = [];
  signerInfoCount = 0;

  /** RFC 5652 §5.1 SignedData with the certificate and CRL choices as ANY (built once: the schema is only read). */
  static schema(): asn1js.Sequence {
    return (schemaMemo ??= new asn1js.Sequence({
      value: [
        new asn1js.Integer({ name: VERSION }),
        new asn1js.Set({ value: [new asn1js.Repeated({ name: DIGEST_ALGORITHMS, value: new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier(), new asn1js.Any({ optional: true })] }) })] }),
        // §5.2 EncapsulatedContentInfo
        new asn1js.Sequence({
          value: [
            new asn1js.ObjectIdentifier({ name: E_CONTENT_TYPE }),
            new asn1js.Constructed({ optional: true, idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.Any({ name: E_CONTENT })] }),
          ],
        }),
        // certificates [0] IMPLICIT CertificateSet OPTIONAL
        new asn1js.Constructed({ optional: true, idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.Repeated({ name: CERTIFICATES, value: new asn1js.Any() })] }),
        // crls [1] IMPLICIT RevocationInfoChoices OPTIONAL
        new asn1js.Constructed({ optional: true, idBlock: { tagClass: 3, tagNumber: 1 }, value: [new asn1js.Repeated({ name: CRLS, value: new asn1js.Any() })] }),
        // signerInfos SignerInfos (SET OF SignerInfo, each a SEQUENCE)
        new asn1js.Set({ value: [new asn1js.Repeated({ name: SIGNER_INFOS, value: new asn1js.Sequence({ value: [new asn1js.Repeated({ value: new asn1js.Any() })] }) })] }),
      ],
    }));
  }

  /** Throws Error (with the asn1js reason) when `schema` is not a SignedData. */
  static fromSchema(schema: asn1js.AsnType): CertsOnlySignedData {
    const asn1 = asn1js.compareSchema(schema, schema, CertsOnlySignedData.schema());
    if (!asn1.verified) throw new Error(`SignedData does not match RFC 5652 §5.1: ${(asn1.result as { error?: string }).error ?? 'schema mismatch'}`);
    const r = asn1.result as Record<string, unknown>;
    const out = new CertsOnlySignedData();
    out.version = (r[VERSION] as asn1js.Integer).valueBlock.valueDec;
    out.eContentType = (r[E_CONTENT_TYPE] as asn1js.ObjectIdentifier).valueBlock.toString();
    out.eContent = r[E_CONTENT] as asn1js.AsnType | undefined;
    out.certificates = (r[CERTIFICATES] as asn1js.BaseBlock[] | undefined) ?? [];
    out.crls = (r[CRLS] as asn1js.BaseBlock[] | undefined) ?? [];
    out.signerInfoCount = ((r[SIGNER_INFOS] as unknown[] | undefined) ?? []).length;
    return out;
  }
}

let schemaMemo: asn1js.Sequence | undefined;
