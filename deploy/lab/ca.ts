// The lab CA: an ECDSA P-256 root and an issuing CA (created on start, or loaded from / saved to a directory), and
// certificate issuance with pkijs. Lab key material is software (this is the server side, not the device).
import { createHash, webcrypto } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { certificateFromDer, certificateToDer, certificateToPem } from '../../agent/pki/cert.js';
import { decodeAsn1, toArrayBuffer } from '../../agent/pki/der.js';
import { buildName, type NameInput } from '../../agent/pki/name.js';
import { pemDecode, pemEncode } from '../../agent/pki/pem.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const subtle = webcrypto.subtle;
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export const OID_EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const OID_EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

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

function randomSerial(): asn1js.Integer {
  const b = new Uint8Array(16);
  webcrypto.getRandomValues(b);
  b[0] = (b[0]! & 0x7f) | 0x01; // positive, no leading zero octet
  return new asn1js.Integer({ valueHex: toArrayBuffer(b) });
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value. */
export function keyIdentifier(spki: pkijs.PublicKeyInfo): Uint8Array {
  return new Uint8Array(createHash('sha1').update(spki.subjectPublicKey.valueBlock.valueHexView).digest());
}

function ext(extnID: string, critical: boolean, value: asn1js.BaseBlock | { toSchema(): asn1js.BaseBlock }): pkijs.Extension {
  const schema = 'toSchema' in value && typeof value.toSchema === 'function' ? value.toSchema() : (value as asn1js.BaseBlock);
  return new pkijs.Extension({ extnID, critical, extnValue: schema.toBER(false) });
}

function keyUsage(bits: number[], ): pkijs.Extension {
  // KeyUsage BIT STRING (RFC 5280 §4.2.1.3), bit 0 = digitalSignature … bit 6 = cRLSign.
  let v = 0;
  for (const bit of bits) v |= 0x80 >> bit;
  const highest = Math.max(...bits);
  return ext('2.5.29.15', true, new asn1js.BitString({ valueHex: toArrayBuffer(new Uint8Array([v])), unusedBits: 7 - highest }));
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
    const rootSpki = await spkiOf(rootKeys.publicKey);
    const issuingSpki = await spkiOf(issuingKeys.publicKey);
    const rootName = buildName({ O: name, CN: `${name} Root CA` });
    const day = 86_400_000;
    const rootCert = await signCertificate({
      issuer: rootName,
      subject: rootName,
      spki: rootSpki,
      notBefore: new Date(now.getTime() - day),
      notAfter: new Date(now.getTime() + 3650 * day),
      extensions: [
        ext('2.5.29.19', true, new pkijs.BasicConstraints({ cA: true })),
        keyUsage([5, 6]),
        ext('2.5.29.14', false, new asn1js.OctetString({ valueHex: toArrayBuffer(keyIdentifier(rootSpki)) })),
      ],
      signingKey: rootKeys.privateKey,
    });
    const root = await entity(rootCert, rootKeys.privateKey);
    const issuingCert = await signCertificate({
      issuer: rootName,
      subject: buildName({ O: name, CN: `${name} Issuing CA` }),
      spki: issuingSpki,
      notBefore: new Date(now.getTime() - day),
      notAfter: new Date(now.getTime() + 1825 * day),
      extensions: [
        ext('2.5.29.19', true, new pkijs.BasicConstraints({ cA: true, pathLenConstraint: 0 })),
        keyUsage([0, 5, 6]),
        ext('2.5.29.14', false, new asn1js.OctetString({ valueHex: toArrayBuffer(keyIdentifier(issuingSpki)) })),
        ext('2.5.29.35', false, new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: toArrayBuffer(root.keyId) }) })),
      ],
      signingKey: rootKeys.privateKey,
    });
    const ca = new LabCa(root, await entity(issuingCert, issuingKeys.privateKey));
    if (opts.dir) await ca.save(opts.dir);
    return ca;
  }

  static async load(dir: string): Promise<LabCa> {
    const read = async (base: string): Promise<CaEntity> => {
      const cert = certificateFromDer(pemDecode(await readFile(path.join(dir, `${base}.crt.pem`), 'utf8'), 'CERTIFICATE'));
      const pkcs8 = pemDecode(await readFile(path.join(dir, `${base}.key.pem`), 'utf8'), 'PRIVATE KEY');
      const key = await subtle.importKey('pkcs8', toArrayBuffer(pkcs8), EC, true, ['sign']);
      return entity(cert, key);
    };
    return new LabCa(await read('root'), await read('issuing'));
  }

  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    for (const [base, e] of [['root', this.root], ['issuing', this.issuing]] as const) {
      await writeFile(path.join(dir, `${base}.crt.pem`), e.pem);
      const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', e.privateKey));
      await writeFile(path.join(dir, `${base}.key.pem`), pemEncode('PRIVATE KEY', pkcs8), { mode: 0o600 });
    }
  }

  /** What /cacerts returns: the root (the TA) and the issuing CA. */
  get caCertificatesDer(): Uint8Array[] {
    return [this.root.der, this.issuing.der];
  }

  /** Issues a certificate from the issuing CA. */
  async issue(o: IssueOptions): Promise<pkijs.Certificate> {
    const spki = o.spki instanceof Uint8Array ? new pkijs.PublicKeyInfo({ schema: decodeAsn1(o.spki, 'SubjectPublicKeyInfo') }) : o.spki;
    const subject = o.subject instanceof pkijs.RelativeDistinguishedNames ? o.subject : buildName(o.subject);
    const isCa = o.profile === 'ca';
    const isRsa = spki.algorithm.algorithmId === '1.2.840.113549.1.1.1';
    const eku = o.profile === 'server' ? [OID_EKU_SERVER_AUTH] : o.profile === 'client' ? [OID_EKU_CLIENT_AUTH] : [OID_EKU_SERVER_AUTH, OID_EKU_CLIENT_AUTH];
    const extensions = [
      ext('2.5.29.19', true, new pkijs.BasicConstraints({ cA: isCa, ...(isCa ? { pathLenConstraint: 0 } : {}) })),
      isCa ? keyUsage([0, 5, 6]) : keyUsage(isRsa ? [0, 2] : [0]),
      ...(isCa ? [] : [ext('2.5.29.37', false, new pkijs.ExtKeyUsage({ keyPurposes: eku }))]),
      ext('2.5.29.14', false, new asn1js.OctetString({ valueHex: toArrayBuffer(keyIdentifier(spki)) })),
      ext('2.5.29.35', false, new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: toArrayBuffer(this.issuing.keyId) }) })),
      ...(o.extensions ?? []),
    ];
    return signCertificate({
      issuer: this.issuing.certificate.subject,
      subject,
      spki,
      notBefore: o.notBefore,
      notAfter: o.notAfter,
      extensions,
      signingKey: this.issuing.privateKey,
    });
  }
}

