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
