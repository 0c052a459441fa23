// 0020 "Asymmetric Key Package (PKCS #8)", 0021 "(CMS)", 0022 "(PKCS #12)" and 0023 "Receipt or Error"
// (RFC 8295 §2.1.1; RFC 7030 §4.4): POST a CSR to the entry's /serverkeygen URI (the server ignores its public key
// values and signature, §4.4.1, so its SubjectPublicKeyInfo algorithm is what tells the server the key type wanted:
// enrolld signs it with the device key when that has the wanted type, else with a throwaway TPM key of that type,
// so ordinary CSR code applies), parse the
// multipart/mixed answer strictly (agent/protocols/est/multipart-mixed.ts), import the private key into the TPM
// (TpmKeyStore.importKey; the plaintext is wiped right after), check that the returned certificate carries exactly
// the imported public key and chains to a CA TA, record the credential (key blobs + certificate), and queue a signed
// RFC 7191 receipt — or a KeyPackageError — for 0023 to POST to /serverkeygen/return (204).
// The key part, by its content type (whatever the PAL type said; each is refused when its prerequisite is missing):
//   • application/pkcs8 (0020): PrivateKeyInfo. A PKCS#1 RSAPrivateKey or SEC1 ECPrivateKey (not the PrivateKeyInfo
//     §4.4.2 requires; Cisco libest's estserver sends PKCS#1) is accepted with a warning unless acceptPkcs1 is false;
//   • application/pkcs7-mime; smime-type=server-generated-key (0021, RFC 7030 §4.4.2): ContentInfo(SignedData(
//     AsymmetricKeyPackage, RFC 5958)), optionally inside EnvelopedData / EncryptedKeyPackage to the TPM-held KEK
//     (kek.ts); the SignedData must verify to a key-package TA; the package must hold exactly one key (RFC 5958 allows
//     SIZE(1..MAX): more keys are refused with unsupportedAsymmetricKeyPackage before anything is imported);
//   • application/pkcs12 (0022, RFC 7292): opened with the provisioned password (pkcs12.ts: 0600 file or TPM-sealed
//     secret; weak PBE/MAC refused); its certificate bags count as the certificates when no certs-only part comes.
// /fullcmc URIs are refused. pkgID of the receipt: the SignedData's keyPkgIdAndReceiptReq pkgID for 0021 when it
// has one, else the certificate's key identifier, SHA-1 of the subjectPublicKey (RFC 5280 §4.2.1.2 method 1) — our
// choice, the RFCs do not say.
import { currentSigner } from './common.js';
import { keyIdentifierFromSpki } from '../../pki/asn1/cms-signed-data-create.js';
import { certificateSpki, certificateToPem } from '../../pki/cert.js';
import { createCertsOnly, parseCertsOnly } from '../../pki/certs-only.js';
import { validateChain } from '../../pki/chain.js';
import { type BuiltCsr, buildCsr } from '../../pki/csr.js';
import type { NameInput } from '../../pki/name.js';
import { PkiDecodeError } from '../../pki/errors.js';
import { pkcs8FromTraditional, privateKeyForm } from '../../pki/private-key.js';
import type { KeyAlgorithm } from '../../pki/signer.js';
import type { HandlerContext, HandlerResult, PackageHandler } from '../../pal/dispatch.js';
import type { PalEntry } from '../../pal/model.js';
import { encodeBase64Body } from '../../protocols/est/base64-body.js';
import { MEDIA_TYPES } from '../../protocols/est/constants.js';
import { parseMultipartMixed } from '../../protocols/est/multipart-mixed.js';
import { resolvePackageUri } from '../../protocols/est/package-uri.js';
import type { KeyRecord } from '../../keystore/keystore.js';
import { failed } from '../common.js';
import type { PackageContext } from '../context.js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { AsymmetricKeyPackage } from '../../pki/asn1/asymmetric-key-package.js';
import { OID_CT_KP_AKEY_PACKAGE, OID_CT_KP_SKEY_PACKAGE } from '../../pki/asn1/key-package-oids.js';
import {
  DEFAULT_MAX_PACKAGE_BYTES,
  KeyPackageRefused,
  type KeyPackagesConfig,
  KeysStateFile,
  hexOf,
  peekPkgId,
  signedError,
  signedReceipt,
  verifySignedKeyPackage,
} from './common.js';
import { openIfEncrypted } from './enveloped-data.js';
import { handleReturnEntry } from './returns.js';
import { SERVERKEYGEN_RETURN_TYPE, SERVERKEYGEN_TYPES } from './package-types.js';
import { openPkcs12, readPasswordFile } from './pkcs12.js';