async function spkiOf(publicKey: CryptoKey): Promise<pkijs.PublicKeyInfo> {
  const der = new Uint8Array(await subtle.exportKey('spki', publicKey));
  return new pkijs.PublicKeyInfo({ schema: decodeAsn1(der, 'SubjectPublicKeyInfo') });
}

async function entity(certificate: pkijs.Certificate, privateKey: CryptoKey): Promise<CaEntity> {
  const der = certificateToDer(certificate);
  const parsed = certificateFromDer(der);
  return { certificate: parsed, der, pem: certificateToPem(der), privateKey, keyId: keyIdentifier(parsed.subjectPublicKeyInfo) };
}

export async function signCertificate(o: {
  issuer: pkijs.RelativeDistinguishedNames;
  subject: pkijs.RelativeDistinguishedNames;
  spki: pkijs.PublicKeyInfo;
  notBefore: Date;
  notAfter: Date;
  extensions: pkijs.Extension[];
  signingKey: CryptoKey;
}): Promise<pkijs.Certificate> {
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = randomSerial();
  cert.issuer = o.issuer;
  cert.subject = o.subject;
  cert.notBefore.value = o.notBefore;
  cert.notAfter.value = o.notAfter;
  cert.subjectPublicKeyInfo = o.spki;
  cert.extensions = o.extensions;
  await cert.sign(o.signingKey, 'SHA-256');
  // Re-parse so tbsView/valueBeforeDecode reflect the exact DER.
  return certificateFromDer(new Uint8Array(cert.toSchema(true).toBER(false)));
}
