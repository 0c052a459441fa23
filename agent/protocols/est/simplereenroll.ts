// /simplereenroll — Simple Re-enrollment of Clients (RFC 7030 §4.2.2): renew/rekey an existing certificate. The
// request is authenticated with TLS client auth using the certificate being renewed (its key stays in the keystore;
// the transport carries TlsKeyOptions). "The Subject field and SubjectAltName extension MUST be identical to the
// corresponding fields in the certificate being renewed or rekeyed" — checked here before anything is sent.
import type * as pkijs from 'pkijs';
import { bytesEqual } from '../../pki/der.js';
import { certificateFromDer, findExtension, nameDer } from '../../pki/cert.js';
import { csrExtensions, OID_SUBJECT_ALT_NAME, parseCsr } from '../../pki/csr.js';
import { EST_OPERATIONS } from './constants.js';
import type { EstContext } from './context.js';
import { postCsr, type EnrollOptions, type EstEnrollResult } from './enroll-response.js';
import { EstUsageError } from './errors.js';

export interface ReenrollOptions extends EnrollOptions {
  /** The certificate being renewed (the one the transport authenticates with). Enables the §4.2.2 pre-check. */
  currentCertificate?: pkijs.Certificate | Uint8Array;
}

/**
 * The Subject (its Name DER as issued, not a re-encoding) and subjectAltName extension of the certificate being
 * renewed, for the re-enrollment CSR (§4.2.2). Whatever the CA rewrote at issuance is what the renewal must carry.
 */
export function reenrollIdentity(current: pkijs.Certificate | Uint8Array): { subject: pkijs.RelativeDistinguishedNames; extensions: pkijs.Extension[] } {
  const cert = current instanceof Uint8Array ? certificateFromDer(current) : current;
  const san = findExtension(cert.extensions, OID_SUBJECT_ALT_NAME);
  return { subject: cert.subject, extensions: san ? [san] : [] };
}

/** Throws EstUsageError unless the CSR's subject and SAN equal those of `current` (§4.2.2). Returns the parsed CSR. */
export function checkReenrollCsr(csrDer: Uint8Array, current: pkijs.Certificate | Uint8Array): pkijs.CertificationRequest {
  const cert = current instanceof Uint8Array ? certificateFromDer(current) : current;
  const csr = parseCsr(csrDer);
  if (!bytesEqual(nameDer(csr.subject), nameDer(cert.subject)) && !csr.subject.isEqual(cert.subject)) {
    throw new EstUsageError('simplereenroll: the CSR subject differs from the certificate being renewed (RFC 7030 §4.2.2)');
  }
  const certSan = findExtension(cert.extensions, OID_SUBJECT_ALT_NAME);
  const csrSan = findExtension(csrExtensions(csr), OID_SUBJECT_ALT_NAME);
  const a = certSan?.extnValue.valueBlock.valueHexView;
  const b = csrSan?.extnValue.valueBlock.valueHexView;
  if ((a === undefined) !== (b === undefined) || (a && b && !bytesEqual(a, b))) {
    throw new EstUsageError('simplereenroll: the CSR subjectAltName differs from the certificate being renewed (RFC 7030 §4.2.2)');
  }
  return csr;
}

export async function simpleReenroll(ctx: EstContext, csrDer: Uint8Array, opts: ReenrollOptions = {}): Promise<EstEnrollResult> {
  const csr = opts.currentCertificate ? checkReenrollCsr(csrDer, opts.currentCertificate) : undefined;
  return postCsr(ctx, EST_OPERATIONS.simplereenroll, csrDer, opts, csr);
}
