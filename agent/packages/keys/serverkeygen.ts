// 0020 "Asymmetric Key Package (PKCS #8)", 0021 "(CMS)", 0022 "(PKCS #12)" and 0023 "Receipt or Error"
// (RFC 8295 §2.1.1; RFC 7030 §4.4): POST a CSR to the entry's /serverkeygen URI (the server ignores its public key
// values and signature, §4.4.1, so its SubjectPublicKeyInfo algorithm is what tells the server the key type wanted:
// enrolld signs it with the device key when that has the wanted type, else with a throwaway TPM key of that type,
// so ordinary CSR code applies), parse the
// multipart/mixed answer strictly (agent/protocols/est/multipart-mixed.ts), import the private key into the TPM
// (TpmKeyStore.importKey; the plaintext is wiped right after), check that the returned certificate carries exactly
// the imported public key and chains to a CA TA, record the credential (key blobs + certificate), and queue a signed
// RFC 7191 receipt — or a KeyPackageError — for 0023 to POST to /serverkeygen/return (204).
// Supported: 0020 with an unencrypted application/pkcs8 part. A PKCS#1 RSAPrivateKey or SEC1 ECPrivateKey in that
// part (not the PrivateKeyInfo §4.4.2 requires; Cisco libest's estserver sends PKCS#1) is accepted with a warning
// unless acceptPkcs1 is false, and imported exactly as its PKCS#8 form would be. Refused with an error report: 0021 (a CMS
// server-generated-key part: encrypted key delivery needs a decryption key enrolld does not hold yet), 0022
// (PKCS #12), /fullcmc URIs. pkgID of the receipt (PKCS #8 carries none): the certificate's key identifier, SHA-1 of
// the subjectPublicKey (RFC 5280 §4.2.1.2 method 1) — our choice, the RFCs do not say.
import { currentSigner } from './common.js';
import { keyIdentifierFromSpki } from '../../pki/asn1/cms-signed-data-create.js';
import { certificateSpki, certificateToPem } from '../../pki/cert.js';
import { parseCertsOnly } from '../../pki/certs-only.js';
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
import { DEFAULT_MAX_PACKAGE_BYTES, KeyPackageRefused, type KeyPackagesConfig, KeysStateFile, hexOf, postReturns, signedError, signedReceipt } from './common.js';

export const SERVERKEYGEN_TYPES = ['0020', '0021', '0022'] as const;
export const SERVERKEYGEN_RETURN_TYPE = '0023';

export interface ServerKeygenConfig extends KeyPackagesConfig {
  /** Subject of the CSR sent to /serverkeygen. */
  subject: NameInput;
  /** Key type asked for (the CSR's SubjectPublicKeyInfo algorithm); default: the device key's. */
  keyAlgorithm?: KeyAlgorithm;
  /** Accept a PKCS#1 / SEC1 key part with a warning (default true); false: refuse it (keys.not_pkcs8). */
  acceptPkcs1?: boolean;
}

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
    if (entry.type === SERVERKEYGEN_RETURN_TYPE) {
      const url = resolvePackageUri(s.est.ctx, entry.info.kind === 'uri' ? entry.info.uri : undefined, ['serverkeygen'], opts).url;
      if (!/\/serverkeygen\/return$/.test(url.pathname)) url.pathname = url.pathname.replace(/\/serverkeygen(\/.*)?$/, '/serverkeygen/return');
      const r = await postReturns(this.state, s.est.ctx.transport, 'serverkeygen', url, ctx.signal);
      if (r.failed.length) return failed('keys.return', r.failed.join('; '));
      return { status: 'ok', detail: `${r.sent} report(s) returned` };
    }
    const resolved = resolvePackageUri(s.est.ctx, entry.info.kind === 'uri' ? entry.info.uri : undefined, ['serverkeygen', 'fullcmc'], opts);
    if (entry.type !== '0020' || resolved.operation !== 'serverkeygen') {
      const why = entry.type === '0020' ? '/fullcmc is not supported' : `type ${entry.type} is not supported (only 0020, unencrypted PKCS #8)`;
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
    try {
      let parts;
      try {
        parts = parseMultipartMixed(body, contentType);
      } catch (e) {
        throw new KeyPackageRefused('multipart', 'decodeFailure', (e as Error).message, { cause: e });
      }
      const keyParts = parts.filter((p) => /^application\/pkcs8\b/.test(p.contentType));
      const cmsKey = parts.some((p) => /smime-type=server-generated-key/.test(p.contentType));
      const certParts = parts.filter((p) => /^application\/pkcs7-mime\b/.test(p.contentType) && /smime-type=certs-only/.test(p.contentType));
      keyPart = keyParts[0]?.body;
      if (cmsKey && keyParts.length === 0) throw new KeyPackageRefused('encrypted', 'noDecryptKey', 'a CMS server-generated-key part (encrypted key delivery) is not supported');
      if (keyParts.length !== 1 || certParts.length !== 1 || parts.length !== 2) {
        throw new KeyPackageRefused('multipart', 'badKeyPackage', `expected one application/pkcs8 and one certs-only part, got ${parts.map((p) => p.contentType).join(', ')}`);
      }
      let certs;
      try {
        certs = parseCertsOnly(certParts[0]!.body);
      } catch (e) {
        throw new KeyPackageRefused('certificate', 'badCertificate', (e as Error).message, { cause: e });
      }
      let record: KeyRecord;
      let pkcs8: Uint8Array | undefined;
      try {
        pkcs8 = this.keyAsPkcs8(keyPart!);
        record = await this.cfg.keystore.importKey(`srvkey-${now.getTime()}`, pkcs8);
      } catch (e) {
        if (e instanceof KeyPackageRefused) throw e;
        if (e instanceof PkiDecodeError) throw new KeyPackageRefused('bad_key', 'badKeyPackage', e.message, { cause: e });
        throw new KeyPackageRefused('import', 'other', `TPM import failed: ${(e as Error).message}`, { cause: e });
      } finally {
        pkcs8?.fill(0);
        keyPart!.fill(0);
        for (const p of keyParts) p.body.fill(0);
      }
      const spkiHex = Buffer.from(record.spki).toString('hex');
      const leafIdx = certs.certificates.findIndex((c) => Buffer.from(certificateSpki(c)).toString('hex') === spkiHex);
      const pkgId = keyIdentifierFromSpki(record.spki);
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
      await this.queueError(refused);
      return { status: 'refused', code: refused.code, rfc: refused.rfc, message: refused.message };
    } finally {
      keyPart?.fill(0);
    }
  }
}
