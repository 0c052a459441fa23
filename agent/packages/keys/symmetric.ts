// 0024 "Symmetric Key Package" and 0025 "Symmetric Key Package Receipt or Error" (RFC 8295 §2.1.1, §5): GET the
// package from the entry's /symmetrickeys URI (application/cms, binary or base64 body, size-capped), open it when it
// is encrypted (EnvelopedData or RFC 6032 EncryptedKeyPackage to the TPM-held KEK, kek.ts), verify it
// (common.ts: SignedData, one signer chaining to a key-package TA), decode the RFC 6031 SymmetricKeyPackage, seal
// every key in the TPM (KEYEDHASH sealed data object under the SRK; the plaintext is wiped after sealing), record
// the sealed blobs + PSKC metadata, and queue a signed RFC 7191 receipt (if requested) or KeyPackageError. 0025 POSTs
// the queue to /symmetrickeys/return (204). A refused package stores nothing: every key is checked before the first
// one is sealed, and the metadata is written once, after all keys are sealed.
import type { HandlerContext, HandlerResult, PackageHandler } from '../../pal/dispatch.js';
import type { PalEntry } from '../../pal/model.js';
import { Asn1DecodeError } from '../../pki/asn1/errors.js';
import { OID_CT_KP_AKEY_PACKAGE, OID_CT_KP_SKEY_PACKAGE } from '../../pki/asn1/key-package-oids.js';
import { SymmetricKeyPackage } from '../../pki/asn1/symmetric-key-package.js';
import { decodeEstBody } from '../../protocols/est/base64-body.js';
import { resolvePackageUri } from '../../protocols/est/package-uri.js';
import { MAX_SEALED_DATA } from '../../tpm2/sensitive.js';
import { failed } from '../common.js';
import type { PackageContext } from '../context.js';
import {
  DEFAULT_MAX_PACKAGE_BYTES,
  KeyPackageRefused,
  type KeyPackagesConfig,
  KeysStateFile,
  type StoredSymmetricKey,
  hexOf,
  peekPkgId,
  signedError,
  signedReceipt,
  verifySignedKeyPackage,
} from './common.js';
import { openIfEncrypted } from './enveloped-data.js';
import { handleReturnEntry } from './returns.js';
import { SYMMETRIC_KEY_PACKAGE_TYPE, SYMMETRIC_KEY_RETURN_TYPE } from './package-types.js';

export { SYMMETRIC_KEY_PACKAGE_TYPE, SYMMETRIC_KEY_RETURN_TYPE } from './package-types.js';
const KEY_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

export class SymmetricKeyPackages {
  readonly state: KeysStateFile;
  constructor(readonly cfg: KeyPackagesConfig) {
    this.state = new KeysStateFile(cfg.stateDir);
  }

  handler(): PackageHandler<PackageContext> {
    return {
      types: [SYMMETRIC_KEY_PACKAGE_TYPE, SYMMETRIC_KEY_RETURN_TYPE],
      handle: (entry: PalEntry, ctx: HandlerContext<PackageContext>): Promise<HandlerResult> => this.handle(entry, ctx),
    };
  }

