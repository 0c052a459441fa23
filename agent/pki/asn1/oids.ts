// OIDs used by the ASN.1 types in this folder. The research notes (draft versions, sections, disagreements)
// live in agent/attest/constants.ts, which re-exports these; they are defined here because agent/pki sits
// below agent/attest and must not import from it.

/** id-aa, SMI Security for S/MIME Attributes (RFC 5911). */
export const OID_ID_AA = '1.2.840.113549.1.9.16.2';
/** draft-ietf-lamps-csr-attestation-28 §4.3: id-aa-attestation ::= { id-aa 59 } (early-allocated as "id-aa-evidence"). */
export const OID_ID_AA_ATTESTATION = `${OID_ID_AA}.59`;
/** TCG arc 2.23.133; tcg-attest ::= { tcg 20 } (csr-attestation tpm-appdx.md.donotbuild "TCG OIDs"). */
export const OID_TCG_ATTEST = '2.23.133.20';
/** tcg-attest-tpm-certify ::= { tcg-attest 1 } — type of a TcgAttestCertify statement. */
export const OID_TCG_ATTEST_TPM_CERTIFY = `${OID_TCG_ATTEST}.1`;
/** tcg-kp-AIKCertificate (EKU of an AK certificate) ::= { tcg 8 3 }. */
export const OID_TCG_KP_AIK_CERTIFICATE = '2.23.133.8.3';
/** id-it, CMP InfoTypeAndValue arc (RFC 9810). */
export const OID_ID_IT = '1.3.6.1.5.5.7.4';
/**
 * id-it-nonceRequest ::= { id-it TBD1 } — NOT allocated by IANA (draft-ietf-lamps-attestation-freshness-08 §5).
 * Placeholder 99, the value siemens/cmp-ra-component uses for TBD1; replace once IANA assigns it.
 */
export const OID_ID_IT_NONCE_REQUEST = `${OID_ID_IT}.99`;
/** id-it-nonceResponse ::= { id-it TBD2 } — NOT allocated; placeholder 100 (siemens/cmp-ra-component's TBD2). */
export const OID_ID_IT_NONCE_RESPONSE = `${OID_ID_IT}.100`;
/** id-cmc, CMC control arc (RFC 5272 §6). */
export const OID_ID_CMC = '1.3.6.1.5.5.7.7';
/**
 * id-cmc-nonceReq ::= { id-cmc TBD4 } and id-cmc-nonceResp ::= { id-cmc TBD5 } — NOT allocated by IANA
 * (draft-ietf-lamps-attestation-freshness-08 §7). PLACEHOLDERS 99/100 (mirroring the CMP ones); configurable.
 */
export const OID_ID_CMC_NONCE_REQ = `${OID_ID_CMC}.99`;
export const OID_ID_CMC_NONCE_RESP = `${OID_ID_CMC}.100`;
