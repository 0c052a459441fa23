// Lab side of RFC 8295 key packages: symmetric key packages (0024, /symmetrickeys) built as RFC 6031
// SymmetricKeyPackage, signed by the lab's own key-package signer (its root is the TA a device must hold for key
// packages), with the RFC 7191 keyPkgIdAndReceiptReq attribute; the /symmetrickeys/return and /serverkeygen/return
// endpoints that verify and record RFC 7191 receipts and errors (204); PAL entries for the tests; bad variants.
import { KeyObject, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { SoftwareSigner } from '../../agent/keystore/software.js';
import { singleValueAttribute } from '../../agent/pki/asn1/cms-attributes.js';
import { createSignedData, createUnsignedContentInfo } from '../../agent/pki/asn1/cms-signed-data-create.js';
import { OID_CMS_SIGNED_DATA } from '../../agent/pki/asn1/firmware-oids.js';
import { KeyPackageError } from '../../agent/pki/asn1/key-package-error.js';
import { OID_CT_KP_SKEY_PACKAGE, OID_PSKC_ALGORITHM, OID_PSKC_KEY_ID } from '../../agent/pki/asn1/key-package-oids.js';
import { KeyPackageReceipt } from '../../agent/pki/asn1/key-package-receipt.js';
import { KeyPkgIdentifierAndReceiptReq } from '../../agent/pki/asn1/key-pkg-identifier-and-receipt-req.js';
import { KeyPkgReceiptReq } from '../../agent/pki/asn1/key-pkg-receipt-req.js';
import { OneSymmetricKey, utf8AttributeValue } from '../../agent/pki/asn1/one-symmetric-key.js';
import { SIREntityName } from '../../agent/pki/asn1/siren-entity-name.js';
import { SymmetricKeyPackage } from '../../agent/pki/asn1/symmetric-key-package.js';
import type { PalEntry } from '../../agent/pal/model.js';
import { decodeEstBody } from '../../agent/protocols/est/base64-body.js';
import { EST_WELL_KNOWN_PATH } from '../../agent/protocols/est/constants.js';
import { buildMultipartMixed } from '../../agent/protocols/est/multipart-mixed.js';
import { createCertsOnly } from '../../agent/pki/certs-only.js';
import { certificateToDer } from '../../agent/pki/cert.js';
import { LabCa } from './ca.js';
import { text, type LabRequest, type LabResponse, type Router } from './router.js';

export type SymmetricVariant =
  | 'good'
  | 'unsigned' // ContentInfo(SymmetricKeyPackage) with no SignedData around it
  | 'untrusted' // signed by a CA the device does not hold as key-package TA
  | 'truncated' // DER cut short
  | 'bad-signature' // one signature byte flipped
  | 'unknown-content-type' // SignedData(id-data)
  | 'encrypted' // an RFC 6032 EncryptedKeyPackage ContentInfo (refused: no decrypt key)
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
}

export interface LabKeyPackage {
  id: string;
  url: string;
  pkgId: Uint8Array;
  der: Uint8Array;
  entry: PalEntry;
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
  | 'encrypted' // a CMS server-generated-key part instead of PKCS #8
  | 'bad-key' // the PKCS #8 part is garbage
  | 'p384' // a key the TPM keystore does not import
  | 'not-multipart' // the key alone, as application/pkcs8
  | 'pkcs1' // the key part is a PKCS#1 RSAPrivateKey / SEC1 ECPrivateKey, as Cisco libest's estserver sends it
  | 'bad-pkcs1' // a PKCS#1 RSAPrivateKey cut short
  | 'oversized'; // 200 KB of epilogue after the parts

export interface KeyLabOptions {
  /** EST base URL of the lab server (server.url). */
  baseUrl: string;
  /** CA issuing /serverkeygen certificates (the lab server's CA). */
  issuer?: LabCa;
  log?: (line: string) => void;
  now?: () => Date;
}

const OID_ENCRYPTED_KEY_PACKAGE = '2.16.840.1.101.2.1.2.78.2';
const OID_DATA = '1.2.840.113549.1.7.1';

export class KeyPackageLab {
  readonly packages = new Map<string, { der: Uint8Array; base64: boolean }>();
  readonly returns: KeyReturnRecord[] = [];
  /** How /serverkeygen answers next; the key algorithm it generates. */
  serverKeygenVariant: ServerKeygenVariant = 'good';
  /** 'from-csr': the type of the CSR's SubjectPublicKeyInfo (RFC 7030 §4.4.1: only its values are ignored). */
  serverKeygenAlgorithm: 'ecc-p256' | 'rsa-2048' | 'from-csr' = 'ecc-p256';
  /** A key to answer the next /serverkeygen with instead of generating one (e.g. from `openssl genrsa`). */
  serverKeygenKey: KeyObject | undefined;
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
    const base = `${EST_WELL_KNOWN_PATH}/:label?`;
    for (const p of ['symmetrickeys', 'serverkeygen'] as const) {
      router.register('POST', `${EST_WELL_KNOWN_PATH}/${p}/return`, (req) => lab.acceptReturn(p, req));
      router.register('POST', `${EST_WELL_KNOWN_PATH}/:label/${p}/return`, (req) => lab.acceptReturn(p, req));
    }
    router.register('GET', `${base}/symmetrickeys/:id`, (req) => lab.serveSymmetric(req));
    router.register('POST', `${base}/serverkeygen`, (req) => lab.serverKeygen(req));
    return lab;
  }

