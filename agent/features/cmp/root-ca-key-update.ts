// Root CA key update by CMP (RFC 9483 §4.3.2, RFC 4210 §4.4), driven by the lifecycle: once the current CMP root has
// less life left than the renewal threshold (the same fraction certificates renew at), the agent asks with genm
// id-it-rootCaCert(current root) → genp id-it-rootCaKeyUpdate; a new root is accepted only when newWithOld verifies
// with the current root's key (verifyRootCaKeyUpdate), then it is stored in the TA store for CMP protection and for
// the chains of issued certificates. A delayed genp (RFC 9483 §4.4) is resumed by pollReq from the persisted
// transaction. Every attempt's time, failure count and waiting transaction are persisted (cmp-root-update.json), so
// neither a restart nor a broken server makes it ask more often than the persisted backoff allows.
import { X509Certificate } from 'node:crypto';
import { certificateFingerprint, certificateFromDer } from '../../pki/cert.js';
import { CmpWaitingError, isCmpPendingTransaction, rootCaKeyUpdateRequest, verifyRootCaKeyUpdate, type CmpClient, type CmpPendingTransaction, type Protection } from '../../protocols/cmp/client.js';
import type { Clock } from '../../lifecycle/clock.js';
import type { PollOutcome, Poller } from '../../lifecycle/daemon.js';
import { failedLook, isoAfter, pollQuietly } from '../../lifecycle/due-check.js';
import { clampRetryAfter, renewAt, type Random } from '../../lifecycle/schedule.js';
import type { AgentState } from '../../lifecycle/state.js';
import { DocumentStore } from '../../store/document-store.js';
import { CMP_ROOT_UPDATE_FILE } from '../../store/layout.js';
import type { TrustAnchorStore } from '../../store/ta-store.js';
import { EnrolldError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';

/** What survives a restart. */
export interface RootUpdateState {
  /** ISO-8601: no genm before this (success: the next look; failure: the backoff). */
  nextCheck?: string;
  /** Consecutive failures. */
  failures: number;
  /** A genm answered "waiting", resumed with pollReq. */
  pending?: CmpPendingTransaction;
  /** The last outcome, for status. */
  last?: { at: string; result: 'updated' | 'no-update' | 'waiting' | 'failed'; code?: string; fingerprint?: string };
}

const isRootUpdateState = (x: unknown): x is RootUpdateState => {
  if (typeof x !== 'object' || x === null) return false;
  const s = x as RootUpdateState;
  return Number.isInteger(s.failures) && (s.nextCheck === undefined || typeof s.nextCheck === 'string') && (s.pending === undefined || isCmpPendingTransaction(s.pending));
};


export interface RootCaKeyUpdaterOptions {
  client: CmpClient;
  /** The CMP trust anchors in use (DER): the client's own list, which a new root is appended to. */
  anchors: Uint8Array[];
  ta: TrustAnchorStore;
  stateDir: string;
  clock: Clock;
  log: Logger;
  /** genm protection for the current lifecycle state (MAC, or a signature by the current credential). */
  protection(state: AgentState): Protection | undefined;
  /** Ask once the root has lived this fraction of its validity (schedule.renewFraction). */
  renewFraction: number;
  /** Between two looks at an unchanged root, and the backoff bounds (seconds). */
  checkIntervalSeconds?: number;
  backoffMinSeconds: number;
  backoffMaxSeconds: number;
  random?: Random;
}

export class RootCaKeyUpdateError extends EnrolldError {}

/** The self-signed root among the anchors that lives longest (the one a rollover replaces last). */
function currentRoot(anchors: Uint8Array[]): Uint8Array | undefined {
  let best: { der: Uint8Array; until: number } | undefined;
  for (const der of anchors) {
    let x: X509Certificate;
    try {
      x = new X509Certificate(Buffer.from(der));
    } catch {
      continue;
    }
    if (!x.ca || x.subject !== x.issuer || !x.verify(x.publicKey)) continue;
    const until = new Date(x.validTo).getTime();
    if (!best || until > best.until) best = { der, until };
  }
  return best?.der;
}

export class RootCaKeyUpdater implements Poller {
  private readonly store: DocumentStore<RootUpdateState>;

  constructor(private readonly o: RootCaKeyUpdaterOptions) {
    this.store = new DocumentStore<RootUpdateState>({ dir: o.stateDir, name: CMP_ROOT_UPDATE_FILE, kind: 'enrolld-cmp-root-update', version: 1, validate: isRootUpdateState });
  }

  async state(): Promise<RootUpdateState> {
    return (await this.store.load()) ?? { failures: 0 };
  }

  /** One look, when due; never throws (the PAL cycle it rides on must not back off for it). */
  poll(agent: AgentState): Promise<PollOutcome> {
    return pollQuietly(this.o.log, 'cmp.root-update.error', () => this.check(agent));
  }

  /** Returns what was done (tests), or 'not-due'. */
  async check(agent: AgentState): Promise<'not-due' | NonNullable<RootUpdateState['last']>['result']> {
    const now = this.o.clock.now();
    const s = await this.state();
    if (s.nextCheck && now < new Date(s.nextCheck)) return 'not-due';
    const root = currentRoot(this.o.anchors);
    if (!root) return 'not-due';
    const cert = certificateFromDer(root);
    const due = renewAt(cert.notBefore.value, cert.notAfter.value, this.o.renewFraction);
    if (!s.pending && now < due) return 'not-due';
    const protection = this.o.protection(agent);
    if (!protection) return 'not-due';
    const at = now.toISOString();
    try {
      const itavs = s.pending ? await this.o.client.resumeGeneralMessage(s.pending, protection) : await this.o.client.generalMessage(rootCaKeyUpdateRequest(root), protection);
      const upd = verifyRootCaKeyUpdate(itavs, root);
      const next = new Date(now.getTime() + (this.o.checkIntervalSeconds ?? 86400) * 1000).toISOString();
      if (!upd) {
        await this.store.save({ failures: 0, nextCheck: next, last: { at, result: 'no-update' } });
        return 'no-update';
      }
      const fingerprint = certificateFingerprint(certificateFromDer(upd.newWithNew));
      await this.o.ta.add({ name: `cmp-root-${fingerprint.slice(0, 16)}`, source: 'cmp-root-ca-key-update', uses: ['cacerts', 'cmp'], certificate: upd.newWithNew });
      if (!this.o.anchors.some((a) => Buffer.from(a).equals(Buffer.from(upd.newWithNew)))) this.o.anchors.push(upd.newWithNew);
      this.o.log.info('cmp.root-update.stored', { fingerprint });
      await this.store.save({ failures: 0, nextCheck: next, last: { at, result: 'updated', fingerprint } });
      return 'updated';
    } catch (err) {
      if (err instanceof CmpWaitingError) {
        const wait = clampRetryAfter(err.retryAfterSeconds);
        await this.store.save({ failures: s.failures, pending: err.transaction, nextCheck: isoAfter(now, wait), last: { at, result: 'waiting' } });
        return 'waiting';
      }
      // an HTTP 503/429 Retry-After lengthens the backoff, bounded as for enrollment
      const { failures, code, retryInSeconds, nextCheck } = failedLook(err, s.failures, now, this.o);
      this.o.log.warn('cmp.root-update.failed', { code, err, failures, retryInSeconds });
      // a failed resume starts over with a new genm
      await this.store.save({ failures, nextCheck, last: { at, result: 'failed', code } });
      return 'failed';
    }
  }
}
