// The lab CA: an ECDSA P-256 root and an issuing CA (created on start, or loaded from / saved to a directory), and
// certificate issuance (RFC 5280 profiles) with the lab's pki/ helpers. Lab key material is software (this is the
// server side, not the device).
import { webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as pkijs from 'pkijs';
import { certificateDer, certificatePem, parseCertificate } from './pki/cert.js';
import { toAb } from './pki/der.js';
import {
  authorityKeyId,
  basicConstraints,
  extKeyUsage,
  keyIdentifier,
  keyUsage,
  publicKeyInfo,
  signCertificate as signCert,
  subjectKeyId,
  type SignCertificateOptions,
} from './pki/issue.js';
import { buildName, type NameInput } from './pki/name.js';
import { OID } from './pki/oids.js';
import { pem, pemDecode } from './pki/pem.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const subtle = webcrypto.subtle;
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export const OID_EKU_SERVER_AUTH = OID.ekuServerAuth;
export const OID_EKU_CLIENT_AUTH = OID.ekuClientAuth;
export { keyIdentifier };

export interface CaEntity {
  certificate: pkijs.Certificate;
  der: Uint8Array;
  pem: string;
  privateKey: CryptoKey;
  /** SubjectKeyIdentifier value. */
  keyId: Uint8Array;
}

export type IssueProfile = 'client' | 'server' | 'client-server' | 'ca';

export interface IssueOptions {
  subject: pkijs.RelativeDistinguishedNames | NameInput;
  /** DER SubjectPublicKeyInfo or a pkijs PublicKeyInfo. */
  spki: pkijs.PublicKeyInfo | Uint8Array;
  notBefore: Date;
  notAfter: Date;
  profile: IssueProfile;
  /** Extra extensions (e.g. subjectAltName copied from the CSR). */
  extensions?: pkijs.Extension[];
}

export class LabCa {
  private constructor(
    readonly root: CaEntity,
    readonly issuing: CaEntity,
  ) {}

  /** Creates a fresh CA, or loads one from `dir` (and saves a newly created one there). */
  static async create(opts: { dir?: string; now?: Date; name?: string } = {}): Promise<LabCa> {
    if (opts.dir && existsSync(path.join(opts.dir, 'root.crt.pem'))) return LabCa.load(opts.dir);
    const now = opts.now ?? new Date();
    const name = opts.name ?? 'enrolld lab';
    const rootKeys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
    const issuingKeys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
    const rootSpki = new Uint8Array(await subtle.exportKey('spki', rootKeys.publicKey));
    const issuingSpki = new Uint8Array(await subtle.exportKey('spki', issuingKeys.publicKey));
    const rootName = buildName({ O: name, CN: `${name} Root CA` });
    const day = 86_400_000;
    const rootCert = signCert({
      issuer: rootName,
      subject: rootName,
      spki: rootSpki,
      notBefore: new Date(now.getTime() - day),
      notAfter: new Date(now.getTime() + 3650 * day),
      extensions: [basicConstraints(true), keyUsage([5, 6]), subjectKeyId(rootSpki)],
      signingKey: rootKeys.privateKey,
    });
    const root = entity(rootCert, rootKeys.privateKey);
    const issuingCert = signCert({
      issuer: rootName,
      subject: buildName({ O: name, CN: `${name} Issuing CA` }),
      spki: issuingSpki,
      notBefore: new Date(now.getTime() - day),
      notAfter: new Date(now.getTime() + 1825 * day),
      extensions: [basicConstraints(true, 0), keyUsage([0, 5, 6]), subjectKeyId(issuingSpki), authorityKeyId(root.keyId)],
      signingKey: rootKeys.privateKey,
    });
    const ca = new LabCa(root, entity(issuingCert, issuingKeys.privateKey));
    if (opts.dir) await ca.save(opts.dir);
    return ca;
  }

  static async load(dir: string): Promise<LabCa> {
    const read = async (base: string): Promise<CaEntity> => {
      const cert = parseCertificate(pemDecode(await readFile(path.join(dir, `${base}.crt.pem`), 'utf8'), 'CERTIFICATE'));
      const pkcs8 = pemDecode(await readFile(path.join(dir, `${base}.key.pem`), 'utf8'), 'PRIVATE KEY');
      return entity(cert, await subtle.importKey('pkcs8', toAb(pkcs8), EC, true, ['sign']));
    };
    return new LabCa(await read('root'), await read('issuing'));
  }

  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const [base, e] of [['root', this.root], ['issuing', this.issuing]] as const) {
      await writeFile(path.join(dir, `${base}.crt.pem`), e.pem);
      const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', e.privateKey));
      await writeFile(path.join(dir, `${base}.key.pem`), pem('PRIVATE KEY', pkcs8), { mode: 0o600 });
    }
  }

  /** What /cacerts returns: the root (the TA) and the issuing CA. */
  get caCertificatesDer(): Uint8Array[] {
    return [this.root.der, this.issuing.der];
  }

  /** Issues a certificate from the issuing CA. */
  async issue(o: IssueOptions): Promise<pkijs.Certificate> {
    const spki = publicKeyInfo(o.spki);
    const subject = o.subject instanceof pkijs.RelativeDistinguishedNames ? o.subject : buildName(o.subject);
    const isCa = o.profile === 'ca';
    const isRsa = spki.algorithm.algorithmId === OID.rsaEncryption;
    const eku = o.profile === 'server' ? [OID.ekuServerAuth] : o.profile === 'client' ? [OID.ekuClientAuth] : [OID.ekuServerAuth, OID.ekuClientAuth];
    return signCert({
      issuer: this.issuing.certificate.subject,
      subject,
      spki,
      notBefore: o.notBefore,
      notAfter: o.notAfter,
      extensions: [
        basicConstraints(isCa, isCa ? 0 : undefined),
        isCa ? keyUsage([0, 5, 6]) : keyUsage(isRsa ? [0, 2] : [0]),
        ...(isCa ? [] : [extKeyUsage(eku)]),
        subjectKeyId(spki),
        authorityKeyId(this.issuing.keyId),
        ...(o.extensions ?? []),
      ],
      signingKey: this.issuing.privateKey,
    });
  }
}

function entity(certificate: pkijs.Certificate, privateKey: CryptoKey): CaEntity {
  const der = certificateDer(certificate);
  return { certificate, der, pem: certificatePem(der), privateKey, keyId: keyIdentifier(certificate.subjectPublicKeyInfo) };
}

/** A certificate signed by `signingKey` (SHA-256), for tests and chains the lab CA does not issue itself. */
export async function signCertificate(o: SignCertificateOptions): Promise<pkijs.Certificate> {
  return signCert(o);
}
