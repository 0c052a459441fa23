// Attestation constants, and what the specifications said when this was written (checked against the drafts'
// own repositories; editor's copies newer than the last numbered draft are noted).
//
// CSR ATTESTATION — draft-ietf-lamps-csr-attestation-29 (2 September 2026), wire format unchanged from -28 (16 June
// 2026; repo lamps-wg/csr-attestation, HEAD = tag -28). -29 read from the WG repository's gh-pages copy
// draft-ietf-lamps-csr-attestation-29/ (570a4b8): Appendix B (module CSR-ATTESTATION-2025) is identical to -28's
// CSR-ATTESTATION-2025.asn, and so are §4.1 AttestationStatement/AttestationBundle/LimitedCertChoices and §4.3
// id-aa-attestation { id-aa 59 }, attr-attestations COUNTS MAX 1, ext-attestations. The changes are prose: §4.1
// rewords the CertificateChoices rule (only certificate or other; v2AttrCert excluded because it holds no subject
// public key) and when certs SHOULD carry the signer's certificate; §4.2 adds that the draft "does not define,
// allocate, or register an OID for any attestation-statement format" (a format's author assigns one from its own
// arc), which is why the quote OID below stays a placeholder; §4.3 now cites CMW as RFC 9999; §6.2 cites RFC 9810.
// Section numbers are the same as -28's. A server on -28 sees exactly what a -29 server sees.
// - §4.1 / Appendix B (module CSR-ATTESTATION-2025, DEFINITIONS IMPLICIT TAGS):
//     AttestationStatement ::= SEQUENCE { type OID, stmt ANY DEFINED BY type }           -- no hint
//     AttestationBundle ::= SEQUENCE { attestations SEQUENCE SIZE (1..MAX) OF AttestationStatement,
//                                      certs SEQUENCE SIZE (1..MAX) OF LimitedCertChoices OPTIONAL }
//     LimitedCertChoices = CertificateChoices WITH COMPONENTS {certificate, other [3] IMPLICIT}
// - §4.3: id-aa-attestation ::= { id-aa 59 } = 1.2.840.113549.1.9.16.2.59; attr-attestation TYPE AttestationBundle
//   COUNTS MAX 1 (at most one attribute, exactly one AttestationBundle value); the same OID as a CRMF extension.
//   §5.2: .59 was early-allocated by IANA as "id-aa-evidence"; the draft asks only to rename it.
// - History (this is where the task brief's description comes from, it is NOT the current text):
//     -08..-10 (2024): EvidenceStatement {type, stmt, hint UTF8String OPTIONAL}, EvidenceBundle {evidences, certs},
//                      attribute value EvidenceBundles ::= SEQUENCE SIZE (1..MAX) OF EvidenceBundle.
//     -11..-16: attribute value is a single EvidenceBundle.  -17..-22: hint became IA5String.
//     -23 (Feb 2026): renamed to AttestationStatement/AttestationBundle/attestations, hint removed, OID renamed.
//   CHOSEN: the -28 structures. The pre-23 hint can be read with { allowLegacyHint: true } but is never written.
// - TPM 2.0 statement: the TPM appendix left the draft in -22 (kept as tpm-appdx.md.donotbuild in the repo);
//   the structure is unchanged since -09:  Tcg-csr-tpm-certify ::= SEQUENCE { tpmSAttest OCTET STRING,
//   signature OCTET STRING, tpmTPublic OCTET STRING OPTIONAL }, type OID tcg-attest-tpm-certify 2.23.133.20.1.
//   There is no keyAlgorithm field in any version (-07 and older had a tagged TPM2B_* layout, not supported).
//   The AK certificate travels in AttestationBundle.certs (AK cert EKU tcg-kp-AIKCertificate 2.23.133.8.3).
// - Re-check (3 December 2026): -29 checked (above). The git snapshot of the WG repository still ends at tag -28
//   (02aed20, archive bdae9fe); the -29 text is in the stored gh-pages build, not in that snapshot.
// - Samples: draft repo sampledata/tcgAttestTpmCertify.pem is the -17..-21 format (IA5String hint
//   "tpmverifier.example.com"; its self-signature does not verify); mwiseman32/csr-attestation-tpm-example
//   sample_data/key1-csr.der (commit 3bdcd3b, "updated to reflect draft version -24") is the current format,
//   self-signature verifies. Neither is committed here (see test/fixtures/attest/README.md).
//
// TPM QUOTE (platform evidence beside the certify statement) — NOT in draft-ietf-lamps-csr-attestation-28
// - Neither the -28 text nor its repository (HEAD 02aed20, incl. tpm-appdx.md.donotbuild and the ASN.1 modules)
//   defines a TPM2_Quote statement; no TCG registry entry under tcg-attest (2.23.133.20) other than .1 was found.
// - Implementations already send one: the Siemens RATS/CMP demos and their openssl client (rats_csr_asn.h, citing
//   draft-ietf-lamps-csr-attestation-24 and draft-birkholz-rats-tcg-tpm2-attestation) use
//     TcgAttestQuote ::= SEQUENCE { tpmSAttest OCTET STRING, signature OCTET STRING, pcrValues OCTET STRING OPTIONAL }
//   with type OID 2.23.133.20.2 ("tcg-attest-tpm-quote" below).
// - CHOSEN: that structure and OID, as a PLACEHOLDER (config attestation.quoteOid overrides it). tpmSAttest is the
//   TPMS_ATTEST of TPM2_Quote (TPM 2.0 Part 2 §10.12.12, TPMS_QUOTE_INFO §10.12.4: pcrSelect + pcrDigest) with the
//   same freshness nonce as qualifyingData as the certify statement, signed by the same AK; pcrValues is our
//   definition: the raw PCR values concatenated in pcrSelect order (what pcrDigest hashes, Part 1 §17.6.1).
// - -28 has no explicit "ignore unknown types" rule: AttestationStatementSet is extensible (§4.1, "..."), and
//   §7 says the CA/RA "is also free to discard the additional information without processing". A verifier that
//   picks its statement by type (as the lab's certify check does) skips the quote and sees the certify
//   statement exactly as before; one that rejects any unknown type would refuse — set attestation.pcrs to [].
//
// FRESHNESS NONCE — draft-ietf-lamps-attestation-freshness-08 (4 July 2026; repo lamps-wg/lamps-attestation-freshness,
// editor's copy aedda15 of 21 July 2026 differs only editorially and in fixing the Appendix A example)
// - EST (§6.1): GET or POST /.well-known/est/nonce; POST body and 200 response use media type
//   application/est-attestation-freshness+json. ONE JSON OBJECT each way (not an array):
//     request  { ? "len": 8..64 (bytes), ? "reqTypeInfo": { "type": "<dotted OID>", ? "reqInfo": any } }
//     response { "nonce": "" | unpadded base64url of 8..64 bytes ([A-Za-z0-9_-]{11,86}),
//                ? "expiry": uint (SECONDS of validity, relative), ? "respTypeInfo": { "type", ? "respInfo" } }
//   "" nonce = the RA/CA needs no freshness proof (still 200). Errors: 400 with no nonce content; 503 when the
//   request is fine but the server is unable or unwilling. GET when there is nothing to send.
//   CBOR twin for EST-coaps: application/est-attestation-freshness+cbor (nonce as a byte string).
// - CMP (§5): genm InfoTypeAndValue { id-it-nonceRequest (TBD1), NonceRequest }, genp { id-it-nonceResponse (TBD2),
//   NonceResponse }; HTTP path segment "getnonce" (CoAP "nonce"). CMC (§7): controls id-cmc-nonceReq (TBD4),
//   id-cmc-nonceResp (TBD5). NONE of TBD1/2/4/5 is allocated.
//     NonceRequest  ::= SEQUENCE { len INTEGER (8..64) OPTIONAL, reqTypeInfo NonceRequestTypeInfo OPTIONAL }
//     NonceResponse ::= SEQUENCE { nonce OCTET STRING (SIZE(0 | 8..64)), expiry INTEGER OPTIONAL,
//                                  respTypeInfo NonceResponseTypeInfo OPTIONAL }
//     Nonce{Request,Response}TypeInfo ::= SEQUENCE { type OID, reqInfo/respInfo ANY DEFINED BY type OPTIONAL }
// - History: -06 (April 2026), the source of the first format implemented here, had a JSON ARRAY of
//   {len, type, hint} → [{nonce (padded base64), expiry (RFC 3339 timestamp), type, hint}], media type
//   application/json, and CMP NonceRequest {len, type, hint} / NonceResponseValue SEQUENCE OF NonceResponse.
//   -07 dropped hint and made expiry seconds; -08 grouped type/info into reqTypeInfo/respTypeInfo.
//   siemens/cmp-ra-component (branch feat_generic_RAT_impl, Jan 2026) implements a pre-07 variant
//   (SEQUENCE OF {len, type, hint UTF8String, vendorextension}) with placeholder id-it 99 / 100.
//   CHOSEN: -08 everywhere. For the unallocated CMP InfoTypes we use Siemens' placeholders 99/100 so a lab run
//   against that RA has a chance to line up; they MUST be replaced once IANA assigns TBD1/TBD2.
// - The response type "is defined by the type in the nonce request" — it need not equal the request type.
// - Operational (§9): nonces ≥ 64 bits of entropy, unique, never reused; bound outstanding nonces, short lifetimes.
// - Binding (§6.1 EST, §7 CMC, §5 CMP): the server MUST associate the nonce exchange with the CSR request — EST by
//   the same (D)TLS session or an HTTP cookie, CMC by the SAME transactionId in nonce request and CSR request (the
//   nonce request SHOULD be an id-data PKIData: unsigned), CMP by the same transactionID. The agent therefore
//   sends the EST /nonce and the CSR on one keep-alive connection with one cookie jar and the same client
//   identity, and continues the genm / nonce PKIData transaction in the certificate request.
// - Version check (December 2026): -09 is reported published in October 2026 but is not in the WG repository
//   (its newest commit is aedda15 of 21 July 2026, tags -06..-08) nor in any stored copy found; the text followed
//   is -08 + that editor's copy. A server still on -06/-07 sees from us: EST a JSON object where it expects an
//   array (-06) or {len, type} without reqTypeInfo (-07), and it answers 400; CMP/CMC a NonceRequest with
//   reqTypeInfo where it expects {len, type, hint} — a decode error in the genp/CMC response, never a nonce we
//   would put into evidence.
// - Re-check (2 December 2026): -09 (17 October 2026) exists per its datatracker bibxml entry (title and abstract,
//   the same as -08's); its body could not be read, so it stays unchecked. WG repository: nothing after aedda15 on
//   main. Unmerged branch est-registry (28e21e4, 17 July 2026) proposes an "EST Well-Known URI Path Segments"
//   registry listing `getnonce` (HTTP) and `nonce` (CoAP) for the nonce operation, while -08 §6.1 and aedda15 use
//   /.well-known/est/nonce. If a later draft adopts it, the EST HTTP path (EST_NONCE_OPERATION) changes; not done here.
// - Re-check (3 December 2026): the -09 body is still not readable. Tried: find_files for
//   draft-ietf-lamps-attestation-freshness-09.{txt,xml} and for a -09 directory in the WG repository's stored gh-pages
//   files (directories exist for -06, -07, -08 only; the root editor's copy stored is of November 2025); a fresh git
//   snapshot of lamps-wg/lamps-attestation-freshness (main still aedda15, tags -06..-08, newest ref the pull request
//   merge e120bd4 of 21 July 2026); find_string "lamps-attestation-freshness-09" (no hit); search in the pages and code
//   corpora (IETF archive mirrors hold -03..-07 only). csr-attestation-29 (2 September 2026) still cites -08.
//   The agent stays on -08.

