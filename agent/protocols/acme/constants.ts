// ACME (RFC 8555) media types, resource names and the remote-attestation challenge (draft-ietf-acme-rats).
/** RFC 8555 §6.2: every POST body is a flattened JWS of this type. */
export const JOSE_JSON = 'application/jose+json';
/** RFC 8555 §6.7 / RFC 7807. */
export const PROBLEM_JSON = 'application/problem+json';
/** RFC 8555 §9.1: certificate download. */
export const PEM_CERTIFICATE_CHAIN = 'application/pem-certificate-chain';
/** RFC 8555 §6.7 error namespace. */
export const ACME_ERROR_NS = 'urn:ietf:params:acme:error:';

// REMOTE ATTESTATION — draft-ietf-acme-rats-02 (checked 3 December 2026), wire format unchanged from -01 (2 March 2026).
// -02 body read from the WG repository's editor's copy of branch draft-ietf-acme-rats-02 (gh-pages build 7b07fff,
// dated 3 September 2026, marked "same as main"). Compared with -01 (main 67616ee, 13 January 2026) the body is the
// same text: §2.1 identifier, §2.2 / §2.2.1 challenge object (freshness_nonce, attestClaimsHint,
// verifierEncryptionCredential), §2.2.2 response, §3 example flow, §4 / §7.1 hint registry, §6. Only the references
// moved (msg-wrap-23 is still cited; ar4si-10, csr-attestation-29, posture-assessment-04, pkix-key-attestation-07).
// That build lists three authors; the archived -02 XML front matter lists a fourth (G. Mallaya), so the submitted
// -02 may differ in front matter. Nothing here changed for -02. A server on -01 sees exactly what a -02 server sees.
// - §"'remote-attestation' identifier": newOrder may list { "type": "remote-attestation", "value": <hint> } beside the
//   real identifiers ("" = whatever the client can attest; registry hints "hsm", "measured_boot", …). Not a name:
//   it never goes into the CSR or the certificate. The server answers with an authorization of its own for it.
// - §"remote-attest-01 Challenge Object": RFC 8555 §8 fields plus freshness_nonce (required string: the Client
//   SHOULD use it as the attestation freshness nonce), attestClaimsHint (optional), verifierEncryptionCredential
//   (optional; the text says both "a URL where the Client can fetch the encryption public key" and "an encryption key
//   in JWK format", SHOULD be a JWK, MAY be a DER or PEM X.509 certificate; accepted here: a JWK object, an https URL
//   fetched by POST-as-GET, a PEM certificate string). No `token`: RFC 8555's token is optional for this type.
//   The draft does not say how the string maps to bytes; its example ("yoW1RL2zPBzYEHBQ06Jy") is base64url, so the
//   base64url DECODED bytes are the TPM qualifyingData (TPM2B_DATA: at most 64 bytes).
// - §"remote-attest-01 Response": the POST body "MUST be a raw JSON or CBOR CMW", with a verifierEncryptionCredential
//   "the entire CMW payload MUST be placed inside a JWE" (RFC 7516; the example is a compact JWE). RFC 8555 §6.2 still
//   requires every POST to be a JWS (application/jose+json), so the CMW (or the compact JWE) is the JWS payload,
//   byte for byte. The draft's examples label the HTTP body application/cmw+cbor / application/jwt; a server that
//   parses the HTTP body itself instead of the JWS payload would not understand any RFC 8555 client.
// - Older texts: draft-liu-acme-rats-02 and draft-ietf-acme-rats-00 (12 Dec 2025) had a "trustworthy" identifier
//   and attestation-result-01 / attestation-evidence-01 challenges whose REQUIRED `token` carried the nonce. A server
//   on -00 never offers remote-attest-01 (the agent finds no challenge it can answer: a typed error and backoff) and
//   answers newOrder's remote-attestation identifier with rejectedIdentifier/unsupportedIdentifier (then leave
//   acme.remoteAttestation unset). A server expecting what enrolld sent before (a {"cmw": [...]} object,
//   extraData = SHA-256(keyAuthorization)) gets a bare CMW array and extraData = the freshness_nonce: it refuses.
//
// CMW — draft-ietf-rats-msg-wrap-23 (repo ietf-rats-wg/draft-ietf-rats-msg-wrap, tag -23 = f45f5a1, 10 Dec 2025),
// published as RFC 9999 (July 2026). Re-checked 3 December 2026: the RFC body is still not readable here (the stored
// copies give its abstract only; the repository ends at f45f5a1 / archive 851df43), so the RFC text is NOT checked.
// What was readable: the IANA media type entries application/cmw+cbor, +jws and +cose now name RFC 9999 as the
// published specification and "Section 8 of RFC 9999" as security considerations (the -22 entries said Section 9),
// consistent with the RFC dropping -23's §7 Implementation Status (so -23 §8/§9 are RFC §7/§8; §3 Record/Tag/
// Collection CMW and §4 would keep their numbers). Type names and the cmwc_t parameter are unchanged in those entries.
// application/cmw+json's entry was not seen. Nothing the agent sends depends on the difference.
//   json-record = [ type: media-type, value: base64url-string, ? ind: uint .bits cm-type ]  (cm-type evidence = bit 2)
//   media types application/cmw+json and application/cmw+cbor.

/** The challenge type (draft-ietf-acme-rats-01/-02 §2.2). */
export const REMOTE_ATTEST_01 = 'remote-attest-01';
/** The identifier type a client lists in newOrder to offer attestation (draft-ietf-acme-rats-01/-02 §2.1). */
export const IDENTIFIER_REMOTE_ATTESTATION = 'remote-attestation';
/** msg-wrap-23 media type of a JSON CMW: the JWE content type (cty) when the CMW is encrypted. */
export const CMW_JSON = 'application/cmw+json';
/** msg-wrap-23 §"CMW Indicators": the record's `ind` bit for Evidence (bit 2). */
export const CMW_IND_EVIDENCE = 1 << 2;
/**
 * The record's media type: a DER AttestationBundle (draft-ietf-lamps-csr-attestation) with one TPM2_Certify statement
 * (tcg-attest-tpm-certify) and the AK certificate chain. No registered media type exists for it; RFC 6838 §3.2 puts
 * unregistered types in the vendor tree.
 */
export const CMW_ATTESTATION_BUNDLE = 'application/vnd.enrolld.attestation-bundle+der';
/** TPM2B_DATA (qualifyingData) holds at most sizeof(TPMU_HA) = 64 bytes (TPM 2.0 Part 2 §10.4.3). */
export const FRESHNESS_NONCE_MAX_BYTES = 64;
/** JWE algorithms used towards a verifierEncryptionCredential (RFC 7518 §4.3, §4.6, §5.3). */
export const JWE_ENC = 'A256GCM';
export const JWE_ALG_RSA = 'RSA-OAEP-256';
export const JWE_ALG_ECDH = 'ECDH-ES+A256KW';

export type OrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';
export type AuthzStatus = 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';
export type ChallengeStatus = 'pending' | 'processing' | 'valid' | 'invalid';
