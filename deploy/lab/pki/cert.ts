// X.509 certificates (RFC 5280 §4.1) with pkijs: parse from DER/PEM, DER/PEM out, the key, names and extensions.
import { createHash } from 'node:crypto';
import * as pkijs from 'pkijs';
import { der, DerError, encode } from './der.js';
import { pem, pemDecodeAll } from './pem.js';

export function parseCertificate(bytes: Uint8Array): pkijs.Certificate {
  const asn1 = der(bytes, 'Certificate');
  try {
    return new pkijs.Certificate({ schema: asn1 });
  } catch (e) {
    throw new DerError(`not an X.509 certificate: ${(e as Error).message}`);
  }
}

export function certificatesFromPem(text: string): pkijs.Certificate[] {
  return pemDecodeAll(text, 'CERTIFICATE').map((b) => parseCertificate(b.der));
}

export function certificateDer(cert: pkijs.Certificate): Uint8Array {
  return encode(cert);
}

export function certificatePem(cert: pkijs.Certificate | Uint8Array): string {
  return pem('CERTIFICATE', cert instanceof Uint8Array ? cert : certificateDer(cert));
}

/** DER SubjectPublicKeyInfo of a certificate (or of a CSR: anything with subjectPublicKeyInfo). */
export function spkiDer(x: { subjectPublicKeyInfo: pkijs.PublicKeyInfo }): Uint8Array {
  return encode(x.subjectPublicKeyInfo);
}

export function nameDer(name: pkijs.RelativeDistinguishedNames): Uint8Array {
  return encode(name);
}

export function findExtension(exts: pkijs.Extension[] | undefined, oid: string): pkijs.Extension | undefined {
  return exts?.find((e) => e.extnID === oid);
}

/** Lower-case hex digest of the whole DER certificate. */
export function fingerprint(cert: pkijs.Certificate | Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return createHash(algorithm).update(cert instanceof Uint8Array ? cert : certificateDer(cert)).digest('hex');
}

const SHORT: Record<string, string> = {
  '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber', '1.2.840.113549.1.9.1': 'emailAddress', '0.9.2342.19200300.100.1.25': 'DC',
};

/** "CN=device-1, O=Acme" (logs and messages only). */
export function describeName(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues.map((tv) => `${SHORT[tv.type] ?? tv.type}=${(tv.value.valueBlock as { value?: unknown }).value ?? '?'}`).join(', ');
}

/** The CN value of a name, if any. */
export function commonName(name: pkijs.RelativeDistinguishedNames): string | undefined {
  const v = name.typesAndValues.find((tv) => tv.type === '2.5.4.3')?.value.valueBlock as { value?: unknown } | undefined;
  return typeof v?.value === 'string' ? v.value : undefined;
}