export { SERVERKEYGEN_RETURN_TYPE, SERVERKEYGEN_TYPES } from './package-types.js';

export interface ServerKeygenConfig extends KeyPackagesConfig {
  /** Subject of the CSR sent to /serverkeygen. */
  subject: NameInput;
  /** Key type asked for (the CSR's SubjectPublicKeyInfo algorithm); default: the device key's. */
  keyAlgorithm?: KeyAlgorithm;
  /** Accept a PKCS#1 / SEC1 key part with a warning (default true); false: refuse it (keys.not_pkcs8). */
  acceptPkcs1?: boolean;
}

/** RFC 7030 §4.4.2 / RFC 8295 §8 key part media types. */
const KEY_PART = /^application\/pkcs8\b|^application\/pkcs12\b|^application\/pkcs7-mime\b.*smime-type=server-generated-key/;
type KeyKind = 'pkcs8' | 'pkcs12' | 'cms';
const keyKind = (ct: string): KeyKind => (/^application\/pkcs8\b/.test(ct) ? 'pkcs8' : /^application\/pkcs12\b/.test(ct) ? 'pkcs12' : 'cms');

export class ServerKeygen {
  readonly state: KeysStateFile;
  constructor(readonly cfg: ServerKeygenConfig) {
    this.state = new KeysStateFile(cfg.stateDir);
  }

  handler(): PackageHandler<PackageContext> {
    return {
      types: [...SERVERKEYGEN_TYPES, SERVERKEYGEN_RETURN_TYPE],
      handle: (entry: PalEntry, ctx: HandlerContext<PackageContext>): Promise<HandlerResult> => this.handle(entry, ctx),
    };
  }