export {
  OID_ID_AA,
  OID_ID_AA_ATTESTATION,
  OID_TCG_ATTEST,
  OID_TCG_ATTEST_TPM_CERTIFY,
  OID_TCG_KP_AIK_CERTIFICATE,
  OID_ID_IT,
  OID_ID_IT_NONCE_REQUEST,
  OID_ID_IT_NONCE_RESPONSE,
  OID_ID_CMC_NONCE_REQ,
  OID_ID_CMC_NONCE_RESP,
} from '../pki/asn1/oids.js';
import { OID_ID_AA_ATTESTATION, OID_ID_CMC_NONCE_REQ, OID_ID_CMC_NONCE_RESP, OID_ID_IT_NONCE_REQUEST, OID_ID_IT_NONCE_RESPONSE } from '../pki/asn1/oids.js';

/**
 * The freshness OIDs the draft leaves TBD (freshness-08 §5 TBD1/TBD2, §7 TBD4/TBD5). Every value here is a
 * PLACEHOLDER, not an IANA assignment: config `attestation.freshnessOids` overrides each one so the agent can
 * follow a server (or a final RFC) without a new build. A server using other values answers a genm without a
 * nonceResponse (CMP: CmpProtocolError "genp without id-it-nonceResponse") or a CMC response without the
 * nonceResp control (CmcProtocolError), never a silently accepted nonce.
 */