  private async handle(entry: PalEntry, ctx: HandlerContext<PackageContext>): Promise<HandlerResult> {
    const s = ctx.shared;
    const opts = s.policy.allowedOrigins ? { allowedOrigins: s.policy.allowedOrigins } : {};
    if (entry.type === SYMMETRIC_KEY_RETURN_TYPE) return handleReturnEntry(this.state, 'symmetrickeys', entry, ctx);
    if (entry.info.kind !== 'uri') return failed('keys.pal_entry', 'a 0024 entry must carry the package URI (info.uri)');
    const url = resolvePackageUri(s.est.ctx, entry.info.uri, ['symmetrickeys'], opts).url;
    const max = Math.min(this.cfg.maxPackageBytes ?? DEFAULT_MAX_PACKAGE_BYTES, entry.size > 0 ? entry.size * 2 + 1024 : Infinity);
    const res = await s.est.ctx.transport.request({
      method: 'GET',
      url,
      headers: { accept: 'application/cms' },
      maxResponseBytes: max,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    if (res.status !== 200) return failed('keys.http', `GET ${url.pathname}: HTTP ${res.status}`);
    const r = await this.processPackage(res.body);
    res.body.fill(0);
    if (r.status === 'stored') return { status: 'ok', detail: `${r.keyIds.length} symmetric key(s) sealed: ${r.keyIds.join(', ')}` };
    return failed(r.code, r.message);
  }

  /** Verifies, seals and records one package body; queues the receipt or error. Never throws for bad input. */
  async processPackage(body: Uint8Array): Promise<{ status: 'stored'; keyIds: string[] } | { status: 'refused'; code: string; rfc: string; message: string }> {
    const now = (this.cfg.now ?? (() => new Date()))();
    let der: Uint8Array | undefined;
    let plain: Uint8Array | undefined;
    let pkg: SymmetricKeyPackage | undefined;
    let pkgId: Uint8Array | undefined;
    try {
      try {
        der = decodeEstBody(body, 'symmetric key package');
      } catch (e) {
        throw new KeyPackageRefused('decode', 'decodeFailure', (e as Error).message, { cause: e });
      }
      plain = await openIfEncrypted(der, this.cfg.keystore, this.state);
      pkgId = peekPkgId(plain);
      const v = await verifySignedKeyPackage(plain, await this.cfg.trustAnchors(), now);
      pkgId = v.idAndReq?.pkgID ?? pkgId;
      if (v.eContentType === OID_CT_KP_AKEY_PACKAGE) throw new KeyPackageRefused('wrong_package', 'unsupportedAsymmetricKeyPackage', 'an asymmetric key package on the symmetric key path');
      if (v.eContentType !== OID_CT_KP_SKEY_PACKAGE) throw new KeyPackageRefused('content_type', 'badEncapContent', `content type ${v.eContentType} is not a symmetric key package`);
      try {
        pkg = SymmetricKeyPackage.fromDer(v.eContent);
      } catch (e) {
        if (e instanceof Asn1DecodeError) throw new KeyPackageRefused('bad_package', 'badKeyPackage', e.message, { cause: e });
        throw e;
      } finally {
        v.eContent.fill(0);
      }
      // check every key before sealing the first
      const ids = new Set<string>();
      const plan = pkg.sKeys.map((k, i) => {
        let keyId: string | undefined;
        let algorithm: string | undefined;
        try {
          keyId = k.keyId;
          algorithm = k.algorithm;
        } catch (e) {
          throw new KeyPackageRefused('bad_attributes', 'badAttributes', (e as Error).message, { cause: e });
        }
        if (!keyId || !KEY_ID_RE.test(keyId)) throw new KeyPackageRefused('key_id', 'badAttributes', `key ${i}: keyId ${JSON.stringify(keyId ?? null)} missing or unusable`);
        if (ids.has(keyId)) throw new KeyPackageRefused('key_id', 'badAttributes', `key ${i}: keyId ${keyId} repeated`);
        ids.add(keyId);
        if (!k.sKey) throw new KeyPackageRefused('no_key', 'unsupportedParameters', `key ${keyId}: attributes only (no sKey) are not supported`);
        if (k.sKey.byteLength === 0 || k.sKey.byteLength > MAX_SEALED_DATA) {
          throw new KeyPackageRefused('key_size', 'unsupportedKeySize', `key ${keyId}: ${k.sKey.byteLength} bytes (the TPM seals 1..${MAX_SEALED_DATA})`);
        }
        return { keyId, algorithm, sKey: k.sKey };
      });
      const stored: StoredSymmetricKey[] = [];
      for (const p of plan) {
        let sealed;
        try {
          sealed = await this.cfg.keystore.sealSecret(`skey-${p.keyId}`, p.sKey);
        } catch (e) {
          throw new KeyPackageRefused('seal', 'resourcesBusy', `sealing ${p.keyId} failed: ${(e as Error).message}`, { cause: e });
        }
        stored.push({ keyId: p.keyId, ...(p.algorithm ? { algorithm: p.algorithm } : {}), ...(pkgId ? { pkgId: hexOf(pkgId)! } : {}), receivedAt: now.toISOString(), sealed });
      }
      const receipt = v.idAndReq?.receiptReq && pkgId ? await signedReceipt(this.cfg, pkgId) : undefined;
      await this.state.update((st) => {
        st.symmetric = [...st.symmetric.filter((x) => !ids.has(x.keyId)), ...stored];
        if (receipt) st.outbox.push({ kind: 'receipt', path: 'symmetrickeys', der: Buffer.from(receipt).toString('base64'), ...(pkgId ? { pkgId: hexOf(pkgId)! } : {}) });
      });
      return { status: 'stored', keyIds: plan.map((p) => p.keyId) };
    } catch (e) {
      const refused =
        e instanceof KeyPackageRefused ? e : new KeyPackageRefused('internal', 'other', `key package processing failed: ${(e as Error).message}`, { cause: e });
      const err = await signedError(this.cfg, refused.rfc === 'other' ? { enum: 'other' } : { enum: refused.rfc }, pkgId);
      await this.state.update((st) => {
        st.outbox.push({ kind: 'error', path: 'symmetrickeys', der: Buffer.from(err).toString('base64'), ...(pkgId ? { pkgId: hexOf(pkgId)! } : {}) });
      });
      return { status: 'refused', code: refused.code, rfc: refused.rfc, message: refused.message };
    } finally {
      pkg?.wipe();
      if (plain && plain !== der) plain.fill(0);
      if (der && der !== body) der.fill(0);
    }
  }

  async storedKeys(): Promise<StoredSymmetricKey[]> {
    return (await this.state.load()).symmetric;
  }
}