  /** The key-package TA a device provisions. */
  get trustAnchorDer(): Uint8Array {
    return this.ca.root.der;
  }

  /** Builds, signs and publishes a symmetric key package; returns its 0024 PAL entry. */
  async addSymmetricPackage(spec: SymmetricPackageSpec): Promise<LabKeyPackage> {
    const variant = spec.variant ?? 'good';
    const pkgId = new Uint8Array(randomBytes(8));
    const keys = spec.keys.map(
      (k) =>
        new OneSymmetricKey({
          sKeyAttrs: [utf8AttributeValue(OID_PSKC_KEY_ID, k.keyId), ...(k.algorithm ? [utf8AttributeValue(OID_PSKC_ALGORITHM, k.algorithm)] : [])],
          sKey: variant === 'oversized-key' ? new Uint8Array(200).fill(1) : k.key,
        }),
    );
    const content = new SymmetricKeyPackage({ sKeys: keys }).toDer();
    const signerCa = variant === 'untrusted' ? this.rogueCa : this.ca;
    const attr = new KeyPkgIdentifierAndReceiptReq({
      pkgID: pkgId,
      ...((spec.receipt ?? true)
        ? { receiptReq: new KeyPkgReceiptReq({ receiptsTo: [SIREntityName.fromDistinguishedName(new Uint8Array(this.ca.root.certificate.subject.toSchema().toBER(false)))] }) }
        : {}),
    });
    let der: Uint8Array;
    if (variant === 'unsigned') der = createUnsignedContentInfo(OID_CT_KP_SKEY_PACKAGE, content);
    else if (variant === 'encrypted') der = createUnsignedContentInfo(OID_ENCRYPTED_KEY_PACKAGE, new Uint8Array([0x30, 0x00]));
    else {
      der = await createSignedData({
        eContentType: variant === 'unknown-content-type' ? OID_DATA : OID_CT_KP_SKEY_PACKAGE,
        eContent: content,
        signer: new SoftwareSigner(KeyObject.from(signerCa.issuing.privateKey)),
        certificate: signerCa.issuing.der,
        signingTime: (this.opts.now ?? (() => new Date()))(),
        attributes: [singleValueAttribute(KeyPkgIdentifierAndReceiptReq.ATTRIBUTE_TYPE, attr)],
      });
    }
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
    const url = `${this.opts.baseUrl}${EST_WELL_KNOWN_PATH}/symmetrickeys/${spec.id}`;
    return { id: spec.id, url, pkgId, der, entry: { type: '0024', size, info: { kind: 'uri', uri: url } } };
  }

  /** The 0025 entry that asks for receipts/errors. */
  symmetricReturnEntry(): PalEntry {
    return { type: '0025', size: 0, info: { kind: 'uri', uri: `${this.opts.baseUrl}${EST_WELL_KNOWN_PATH}/symmetrickeys/return` } };
  }

  /** 0020 PAL entry pointing at /serverkeygen, and the 0023 return entry. */
  serverKeygenEntry(type: '0020' | '0021' | '0022' = '0020'): PalEntry {
    return { type, size: 4096, info: { kind: 'uri', uri: `${this.opts.baseUrl}${EST_WELL_KNOWN_PATH}/serverkeygen` } };
  }
  serverKeygenReturnEntry(): PalEntry {
    return { type: '0023', size: 0, info: { kind: 'uri', uri: `${this.opts.baseUrl}${EST_WELL_KNOWN_PATH}/serverkeygen/return` } };
  }