  private async handle(entry: PalEntry, ctx: HandlerContext<PackageContext>): Promise<HandlerResult> {
    const s = ctx.shared;
    const opts = s.policy.allowedOrigins ? { allowedOrigins: s.policy.allowedOrigins } : {};
    if (entry.type === SERVERKEYGEN_RETURN_TYPE) return handleReturnEntry(this.state, 'serverkeygen', entry, ctx);
    const resolved = resolvePackageUri(s.est.ctx, entry.info.kind === 'uri' ? entry.info.uri : undefined, ['serverkeygen', 'fullcmc'], opts);
    if (resolved.operation !== 'serverkeygen') {
      const why = '/fullcmc is not supported';
      await this.queueError(new KeyPackageRefused('unsupported', 'unsupportedAsymmetricKeyPackage', why));
      return failed('keys.unsupported', why);
    }
    const csr = await this.requestCsr();
    const res = await s.est.ctx.transport.request({
      method: 'POST',
      url: resolved.url,
      headers: { 'content-type': MEDIA_TYPES.pkcs10, 'content-transfer-encoding': 'base64' },
      body: encodeBase64Body(csr.der),
      maxResponseBytes: this.cfg.maxPackageBytes ?? DEFAULT_MAX_PACKAGE_BYTES,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    if (res.status !== 200) return failed('keys.http', `POST ${resolved.url.pathname}: HTTP ${res.status}`);
    const ct = res.headers['content-type'];
    const r = await this.processResponse(res.body, typeof ct === 'string' ? ct : undefined, s);
    res.body.fill(0);
    if (r.status === 'stored') return { status: 'ok', detail: `server-generated ${r.record.algorithm} key imported into the TPM as ${r.record.id}` };
    return failed(r.code, r.message);
  }

  /** The /serverkeygen CSR, its SubjectPublicKeyInfo of the wanted key type (RFC 7030 §4.4.1). */
  private async requestCsr(): Promise<BuiltCsr> {
    const device = (await currentSigner(this.cfg)).signer;
    const wanted = this.cfg.keyAlgorithm ?? device.algorithm;
    if (device.algorithm === wanted) return buildCsr({ subject: this.cfg.subject, signer: device });
    const ks = this.cfg.keystore;
    const throwaway = await ks.createKey(`srvkeygen-csr-${(this.cfg.now ?? (() => new Date()))().getTime()}`, wanted);
    try {
      return await buildCsr({ subject: this.cfg.subject, signer: ks.signer(throwaway) });
    } finally {
      await ks.deleteKey(throwaway);
    }
  }

  /** The key part as PKCS#8: a PKCS#1 / SEC1 key is wrapped (with a warning) or refused, per acceptPkcs1. */
  private keyAsPkcs8(keyPart: Uint8Array): Uint8Array {
    let form;
    try {
      form = privateKeyForm(keyPart);
    } catch (e) {
      throw new KeyPackageRefused('bad_key', 'badKeyPackage', (e as Error).message, { cause: e });
    }
    if (form === 'pkcs8') return keyPart;
    const what = form === 'pkcs1' ? 'PKCS#1 RSAPrivateKey' : 'SEC1 ECPrivateKey';
    if (this.cfg.acceptPkcs1 === false) {
      throw new KeyPackageRefused('not_pkcs8', 'badKeyPackage', `the key part is a ${what}, not the PKCS#8 PrivateKeyInfo RFC 7030 §4.4.2 requires (keyPackages.serverKeygen.acceptPkcs1 is off)`);
    }
    try {
      const pkcs8 = pkcs8FromTraditional(keyPart);
      this.cfg.log?.warn('keys.serverkeygen.not-pkcs8', { form, detail: `the server sent a ${what}, not PKCS#8 (RFC 7030 §4.4.2); imported as its PKCS#8 form` });
      return pkcs8;
    } catch (e) {
      throw new KeyPackageRefused('bad_key', 'badKeyPackage', (e as Error).message, { cause: e });
    }
  }

  /** The key part as PKCS#8 (the caller wipes it), with the PFX's certificates and the signed package's pkgID. */
  private async openKeyPart(
    kind: KeyKind,
    part: Uint8Array,
    anchors: ReadonlyArray<Uint8Array>,
    now: Date,
    seen: { pkgId?: Uint8Array },
  ): Promise<{ pkcs8: Uint8Array; certificates: Uint8Array[]; pkgId?: Uint8Array }> {
    if (kind === 'pkcs8') return { pkcs8: this.keyAsPkcs8(part), certificates: [] };
    if (kind === 'pkcs12') {
      const src = this.cfg.pkcs12Password;
      if (!src) throw new KeyPackageRefused('pkcs12_password', 'noDecryptKey', 'a PKCS #12 key part, and no password is provisioned (keyPackages.serverKeygen.pkcs12PasswordFile)');
      const password = 'file' in src ? await readPasswordFile(src.file) : await this.sealedPassword(src.sealedKeyId);
      try {
        const p12 = await openPkcs12(part, password, { anchors, at: now });
        if (p12.keys.length !== 1) {
          for (const k of p12.keys) k.fill(0);
          throw new KeyPackageRefused('pkcs12_keys', 'unsupportedAsymmetricKeyPackage', `the PFX holds ${p12.keys.length} keys; a /serverkeygen answer carries exactly one (RFC 7030 §4.4.2)`);
        }
        return { pkcs8: p12.keys[0]!, certificates: p12.certificates };
      } finally {
        password.fill(0);
      }
    }
    // RFC 7030 §4.4.2: SignedData(AsymmetricKeyPackage), possibly enveloped to the KEK
    let inner: Uint8Array | undefined;
    try {
      inner = await openIfEncrypted(part, this.cfg.keystore, this.state);
      // RFC 7191 §4 errorOf: the pkgID the package names, read before verification as for 0024
      const peeked = peekPkgId(inner);
      if (peeked) seen.pkgId = new Uint8Array(peeked); // a copy: `inner` is wiped below
      const v = await verifySignedKeyPackage(inner, anchors, now);
      if (v.eContentType === OID_CT_KP_SKEY_PACKAGE) throw new KeyPackageRefused('wrong_package', 'unsupportedSymmetricKeyPackage', 'a symmetric key package on /serverkeygen');
      if (v.eContentType !== OID_CT_KP_AKEY_PACKAGE) throw new KeyPackageRefused('content_type', 'badEncapContent', `content type ${v.eContentType} is not an asymmetric key package`);
      let akp: AsymmetricKeyPackage | undefined;
      try {
        akp = AsymmetricKeyPackage.fromDer(v.eContent);
        // Refused, not imported all-or-nothing: one /serverkeygen request is answered with one key and its certificate
        // (RFC 7030 §4.4.2), so further keys would sit in the TPM with no certificate to use them with.
        if (akp.keys.length !== 1) throw new KeyPackageRefused('akp_keys', 'unsupportedAsymmetricKeyPackage', `the AsymmetricKeyPackage holds ${akp.keys.length} keys; a /serverkeygen answer carries exactly one (RFC 7030 §4.4.2)`);
        return { pkcs8: this.keyAsPkcs8(akp.keys[0]!.toPkcs8()), certificates: [], ...(v.idAndReq?.pkgID ? { pkgId: new Uint8Array(v.idAndReq.pkgID) } : {}) };
      } catch (e) {
        if (e instanceof Asn1DecodeError) throw new KeyPackageRefused('bad_key', 'badKeyPackage', `AsymmetricKeyPackage: ${e.message}`, { cause: e });
        throw e;
      } finally {
        akp?.wipe();
        v.eContent.fill(0);
      }
    } finally {
      if (inner && inner !== part) inner.fill(0);
    }
  }

  /** A PKCS #12 password sealed in the TPM: the symmetric key of that keyId (0024), unsealed for this one use. */
  private async sealedPassword(keyId: string): Promise<Uint8Array> {
    const hit = (await this.state.load()).symmetric.find((k) => k.keyId === keyId);
    if (!hit) throw new KeyPackageRefused('pkcs12_password', 'noDecryptKey', `the PKCS #12 password (sealed key ${keyId}) is not in the TPM keystore`);
    return this.cfg.keystore.unsealSecret(hit.sealed);
  }

  private async queueError(refused: KeyPackageRefused, pkgId?: Uint8Array): Promise<void> {
    const err = await signedError(this.cfg, { enum: refused.rfc }, pkgId);
    await this.state.update((st) => {
      st.outbox.push({ kind: 'error', path: 'serverkeygen', der: Buffer.from(err).toString('base64'), ...(pkgId ? { pkgId: hexOf(pkgId)! } : {}) });
    });
  }

  /** Parses the multipart answer, imports the key, checks the certificate, records both, queues the receipt/error. */
  async processResponse(
    body: Uint8Array,
    contentType: string | undefined,
    s: Pick<PackageContext, 'taStore' | 'clock' | 'intermediates'>,
  ): Promise<{ status: 'stored'; record: KeyRecord } | { status: 'refused'; code: string; rfc: string; message: string }> {
    const now = (this.cfg.now ?? (() => s.clock.now()))();
    let keyPart: Uint8Array | undefined;
    let signedPkgId: Uint8Array | undefined;
    try {
      let parts;
      try {
        parts = parseMultipartMixed(body, contentType);
      } catch (e) {
        throw new KeyPackageRefused('multipart', 'decodeFailure', (e as Error).message, { cause: e });
      }
      const keyParts = parts.filter((p) => KEY_PART.test(p.contentType));
      const certParts = parts.filter((p) => /^application\/pkcs7-mime\b/.test(p.contentType) && /smime-type=certs-only/.test(p.contentType));
      keyPart = keyParts[0]?.body;
      const kind = keyParts.length === 1 ? keyKind(keyParts[0]!.contentType) : undefined;
      // a PKCS #12 may carry its certificate itself; every other form comes with one certs-only part
      const certsWanted = kind === 'pkcs12' ? certParts.length <= 1 && parts.length === 1 + certParts.length : certParts.length === 1 && parts.length === 2;
      if (!kind || !certsWanted) {
        throw new KeyPackageRefused('multipart', 'badKeyPackage', `expected one key part (application/pkcs8, application/pkcs12 or smime-type=server-generated-key) and one certs-only part, got ${parts.map((p) => p.contentType).join(', ')}`);
      }
      let certs;
      try {
        certs = certParts[0] ? parseCertsOnly(certParts[0].body) : undefined;
      } catch (e) {
        throw new KeyPackageRefused('certificate', 'badCertificate', (e as Error).message, { cause: e });
      }
      let record: KeyRecord;
      let pkcs8: Uint8Array | undefined;
      try {
        const seen: { pkgId?: Uint8Array } = {};
        const opened = await this.openKeyPart(kind, keyPart!, await this.cfg.trustAnchors(), now, seen).finally(() => {
          signedPkgId = seen.pkgId;
        });
        pkcs8 = opened.pkcs8;
        signedPkgId = opened.pkgId;
        if (!certs && opened.certificates.length) certs = parseCertsOnly(createCertsOnly(opened.certificates));
        if (!certs) throw new KeyPackageRefused('multipart', 'badKeyPackage', 'no certificate: neither a certs-only part nor a certificate bag in the PFX');
        record = await this.cfg.keystore.importKey(`srvkey-${now.getTime()}`, pkcs8);
      } catch (e) {
        if (e instanceof KeyPackageRefused) throw e;
        if (e instanceof PkiDecodeError || e instanceof Asn1DecodeError) throw new KeyPackageRefused('bad_key', 'badKeyPackage', e.message, { cause: e });
        throw new KeyPackageRefused('import', 'other', `TPM import failed: ${(e as Error).message}`, { cause: e });
      } finally {
        pkcs8?.fill(0);
        keyPart!.fill(0);
        for (const p of keyParts) p.body.fill(0);
      }
      const spkiHex = Buffer.from(record.spki).toString('hex');
      const leafIdx = certs.certificates.findIndex((c) => Buffer.from(certificateSpki(c)).toString('hex') === spkiHex);
      const pkgId = signedPkgId ?? keyIdentifierFromSpki(record.spki);
      if (leafIdx === -1) throw new KeyPackageRefused('cert_mismatch', 'badCertificate', 'no returned certificate carries the imported public key');
      const leaf = certs.certificates[leafIdx]!;
      const chain = certs.certificatesDer.filter((_, i) => i !== leafIdx);
      try {
        await validateChain({ leaf, intermediates: [...chain, ...s.intermediates], trustAnchors: s.taStore.certificatesFor('cacerts'), at: now });
      } catch (e) {
        throw new KeyPackageRefused('cert_untrusted', 'noTrustAnchor', `certificate does not chain to a CA trust anchor: ${(e as Error).message}`, { cause: e });
      }
      const receipt = await signedReceipt(this.cfg, pkgId);
      await this.state.update((st) => {
        st.serverKeys.push({
          id: record.id,
          receivedAt: now.toISOString(),
          key: { id: record.id, algorithm: record.algorithm, spki: Buffer.from(record.spki).toString('base64'), location: record.location },
          certificatePem: certificateToPem(certs.certificatesDer[leafIdx]!),
          chainPem: chain.map((c) => certificateToPem(c)),
        });
        st.outbox.push({ kind: 'receipt', path: 'serverkeygen', der: Buffer.from(receipt).toString('base64'), pkgId: hexOf(pkgId)! });
      });
      return { status: 'stored', record };
    } catch (e) {
      const refused = e instanceof KeyPackageRefused ? e : new KeyPackageRefused('internal', 'other', (e as Error).message, { cause: e });
      await this.queueError(refused, signedPkgId);
      return { status: 'refused', code: refused.code, rfc: refused.rfc, message: refused.message };
    } finally {
      keyPart?.fill(0);
    }
  }
}
