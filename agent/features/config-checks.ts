// The configuration's files that start-up reads (the secret, the trust-anchor PEM checked with OpenSSL), with
// typed errors and without the ASN.1 stack; config-files.ts adds the pkijs parse of trust-anchor files.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pemDecodeAll } from '../pki/pem.js';
import { EnrolldError } from '../util/errors.js';

/** A secret file's contents without the trailing newline. */
export function readSecret(file: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new EnrolldError('config.secret', `cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * The trust-anchor PEM text read from `file` holds certificates: checked with OpenSSL (node:crypto X509Certificate,
 * what TLS reads the same PEM with), so a bad file stops the start while the pkijs parse (`anchorsFromPem`) waits for
 * its first use — the first pkijs parse compiles and runs the ASN.1 decoders (≈ 10 ms), which READY=1 does not need.
 */
export function checkAnchorsPem(pem: string, file: string): void {
  let blocks: ReturnType<typeof pemDecodeAll>;
  try {
    blocks = pemDecodeAll(pem, 'CERTIFICATE');
    for (const b of blocks) new X509Certificate(b.der);
  } catch (err) {
    throw new EnrolldError('config.trust-anchors', `${file}: not a certificate: ${(err as Error).message}`, { cause: err });
  }
  if (blocks.length === 0) throw new EnrolldError('config.trust-anchors', `${file} holds no certificate`);
}
