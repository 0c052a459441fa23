// What the lifecycle needs from an enrollment protocol (EST, CMP, CMC, ACME): one request → issued or pending.
import type * as pkijs from 'pkijs';
import type { KeyRecord } from '../keystore/keystore.js';
import type { Protocol } from '../config.js';
import type { NonceRequestParams, ReceivedNonce } from '../attest/nonce.js';
import { EnrolldError } from '../util/errors.js';

/** A request that no resend can make acceptable (a fresh key and CSR are needed): the lifecycle drops it. */
export class RequestRejectedError extends EnrolldError {
  readonly permanent = true;
}

export type EnrollOperation = 'enroll' | 'reenroll';

export interface EnrollRequest {
  operation: EnrollOperation;
  /** DER PKCS#10 certification request (already carrying any attestation evidence). */
  csr: Uint8Array;
  /** The key being certified (the CSR's key): for protocols that prove possession or attest it themselves (CMP CRMF POP, ACME remote-attest-01). */
  key?: KeyRecord;
  /** The credential being renewed: authenticates a re-enrollment (TLS client auth, CMP signature protection). */
  current?: { key: KeyRecord; certPem: string; chainPem: string[] };
}

export type EnrollResult =
  | {
      kind: 'issued';
      cert: Uint8Array;
      chain: Uint8Array[];
      /** The same certificates as the protocol already parsed them (cert, then chain in order): not parsed again. */
      parsed?: { cert: pkijs.Certificate; chain: pkijs.Certificate[] };
    }
  | { kind: 'pending'; retryAfterSeconds: number };


/** Which request a nonce is for: the protocol fetches it with that request's identity and binds it to it. */
export interface NonceContext {
  operation: EnrollOperation;
  current?: EnrollRequest['current'];
}

export interface EnrollmentProtocol {
  readonly name: Protocol;
  enroll(req: EnrollRequest): Promise<EnrollResult>;
  /** A fresh attestation nonce (draft-ietf-lamps-attestation-freshness-08), where the protocol offers one. */
  nonce?(req: NonceRequestParams, ctx?: NonceContext): Promise<ReceivedNonce>;
}
