// ACME (RFC 8555) as an enrollment protocol: account (§7.3) with a TPM-resident account key, order (§7.4),
// authorizations and challenges (§7.5, §8), finalize with the TPM-signed CSR (§7.4), certificate download (§7.4.2).
// The remote-attest-01 challenge (draft-ietf-acme-rats-01) supplements the identifier challenges: the order lists
// `remote-attestation` identifiers when configured, and their authorizations are answered with TPM evidence from
// the agent's one attestation path (TPM2_Certify of the key being certified by the AK, qualifyingData = the
// challenge's freshness_nonce) in a CMW. Other challenge types are only answered ("ready") when the server
// validates them by its own means (pebble's VA, a DNS operator); a device serves no HTTP/TLS-ALPN responders.
import * as pkijs from 'pkijs';
import type { KeyAlgorithm } from '../../pki/signer.js';
import type { KeyRecord, KeyStore } from '../../keystore/keystore.js';
import { documentAt, type DocumentStore } from '../../store/document-store.js';
import { MemoryPendingTransactions, type PendingTransactions } from '../pending.js';
import { pemDecodeAll } from '../../pki/pem.js';
import { csrExtensions, parseCsr } from '../../pki/csr.js';
import type { EnrollRequest, EnrollResult, EnrollmentProtocol } from '../protocol.js';
import { createHttpsTransport, type Transport } from '../http/transport.js';
import { AcmeClient } from './client.js';
import { IDENTIFIER_REMOTE_ATTESTATION, PEM_CERTIFICATE_CHAIN, REMOTE_ATTEST_01, type AuthzStatus, type OrderStatus } from './constants.js';
import { AcmeProblemError, AcmeProtocolError } from './errors.js';
import { StateCorruptError } from '../../store/errors.js';
import { b64u } from './jws.js';
import { AcmeRatsError, challengeResponse, freshnessNonce, jweRecipient, jweRecipientFromCertificate, type JweRecipient } from './remote-attest-01.js';

export interface AcmeIdentifier {
  type: string;
  value: string;
}

/** Builds remote-attest-01 evidence: a DER AttestationBundle for `key` with `qualifyingData` in the TPM quote/certify. */
export type AcmeAttester = (key: KeyRecord, qualifyingData: Uint8Array) => Promise<Uint8Array>;

export interface AcmeEnrollmentOptions {
  directoryUrl: string;
  /** Explicit trust anchors for the ACME server's TLS certificate (PEM); the system store is never used. */
  trustAnchors: Array<string | Uint8Array>;
  keystore: KeyStore;
  /** Account document (a DocumentStore, 0600) with the account key record and the account URL; created on first use. */
  accountFile: string;
  /** Orders still processing when polling gave up (RFC 8555 §7.4), resumed by the next attempt; default: in memory. */
  pending?: PendingTransactions<AcmePendingOrder>;
  accountKeyAlgorithm?: KeyAlgorithm;
  /** mailto: URLs for newAccount (§7.3). */
  contact?: string[];
  /** Identifiers to order; default: the CSR's subjectAltName DNS names (then its CN). */
  identifiers?: AcmeIdentifier[];
  /** Property hints offered as `remote-attestation` identifiers in newOrder (draft-ietf-acme-rats-01; "" = any). */
  remoteAttestation?: string[];
  /** Challenge types in order of preference (default remote-attest-01, then the server-validated types). */
  challengePreference?: string[];
  /** Needed for remote-attest-01. */
  attest?: AcmeAttester;
  /** Polling of authorizations and orders: interval (default 1 s, or the server's Retry-After, clamped to 60 s). */
  pollIntervalMs?: number;
  /** Give up polling after this long and report "pending" to the lifecycle (default 120 s). */
  maxPollMs?: number;
  maxResponseBytes?: number;
  totalTimeoutMs?: number;
  /** Injectable transport (tests); default createHttpsTransport with the trust anchors. */
  transport?: Transport;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

/** What must survive a restart to resume an order that was still processing (RFC 8555 §7.1.3 order URL). */
export interface AcmePendingOrder {
  orderUrl: string;
}

export const isAcmePendingOrder = (r: unknown): r is AcmePendingOrder => typeof r === 'object' && r !== null && typeof (r as AcmePendingOrder).orderUrl === 'string';

interface AccountFile {
  version: 1;
  directoryUrl: string;
  /** The account key record with its SPKI in base64 (no secret: TPM blobs). */
  key: { id: string; algorithm: KeyAlgorithm; spki: string; location: Record<string, string | number> };
  kid?: string;
}

const DEFAULT_PREFERENCE = [REMOTE_ATTEST_01, 'http-01', 'dns-01', 'tls-alpn-01'];

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AcmeProtocolError(`${what}: expected a JSON object`);
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, k: string, what: string): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length === 0) throw new AcmeProtocolError(`${what}: "${k}" missing or not a string`);
  return v;
}

