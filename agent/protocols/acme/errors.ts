// Typed ACME failures: a problem document from the server (RFC 8555 §6.7, RFC 7807) or a protocol violation
// (malformed JSON, missing Replay-Nonce, wrong content type, unexpected status).
import { EnrolldError } from '../../util/errors.js';
import { ACME_ERROR_NS } from './constants.js';

export interface AcmeProblem {
  type: string;
  detail?: string;
  status?: number;
  subproblems?: AcmeProblem[];
}

export class AcmeProblemError extends EnrolldError {
  /** The short error name (badNonce, rateLimited, unauthorized, …) when the type is in the ACME namespace. */
  readonly acmeType: string | undefined;
  constructor(
    /** HTTP status: the lifecycle treats 4xx (but 408/429) as a permanent refusal of this request. */
    readonly status: number,
    readonly problem: AcmeProblem,
    readonly retryAfterSeconds?: number,
  ) {
    const short = problem.type.startsWith(ACME_ERROR_NS) ? problem.type.slice(ACME_ERROR_NS.length) : undefined;
    super(`acme.problem.${short ?? 'other'}`, `ACME server error ${status} ${problem.type}${problem.detail ? `: ${problem.detail}` : ''}`);
    this.acmeType = short;
  }
}

export class AcmeProtocolError extends EnrolldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('acme.protocol', message, options);
  }
}