export interface FreshnessOids {
  cmpNonceRequest: string;
  cmpNonceResponse: string;
  cmcNonceRequest: string;
  cmcNonceResponse: string;
}
export const FRESHNESS_OID_PLACEHOLDERS: Readonly<FreshnessOids> = Object.freeze({
  cmpNonceRequest: OID_ID_IT_NONCE_REQUEST,
  cmpNonceResponse: OID_ID_IT_NONCE_RESPONSE,
  cmcNonceRequest: OID_ID_CMC_NONCE_REQ,
  cmcNonceResponse: OID_ID_CMC_NONCE_RESP,
});

/**
 * The quote statement type. PLACEHOLDER: the value implementations use for TcgAttestQuote (see above), not defined by
 * the draft or a published TCG registry; config `attestation.quoteOid` overrides it.
 */
export const OID_TCG_ATTEST_TPM_QUOTE_PLACEHOLDER = '2.23.133.20.2';

/** PCR banks `attestation.pcrBank` may name (TPM_ALG ids in TPM 2.0 Part 2 §6.3). */
export const PCR_BANKS = ['sha1', 'sha256', 'sha384', 'sha512', 'sm3-256', 'sha3-256', 'sha3-384', 'sha3-512'] as const;
export type PcrBank = (typeof PCR_BANKS)[number];
export const PCR_BANK_ALG: Readonly<Record<PcrBank, number>> = Object.freeze({
  sha1: 0x0004, sha256: 0x000b, sha384: 0x000c, sha512: 0x000d, 'sm3-256': 0x0012, 'sha3-256': 0x0027, 'sha3-384': 0x0028, 'sha3-512': 0x0029,
});

/** @deprecated early-allocation name of the same OID (IANA registry still says "id-aa-evidence"). */
export const OID_ID_AA_EVIDENCE = OID_ID_AA_ATTESTATION;

/** EST operation path (freshness-08 §6) under /.well-known/est/ (and /.well-known/est/<label>/). */
export const EST_NONCE_OPERATION = 'nonce';
export const EST_NONCE_PATH = '/.well-known/est/nonce';
/** CMP over HTTP operation path segment (freshness-08 §5). */
export const CMP_NONCE_OPERATION = 'getnonce';
/** Media types (freshness-08 §6.1, §6.2). */
export const MEDIA_TYPE_NONCE_JSON = 'application/est-attestation-freshness+json';
export const MEDIA_TYPE_NONCE_CBOR = 'application/est-attestation-freshness+cbor';
/** Nonce length bounds in bytes (freshness-08 §3.1, §4). */
export const NONCE_MIN_BYTES = 8;
export const NONCE_MAX_BYTES = 64;
