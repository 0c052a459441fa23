# ASN.1 that pyasn1-modules 0.2.8 does not have, written from the draft texts (not from this repository's code):
#  - draft-ietf-lamps-csr-attestation-28 §4.1 / Appendix B (module CSR-ATTESTATION-2025, IMPLICIT TAGS) and its TPM
#    appendix (tpm-appdx.md.donotbuild in the draft repository, unchanged since -09);
#  - draft-ietf-lamps-attestation-freshness-08 Appendix B (module Att-Fresh-Req, IMPLICIT TAGS, no tagged fields).
from pyasn1.type import constraint, namedtype, tag, univ
from pyasn1_modules import rfc5280, rfc5652

id_aa_attestation = univ.ObjectIdentifier('1.2.840.113549.1.9.16.2.59')
tcg_attest_tpm_certify = univ.ObjectIdentifier('2.23.133.20.1')
tcg_kp_AIKCertificate = univ.ObjectIdentifier('2.23.133.8.3')
# Not in the draft: the quote statement type implementations send (a placeholder, see TcgAttestQuote below).
tcg_attest_tpm_quote = univ.ObjectIdentifier('2.23.133.20.2')


# AttestationStatement ::= SEQUENCE { type ATTESTATION-STATEMENT.&id, stmt ATTESTATION-STATEMENT.&Type }
class AttestationStatement(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType('type', univ.ObjectIdentifier()),
        namedtype.NamedType('stmt', univ.Any()),
    )


# LimitedCertChoices ::= CertificateChoices (WITH COMPONENTS {certificate, other})
class LimitedCertChoices(univ.Choice):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType('certificate', rfc5280.Certificate()),
        namedtype.NamedType('other', rfc5652.OtherCertificateFormat().subtype(
            implicitTag=tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, 3))),
    )


class AttestationBundle(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType('attestations', univ.SequenceOf(componentType=AttestationStatement()).subtype(
            sizeSpec=constraint.ValueSizeConstraint(1, 1 << 30))),
        namedtype.OptionalNamedType('certs', univ.SequenceOf(componentType=LimitedCertChoices()).subtype(
            sizeSpec=constraint.ValueSizeConstraint(1, 1 << 30))),
    )


# Tcg-csr-tpm-certify ::= SEQUENCE { tpmSAttest OCTET STRING, signature OCTET STRING, tpmTPublic OCTET STRING OPTIONAL }
class TcgCsrTpmCertify(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType('tpmSAttest', univ.OctetString()),
        namedtype.NamedType('signature', univ.OctetString()),
        namedtype.OptionalNamedType('tpmTPublic', univ.OctetString()),
    )


# TcgAttestQuote ::= SEQUENCE { tpmSAttest OCTET STRING, signature OCTET STRING, pcrValues OCTET STRING OPTIONAL }
# (the certify layout with the quoted PCR values, concatenated in pcrSelect order, in place of tpmTPublic)
class TcgAttestQuote(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType('tpmSAttest', univ.OctetString()),
        namedtype.NamedType('signature', univ.OctetString()),
        namedtype.OptionalNamedType('pcrValues', univ.OctetString()),
    )


# NonceRequestTypeInfo ::= SEQUENCE { type OID, reqInfo ANY DEFINED BY type OPTIONAL } (and the response twin)
class NonceRequestTypeInfo(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType('type', univ.ObjectIdentifier()),
        namedtype.OptionalNamedType('reqInfo', univ.Any()),
    )


class NonceResponseTypeInfo(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType('type', univ.ObjectIdentifier()),
        namedtype.OptionalNamedType('respInfo', univ.Any()),
    )


# NonceRequest ::= SEQUENCE { len INTEGER (8..64) OPTIONAL, reqTypeInfo NonceRequestTypeInfo OPTIONAL }
class NonceRequest(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType('len', univ.Integer().subtype(subtypeSpec=constraint.ValueRangeConstraint(8, 64))),
        namedtype.OptionalNamedType('reqTypeInfo', NonceRequestTypeInfo()),
    )


# NonceResponse ::= SEQUENCE { nonce OCTET STRING (SIZE(0 | 8..64)), expiry INTEGER OPTIONAL,
#                              respTypeInfo NonceResponseTypeInfo OPTIONAL }
class NonceResponse(univ.Sequence):
    componentType = namedtype.NamedTypes(
        namedtype.NamedType('nonce', univ.OctetString().subtype(subtypeSpec=constraint.ConstraintsUnion(
            constraint.ValueSizeConstraint(0, 0), constraint.ValueSizeConstraint(8, 64)))),
        namedtype.OptionalNamedType('expiry', univ.Integer()),
        namedtype.OptionalNamedType('respTypeInfo', NonceResponseTypeInfo()),
    )
