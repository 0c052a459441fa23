// Key packages (RFC 8295 0020–0025): TAs seeded once from config, server-generated keys imported and symmetric keys
// sealed in the TPM keystore; receipts signed with the device identity. Composes without the ASN.1 stack (a light
// feature): a later start reads the TA store and keys.json and republishes the KEK; the handlers load it at their
// first entry.
import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomic } from '../../store/atomic-file.js';
import { stateLayout } from '../../store/layout.js';
import type { KeyPackageSettings } from '../../config.js';
import { isKeyImportStore, type KeyStore } from '../../keystore/keystore.js';
import { EnrolldError } from '../../util/errors.js';
import type { FeatureContext, FeatureParts } from '../feature.js';

/** Where the key-package handlers keep their state (sealed symmetric keys, imported keys). */
export const keysStateDir = (stateDir: string): string => stateLayout(stateDir).keysDir;

export async function compose(ctx: FeatureContext<KeyPackageSettings>): Promise<FeatureParts> {
  // light modules: the handlers load the ASN.1 stack at their first entry (packages/keys/index.ts)
  const { createKeyPackageHandlers } = await import('../../packages/keys/index.js');
  const k = ctx.section;
  const keystore = ctx.keystore;
  if (!isKeyImportStore(keystore)) throw new EnrolldError('config.keyPackages', 'key packages need the TPM keystore (import/seal)');
  const ta = ctx.stores.ta;
  // first start only (no key-package anchor in the store yet): the anchors file is decoded with pki/cert.ts
  if (ta.anchorsFor('key-packages').length === 0) {
    const { readAnchors } = await import('../config-files.js');
    await ta.seed(readAnchors(k.trustAnchorsFile).map((c, i) => ({ name: `key-packages-${i}`, source: 'config', uses: ['key-packages'] as const, certificate: c })));
  }
  const stateDir = keysStateDir(ctx.config.stateDir);
  // kek.ts: created once in the TPM; its public key is (re)written for provisioning at every start
  if (k.kek.enabled) await publishKek(ctx.config.stateDir, k, keystore, ctx.clock.now());
  const pw = k.serverKeygen.pkcs12PasswordFile ? { file: k.serverKeygen.pkcs12PasswordFile } : k.serverKeygen.pkcs12PasswordSealedKeyId ? { sealedKeyId: k.serverKeygen.pkcs12PasswordSealedKeyId } : undefined;
  const handlers = createKeyPackageHandlers({
    ...(pw ? { pkcs12Password: pw } : {}),
    keystore,
    stateDir,
    // deviceName: the DER of this subject, encoded at the first key package
    subject: ctx.config.identity.subject,
    trustAnchors: async () => ta.certificatesFor('key-packages'),
    returnSigner: () => ctx.identity.returnSigner(),
    maxPackageBytes: k.maxPackageBytes,
    ...(k.serverKeygen.keyAlgorithm ? { keyAlgorithm: k.serverKeygen.keyAlgorithm } : {}),
    acceptPkcs1: k.serverKeygen.acceptPkcs1,
    log: ctx.log,
    now: () => ctx.clock.now(),
  });
  return { handlers };
}

/** The device KEK as `enrolld kek` and the feature's start publish it. */
export interface PublishedKek {
  /** RFC 5280 §4.2.1.2 method 1 key identifier (the ktri rid subjectKeyIdentifier), hex. */
  keyId: string;
  /** SubjectPublicKeyInfo, PEM "PUBLIC KEY". */
  publicKeyPem: string;
  /** Where the PEM was written (keyPackages.kek.publicKeyFile, default <state>/keys/kek.pub.pem). */
  file: string;
  /** True when this call created the key in the TPM. */
  created: boolean;
  createdAt: string;
}

/** True when `file` exists with mode 0600 and holds exactly `text`. */
async function fileHolds(file: string, text: string): Promise<boolean> {
  try {
    const [st, got] = await Promise.all([stat(file), readFile(file, 'utf8')]);
    return (st.mode & 0o777) === 0o600 && got === text;
  } catch {
    return false;
  }
}

/** Creates the KEK in the TPM when it is missing (ensureKek) and writes its public key file (0600, atomic) when it differs. */
export async function publishKek(stateDir: string, k: KeyPackageSettings, keystore: KeyStore, now: Date): Promise<PublishedKek> {
  const { KeysStateFile } = await import('../../packages/keys/state.js');
  const { ensureKek, kekPublicKeyPem, storedKeks, DEFAULT_KEK_NAME } = await import('../../packages/keys/kek.js');
  const state = new KeysStateFile(keysStateDir(stateDir));
  const had = (await storedKeks(state)).some((x) => x.name === DEFAULT_KEK_NAME);
  const kek = await ensureKek(state, keystore, now);
  const file = k.kek.publicKeyFile ?? stateLayout(stateDir).kekPublicKey;
  const publicKeyPem = kekPublicKeyPem(kek);
  // rewritten (atomic, fsync'd) only when it differs: a start that finds the same key wears no flash
  if (!(await fileHolds(file, publicKeyPem))) await writeFileAtomic(file, publicKeyPem);
  const createdAt = (await state.load()).keks?.find((x) => x.name === DEFAULT_KEK_NAME)?.createdAt ?? now.toISOString();
  return { keyId: Buffer.from(kek.keyId).toString('hex'), publicKeyPem, file, created: !had, createdAt };
}

/** RFC 4108 §2.2.5: a firmware-decryption key named by decrypt-key-identifier, from the symmetric keys sealed by key packages. */
export function sealedKeyLookup(stateDir: string, keystore: KeyStore): ((keyId: Uint8Array) => Promise<Uint8Array | undefined>) | undefined {
  if (!isKeyImportStore(keystore)) return undefined;
  const ks = keystore;
  const dir = keysStateDir(stateDir);
  return async (keyId) => {
    const { KeysStateFile } = await import('../../packages/keys/state.js');
    const store = new KeysStateFile(dir);
    const wanted = [Buffer.from(keyId).toString('utf8'), Buffer.from(keyId).toString('hex')];
    const hit = (await store.load()).symmetric.find((s) => wanted.includes(s.keyId));
    return hit ? ks.unsealSecret(hit.sealed) : undefined;
  };
}
