// Certification path validation to an explicit trust-anchor set (RFC 5280 §6) with pkijs'
// CertificateChainValidationEngine, at an injected time.
import * as pkijs from 'pkijs';
import { parseCertificate, spkiDer } from './cert.js';
import { bytesEqual, encode } from './der.js';

type CertInput = pkijs.Certificate | Uint8Array;
const asCert = (c: CertInput): pkijs.Certificate => (c instanceof Uint8Array ? parseCertificate(c) : c);

export class ChainRejected extends Error {}

export interface ValidateChainOptions {
  leaf: CertInput;
  intermediates?: CertInput[];
  trustAnchors: CertInput[];
  at?: Date;
}

/** The path leaf → anchor; throws ChainRejected. A leaf that is itself an anchor is accepted within its validity. */
export async function validateChain(o: ValidateChainOptions): Promise<pkijs.Certificate[]> {
  const at = o.at ?? new Date();
  const anchors = o.trustAnchors.map(asCert);
  if (anchors.length === 0) throw new ChainRejected('no trust anchor');
  const leaf = asCert(o.leaf);
  if (anchors.some((a) => a.subject.isEqual(leaf.subject) && bytesEqual(spkiDer(a), spkiDer(leaf)))) {
    if (leaf.notBefore.value > at || leaf.notAfter.value < at) throw new ChainRejected('trust anchor certificate is not valid at the validation time');
    return [leaf];
  }
  const leafDer = encode(leaf);
  const engine = new pkijs.CertificateChainValidationEngine({
    trustedCerts: anchors,
    // pkijs validates the LAST certificate of the list as the end entity: the leaf goes last, and only once.
    certs: [...(o.intermediates ?? []).map(asCert).filter((c) => !bytesEqual(encode(c), leafDer)), leaf],
    checkDate: at,
  });
  let r: pkijs.CertificateChainValidationEngineVerifyResult;
  try {
    r = await engine.verify();
  } catch (e) {
    throw new ChainRejected(`certificate path validation failed: ${(e as Error).message ?? String(e)}`);
  }
  if (!r.result) throw new ChainRejected(`certificate path validation failed: ${r.resultMessage}`);
  return r.certificatePath ?? [leaf];
}
