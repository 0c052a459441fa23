// The device's identity: the credential issued to it (key in the keystore, certificate, chain) as everything that
// authenticates or signs as the device uses it — TLS client authentication (EST/PAL transports, the firmware
// download, MQTT), and the CMS signer of returns (firmware receipts, TAMP responses, key-package receipts).
// The persisted record (lifecycle/state.ts Credential) is the source; a renewal swaps the identity in one place
// (use()), and connections that authenticate with the key (holders) follow it there. The key of a replaced credential
// is deleted (retire()) only once no holder authenticates with it any more.
import type * as pkijs from 'pkijs';
import type { KeyRecord, KeyStore } from '../keystore/keystore.js';
import { fromStoredKey, type Credential } from '../lifecycle/state.js';
import type { SignerWithChain } from '../pki/asn1/cms-signed-data-create.js';
import { loadedCert } from '../pki/lazy-modules.js';
import { pemDecodeAll } from '../pki/pem.js';
import type { ClientAuthOptions } from '../protocols/http/transport.js';
import type { Logger } from '../util/log.js';

/** One issued credential of the device, in the forms its users need (decoded lazily, each once). */
export class DeviceCredential {
  /** Identifies the credential (certificate serial + key id): a new id means new TLS clients. */
  readonly id: string;
  readonly key: KeyRecord;
  private ders?: { certDer: Uint8Array; chainDer: Uint8Array[] };
  private parsed?: pkijs.Certificate;
  private tlsOptions?: Promise<ClientAuthOptions>;

  constructor(
    /** The persisted record. */
    readonly record: Credential,
    private readonly keystore: KeyStore,
  ) {
    this.key = fromStoredKey(record.key);
    this.id = `${record.serial}/${this.key.id}`;
  }

  /** What logs call it (the certificate serial). */
  get label(): string {
    return this.record.serial;
  }

  // TLS and the CMS signer need only the DER (pki/pem.ts); the pkijs parse is for callers that decode it anyway.
  private get certs(): { certDer: Uint8Array; chainDer: Uint8Array[] } {
    this.ders ??= { certDer: pemDecodeAll(this.record.certPem, 'CERTIFICATE')[0]!.der, chainDer: this.record.chainPem.flatMap((p) => pemDecodeAll(p, 'CERTIFICATE').map((b) => b.der)) };
    return this.ders;
  }

  /** The certificate decoded (pkijs): read after the ASN.1 stack was loaded (pki/lazy-modules.ts loadCert). */
  get certificate(): pkijs.Certificate {
    this.parsed ??= loadedCert().certificatesFromPem(this.record.certPem)[0]!;
    return this.parsed;
  }

  get certDer(): Uint8Array {
    return this.certs.certDer;
  }

  /** Issuing chain returned with it (DER), leaf excluded. */
  get chainDer(): Uint8Array[] {
    return this.certs.chainDer;
  }

  /** The CMS signer of returns: the key, its certificate and intermediates. */
  get signer(): SignerWithChain {
    return { signer: this.keystore.signer(this.key), certificate: this.certDer, chain: this.chainDer };
  }

  /** TLS client authentication with this credential (the key stays in the keystore). Retried after a failure. */
  tls(): Promise<ClientAuthOptions> {
    this.tlsOptions ??= this.keystore.tlsKeyOptions(this.key).then(
      (key) => ({ key, certChain: [this.record.certPem, ...this.record.chainPem] }),
      (err: unknown) => {
        this.tlsOptions = undefined;
        throw err;
      },
    );
    return this.tlsOptions;
  }
}

/** A connection that authenticates with the device key (MQTT over TLS): it moves to each new credential. */
export interface CredentialHolder {
  /** What logs call it. */
  name: string;
  /** Switches to `c`; true once it authenticates with it (the previous key may go), false when that did not happen. */
  switchTo(c: DeviceCredential): Promise<boolean>;
}

export interface DeviceIdentityOptions {
  keystore: KeyStore;
  log: Logger;
  /** The persisted credential (the lifecycle state's), re-read on every use: a renewal by another process is seen too. */
  load(): Promise<Credential | undefined>;
}

const sameCredential = (a: Credential, b: Credential): boolean => a.serial === b.serial && a.key.id === b.key.id && a.certPem === b.certPem;

export class DeviceIdentity {
  private cached: DeviceCredential | undefined;
  private readonly holders: Array<{ holder: CredentialHolder; keyId: string | undefined }> = [];
  /** Settles when every holder has moved to the newest credential. */
  private switching: Promise<unknown> = Promise.resolve();
  private readonly retiring: Promise<unknown>[] = [];

  constructor(private readonly o: DeviceIdentityOptions) {}

  /** The current credential, undefined before the first enrollment. */
  async current(): Promise<DeviceCredential | undefined> {
    const record = await this.o.load();
    if (!record) return undefined;
    return this.use(record);
  }

  /** The CMS signer of returns with the current credential (undefined before the first enrollment). */
  async returnSigner(): Promise<SignerWithChain | undefined> {
    return (await this.current())?.signer;
  }

  /** The renewal switch: `record` becomes the identity, and every holder moves to it. Idempotent per credential. */
  use(record: Credential): DeviceCredential {
    if (this.cached && sameCredential(this.cached.record, record)) return this.cached;
    const c = new DeviceCredential(record, this.o.keystore);
    this.cached = c;
    for (const h of this.holders) this.switchHolder(h, c);
    return c;
  }

  /**
   * Registers a holder that authenticates with `initial` now (or with nothing yet); it is moved to every later
   * credential. The key it holds is not deleted by retire() until it has moved off it.
   */
  hold(holder: CredentialHolder, initial?: DeviceCredential): void {
    this.holders.push({ holder, keyId: initial?.key.id });
  }

  private switchHolder(h: { holder: CredentialHolder; keyId: string | undefined }, c: DeviceCredential): void {
    if (h.keyId === c.key.id) return;
    this.switching = this.switching
      .then(async () => {
        if (await h.holder.switchTo(c)) h.keyId = c.key.id;
      })
      .catch((err) => this.o.log.warn(`${h.holder.name}.credential-switch-failed`, { err }));
  }

  /**
   * Deletes the key of a replaced credential: at once when nothing holds it, otherwise once the holders have moved to
   * the new credential (kept, with a warning, if one could not). Never waits for that itself.
   */
  retire(key: KeyRecord): Promise<void> {
    if (!this.holders.some((h) => h.keyId === key.id)) return this.o.keystore.deleteKey(key);
    const done = this.switching.then(() => {
      const still = this.holders.find((h) => h.keyId === key.id);
      if (still) return this.o.log.warn('key.delete-deferred', { keyId: key.id, reason: `still authenticates the ${still.holder.name} connection` });
      return this.o.keystore.deleteKey(key);
    });
    this.retiring.push(done.catch(() => undefined));
    return Promise.resolve();
  }

  /** Resolves when the holders' switches and the deferred deletions so far are done. */
  async settled(): Promise<void> {
    await this.switching;
    await Promise.all(this.retiring);
  }
}
