// The CMC decryption key: a decrypt-only TPM key (RSA-2048: the CA encrypts to it by ktri or KEMRecipientInfo;
// P-256: kari, TPM2_ECDH_ZGen) certified with indirect POP (RFC 5272 §6.7): a noSignature PKCS#10 in a PKIData
// signed by the device's current credential, popRequired + encryptedPOP answered with decryptedPOP
// (CmcEnrollment.enrollDecryptionKey). Driven on the daemon cycle once the device has its credential; renewed with a
// new key at the renewal fraction of the certificate's life. The record (key blobs, certificate, renewal time),
// the failure count and the next attempt are persisted (cmc-decryption-key.json): a failure — a wrong witness
// (answered popFailed), a refusal, a network error — takes the persisted backoff (a server's Retry-After lengthens
// it), deletes the new key and stores nothing of it; the certified key stays until its successor is stored.
import { X509Certificate } from 'node:crypto';
import type { KeyRecord } from '../../keystore/keystore.js';
import type { Clock } from '../../lifecycle/clock.js';
import type { PollOutcome, Poller } from '../../lifecycle/daemon.js';
import { failedLook, isoAfter, pollQuietly } from '../../lifecycle/due-check.js';
import { clampRetryAfter, renewAt, type Random } from '../../lifecycle/schedule.js';
import { fromStoredKey, toStoredKey, type AgentState, type StoredKey } from '../../lifecycle/state.js';
import { certificateFromDer, findExtension, sharedCertificatesFromPem } from '../../pki/cert.js';
import { OID_SUBJECT_ALT_NAME } from '../../pki/csr.js';
import { pemEncode } from '../../pki/pem.js';
import { buildNoSignatureCsr } from '../../protocols/cmc/no-signature-csr.js';
import type { CmcEnrollment } from '../../protocols/cmc/enrollment.js';
import type { RsaDecryptScheme } from '../../protocols/cmc/pop-envelope.js';
import type { DocumentStore } from '../../store/document-store.js';
import { decryptionKeyStore, type DecryptionKeyRecord, type DecryptionKeyState } from './decryption-key-state.js';
import { EnrolldError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';

export { decryptionKeyStatus, readDecryptionKeyStatus, type DecryptionKeyRecord, type DecryptionKeyState } from './decryption-key-state.js';

export type DecryptionKeyAlgorithm = 'rsa-2048' | 'ecc-p256';

/** The keystore operations the decryption key needs (TpmKeyStore). */
export interface DecryptionKeyStore {
  createDecryptionKey(id: string, algorithm: DecryptionKeyAlgorithm): Promise<KeyRecord>;
  decrypt(record: KeyRecord, cipherText: Uint8Array, scheme?: RsaDecryptScheme): Promise<Uint8Array>;
  ecdhZGen(record: KeyRecord, peer: { x: Uint8Array; y: Uint8Array }): Promise<Uint8Array>;
  deleteKey(record: KeyRecord): Promise<void>;
}

export function isDecryptionKeyStore(ks: unknown): ks is DecryptionKeyStore {
  const k = ks as Partial<DecryptionKeyStore> | null;
  return typeof k?.createDecryptionKey === 'function' && typeof k.decrypt === 'function' && typeof k.ecdhZGen === 'function' && typeof k.deleteKey === 'function';
}

export interface DecryptionKeyEnrollerOptions {
  protocol: CmcEnrollment;
  keystore: DecryptionKeyStore;
  algorithm: DecryptionKeyAlgorithm;
  stateDir: string;
  clock: Clock;
  log: Logger;
  renewFraction: number;
  backoffMinSeconds: number;
  backoffMaxSeconds: number;
  random?: Random;
}

export class DecryptionKeyEnroller implements Poller {
  private readonly store: DocumentStore<DecryptionKeyState>;

  constructor(private readonly o: DecryptionKeyEnrollerOptions) {
    this.store = decryptionKeyStore(o.stateDir);
  }

  async state(): Promise<DecryptionKeyState> {
    return (await this.store.load()) ?? { failures: 0 };
  }

  /** The certified key, when there is one (for the features that decrypt with it). */
  async current(): Promise<{ key: KeyRecord; certPem: string; chainPem: string[] } | undefined> {
    const c = (await this.state()).current;
    return c ? { key: fromStoredKey(c.key), certPem: c.certPem, chainPem: c.chainPem } : undefined;
  }

  /** One look, when due; never throws (the cycle it rides on must not back off for it). */
  poll(agent: AgentState): Promise<PollOutcome> {
    return pollQuietly(this.o.log, 'cmc.decryption-key.error', () => this.check(agent));
  }

  /** Returns what was done (tests), or 'not-due'. */
  async check(agent: AgentState): Promise<'not-due' | NonNullable<DecryptionKeyState['last']>['result']> {
    const now = this.o.clock.now();
    const s = await this.state();
    const cred = agent.credential;
    // the PKIData is signed by the device's credential: none yet, nothing to do
    if (!cred) return 'not-due';
    if (s.nextCheck && now < new Date(s.nextCheck)) return 'not-due';
    if (!s.pending && s.current && now < new Date(s.current.renewAt)) return 'not-due';
    const leaf = sharedCertificatesFromPem(cred.certPem)[0];
    if (!leaf) return 'not-due';
    const at = now.toISOString();
    let key: KeyRecord | undefined;
    try {
      let csr: Uint8Array;
      if (s.pending) {
        key = fromStoredKey(s.pending.key);
        csr = new Uint8Array(Buffer.from(s.pending.csr, 'base64'));
      } else {
        key = await this.o.keystore.createDecryptionKey(`cmc-decrypt-${now.getTime()}`, this.o.algorithm);
        // the lab and RFC 7030 §4.2.2-style CAs tie a request signed by a credential to its subject and SAN
        const san = findExtension(leaf.extensions, OID_SUBJECT_ALT_NAME);
        csr = buildNoSignatureCsr(leaf.subject, key.spki, san ? [san] : []);
      }
      const k = key;
      const result = await this.o.protocol.enrollDecryptionKey({
        operation: 'reenroll',
        csr,
        current: { key: fromStoredKey(cred.key), certPem: cred.certPem, chainPem: cred.chainPem },
        decrypt: (ct, scheme) => this.o.keystore.decrypt(k, ct, scheme),
        ecdhZGen: (peer) => this.o.keystore.ecdhZGen(k, peer),
      });
      if (result.kind === 'pending') {
        const wait = clampRetryAfter(result.retryAfterSeconds);
        await this.store.save({ ...s, pending: { key: toStoredKey(k), csr: Buffer.from(csr).toString('base64') }, nextCheck: isoAfter(now, wait), last: { at, result: 'pending' } });
        return 'pending';
      }
      const x = new X509Certificate(Buffer.from(result.cert));
      if (!Buffer.from(x.publicKey.export({ type: 'spki', format: 'der' })).equals(Buffer.from(k.spki))) {
        throw new DecryptionKeyError('cmc.decryption-key.wrong-key', 'the issued certificate is not for the decryption key');
      }
      const cert = certificateFromDer(result.cert);
      const record: DecryptionKeyRecord = {
        key: toStoredKey(k),
        certPem: pemEncode('CERTIFICATE', result.cert),
        chainPem: result.chain.map((c) => pemEncode('CERTIFICATE', c)),
        serial: x.serialNumber,
        notBefore: cert.notBefore.value.toISOString(),
        notAfter: cert.notAfter.value.toISOString(),
        renewAt: renewAt(cert.notBefore.value, cert.notAfter.value, this.o.renewFraction).toISOString(),
      };
      const previous = s.current;
      const outcome = previous ? 'renewed' : 'enrolled';
      await this.store.save({ failures: 0, current: record, last: { at, result: outcome } });
      key = undefined; // stored: no longer ours to delete
      if (previous) await this.o.keystore.deleteKey(fromStoredKey(previous.key)).catch(() => undefined);
      this.o.log.info('cmc.decryption-key.stored', { serial: record.serial, algorithm: this.o.algorithm, renewAt: record.renewAt });
      return outcome;
    } catch (err) {
      const { failures, code, retryInSeconds, nextCheck } = failedLook(err, s.failures, now, this.o);
      this.o.log.warn('cmc.decryption-key.failed', { code, err, failures, retryInSeconds });
      // nothing of the failed request is kept: the next attempt starts with a new key
      const { pending: _dropped, ...rest } = s;
      await this.store.save({ ...rest, failures, nextCheck, last: { at, result: 'failed', code } });
      if (key) await this.o.keystore.deleteKey(key).catch(() => undefined);
      return 'failed';
    }
  }
}

export class DecryptionKeyError extends EnrolldError {}