/** DNS SANs of a PKCS#10 request, else its CN: the identifiers an order needs (§7.4: they must match the CSR). */
export function csrIdentifiers(csrDer: Uint8Array): AcmeIdentifier[] {
  const csr = parseCsr(csrDer);
  const ids: AcmeIdentifier[] = [];
  for (const e of csrExtensions(csr)) {
    if (e.extnID !== '2.5.29.17') continue;
    let san: unknown;
    try {
      san = e.parsedValue; // pkijs decodes lazily and may throw on malformed content (test/fuzz)
    } catch (cause) {
      throw new AcmeProtocolError(`the CSR's subjectAltName does not decode: ${(cause as Error).message}`, { cause });
    }
    if (!(san instanceof pkijs.GeneralNames)) continue;
    for (const n of san.names) if (n.type === 2 && typeof n.value === 'string') ids.push({ type: 'dns', value: n.value });
  }
  if (ids.length === 0) {
    const cn = csr.subject.typesAndValues.find((tv) => tv.type === '2.5.4.3');
    const v = (cn?.value.valueBlock as { value?: unknown } | undefined)?.value;
    if (typeof v === 'string') ids.push({ type: 'dns', value: v });
  }
  if (ids.length === 0) throw new AcmeProtocolError('the CSR names no DNS identifier (subjectAltName dNSName or CN) to order');
  return ids;
}

export class AcmeEnrollment implements EnrollmentProtocol {
  readonly name = 'acme' as const;
  private client: AcmeClient | undefined;
  private readonly transport: Transport;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly accountStore: DocumentStore<AccountFile>;
  readonly pending: PendingTransactions<AcmePendingOrder>;

