// A refused TAMP message (RFC 5934 §5): the StatusCode returned in the TAMPError, the message reference when the
// message got that far. A light module: the manager and the feature raise it without the ASN.1 stack.
import type { TAMPMsgRef } from '../../pki/asn1/tamp-msg-ref.js';
import type { TampStatusCodeName } from '../../pki/asn1/tamp-oids.js';
import { EnrolldError } from '../../util/errors.js';

/** A refused TAMP message: `status` is the RFC 5934 StatusCode returned in the TAMPError. */
export class TampFailure extends EnrolldError {
  constructor(
    readonly status: TampStatusCodeName,
    message: string,
    readonly msgRef?: TAMPMsgRef,
    options?: { cause?: unknown },
  ) {
    super(`tamp.${status}`, message, options);
  }
}
