// Typed CMC failures. HTTP-level failures of /fullcmc are the EST errors (EstHttpError/EstAuthError), unchanged.
import { EnrolldError } from '../../util/errors.js';
import type { CmcFailInfoName, CmcStatusName } from './constants.js';
import type { TaggedAttribute } from './tagged-attribute.js';

export type CmcProtocolReason =
  | 'media-type' // the response is not application/pkcs7-mime (smime-type=CMC-response)
  | 'malformed' // base64/DER/CMS/PKIResponse does not decode
  | 'content-type' // the SignedData does not encapsulate the expected content type
  | 'signature' // the SignedData signature does not verify
  | 'untrusted-signer' // the signer's certificate does not validate to the configured CA trust anchor
  | 'transaction-id' // transactionId missing or not ours
  | 'recipient-nonce' // recipientNonce missing or not our senderNonce
  | 'no-status' // no statusInfoV2 for our request
  | 'key-mismatch' // success, but no certificate certifies the requested key
  | 'pending-info' // pending without a pendToken
  | 'nonce' // no (or more than one) nonce response control answering our nonce request (freshness-08 §7)
  | 'pop' // encryptedPOP missing/unusable, or its witness does not match the decrypted value

/** The CMC response violated the protocol or could not be authenticated. Nothing is stored when this is raised. */
export class CmcProtocolError extends EnrolldError {
  constructor(
    readonly reason: CmcProtocolReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`cmc.protocol.${reason}`, message, options);
  }
}

/** Why an indirect POP challenge (RFC 5272 §6.7) could not be answered. */
export type CmcPopFailure =
  | 'unsupported-algorithm' // thePOPAlgID, witnessAlgID, key transport/agreement, KEM, KDF, wrap or content cipher unknown
  | 'malformed' // the EncryptedPOP or its EnvelopedData does not decode, or a parameter is out of range
  | 'recipient' // no RecipientInfo names our key
  | 'kem-ciphertext' // the KEM ciphertext is not the size of the modulus (RFC 9690 Decapsulate step 1)
  | 'decrypt' // the key could not be recovered or the content does not decrypt
  | 'witness'; // witnessAlg(y) differs from the witness

/**
 * An encryptedPOP challenge we cannot answer. It is a CmcProtocolError('pop') so callers matching that keep working;
 * `cmcFailInfo` is what the client told the server (RFC 5272 §6.7 step 3: popFailed; badAlg for an unknown algorithm).
 */
export class CmcPopError extends CmcProtocolError {
  constructor(
    readonly failure: CmcPopFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('pop', message, options);
  }
  get cmcFailInfo(): CmcFailInfoName {
    return this.failure === 'unsupported-algorithm' ? 'badAlg' : 'popFailed';
  }
}

/** The CA answered with CMCStatus failed/noSupport/popRequired…: `failInfo` is the CMCFailInfo when it sent one. */
export class CmcFailedError extends EnrolldError {
  constructor(
    readonly status: CmcStatusName,
    readonly failInfo: CmcFailInfoName | undefined,
    readonly statusString: string | undefined,
    /** The response's controls (e.g. encryptedPOP with popRequired, RFC 5272 §6.7). */
    readonly controls: TaggedAttribute[] = [],
  ) {
    super(`cmc.failed.${failInfo ?? status}`, `CMC request ${status}${failInfo ? ` (${failInfo})` : ''}${statusString ? `: ${statusString}` : ''}`);
  }
}

/** Caller misuse (no credential to sign the request with). */
export class CmcUsageError extends EnrolldError {
  constructor(message: string) {
    super('cmc.usage', message);
  }
}
