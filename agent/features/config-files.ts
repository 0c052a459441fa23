// Files the configuration names (secrets, trust anchors) and small JSON state files, read with typed errors.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type * as pkijs from 'pkijs';
import { certificatesFromPem } from '../pki/cert.js';
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

/** The certificates of a trust-anchor PEM file (at least one). */
export function readAnchors(file: string): pkijs.Certificate[] {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new EnrolldError('config.trust-anchors', `cannot read ${file}: ${(err as Error).message}`);
  }
  return anchorsFromPem(pem, file);
}

/** The certificates of trust-anchor PEM text read from `file` (at least one). */
export function anchorsFromPem(pem: string, file: string): pkijs.Certificate[] {
  const certs = certificatesFromPem(pem);
  if (certs.length === 0) throw new EnrolldError('config.trust-anchors', `${file} holds no certificate`);
  return certs;
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
