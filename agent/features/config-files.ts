// Files the configuration names (secrets, trust anchors), read with typed errors: the trust-anchor files parsed with
// pkijs here, the reads start-up needs (no ASN.1 stack) in config-checks.ts.
import { readFileSync } from 'node:fs';
import type * as pkijs from 'pkijs';
import { certificatesFromPem } from '../pki/cert.js';
import { EnrolldError } from '../util/errors.js';

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

export { checkAnchorsPem, readSecret } from './config-checks.js';
