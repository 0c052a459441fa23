// Certificate path validation to an explicit trust-anchor set (RFC 5280 §6) with pkijs
// CertificateChainValidationEngine; time is injected. Failures become ChainValidationError with a stable reason.
import * as pkijs from 'pkijs';
import { certificateFromDer, certificateHasKey, certificateSpki, sameCertificate, sharedCertificateFromDer } from './cert.js';
import { ChainValidationError } from './errors.js';
import { chainCrypto } from './remembered-signatures.js';

type CertInput = pkijs.Certificate | Uint8Array;

export interface ValidateChainOptions {
  /** The end-entity (or CA) certificate to validate. */
  leaf: CertInput;
  /** Untrusted intermediates that may be used to build the path (any order, extra ones are fine). */
  intermediates?: CertInput[];
  /** Trust anchors: the ONLY certificates trusted. */
  trustAnchors: CertInput[];
  /** Validation time (defaults to now). */
  at?: Date;
  /** CRLs to check revocation with (optional). */
  crls?: pkijs.CertificateRevocationList[];
}

export interface ValidatedChain {
  /** Path from the leaf to the trust anchor (inclusive). */
  path: pkijs.Certificate[];
}

const asCert = (c: CertInput): pkijs.Certificate => (c instanceof Uint8Array ? certificateFromDer(c) : c);
/** Trust anchors are the same few certificates on every call: parsed once (shared, read-only). */
const asAnchor = (c: CertInput): pkijs.Certificate => (c instanceof Uint8Array ? sharedCertificateFromDer(c) : c);

/** pkijs result codes → stable reasons. */
function reasonFor(code: number, message: string): string {
  switch (code) {
    case 3:
    case 4:
    case 5:
      return 'key-usage';
    case 6:
      return 'critical-extension';
    case 8:
      return 'validity';
    case 9:
      return 'path-length';
    case 10:
      return 'name-chaining';
    case 11:
    case 12:
    case 13:
      return 'revocation';
    case 14:
      return 'not-ca';
    case 60: // ChainValidationCode.noPath
    case 97: // ChainValidationCode.noValidPath
      return 'untrusted';
    default:
      if (/no valid certificate paths|unable to find certificate path|no trusted/i.test(message)) return 'untrusted';
      if (/signature/i.test(message)) return 'signature';
      return 'untrusted';
  }
}

/** Validates `leaf` to one of `trustAnchors` at time `at`. Throws ChainValidationError; never returns a bad path. */
export async function validateChain(opts: ValidateChainOptions): Promise<ValidatedChain> {
  const at = opts.at ?? new Date();
  const trustAnchors = opts.trustAnchors.map(asAnchor);
  if (trustAnchors.length === 0) throw new ChainValidationError('no-trust-anchor', 'no trust anchor configured');
  const leaf = asCert(opts.leaf);
  // A leaf that is itself one of the anchors is trusted as-is (still subject to its validity period).
  const spki = certificateSpki(leaf);
  const anchorItself = trustAnchors.find((ta) => certificateHasKey(ta, spki) && ta.subject.isEqual(leaf.subject));
  if (anchorItself) {
    if (leaf.notBefore.value > at || leaf.notAfter.value < at) {
      throw new ChainValidationError('validity', 'trust anchor certificate is not valid at the validation time', 8);
    }
    return { path: [leaf] };
  }
  const engine = new pkijs.CertificateChainValidationEngine({
    trustedCerts: trustAnchors,
    // pkijs takes the LAST element of trustedCerts+certs as the end entity: the leaf goes last.
    // The leaf must not also appear among the intermediates: pkijs de-duplicates the list and then validates
    // whichever copy ends up last — not necessarily `leaf` (a certificate from another CA could pass that way).
    certs: [...(opts.intermediates ?? []).map(asCert).filter((c) => !sameCertificate(c, leaf)), leaf],
    crls: opts.crls ?? [],
    checkDate: at,
  });
  let result: pkijs.CertificateChainValidationEngineVerifyResult;
  try {
    result = await engine.verify({}, chainCrypto);
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    const code = (e as { code?: number }).code;
    throw new ChainValidationError(reasonFor(typeof code === 'number' ? code : -1, msg), `certificate path validation failed: ${msg}`, code, { cause: e });
  }
  if (!result.result) {
    throw new ChainValidationError(reasonFor(result.resultCode, result.resultMessage), `certificate path validation failed: ${result.resultMessage}`, result.resultCode);
  }
  return { path: result.certificatePath ?? [leaf] };
}