  /** RFC 7030 §4.4: generates a key, issues a certificate for the CSR's subject, answers multipart/mixed. */
  private async serverKeygen(req: LabRequest): Promise<LabResponse> {
    const issuer = this.opts.issuer;
    if (!issuer) return text(501, 'no issuer configured for /serverkeygen');
    let csr: pkijs.CertificationRequest;
    try {
      csr = new pkijs.CertificationRequest({ schema: asn1js.fromBER(decodeEstBody(new Uint8Array(req.body), 'CSR')).result });
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
    const certsOnly = createCertsOnly([certificateToDer(cert), ca.issuing.der]);
    const traditional = () => new Uint8Array(key.privateKey.export({ type: key.privateKey.asymmetricKeyType === 'rsa' ? 'pkcs1' : 'sec1', format: 'der' }));
    let pkcs8 = new Uint8Array(key.privateKey.export({ type: 'pkcs8', format: 'der' }));
    if (v === 'bad-key') pkcs8 = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]);
    if (v === 'pkcs1') pkcs8 = traditional();
    if (v === 'bad-pkcs1') pkcs8 = traditional().subarray(0, 600);
    const keyPart =
      v === 'encrypted'
        ? { contentType: 'application/pkcs7-mime; smime-type=server-generated-key', body: createUnsignedContentInfo('1.2.840.113549.1.7.3', new Uint8Array([0x30, 0x00])) }
        : { contentType: 'application/pkcs8', body: pkcs8 };
    const boundary = `est-${randomBytes(8).toString('hex')}`;
    let body = buildMultipartMixed(boundary, v === 'no-cert' ? [keyPart] : [keyPart, { contentType: 'application/pkcs7-mime; smime-type=certs-only', body: certsOnly }]);
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
      const parsed = asn1js.fromBER(body);
      if (parsed.offset !== body.byteLength || parsed.result.error) throw new Error('not one BER element');
      const ci = new pkijs.ContentInfo({ schema: parsed.result });
      if (ci.contentType !== OID_CMS_SIGNED_DATA) throw new Error(`content type ${ci.contentType}: receipts/errors must be signed`);
      const sd = new pkijs.SignedData({ schema: ci.content });
      if (sd.signerInfos.length !== 1) throw new Error(`${sd.signerInfos.length} SignerInfos`);
      const e = sd.encapContentInfo;
      if (!e.eContent) throw new Error('no eContent');
      const v = (await sd.verify({ signer: 0, checkChain: false, extendedMode: true }).catch((x: unknown) => x)) as {
        signatureVerified?: boolean;
        signerCertificate?: pkijs.Certificate;
      };
      const rec: KeyReturnRecord = {
        at: new Date(),
        path: which,
        kind: 'receipt',
        signed: true,
        signatureValid: v.signatureVerified === true,
        contentType: ct,
        der: body,
        ...(v.signerCertificate ? { signerSubjectDer: new Uint8Array(v.signerCertificate.subject.toSchema().toBER(false)) } : {}),
      };
      if (!rec.signatureValid) return text(400, 'signature on the receipt/error does not verify');
      const inner = new Uint8Array(e.eContent.getValue());
      if (e.eContentType === KeyPackageReceipt.CONTENT_TYPE) {
        const r = KeyPackageReceipt.fromDer(inner);
        rec.pkgId = r.receiptOf.pkgID ? Buffer.from(r.receiptOf.pkgID).toString('hex') : undefined;
        rec.by = r.receivedBy.sirenValue;
      } else if (e.eContentType === KeyPackageError.CONTENT_TYPE) {
        const r = KeyPackageError.fromDer(inner);
        rec.kind = 'error';
        rec.errorCode = 'enum' in r.errorCode ? r.errorCode.enum : r.errorCode.oid;
        rec.pkgId = r.errorOf?.pkgID ? Buffer.from(r.errorOf.pkgID).toString('hex') : undefined;
        rec.by = r.errorBy.sirenValue;
      } else throw new Error(`content type ${e.eContentType} is neither a key package receipt nor an error`);
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
