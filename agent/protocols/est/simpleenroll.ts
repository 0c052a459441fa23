// /simpleenroll — Simple Enrollment of Clients (RFC 7030 §4.2.1). The client authenticates with HTTP Basic
// (§3.2.3, only over a server-authenticated TLS connection) or a TLS client certificate such as an IDevID (§3.3.2);
// both are properties of the Transport in the context.
import { EST_OPERATIONS } from './constants.js';
import type { EstContext } from './context.js';
import { postCsr, type EnrollOptions, type EstEnrollResult } from './enroll-response.js';

export async function simpleEnroll(ctx: EstContext, csrDer: Uint8Array, opts: EnrollOptions = {}): Promise<EstEnrollResult> {
  return postCsr(ctx, EST_OPERATIONS.simpleenroll, csrDer, opts);
}
