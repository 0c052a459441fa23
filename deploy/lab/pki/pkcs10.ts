// The lab's PKCS#10 (RFC 2986) reader and verifier: pkijs parses the structure, node:crypto
// checks the signature over the exact CertificationRequestInfo bytes with the key inside the request.
import { createPublicKey, type KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import { der, encode } from './der.js';
import { OID } from './oids.js';
import { SignatureRejected, verifyBytes } from './signature.js';

export class CsrRejected extends Error {}

export interface VerifiedCsr {
  csr: pkijs.CertificationRequest;
  der: Uint8Array;
  /** DER SubjectPublicKeyInfo exactly as in the request. */
  spkiDer: Uint8Array;
  publicKey: KeyObject;
  /** "ec secp384r1", "rsa 3072", … */
  keyDescription: string;
  signatureAlgorithm: string;
  /** Extensions from the extensionRequest attribute (RFC 2985 §5.4.2). */
  extensions: pkijs.Extension[];
  challengePassword: string | undefined;
}

export function verifyPkcs10(bytes: Uint8Array): VerifiedCsr {
  let csr: pkijs.CertificationRequest;
  try {
    csr = new pkijs.CertificationRequest({ schema: der(bytes, 'CertificationRequest') });
  } catch (e) {
    throw new CsrRejected(`not a PKCS#10 CertificationRequest: ${(e as Error).message}`);
  }
  if (csr.version !== 0) throw new CsrRejected(`CertificationRequestInfo version ${csr.version} (v1 = 0 expected)`);
  const spkiDer = new Uint8Array(csr.subjectPublicKeyInfo.toSchema().toBER(false));
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  } catch (e) {
    throw new CsrRejected(`unusable subjectPublicKeyInfo: ${(e as Error).message}`);
  }
  const alg = csr.signatureAlgorithm.algorithmId;
  let ok: boolean;
  try {
    ok = verifyBytes(publicKey, csr.signatureAlgorithm, new Uint8Array(csr.tbsView), new Uint8Array(csr.signatureValue.valueBlock.valueHexView));
  } catch (e) {
    if (e instanceof SignatureRejected) throw new CsrRejected(e.message);
    throw e;
  }
  const type = publicKey.asymmetricKeyType;
  if (!ok) throw new CsrRejected('signature does not verify with the public key in the request (proof of possession failed)');

  const d = publicKey.asymmetricKeyDetails ?? {};
  const keyDescription = type === 'ec' ? `ec ${d.namedCurve ?? '?'}` : `${type} ${d.modulusLength ?? '?'}`;
  let extensions: pkijs.Extension[] = [];
  let challengePassword: string | undefined;
  for (const a of csr.attributes ?? []) {
    if (a.type === OID.extensionRequest) {
      try {
        extensions = new pkijs.Extensions({ schema: a.values[0] }).extensions;
      } catch {
        throw new CsrRejected('malformed extensionRequest attribute');
      }
    }
    if (a.type === OID.challengePassword) {
      const v = a.values[0] as { valueBlock?: { value?: unknown } } | undefined;
      if (typeof v?.valueBlock?.value !== 'string') throw new CsrRejected('challengePassword is not a DirectoryString');
      challengePassword = v.valueBlock.value;
    }
  }
  return { csr, der: bytes, spkiDer, publicKey, keyDescription, signatureAlgorithm: alg, extensions, challengePassword };
}

/** Parses a CertificationRequest without checking it (for requests whose signature is checked elsewhere). */
export function parsePkcs10(bytes: Uint8Array): pkijs.CertificationRequest {
  try {
    return new pkijs.CertificationRequest({ schema: der(bytes, 'CertificationRequest') });
  } catch (e) {
    throw new CsrRejected(`not a PKCS#10 CertificationRequest: ${(e as Error).message}`);
  }
}

/** Extensions requested in the extensionRequest attribute (RFC 2985 §5.4.2); [] when none. */
export function csrExtensions(csr: pkijs.CertificationRequest): pkijs.Extension[] {
  const a = csr.attributes?.find((x) => x.type === OID.extensionRequest);
  if (!a?.values?.length) return [];
  try {
    return new pkijs.Extensions({ schema: a.values[0] }).extensions;
  } catch {
    throw new CsrRejected('malformed extensionRequest attribute');
  }
}

/** DER SubjectPublicKeyInfo of the request. */
export function csrSpki(csr: pkijs.CertificationRequest): Uint8Array {
  return encode(csr.subjectPublicKeyInfo);
}
