// ACME (RFC 8555) media types, resource names and the remote-attestation challenge (draft-ietf-acme-rats).
/** RFC 8555 §6.2: every POST body is a flattened JWS of this type. */
export const JOSE_JSON = 'application/jose+json';
/** RFC 8555 §6.7 / RFC 7807. */
export const PROBLEM_JSON = 'application/problem+json';
/** RFC 8555 §9.1: certificate download. */
export const PEM_CERTIFICATE_CHAIN = 'application/pem-certificate-chain';
/** RFC 8555 §6.7 error namespace. */
export const ACME_ERROR_NS = 'urn:ietf:params:acme:error:';

/**
 * The remote-attestation challenge. draft-ietf-acme-rats (-01) lets the server challenge the client for RATS
 * evidence wrapped in a CMW; the challenge type string here follows the issue that specified this work
 * ("remote-attest-01"). Not verified against the draft text: a server using another name is answered by
 * configuring challengePreference.
 */
export const REMOTE_ATTEST_01 = 'remote-attest-01';
/**
 * The CMW (draft-ietf-rats-msg-wrap JSON record: [media type, base64url value]) media type enrolld uses for its
 * evidence: a DER AttestationBundle (draft-ietf-lamps-csr-attestation) holding a TPM2_Certify statement of the key
 * to be certified, whose qualifyingData is SHA-256 of the challenge's key authorization (RFC 8555 §8.1).
 */
export const CMW_ATTESTATION_BUNDLE = 'application/vnd.enrolld.attestation-bundle+der';

export type OrderStatus = 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';
export type AuthzStatus = 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';
export type ChallengeStatus = 'pending' | 'processing' | 'valid' | 'invalid';
