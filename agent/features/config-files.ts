// Files the configuration names (secrets, trust anchors) and small JSON state files, read with typed errors.
import { readFileSync } from 'node:fs';
import type * as pkijs from 'pkijs';
import { certificatesFromPem } from '../pki/cert.js';
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
  const certs = certificatesFromPem(pem);
  if (certs.length === 0) throw new EnrolldError('config.trust-anchors', `${file} holds no certificate`);
  return certs;
}
