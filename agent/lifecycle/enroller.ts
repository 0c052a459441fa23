// Enrollment and renewal as a commit (ARCHITECTURE.md §The device lifecycle): the new key, CSR and certificate are produced and
// verified beside the current credential; one atomic state write switches them; only then is the old key dropped.
// A pending request is persisted before it is sent, so a restart resends the very same request.
import { crashpoint } from '../util/crashpoint.js';
import { X509Certificate, createHash } from 'node:crypto';
import type * as pkijs from 'pkijs';
import { loadCert } from '../pki/lazy-modules.js';
import { ModuleLoadError } from '../util/lazy-import.js';
import { pemEncode } from '../pki/pem.js';
import type { KeyStore, KeyRecord } from '../keystore/keystore.js';
import type { KeyAlgorithm, Signer } from '../pki/signer.js';
import type { EnrollmentProtocol, EnrollResult } from '../protocols/protocol.js';
import type { Logger } from '../util/log.js';
import { EnrolldError } from '../util/errors.js';
import type { Clock } from './clock.js';
import { serverRetryAfterSeconds } from './due-check.js';
import { RENEW_RETRY_MAX_SECONDS, RENEW_RETRY_SPREAD, backoffSeconds, clampRetryAfter, renewAt, type Random } from './schedule.js';
import {
  transition,
  toStoredKey,
  fromStoredKey,
  initialState,
  type AgentState,
  type Credential,
  type LifecycleEvent,
  type PendingRequest,
} from './state.js';

export interface StateAccess {
  load(): Promise<AgentState | undefined>;
  save(state: AgentState): Promise<void>;
}

export interface EnrollPolicy {
  keyAlgorithm: KeyAlgorithm;
  renewFraction: number;
  /** Renewal spread below renewFraction (schedule.ts RENEW_SPREAD when jitter is on; 0: exactly at renewFraction). */
  renewSpread?: number;
  backoffMinSeconds: number;
  backoffMaxSeconds: number;
  /** A renewal refused with 401/403 is resent (with backoff) this many times before its key is dropped (default 3). */
  renewAuthRetries?: number;
}

/** What a request is for: first enrollment, or renewal of `current` (RFC 7030 §4.2.2). */
export interface RequestContext {
  operation: 'enroll' | 'reenroll';
  current?: Credential;
}

/** How the next request should be made, decided before its key is created (e.g. from /csrattrs, RFC 7030 §4.5). */
export interface RequestPlan {
  keyAlgorithm?: KeyAlgorithm;
  /** opaque to the enroller: the CSR builder's own plan (e.g. from /csrattrs) */
  detail?: unknown;
}

export interface EnrollerDeps {
  clock: Clock;
  log: Logger;
  keystore: KeyStore;
  protocol: EnrollmentProtocol;
  state: StateAccess;
  /**
   * Decides how the next request is made; called before its key is created, and its failures go through the same
   * persisted backoff as any other step.
   */
  prepare?(ctx: RequestContext): Promise<RequestPlan>;
  /** Builds the DER CSR for a new key (subject, SANs and attestation evidence are the caller's policy). */
  buildCsr(key: KeyRecord, signer: Signer, ctx: RequestContext & { plan: RequestPlan }): Promise<Uint8Array>;
  /**
   * Validates an issued certificate and its chain to the trust anchors; throws a typed error if not valid. Gets the
   * protocol's parsed certificates when it has them (the same certificates as the DER), else the DER.
   */
  verifyIssued(cert: Uint8Array | pkijs.Certificate, chain: Array<Uint8Array | pkijs.Certificate>, now: Date): Promise<void>;
  policy: EnrollPolicy;
  random?: Random;
  /** Called after each persisted transition (status reporting); must not throw. */
  onTransition?(state: AgentState, event: LifecycleEvent): void;
  /** Drops the key of a credential a renewal replaced (default keystore.deleteKey; the device identity defers it). */
  retire?(key: KeyRecord): Promise<void>;
}

