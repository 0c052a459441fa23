// The plan a /csrattrs answer makes for the next CSR (RFC 7030 §4.5.2, RFC 9908): its shape and the test for it, in
// a module without the ASN.1 stack. Making a plan (csrattrs.ts planCsr) and applying it (applyCsrPlan) need it.
import type { HashAlgorithm, KeyAlgorithm } from '../../pki/signer.js';

/** An extension to request: with a value (copy it), or only its type (the client fills it in, e.g. SAN). */
export interface PlannedExtension {
  extnID: string;
  critical: boolean;
  /** DER extnValue contents; absent when the client is to provide the value. */
  value?: Uint8Array;
}

/** What the next CSR should look like according to the server (RFC 7030 §4.5.2, RFC 9908). */
export interface CsrPlan {
  /** 'none': no answer or an empty one; 'oids': the OID/attribute list; 'template': RFC 9908 §3.4. */
  form: 'none' | 'oids' | 'template';
  /** The key the server asked for, when the agent can make it in the TPM. */
  keyAlgorithm?: KeyAlgorithm;
  /** The signature hash the server asked for (or implied by the key it asked for). */
  hash?: HashAlgorithm;
  extensions: PlannedExtension[];
  /** Attributes to copy into the request as given (DER of each value). */
  attributes: Array<{ type: string; values: Uint8Array[] }>;
  /** RFC 9908 §3.4 subject template (DER values), applied on initial enrollment only (§4.2.2 for renewal). */
  subject?: Array<Array<{ type: string; value?: Uint8Array }>>;
  /** challengePassword was asked for: link the CSR to the TLS session (§3.5). */
  linking: boolean;
  /** OIDs / attributes the agent does not recognise (ignored, RFC 7030 §4.5.2). */
  ignored: string[];
  /** What the server asked for and the agent cannot provide (the CSR is made without it). */
  unsatisfied: string[];
  /** Set when the answer was unusable (malformed, oversized): the CSR follows the configuration instead. */
  error?: { code: string; message: string };
}

export const EMPTY_CSR_PLAN: CsrPlan = { form: 'none', extensions: [], attributes: [], linking: false, ignored: [], unsatisfied: [] };

/** True for a value that is a CsrPlan (RequestPlan.detail is opaque to the lifecycle). */
export function isCsrPlan(v: unknown): v is CsrPlan {
  const p = v as Partial<CsrPlan> | null;
  return !!p && typeof p === 'object' && typeof p.form === 'string' && Array.isArray(p.extensions) && Array.isArray(p.unsatisfied);
}
