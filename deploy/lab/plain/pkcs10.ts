// An independent PKCS#10 (RFC 2986) reader and verifier for the plain peer: pkijs parses the structure, node:crypto
// checks the signature over the exact CertificationRequestInfo bytes with the key inside the request.
import { createPublicKey, verify as cryptoVerify, constants, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { der, OID } from './wire.js';

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

const HASHES: Record<string, { kind: 'ec' | 'rsa'; hash: string }> = {
  [OID.ecdsaWithSHA256]: { kind: 'ec', hash: 'sha256' },
  [OID.ecdsaWithSHA384]: { kind: 'ec', hash: 'sha384' },
  [OID.ecdsaWithSHA512]: { kind: 'ec', hash: 'sha512' },
  [OID.sha256WithRSA]: { kind: 'rsa', hash: 'sha256' },
  [OID.sha384WithRSA]: { kind: 'rsa', hash: 'sha384' },
  [OID.sha512WithRSA]: { kind: 'rsa', hash: 'sha512' },
};

/** RFC 4055 §3.1 RSASSA-PSS-params: hash and salt length (defaults SHA-1 / 20). */
function pssParams(params: asn1js.AsnType | undefined): { hash: string; saltLength: number } {
  const pss = new pkijs.RSASSAPSSParams(params instanceof asn1js.Sequence ? { schema: params } : {});
  const names: Record<string, string> = { '1.3.14.3.2.26': 'sha1', '2.16.840.1.101.3.4.2.1': 'sha256', '2.16.840.1.101.3.4.2.2': 'sha384', '2.16.840.1.101.3.4.2.3': 'sha512' };
  const hash = names[pss.hashAlgorithm.algorithmId];
  if (!hash) throw new CsrRejected(`RSASSA-PSS hash ${pss.hashAlgorithm.algorithmId} not supported`);
  return { hash, saltLength: pss.saltLength };
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
  const tbs = csr.tbsView;
  const sig = csr.signatureValue.valueBlock.valueHexView;
  const type = publicKey.asymmetricKeyType;
  let ok: boolean;
  if (alg === OID.rsassaPss) {
    if (type !== 'rsa' && type !== 'rsa-pss') throw new CsrRejected(`RSASSA-PSS signature with a ${type} key`);
    const p = pssParams(csr.signatureAlgorithm.algorithmParams);
    ok = cryptoVerify(p.hash, tbs, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: p.saltLength }, sig);
  } else {
    const h = HASHES[alg];
    if (!h) throw new CsrRejected(`signature algorithm ${alg} not supported`);
    if (h.kind !== type) throw new CsrRejected(`signature algorithm ${alg} does not match the ${type} key`);
    ok = h.kind === 'ec' ? cryptoVerify(h.hash, tbs, { key: publicKey, dsaEncoding: 'der' }, sig) : cryptoVerify(h.hash, tbs, publicKey, sig);
  }
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