export type StepAction = 'none' | 'issued' | 'pending' | 'failed' | 'abandoned';

export interface StepOutcome {
  action: StepAction;
  state: AgentState;
  /** When enrollment work is next due (retry, renewal), if any. */
  nextDue?: Date;
  error?: EnrolldError;
}

export class IssuedCertificateError extends EnrolldError {}

/** Errors the server will answer the same way again: drop the request (a fresh key/nonce/CSR is needed). */
function isPermanent(err: unknown): boolean {
  if ((err as { permanent?: unknown }).permanent === true) return true;
  const status = (err as { status?: number }).status;
  return typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

function asEnrolldError(err: unknown): EnrolldError {
  if (err instanceof EnrolldError) return err;
  return new EnrolldError('internal', err instanceof Error ? err.message : String(err), { cause: err });
}


export class Enroller {
  private busy = false;
  /** Pending requests (by key id) this process created: any other pending was inherited from before a restart. */
  private readonly createdHere = new Set<string>();
  /** Inherited requests already sent once by this process. */
  private readonly resentHere = new Set<string>();

  constructor(private readonly d: EnrollerDeps) {}

  /** When enrollment work is due for this state: now when idle-and-unenrolled, retry time, or renewal time. */
  nextDue(s: AgentState): Date | undefined {
    if (s.retry) return new Date(s.retry.until);
    if (s.phase === 'bootstrapped' || s.phase === 'enrolling' || s.phase === 'renewing') return this.d.clock.now();
    if (s.phase === 'enrolled' && s.credential) return new Date(s.credential.renewAt);
    return undefined;
  }

  async loadState(): Promise<AgentState> {
    return (await this.d.state.load()) ?? initialState();
  }

  /** Marks the device bootstrapped (TA store and identity present) — done by provisioning or first start. */
  async bootstrap(): Promise<AgentState> {
    const s = await this.loadState();
    if (s.phase !== 'unprovisioned') return s;
    return this.commit(s, { type: 'bootstrap' });
  }

  /**
   * One enrollment step: does whatever is due (start, resend, renew), at most one request.
   * `force` renews now even before the renewal time (PAL "re-enroll", `enrolld enroll --now`).
   */
  async step(opts: { force?: boolean } = {}): Promise<StepOutcome> {
    if (this.busy) throw new EnrolldError('lifecycle.busy', 'an enrollment is already in progress');
    this.busy = true;
    try {
      return await this.stepInner(opts.force === true);
    } finally {
      this.busy = false;
    }
  }

  private async stepInner(force: boolean): Promise<StepOutcome> {
    let s = await this.loadState();
    if (s.phase === 'unprovisioned') s = await this.commit(s, { type: 'bootstrap' });
    const due = this.nextDue(s);
    if (!force && (due === undefined || due.getTime() > this.d.clock.now().getTime())) return { action: 'none', state: s, ...(due ? { nextDue: due } : {}) };

    if (!s.pending) {
      if (s.phase !== 'bootstrapped' && s.phase !== 'enrolled') return { action: 'none', state: s };
      // Preparing the request (csrattrs, nonce, key, CSR) fails like sending it: persisted backoff, never a hot loop.
      try {
        s = await this.start(s);
      } catch (err) {
        return this.failed(s, asEnrolldError(err), false);
      }
    }
    const pending = s.pending!;
    let result: EnrollResult;
    try {
      const current = s.phase === 'renewing' && s.credential
        ? { key: fromStoredKey(s.credential.key), certPem: s.credential.certPem, chainPem: s.credential.chainPem }
        : undefined;
      this.d.log.info('enroll.request', { op: pending.operation, keyId: pending.key.id, attempt: pending.attempts + 1 });
      crashpoint('enroll.after-send');
      result = await this.d.protocol.enroll({
        operation: pending.operation,
        csr: new Uint8Array(Buffer.from(pending.csr, 'base64')),
        key: fromStoredKey(pending.key),
        ...(current ? { current } : {}),
      });
    } catch (err) {
      // RFC 7030 §3.2.3: a server may ask for HTTP authentication after TLS client auth; a refused renewal is resent
      // a bounded number of times (the same request, with backoff) before the key is dropped. The credential stays.
      const status = (err as { status?: number }).status;
      if (pending.operation === 'reenroll' && (status === 401 || status === 403)) {
        const refusals = (pending.authFailures ?? 0) + 1;
        if (refusals <= (this.d.policy.renewAuthRetries ?? 3)) {
          this.d.log.warn('enroll.renew-refused', { status, refusals, keyId: pending.key.id });
          return this.failed({ ...s, pending: { ...pending, authFailures: refusals } }, asEnrolldError(err), false);
        }
        return this.failed(s, asEnrolldError(err), true);
      }
      const permanent = isPermanent(err);
      // An inherited request (persisted by a process that may have sent it and died before storing the answer) that
      // is now refused permanently — e.g. its single-use attestation nonce was consumed by that first send — is
      // dropped and replaced by a fresh request at once, not after a backoff. Once per inherited request.
      const inherited = !this.createdHere.has(pending.key.id) && !this.resentHere.has(pending.key.id);
      if (permanent && inherited) {
        this.resentHere.add(pending.key.id);
        this.d.log.warn('enroll.resend-refused', { code: asEnrolldError(err).code, keyId: pending.key.id });
        const dropped = pending.key;
        s = await this.commit(s, { type: 'abandon', reason: asEnrolldError(err).code });
        await this.d.keystore.deleteKey(fromStoredKey(dropped)).catch(() => undefined);
        return this.stepInner(true);
      }
      return this.failed(s, asEnrolldError(err), permanent);
    }
    if (pending && !this.createdHere.has(pending.key.id)) this.resentHere.add(pending.key.id);
    if (result.kind === 'pending') {
      const secs = clampRetryAfter(result.retryAfterSeconds);
      const until = new Date(this.d.clock.now().getTime() + secs * 1000);
      s = await this.commit({ ...s, pending: { ...pending, attempts: pending.attempts + 1 } }, { type: 'wait', until, reason: 'pending' });
      this.d.log.info('enroll.pending', { retryAfter: secs, until });
      return { action: 'pending', state: s, nextDue: until };
    }
    crashpoint('enroll.after-response');
    let credential: Credential;
    try {
      credential = await this.verify(pending, result.cert, result.chain, result.parsed);
    } catch (err) {
      // a verifier that could not be loaded said nothing about the certificate: the request is asked again later
      return this.failed(s, asEnrolldError(err), !(err instanceof ModuleLoadError));
    }
    const old = s.credential;
    s = await this.commit(s, { type: 'issued', credential });
    this.d.log.info('enroll.issued', { serial: credential.serial, subject: credential.subject, notAfter: credential.notAfter, renewAt: credential.renewAt, keyId: credential.key.id });
    if (old && old.key.id !== credential.key.id) {
      const retire = this.d.retire ?? ((k: KeyRecord) => this.d.keystore.deleteKey(k));
      await retire(fromStoredKey(old.key)).catch((err) => this.d.log.warn('key.delete-failed', { keyId: old.key.id, err }));
    }
    return { action: 'issued', state: s, nextDue: new Date(credential.renewAt) };
  }

  /** New key + CSR, persisted as the pending request before anything is sent. */
  private async start(s: AgentState): Promise<AgentState> {
    const now = this.d.clock.now();
    // An expired (or not yet valid) credential cannot authenticate a re-enrollment: fall back to initial enrollment.
    const usable = s.credential && Date.parse(s.credential.notAfter) > now.getTime() && Date.parse(s.credential.notBefore) <= now.getTime();
    const operation = s.phase === 'enrolled' && usable ? 'reenroll' : 'enroll';
    if (s.phase === 'enrolled' && !usable) this.d.log.warn('enroll.credential-expired', { notAfter: s.credential?.notAfter });
    const id = `${operation === 'enroll' ? 'ldevid' : 'ldevid-r'}-${now.getTime().toString(36)}-${Math.floor((this.d.random ?? Math.random)() * 1e6).toString(36)}`;
    const ctx: RequestContext = { operation, ...(operation === 'reenroll' && s.credential ? { current: s.credential } : {}) };
    const plan = (await this.d.prepare?.(ctx)) ?? {};
    const key = await this.d.keystore.createKey(id, plan.keyAlgorithm ?? this.d.policy.keyAlgorithm);
    try {
      this.createdHere.add(id);
      const csr = await this.d.buildCsr(key, this.d.keystore.signer(key), { ...ctx, plan });
      crashpoint('enroll.after-csr');
      const pending: PendingRequest = { operation, key: toStoredKey(key), csr: Buffer.from(csr).toString('base64'), createdAt: now.toISOString(), attempts: 0 };
      this.d.log.info('enroll.start', { op: operation, keyId: id, csrBytes: csr.length });
      return await this.commit(s, { type: 'start', pending });
    } catch (err) {
      await this.discardUnpersisted(key);
      throw err;
    }
  }

  /** A key whose request failed before it was persisted as pending is deleted (unless the state write landed after all). */
  private async discardUnpersisted(key: KeyRecord): Promise<void> {
    const saved = await this.d.state.load().catch(() => undefined);
    if (saved?.pending?.key.id === key.id) return;
    this.createdHere.delete(key.id);
    await this.d.keystore.deleteKey(key).catch((err) => this.d.log.warn('key.delete-failed', { keyId: key.id, err }));
  }

  /**
   * Persists the outcome of a periodic poll (PAL, /cacerts): a failure's backoff survives a restart. Skipped while
   * an enrollment step holds the state (its own writes win; the daemon keeps the backoff in memory meanwhile).
   */
  async recordPoll(outcome: { ok: true } | { ok: false; until: Date; reason: string }): Promise<AgentState | undefined> {
    if (this.busy) return undefined;
    this.busy = true;
    try {
      const s = await this.loadState();
      if (outcome.ok) return s.pollRetry ? await this.commit(s, { type: 'poll-ok' }) : s;
      return await this.commit(s, { type: 'poll-fail', until: outcome.until, reason: outcome.reason });
    } finally {
      this.busy = false;
    }
  }

  private async verify(pending: PendingRequest, certDer: Uint8Array, chain: Uint8Array[], parsed?: { cert: pkijs.Certificate; chain: pkijs.Certificate[] }): Promise<Credential> {
    // Node's (OpenSSL) parse runs on every issued certificate, even with the protocol's pkijs parse at hand: it is the
    // parser the TLS stack will present this credential with, so a certificate it refuses is refused here, before
    // it replaces the old credential (≈ 1.5 ms cold).
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(Buffer.from(certDer));
    } catch (err) {
      throw new IssuedCertificateError('enroll.bad-certificate', `issued certificate does not parse: ${(err as Error).message}`);
    }
    const info = { subject: cert.subject, serialNumber: cert.serialNumber, notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) };
    const keySpki = Buffer.from(pending.key.spki, 'base64');
    // With the protocol's parse at hand its SPKI is compared (as in postCsr); else node's (an export costs a decode).
    // the protocol's parse means the ASN.1 stack is loaded: pki/cert.ts costs no decoder start-up here
    const pki = parsed ? await loadCert() : undefined;
    const certifiesKey = parsed && pki ? pki.certificateHasKey(parsed.cert, keySpki) : cert.publicKey.export({ type: 'spki', format: 'der' }).equals(keySpki);
    if (!certifiesKey) {
      throw new IssuedCertificateError('enroll.key-mismatch', 'issued certificate does not certify the requested key');
    }
    const usable = parsed && parsed.chain.length === chain.length;
    await this.d.verifyIssued(usable ? parsed.cert : certDer, usable ? parsed.chain : chain, this.d.clock.now());
    const { notBefore, notAfter } = info;
    // the new credential is what the next polls and the next renewal parse from the state: they find this parse
    if (parsed && pki) pki.shareCertificate(certDer, parsed.cert);
    return {
      key: pending.key,
      certPem: pemEncode('CERTIFICATE', certDer),
      chainPem: chain.map((c) => pemEncode('CERTIFICATE', c)),
      subject: info.subject.split('\n').join(','),
      serial: info.serialNumber.toLowerCase(),
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
      renewAt: renewAt(notBefore, notAfter, this.d.policy.renewFraction, this.d.policy.renewSpread ?? 0, this.d.random).toISOString(),
    };
  }

  private async failed(s: AgentState, error: EnrolldError, permanent: boolean): Promise<StepOutcome> {
    const attempt = (s.failures ?? 0) + 1;
    // A server-chosen wait (EST or CMP HTTP 503/429 Retry-After, RFC 9110 §10.2.3; CoAP 5.03 Max-Age, RFC 7252 §5.9.3.4)
    // lengthens the backoff, never shortens it.
    const serverWait = permanent ? undefined : serverRetryAfterSeconds(error);
    const secs = Math.max(this.retryDelaySeconds(s, attempt), serverWait ?? 0);
    const until = new Date(this.d.clock.now().getTime() + secs * 1000);
    let next = s;
    if (permanent && s.pending) {
      const dropped = s.pending.key;
      next = await this.commit(next, { type: 'abandon', reason: error.code });
      await this.d.keystore.deleteKey(fromStoredKey(dropped)).catch(() => undefined);
    }
    next = await this.commit(next, { type: 'fail', until, reason: error.code });
    this.d.log.warn('enroll.failed', { code: error.code, err: error, permanent, retryIn: secs, ...(serverWait !== undefined ? { serverRetryAfter: serverWait } : {}) });
    return { action: permanent ? 'abandoned' : 'failed', state: next, nextDue: until, error };
  }

  /**
   * The persisted backoff. A renewal that has failed more than once, while its certificate still has life left, need
   * not retry fast: after a server outage every device refused late in it would come back within minutes of the
   * recovery. With the fleet spread on (renewSpread > 0), its wait is drawn uniformly up to RENEW_RETRY_SPREAD of the
   * remaining lifetime (schedule.ts), never shorter than the plain backoff.
   */
  private retryDelaySeconds(s: AgentState, attempt: number): number {
    const { backoffMinSeconds, backoffMaxSeconds, renewSpread } = this.d.policy;
    const secs = backoffSeconds(attempt, backoffMinSeconds, backoffMaxSeconds, this.d.random);
    if (attempt < 2 || !(renewSpread && renewSpread > 0) || !s.credential) return secs;
    const remaining = (Date.parse(s.credential.notAfter) - this.d.clock.now().getTime()) / 1000;
    const window = Math.min(RENEW_RETRY_MAX_SECONDS, remaining * RENEW_RETRY_SPREAD);
    return Math.max(secs, Math.round((this.d.random ?? Math.random)() * window));
  }

  private async commit(s: AgentState, event: LifecycleEvent): Promise<AgentState> {
    const next = transition(s, event, this.d.clock.now());
    await this.d.state.save(next);
    try {
      this.d.onTransition?.(next, event);
    } catch {
      /* status reporting never breaks enrollment */
    }
    return next;
  }
}

/** Stable fingerprint of a credential for logs and status (never the key). */
export function credentialFingerprint(c: Credential): string {
  return createHash('sha256').update(c.certPem).digest('hex').slice(0, 16);
}
