// The apex trust anchor file of the configuration (tamp.apexTrustAnchorFile, RFC 5934 §1.2): PEM (exactly one
// CERTIFICATE) or DER (a Certificate, or a TrustAnchorChoice such as [2] TrustAnchorInfo carrying a contingency key;
// it must hold a certificate). Decoded with the ASN.1 stack, so the manager loads this module only at the first
// start, when the TAMP state has no apex yet.
import { readFile } from 'node:fs/promises';
import { TrustAnchorChoice } from '../../pki/asn1/trust-anchor-choice.js';
import { certificateFromDer, certificateToDer } from '../../pki/cert.js';
import { pemDecodeAll } from '../../pki/pem.js';
import { TampFailure } from './failure.js';

/** The DER TrustAnchorChoice of the apex TA in `file`. */
export async function readApexFile(file: string): Promise<Uint8Array> {
  const raw = await readFile(file);
  const text = raw.toString('latin1');
  if (text.includes('-----BEGIN')) {
    const der = pemDecodeAll(text, 'CERTIFICATE').map((b) => b.der);
    if (der.length !== 1) throw new TampFailure('other', `${file}: expected exactly one certificate, found ${der.length}`);
    return certificateToDer(certificateFromDer(der[0]!));
  }
  const c = TrustAnchorChoice.fromDer(new Uint8Array(raw));
  if (!c.certificateDer()) throw new TampFailure('unsupportedTrustAnchorFormat', `${file}: the apex TA must carry a certificate`);
  return c.toDer();
}