  constructor(private readonly o: AcmeEnrollmentOptions) {
    const isAccount = (f: unknown): f is AccountFile => typeof f === 'object' && f !== null && (f as AccountFile).version === 1 && typeof (f as AccountFile).key === 'object' && typeof (f as AccountFile).directoryUrl === 'string';
    // The bare JSON account file of earlier releases is converted once.
    this.accountStore = documentAt<AccountFile>(o.accountFile, { kind: 'enrolld-acme-account', version: 1, validate: isAccount, legacy: (j) => (isAccount(j) ? j : undefined) });
    this.pending = o.pending ?? new MemoryPendingTransactions();
    this.transport =
      o.transport ??
      createHttpsTransport({ trustAnchors: o.trustAnchors, ...(o.maxResponseBytes ? { maxResponseBytes: o.maxResponseBytes } : {}), ...(o.totalTimeoutMs ? { totalTimeoutMs: o.totalTimeoutMs } : {}) });
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /** The account: key created in the keystore on first use and persisted with the account URL (§7.3, §7.3.1). */
  async account(): Promise<AcmeClient> {
    if (this.client?.kid) return this.client;
    // The directory first: a server we cannot reach or do not trust costs no key and writes nothing.
    const client = new AcmeClient({ directoryUrl: this.o.directoryUrl, transport: this.transport, ...(this.o.now ? { now: this.o.now } : {}) });
    const dir = await client.directory();
    let file: AccountFile | undefined;
    try {
      const f = await this.accountStore.load();
      if (f && f.directoryUrl === this.o.directoryUrl) file = f;
    } catch (e) {
      // Both copies unusable: a new account key, as for a missing file (the account holds no secret of ours).
      if (!(e instanceof StateCorruptError)) throw e;
    }
    if (!file) {
      const key = await this.o.keystore.createKey(`acme-account-${Date.now().toString(36)}`, this.o.accountKeyAlgorithm ?? 'ecc-p256');
      file = { version: 1, directoryUrl: this.o.directoryUrl, key: { ...key, spki: Buffer.from(key.spki).toString('base64') } };
      await this.accountStore.save(file);
    }
    client.signer = this.o.keystore.signer({ ...file.key, spki: new Uint8Array(Buffer.from(file.key.spki, 'base64')) });
    // newAccount with the same key returns the existing account (200) or creates it (201); either way: the URL.
    const res = await client.post(dir.newAccount, { termsOfServiceAgreed: true, ...(this.o.contact?.length ? { contact: this.o.contact } : {}) }, { useJwk: true });
    if (res.status !== 200 && res.status !== 201) throw new AcmeProtocolError(`newAccount answered ${res.status}`);
    if (!res.location) throw new AcmeProtocolError('newAccount answered without the account URL (Location)');
    const acct = obj(res.json, 'account');
    if (acct.status !== 'valid') throw new AcmeProtocolError(`account status is ${String(acct.status)}`);
    client.kid = res.location;
    if (file.kid !== res.location) {
      file.kid = res.location;
      await this.accountStore.save(file);
    }
    this.client = client;
    return client;
  }

  async enroll(req: EnrollRequest): Promise<EnrollResult> {
    const client = await this.account();
    const waiting = this.pending.get(req.csr);
    try {
      const r = await this.order(client, req, waiting);
      if (r.result.kind === 'pending') await this.pending.put(req.csr, { orderUrl: r.orderUrl });
      else if (waiting) await this.pending.clear(req.csr);
      return r.result;
    } catch (e) {
      // A failed order is not resumed: the next attempt places a new one.
      if (waiting) await this.pending.clear(req.csr).catch(() => undefined);
      throw e;
    }
  }

  /** The order of a resumed request (still processing at the last attempt), else a new one (§7.4). */
  private async openOrder(client: AcmeClient, req: EnrollRequest, waiting: AcmePendingOrder | undefined): Promise<{ orderUrl: string; order: Record<string, unknown> }> {
    if (waiting) {
      const res = await client.post(waiting.orderUrl, undefined).catch(() => undefined);
      const order = res?.status === 200 ? obj(res.json, 'order') : undefined;
      if (order && order.status !== 'invalid') return { orderUrl: waiting.orderUrl, order };
    }
    const dir = await client.directory();
    const identifiers = [...(this.o.identifiers ?? csrIdentifiers(req.csr)), ...(this.o.remoteAttestation ?? []).map((value) => ({ type: IDENTIFIER_REMOTE_ATTESTATION, value }))];
    const created = await client.post(dir.newOrder, { identifiers });
    if (created.status !== 201 || !created.location) throw new AcmeProtocolError(`newOrder answered ${created.status}${created.location ? '' : ' without a Location'}`);
    return { orderUrl: created.location, order: obj(created.json, 'order') };
  }

  private async order(client: AcmeClient, req: EnrollRequest, waiting: AcmePendingOrder | undefined): Promise<{ orderUrl: string; result: EnrollResult }> {
    const opened = await this.openOrder(client, req, waiting);
    const orderUrl = opened.orderUrl;
    let order = opened.order;
    const pending = { orderUrl, result: { kind: 'pending', retryAfterSeconds: 30 } as EnrollResult };
    const deadline = Date.now() + (this.o.maxPollMs ?? 120_000);

    // Authorizations (§7.5): answer one challenge each, then wait for them to become valid.
    const authzUrls = order.authorizations;
    if (!Array.isArray(authzUrls) || authzUrls.some((u) => typeof u !== 'string')) throw new AcmeProtocolError('order.authorizations is not a list of URLs');
    for (const url of authzUrls as string[]) await this.authorize(client, url, req, deadline);

    // Finalize (§7.4) once the order is ready.
    const ready = await this.pollOrder(client, orderUrl, order, ['ready', 'valid'], deadline);
    if (ready === undefined) return pending;
    order = ready;
    if (order.status === 'ready') {
      const fin = await client.post(str(order, 'finalize', 'order'), { csr: b64u(req.csr) });
      order = obj(fin.json, 'order');
      const done = await this.pollOrder(client, orderUrl, order, ['valid'], deadline);
      if (done === undefined) return pending;
      order = done;
    }
    const certUrl = str(order, 'certificate', 'order');
    const cert = await client.post(certUrl, undefined, { accept: PEM_CERTIFICATE_CHAIN });
    if (cert.contentType !== PEM_CERTIFICATE_CHAIN) throw new AcmeProtocolError(`certificate download has content type ${cert.contentType ?? 'none'}, expected ${PEM_CERTIFICATE_CHAIN}`);
    const blocks = pemDecodeAll(Buffer.from(cert.body).toString('utf8'), 'CERTIFICATE');
    if (blocks.length === 0) throw new AcmeProtocolError('the certificate chain holds no certificate');
    return { orderUrl, result: { kind: 'issued', cert: blocks[0]!.der, chain: blocks.slice(1).map((b) => b.der) } };
  }

  private async authorize(client: AcmeClient, url: string, req: EnrollRequest, deadline: number): Promise<void> {
    let authz = obj((await client.post(url, undefined)).json, 'authorization');
    if (authz.status === 'valid') return;
    if (authz.status !== 'pending') throw new AcmeProtocolError(`authorization ${url} is ${String(authz.status)}`);
    const challenges = Array.isArray(authz.challenges) ? authz.challenges.map((c) => obj(c, 'challenge')) : [];
    // A remote-attestation authorization is answered by remote-attest-01 only; identifier ones by preference.
    const ratsAuthz = obj(authz.identifier ?? {}, 'authorization identifier').type === IDENTIFIER_REMOTE_ATTESTATION;
    const prefs = ratsAuthz ? [REMOTE_ATTEST_01] : (this.o.challengePreference ?? DEFAULT_PREFERENCE);
    const usable = prefs.filter((t) => t !== REMOTE_ATTEST_01 || (this.o.attest && req.key));
    const chal = usable.map((t) => challenges.find((c) => c.type === t)).find((c) => c !== undefined);
    if (!chal) throw new AcmeProtocolError(`authorization ${url} offers none of the challenge types ${usable.join(', ') || '(none: remote-attest-01 needs attestation)'} (offered: ${challenges.map((c) => String(c.type)).join(', ')})`);
    const chalUrl = str(chal, 'url', 'challenge');
    let payload: Record<string, unknown> | Uint8Array = {};
    if (chal.type === REMOTE_ATTEST_01) payload = await this.remoteAttest(client, url, chal, req);
    await client.post(chalUrl, payload);
    for (;;) {
      authz = obj((await client.post(url, undefined)).json, 'authorization');
      const st = authz.status as AuthzStatus;
      if (st === 'valid') return;
      if (st !== 'pending') {
        const ch = Array.isArray(authz.challenges) ? authz.challenges.map((c) => obj(c, 'challenge')).find((c) => c.url === chalUrl) : undefined;
        const err = ch?.error ? obj(ch.error, 'challenge error') : undefined;
        throw new AcmeProblemError(403, { type: typeof err?.type === 'string' ? err.type : 'urn:ietf:params:acme:error:unauthorized', detail: `authorization ${st}${typeof err?.detail === 'string' ? `: ${err.detail}` : ''}` });
      }
      if (Date.now() > deadline) throw new AcmeProtocolError(`authorization ${url} still pending after polling`);
      await this.sleep(this.o.pollIntervalMs ?? 1000);
    }
  }

  /**
   * draft-ietf-acme-rats-01 §"remote-attest-01 Response". The nonce and the encryption key are checked before the
   * TPM is asked for anything; a challenge the agent cannot answer is declined by deactivating its authorization
   * (RFC 8555 §7.5.2), so the server holds nothing pending, and the typed error goes to the lifecycle's backoff.
   */
  private async remoteAttest(client: AcmeClient, authzUrl: string, chal: Record<string, unknown>, req: EnrollRequest): Promise<Uint8Array> {
    let nonce: Uint8Array;
    let recipient: JweRecipient | undefined;
    try {
      nonce = freshnessNonce(chal);
      const cred = chal.verifierEncryptionCredential;
      if (typeof cred === 'string' && cred.startsWith('-----BEGIN CERTIFICATE-----')) {
        recipient = jweRecipientFromCertificate(cred);
      } else if (typeof cred === 'string') {
        // The URL form: the key is fetched with POST-as-GET from the ACME server (same TLS trust, same account).
        if (!/^https:\/\//.test(cred)) throw new AcmeRatsError('acme.rats.encryption-credential', 'verifierEncryptionCredential is a string but neither an https URL nor a PEM certificate; the evidence is not sent');
        const res = await client.post(cred, undefined, { accept: 'application/jwk+json, application/json' });
        let jwk = res.json;
        if (jwk === undefined && res.contentType === 'application/jwk+json') {
          try {
            jwk = JSON.parse(Buffer.from(res.body).toString('utf8'));
          } catch {
            jwk = undefined;
          }
        }
        recipient = jweRecipient(jwk);
      } else if (cred !== undefined) recipient = jweRecipient(cred);
    } catch (e) {
      if (e instanceof AcmeRatsError) await client.post(authzUrl, { status: 'deactivated' }).catch(() => undefined);
      throw e;
    }
    const evidence = await this.o.attest!(req.key!, nonce);
    return challengeResponse(evidence, recipient);
  }

  /** Polls the order until its status is one of `want` (undefined: still processing at the deadline). */
  private async pollOrder(client: AcmeClient, url: string, order: Record<string, unknown>, want: OrderStatus[], deadline: number): Promise<Record<string, unknown> | undefined> {
    let waitMs: number | undefined;
    for (;;) {
      const st = order.status as OrderStatus;
      if (want.includes(st)) return order;
      if (st === 'invalid') {
        const e = order.error ? obj(order.error, 'order error') : undefined;
        throw new AcmeProblemError(403, { type: typeof e?.type === 'string' ? e.type : 'urn:ietf:params:acme:error:orderNotReady', detail: `order invalid${typeof e?.detail === 'string' ? `: ${e.detail}` : ''}` });
      }
      if (Date.now() > deadline) return undefined;
      // The order object in hand may be stale (from newOrder/finalize): re-read it first, wait only between reads.
      if (waitMs !== undefined) await this.sleep(waitMs);
      const res = await client.post(url, undefined);
      waitMs = Math.min(60_000, (res.retryAfterSeconds ?? 0) * 1000 || (this.o.pollIntervalMs ?? 1000));
      order = obj(res.json, 'order');
    }
  }
}
