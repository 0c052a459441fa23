// Lab side of RFC 8295 key packages: symmetric key packages (0024, /symmetrickeys) built as RFC 6031
// SymmetricKeyPackage, signed by the lab's own key-package signer (its root is the TA a device must hold for key
// packages), with the RFC 7191 keyPkgIdAndReceiptReq attribute; the /symmetrickeys/return and /serverkeygen/return
// endpoints that verify and record RFC 7191 receipts and errors (204); PAL entries for the tests; bad variants.
// Encrypted forms come from independent tools: EnvelopedData from `openssl cms -encrypt` to a lab-issued
// certificate of the device's published KEK public key (ktri rid = its subjectKeyIdentifier, RSAES-OAEP SHA-256,
// AES-256-CBC), wrapped as RFC 6032 EncryptedKeyPackage `enveloped [0]` with asn1js; 0022 PFX files from
// `openssl pkcs12 -export` (PBES2/AES-256-CBC, SHA-256 MAC; or the legacy SHA-1/3DES set for the weak variant).
import { execFileSync } from 'node:child_process';
import { KeyObject, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { openSignedData } from './asn1/cms.js';
import {
  OID_CT_KP_AKEY_PACKAGE,
  OID_CT_KP_ENCRYPTED_KEY_PACKAGE,
  OID_CT_KP_KEY_PACKAGE_ERROR,
  OID_CT_KP_KEY_PACKAGE_RECEIPT,
  OID_CT_KP_SKEY_PACKAGE,
  OID_SIREN_DN,
  decodeKeyPackageError,
  decodeKeyPackageReceipt,
  keyPkgIdAndReceiptReqAttribute,
  symmetricKeyPackage,
} from './asn1/key-packages.js';
import { bodyDer } from './pki/base64-body.js';
import { certificateDer, certificatePem, nameDer } from './pki/cert.js';
import { CERTS_ONLY, certsOnly } from './pki/certs-only.js';
import { der as parseDer } from './pki/der.js';
import { OID } from './pki/oids.js';
import { contentInfo, signSignedData } from './pki/signed-data.js';
import { LabCa } from './ca.js';
import { type EnvelopeTamper, envelopeToKek } from './enveloped-data.js';
import { EST_PATH, type LabPalEntry } from './pal-entry.js';
import { text, type LabRequest, type LabResponse, type Router } from './router.js';

export type SymmetricVariant =
  | 'good'
  | 'unsigned' // ContentInfo(SymmetricKeyPackage) with no SignedData around it
  | 'untrusted' // signed by a CA the device does not hold as key-package TA
  | 'truncated' // DER cut short
  | 'bad-signature' // one signature byte flipped
  | 'unknown-content-type' // SignedData(id-data)
  | 'encrypted' // an RFC 6032 EncryptedKeyPackage whose CHOICE is `encrypted` (EncryptedData, a pre-shared key: refused)
  | 'enveloped' // the signed package inside EnvelopedData to the device KEK (openssl cms -encrypt)
  | 'encrypted-key-package' // the same EnvelopedData as RFC 6032 EncryptedKeyPackage `enveloped [0]`
  | 'wrong-kek' // EnvelopedData to another RSA key
  | 'oversized' // a body larger than the PAL size announces / the agent's cap
  | 'oversized-key'; // a 200-byte key (more than a TPM sealed data object holds)

export interface SymmetricKeySpec {
  keyId: string;
  key: Uint8Array;
  algorithm?: string;
}

export interface SymmetricPackageSpec {
  id: string;
  keys: SymmetricKeySpec[];
  /** Ask for a receipt (keyPkgIdAndReceiptReq with receiptReq); default true. */
  receipt?: boolean;
  variant?: SymmetricVariant;
  /** Serve base64 (RFC 7030 style) instead of binary. */
  base64?: boolean;
  /**
   * Encrypt the signed package to the device KEK with the lab's own EnvelopedData (enveloped-data.ts) instead of
   * openssl's, as EnvelopedData or RFC 6032 EncryptedKeyPackage, optionally broken (`tamper`).
   */
  envelope?: { form: 'enveloped' | 'encrypted-key-package'; tamper?: EnvelopeTamper };
}

export interface LabKeyPackage {
  id: string;
  url: string;
  pkgId: Uint8Array;
  der: Uint8Array;
  entry: LabPalEntry;
}

export interface KeyReturnRecord {
  at: Date;
  path: 'symmetrickeys' | 'serverkeygen';
  kind: 'receipt' | 'error';
  signed: boolean;
  signatureValid?: boolean;
  signerSubjectDer?: Uint8Array;
  contentType: string;
  der: Uint8Array;
  /** hex pkgID the receipt/error names (receiptOf / errorOf). */
  pkgId?: string;
  /** RFC 7191 error code name (errors). */
  errorCode?: string;
  /** receivedBy / errorBy sirenValue (DER Name). */
  by?: Uint8Array;
}

export type ServerKeygenVariant =
  | 'good'
  | 'mismatch' // the certificate is for another key
  | 'untrusted-cert' // the certificate comes from a CA the device does not trust
  | 'truncated' // multipart body without its close delimiter
  | 'no-cert' // only the key part
  | 'encrypted' // a server-generated-key part holding an empty (malformed) EnvelopedData
  | 'bad-key' // the PKCS #8 part is garbage
  | 'p384' // a key the TPM keystore does not import
  | 'not-multipart' // the key alone, as application/pkcs8
  | 'pkcs1' // the key part is a PKCS#1 RSAPrivateKey / SEC1 ECPrivateKey, as Cisco libest's estserver sends it
  | 'bad-pkcs1' // a PKCS#1 RSAPrivateKey cut short
  | 'oversized' // 200 KB of epilogue after the parts
  | 'cms' // 0021: SignedData(AsymmetricKeyPackage) inside EnvelopedData to the device KEK
  | 'cms-signed' // 0021: SignedData(AsymmetricKeyPackage), not encrypted
  | 'cms-multi' // 0021: SignedData(AsymmetricKeyPackage) of two OneAsymmetricKeys (the certified key and another)
  | 'pkcs12' // 0022: openssl pkcs12 -export with pkcs12Password, certificate in the PFX
  | 'pkcs12-wrong-password' // 0022: the PFX under another password
  | 'pkcs12-weak' // 0022: SHA-1/3DES PBE and a SHA-1 MAC
  | 'pkcs12-legacy' // 0022: `openssl pkcs12 -export -legacy` (RC2-40 certificates, 3DES key, SHA-1 MAC)
  | 'pkcs12-rc2-40' // 0022: -legacy with a SHA-256 MAC: pbeWithSHAAnd40BitRC2-CBC is the weak part
  | 'pkcs12-low-iter' // 0022: modern algorithms, -iter 1000 (PBKDF2 and MAC)
  | 'pkcs12-nomaciter' // 0022: modern algorithms, MAC iteration count 1
  | 'pkcs12-nomac' // 0022: no MacData at all
  | 'pkcs12-signed' // 0022: public-key integrity mode (RFC 7292 §4): the AuthenticatedSafe in SignedData by the key-package signer
  | 'pkcs12-signed-untrusted' // 0022: the same, signed by a CA the device does not hold
  | 'pkcs12-signed-tampered'; // 0022: the same, one signature byte flipped

export interface KeyLabOptions {
  /** EST base URL of the lab server (server.url). */
  baseUrl: string;
  /** CA issuing /serverkeygen certificates (the lab server's CA). */
  issuer?: LabCa;
  log?: (line: string) => void;
  now?: () => Date;
}

/** RFC 2046 §5.1.1 multipart/mixed with base64 parts (RFC 7030 §4.4.2: the /serverkeygen answer). */
function multipartMixed(boundary: string, parts: Array<{ contentType: string; body: Uint8Array }>): string {
  const out = parts.map((p) => `--${boundary}\r\nContent-Type: ${p.contentType}\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(p.body).toString('base64').replace(/.{64}/g, '$&\r\n').replace(/\r\n$/, '')}\r\n`);
  return `${out.join('')}--${boundary}--\r\n`;
}

export class KeyPackageLab {
  readonly packages = new Map<string, { der: Uint8Array; base64: boolean }>();
  readonly returns: KeyReturnRecord[] = [];
  /** How /serverkeygen answers next; the key algorithm it generates. */
  serverKeygenVariant: ServerKeygenVariant = 'good';
  /** 'from-csr': the type of the CSR's SubjectPublicKeyInfo (RFC 7030 §4.4.1: only its values are ignored). */
  serverKeygenAlgorithm: 'ecc-p256' | 'rsa-2048' | 'from-csr' = 'ecc-p256';
  /** A key to answer the next /serverkeygen with instead of generating one (e.g. from `openssl genrsa`). */
  serverKeygenKey: KeyObject | undefined;
  /** Password of the PFX files /serverkeygen makes. */
  pkcs12Password = 'lab-p12-secret';
  /** PEM certificate (issued by the lab) of the device's published KEK public key; set by setKek(). */
  private kekCertPem: string | undefined;
  /** DER SubjectPublicKeyInfo of the device's published KEK; set by setKek(). */
  private kekSpki: Uint8Array | undefined;
  /** The PFX of the last 0022 answer (for independent checks of what was sent). */
  lastPkcs12: Uint8Array | undefined;
  /** SPKIs (DER) of the keys /serverkeygen generated, latest last. */
  readonly generated: Uint8Array[] = [];

  private constructor(
    readonly opts: KeyLabOptions,
    /** Key-package signing CA: its root is the TA, its issuing CA signs packages. */
    readonly ca: LabCa,
    readonly rogueCa: LabCa,
  ) {}

  static async create(router: Router, opts: KeyLabOptions): Promise<KeyPackageLab> {
    const now = (opts.now ?? (() => new Date()))();
    const lab = new KeyPackageLab(opts, await LabCa.create({ name: 'enrolld lab key packages', now }), await LabCa.create({ name: 'rogue key packages', now }));
    const base = `${EST_PATH}/:label?`;
    for (const p of ['symmetrickeys', 'serverkeygen'] as const) {
      router.register('POST', `${EST_PATH}/${p}/return`, (req) => lab.acceptReturn(p, req));
      router.register('POST', `${EST_PATH}/:label/${p}/return`, (req) => lab.acceptReturn(p, req));
    }
    router.register('GET', `${base}/symmetrickeys/:id`, (req) => lab.serveSymmetric(req));
    router.register('POST', `${base}/serverkeygen`, (req) => lab.serverKeygen(req));
    return lab;
  }

  /** The device's published KEK public key (SPKI PEM or DER): the lab wraps it in a certificate for openssl cms. */
  async setKek(spki: Uint8Array | string): Promise<void> {
    const der = typeof spki === 'string' ? new Uint8Array(createPublicKey(spki).export({ type: 'spki', format: 'der' })) : spki;
    const now = (this.opts.now ?? (() => new Date()))();
    const cert = await this.ca.issue({ subject: { CN: 'device key-encryption key' } as never, spki: der, notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + 86_400_000), profile: 'client' });
    this.kekCertPem = certificatePem(cert);
    this.kekSpki = der;
  }

  /** The signed package `der` in the lab's own EnvelopedData to the KEK (EncryptedKeyPackage `enveloped [0]` if asked). */
  envelopeByHand(der: Uint8Array, form: 'enveloped' | 'encrypted-key-package', tamper: EnvelopeTamper = 'none'): Uint8Array {
    if (!this.kekSpki) throw new Error('no KEK published to the lab (setKek)');
    const env = envelopeToKek(der, this.kekSpki, tamper);
    return form === 'enveloped' ? env : KeyPackageLab.encryptedKeyPackage(env);
  }

  /** RFC 5652 §6 EnvelopedData (DER ContentInfo) of `content` to the KEK (or to a fresh other key), by openssl cms. */
  envelope(content: Uint8Array, to: 'kek' | 'other' = 'kek'): Uint8Array {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lab-cms-'));
    try {
      const at = (f: string): string => path.join(dir, f);
      if (to === 'kek') {
        if (!this.kekCertPem) throw new Error('no KEK published to the lab (setKek)');
        writeFileSync(at('kek.crt'), this.kekCertPem);
      } else execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('k.pem'), '-out', at('kek.crt'), '-subj', '/CN=other', '-days', '1'], { stdio: 'pipe' });
      writeFileSync(at('in.der'), content);
      execFileSync('openssl', ['cms', '-encrypt', '-binary', '-in', at('in.der'), '-recip', at('kek.crt'), '-keyid', '-aes256', '-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256', '-keyopt', 'rsa_mgf1_md:sha256', '-outform', 'DER', '-out', at('env.der')], { stdio: 'pipe' });
      return new Uint8Array(readFileSync(at('env.der')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** RFC 6032 §2 EncryptedKeyPackage ::= CHOICE { ..., enveloped [0] EnvelopedData } (IMPLICIT TAGS), in a ContentInfo. */
  static encryptedKeyPackage(envelopedContentInfo: Uint8Array): Uint8Array {
    const ci = new pkijs.ContentInfo({ schema: asn1js.fromBER(envelopedContentInfo).result });
    const env = ci.content as asn1js.Sequence;
    const tagged = new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: env.valueBlock.value });
    return contentInfo(OID_CT_KP_ENCRYPTED_KEY_PACKAGE, new Uint8Array(tagged.toBER(false)));
  }

  /** A PFX of key + certificates by `openssl pkcs12 -export` (`options`: its algorithm options). */
  private pkcs12(keyPem: string, certPems: string[], password: string, options: string[]): Uint8Array {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'lab-p12-'));
    try {
      const at = (f: string): string => path.join(dir, f);
      writeFileSync(at('k.pem'), keyPem, { mode: 0o600 });
      writeFileSync(at('c.pem'), certPems.join(''));
      writeFileSync(at('pw'), password, { mode: 0o600 });
      execFileSync('openssl', ['pkcs12', '-export', '-inkey', at('k.pem'), '-in', at('c.pem'), '-passout', `file:${at('pw')}`, ...options, '-out', at('o.p12')], { stdio: 'pipe' });
      return new Uint8Array(readFileSync(at('o.p12')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /**
   * RFC 7292 §4 public-key integrity mode: the PFX's AuthenticatedSafe (password privacy unchanged) moved into a
   * SignedData (eContentType id-data) signed by `signer`'s issuing CA; PFX { version 3, authSafe }, no MacData.
   */
  private publicKeyIntegrity(passwordModePfx: Uint8Array, signer: LabCa, now: Date, tamper: boolean): Uint8Array {
    const pfx = new pkijs.PFX({ schema: asn1js.fromBER(passwordModePfx.slice().buffer).result });
    const authenticatedSafe = new Uint8Array((pfx.authSafe.content as asn1js.OctetString).getValue());
    const signed = signSignedData({ eContentType: OID.data, eContent: authenticatedSafe, signingKey: signer.issuing.privateKey, certificate: signer.issuing.der, signingTime: now });
    if (tamper) signed[signed.length - 4]! ^= 0x55; // inside the signature, the last field
    return new Uint8Array(new asn1js.Sequence({ value: [new asn1js.Integer({ value: 3 }), asn1js.fromBER(signed.slice().buffer).result] }).toBER(false));
  }

  /** The key-package TA a device provisions. */
  get trustAnchorDer(): Uint8Array {
    return this.ca.root.der;
  }

  /** Builds, signs and publishes a symmetric key package; returns its 0024 PAL entry. */
  async addSymmetricPackage(spec: SymmetricPackageSpec): Promise<LabKeyPackage> {
    const variant = spec.variant ?? 'good';
    const pkgId = new Uint8Array(randomBytes(8));
    const content = symmetricKeyPackage(spec.keys.map((k) => ({ keyId: k.keyId, ...(k.algorithm ? { algorithm: k.algorithm } : {}), key: variant === 'oversized-key' ? new Uint8Array(200).fill(1) : k.key })));
    const signerCa = variant === 'untrusted' ? this.rogueCa : this.ca;
    // RFC 7191 §2: the package names itself and asks for a receipt sent to the lab (a SIREntityName of type id-dn).
    const attr = keyPkgIdAndReceiptReqAttribute(pkgId, (spec.receipt ?? true) ? { receiptsTo: [{ sirenType: OID_SIREN_DN, sirenValue: nameDer(this.ca.root.certificate.subject) }] } : undefined);
    let der: Uint8Array;
    if (variant === 'unsigned') der = contentInfo(OID_CT_KP_SKEY_PACKAGE, content);
    else if (variant === 'encrypted') der = contentInfo(OID_CT_KP_ENCRYPTED_KEY_PACKAGE, new Uint8Array([0x30, 0x00]));
    else {
      der = signSignedData({
        eContentType: variant === 'unknown-content-type' ? OID.data : OID_CT_KP_SKEY_PACKAGE,
        eContent: content,
        signingKey: signerCa.issuing.privateKey,
        certificate: signerCa.issuing.der,
        signingTime: (this.opts.now ?? (() => new Date()))(),
        attributes: [attr],
      });
    }
    // RFC 6032 / RFC 5652 §6: the signed package encrypted to the device's KEK (inner type id-data: openssl cannot set it)
    if (variant === 'enveloped' || variant === 'wrong-kek') der = this.envelope(der, variant === 'wrong-kek' ? 'other' : 'kek');
    if (variant === 'encrypted-key-package') der = KeyPackageLab.encryptedKeyPackage(this.envelope(der));
    if (spec.envelope) der = this.envelopeByHand(der, spec.envelope.form, spec.envelope.tamper);
    if (variant === 'bad-signature') {
      // the signature is the last OCTET STRING in the DER: flip a byte near the end
      der = new Uint8Array(der);
      der[der.length - 4]! ^= 0x55;
    }
    if (variant === 'truncated') der = der.subarray(0, der.length - 40);
    let size = der.length;
    if (variant === 'oversized') {
      der = new Uint8Array([...der, ...new Uint8Array(200_000)]);
      size = 100;
    }
    this.packages.set(spec.id, { der, base64: spec.base64 ?? false });
    const url = `${this.opts.baseUrl}${EST_PATH}/symmetrickeys/${spec.id}`;
    return { id: spec.id, url, pkgId, der, entry: { type: '0024', size, info: { kind: 'uri', uri: url } } };
  }

  /** The 0025 entry that asks for receipts/errors. */
  symmetricReturnEntry(): LabPalEntry {
    return { type: '0025', size: 0, info: { kind: 'uri', uri: `${this.opts.baseUrl}${EST_PATH}/symmetrickeys/return` } };
  }

  /** 0020 PAL entry pointing at /serverkeygen, and the 0023 return entry. */
  serverKeygenEntry(type: '0020' | '0021' | '0022' = '0020'): LabPalEntry {
    return { type, size: 4096, info: { kind: 'uri', uri: `${this.opts.baseUrl}${EST_PATH}/serverkeygen` } };
  }
  serverKeygenReturnEntry(): LabPalEntry {
    return { type: '0023', size: 0, info: { kind: 'uri', uri: `${this.opts.baseUrl}${EST_PATH}/serverkeygen/return` } };
  }

  /** RFC 7030 §4.4: generates a key, issues a certificate for the CSR's subject, answers multipart/mixed. */
  private async serverKeygen(req: LabRequest): Promise<LabResponse> {
    const issuer = this.opts.issuer;
    if (!issuer) return text(501, 'no issuer configured for /serverkeygen');
    let csr: pkijs.CertificationRequest;
    try {
      csr = new pkijs.CertificationRequest({ schema: parseDer(bodyDer(new Uint8Array(req.body), 'CSR'), 'CSR') });
    } catch (e) {
      return text(400, `bad CSR: ${(e as Error).message}`);
    }
    const v = this.serverKeygenVariant;
    const alg = this.serverKeygenAlgorithm === 'from-csr' ? (csr.subjectPublicKeyInfo.algorithm.algorithmId === '1.2.840.113549.1.1.1' ? 'rsa-2048' : 'ecc-p256') : this.serverKeygenAlgorithm;
    const gen = () =>
      v === 'p384' ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
      : alg === 'rsa-2048' || v === 'bad-pkcs1' ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const given = this.serverKeygenKey;
    this.serverKeygenKey = undefined;
    const key = given ? { privateKey: given, publicKey: createPublicKey(given) } : gen();
    const certKey = v === 'mismatch' ? gen() : key;
    const spki = new Uint8Array(certKey.publicKey.export({ type: 'spki', format: 'der' }));
    this.generated.push(new Uint8Array(key.publicKey.export({ type: 'spki', format: 'der' })));
    const now = (this.opts.now ?? (() => new Date()))();
    const ca = v === 'untrusted-cert' ? this.rogueCa : issuer;
    const cert = await ca.issue({ subject: csr.subject, spki, notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + 30 * 86_400_000), profile: 'client' });
    const certs = certsOnly([certificateDer(cert), ca.issuing.der]);
    const traditional = () => new Uint8Array(key.privateKey.export({ type: key.privateKey.asymmetricKeyType === 'rsa' ? 'pkcs1' : 'sec1', format: 'der' }));
    let pkcs8 = new Uint8Array(key.privateKey.export({ type: 'pkcs8', format: 'der' }));
    if (v === 'bad-key') pkcs8 = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]);
    if (v === 'pkcs1') pkcs8 = traditional();
    if (v === 'bad-pkcs1') pkcs8 = traditional().subarray(0, 600);
    if (v.startsWith('pkcs12')) {
      const options: Partial<Record<ServerKeygenVariant, string[]>> = {
        'pkcs12-weak': ['-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1'],
        'pkcs12-legacy': ['-legacy'],
        'pkcs12-rc2-40': ['-legacy', '-macalg', 'sha256'],
        'pkcs12-low-iter': ['-iter', '1000'],
        'pkcs12-nomaciter': ['-nomaciter'],
        'pkcs12-nomac': ['-nomac'],
      };
      let pfx = this.pkcs12(key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, [certificatePem(cert), certificatePem(ca.issuing.der)], v === 'pkcs12-wrong-password' ? 'not-the-password' : this.pkcs12Password, options[v] ?? []);
      if (v.startsWith('pkcs12-signed')) pfx = this.publicKeyIntegrity(pfx, v === 'pkcs12-signed-untrusted' ? this.rogueCa : this.ca, now, v === 'pkcs12-signed-tampered');
      this.lastPkcs12 = pfx;
      const boundary = `est-${randomBytes(8).toString('hex')}`;
      return { status: 200, headers: { 'content-type': `multipart/mixed; boundary=${boundary}` }, body: multipartMixed(boundary, [{ contentType: 'application/pkcs12', body: pfx }]) };
    }
    if (v === 'cms' || v === 'cms-signed' || v === 'cms-multi') {
      // RFC 5958 AsymmetricKeyPackage of one OneAsymmetricKey (v0: the PKCS #8 PrivateKeyInfo), signed, then enveloped;
      // SEQUENCE SIZE (1..MAX): 'cms-multi' adds a second key
      const extra = v === 'cms-multi' ? [asn1js.fromBER(new Uint8Array(gen().privateKey.export({ type: 'pkcs8', format: 'der' }))).result] : [];
      const akp = new Uint8Array(new asn1js.Sequence({ value: [asn1js.fromBER(pkcs8).result, ...extra] }).toBER(false));
      const signed = signSignedData({ eContentType: OID_CT_KP_AKEY_PACKAGE, eContent: akp, signingKey: this.ca.issuing.privateKey, certificate: this.ca.issuing.der, signingTime: now, attributes: [keyPkgIdAndReceiptReqAttribute(new Uint8Array(randomBytes(8)))] });
      const body = v === 'cms' ? this.envelope(signed) : signed;
      const boundary = `est-${randomBytes(8).toString('hex')}`;
      return {
        status: 200,
        headers: { 'content-type': `multipart/mixed; boundary=${boundary}` },
        body: multipartMixed(boundary, [{ contentType: 'application/pkcs7-mime; smime-type=server-generated-key', body }, { contentType: CERTS_ONLY, body: certs }]),
      };
    }
    const keyPart =
      v === 'encrypted'
        ? { contentType: 'application/pkcs7-mime; smime-type=server-generated-key', body: contentInfo('1.2.840.113549.1.7.3', new Uint8Array([0x30, 0x00])) } // id-envelopedData
        : { contentType: 'application/pkcs8', body: pkcs8 };
    const boundary = `est-${randomBytes(8).toString('hex')}`;
    let body = multipartMixed(boundary, v === 'no-cert' ? [keyPart] : [keyPart, { contentType: CERTS_ONLY, body: certs }]);
    if (v === 'truncated') body = body.slice(0, body.lastIndexOf(`--${boundary}--`));
    if (v === 'oversized') body += 'x'.repeat(200_000);
    if (v === 'not-multipart') return { status: 200, headers: { 'content-type': 'application/pkcs8' }, body: Buffer.from(pkcs8).toString('base64') };
    return { status: 200, headers: { 'content-type': `multipart/mixed; boundary=${boundary}` }, body };
  }

  private serveSymmetric(req: LabRequest): LabResponse {
    const p = this.packages.get(req.params.id ?? '');
    if (!p) return text(404, 'no such key package');
    const headers: Record<string, string> = { 'content-type': 'application/cms; encapsulatingContent=signedData; innerContent=symmetricKeyPackage' };
    if (p.base64) {
      headers['content-transfer-encoding'] = 'base64';
      return { status: 200, headers, body: Buffer.from(p.der).toString('base64').replace(/.{64}/g, '$&\r\n') };
    }
    return { status: 200, headers, body: p.der };
  }

  /** Verifies (signature, content type) and records a receipt or error; 204 on success, 400/415 otherwise. */
  async acceptReturn(which: KeyReturnRecord['path'], req: LabRequest): Promise<LabResponse> {
    const ct = typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : '';
    if (!/^application\/cms\b/i.test(ct)) return text(415, 'expected application/cms');
    let body = new Uint8Array(req.body);
    if (String(req.headers['content-transfer-encoding'] ?? '').toLowerCase() === 'base64') body = new Uint8Array(Buffer.from(Buffer.from(body).toString('latin1'), 'base64'));
    try {
      // RFC 7191 §3/§4: receipts and errors are signed.
      const sd = await openSignedData(body);
      if (!sd.hasCertificates) throw new Error('no certificates to verify the signature with');
      const rec: KeyReturnRecord = {
        at: new Date(),
        path: which,
        kind: 'receipt',
        signed: true,
        signatureValid: sd.signatureValid,
        contentType: ct,
        der: body,
        ...(sd.signerCertificate ? { signerSubjectDer: nameDer(sd.signerCertificate.subject) } : {}),
      };
      if (!rec.signatureValid) return text(400, 'signature on the receipt/error does not verify');
      if (sd.eContentType === OID_CT_KP_KEY_PACKAGE_RECEIPT) {
        const r = decodeKeyPackageReceipt(sd.eContent);
        rec.pkgId = r.receiptOf.pkgID;
        rec.by = r.receivedBy.sirenValue;
      } else if (sd.eContentType === OID_CT_KP_KEY_PACKAGE_ERROR) {
        const r = decodeKeyPackageError(sd.eContent);
        rec.kind = 'error';
        rec.errorCode = r.errorCode;
        rec.pkgId = r.errorOf?.pkgID;
        rec.by = r.errorBy.sirenValue;
      } else throw new Error(`content type ${sd.eContentType} is neither a key package receipt nor an error`);
      this.returns.push(rec);
      this.opts.log?.(`lab keys: ${which} ${rec.kind} ${rec.pkgId ?? ''} ${rec.errorCode ?? ''}`);
      return { status: 204 };
    } catch (err) {
      return text(400, `malformed key package receipt/error: ${(err as Error).message}`);
    }
  }
}

/** Registers the key package endpoints on the lab router (tests call this on lab.router). */
export function registerKeyPackageHandlers(router: Router, opts: KeyLabOptions): Promise<KeyPackageLab> {
  return KeyPackageLab.create(router, opts);
}
