// The device lifecycle as an explicit, persisted state machine (ARCHITECTURE.md §The device lifecycle):
//   unprovisioned → bootstrapped → enrolling → enrolled ⇄ renewing, with waiting/failed retry sub-states.
// Every transition is a pure function of (state, event); the caller persists the result in one atomic write.
import type { KeyRecord } from '../keystore/keystore.js';
import type { KeyAlgorithm } from '../pki/signer.js';
import { EnrolldError } from '../util/errors.js';

export const STATE_SCHEMA = 1;

export type Phase = 'unprovisioned' | 'bootstrapped' | 'enrolling' | 'enrolled' | 'renewing';

/** A KeyRecord as stored in JSON (spki base64). */
export interface StoredKey {
  id: string;
  algorithm: KeyAlgorithm;
  spki: string;
  location: Record<string, string | number>;
}

export interface Credential {
  key: StoredKey;
  /** Leaf certificate, PEM. */
  certPem: string;
  /** Issuing chain returned with it (PEM each), leaf excluded. */
  chainPem: string[];
  subject: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  /** When the agent plans to renew (policy fraction of the lifetime, or earlier if the PAL asks). */
  renewAt: string;
}

/** An enrollment in flight. Persisted before the request is sent so a restart resends the same request. */
export interface PendingRequest {
  operation: 'enroll' | 'reenroll';
  key: StoredKey;
  /** The exact PKCS#10 request, base64 DER. */
  csr: string;
  createdAt: string;
  attempts: number;
  /** Renewals refused with 401/403 so far (retried with backoff a bounded number of times before the key is dropped). */
  authFailures?: number;
}

export interface Retry {
  kind: 'waiting' | 'failed';
  /** Not before this time. */
  until: string;
  attempt: number;
  /** Stable error code or "pending" for 202. */
  reason: string;
}

export interface Transition {
  at: string;
  from: Phase;
  to: Phase;
  event: LifecycleEvent['type'];
}

export interface AgentState {
  schema: typeof STATE_SCHEMA;
  phase: Phase;
  credential?: Credential;
  pending?: PendingRequest;
  retry?: Retry;
  /**
   * Consecutive failed attempts since the last issued certificate, across requests: a request dropped and replaced
   * by a fresh one keeps backing off (the backoff grows until something succeeds).
   */
  failures?: number;
  /** Backoff of the periodic poll (PAL, /cacerts) after failures: survives a restart like the enrollment retry. */
  pollRetry?: Retry;
  /** Last few transitions (bounded) for `enrolld status`. */
  history: Transition[];
}

export type LifecycleEvent =
  | { type: 'bootstrap' }
  | { type: 'start'; pending: PendingRequest }
  | { type: 'wait'; until: Date; reason: string }
  | { type: 'fail'; until: Date; reason: string }
  | { type: 'issued'; credential: Credential }
  | { type: 'abandon'; reason: string }
  | { type: 'poll-fail'; until: Date; reason: string }
  | { type: 'poll-ok' };

export class TransitionError extends EnrolldError {
  constructor(from: Phase, event: string) {
    super('lifecycle.invalid-transition', `event '${event}' is not allowed in state '${from}'`);
  }
}

const HISTORY = 20;

export function initialState(): AgentState {
  return { schema: STATE_SCHEMA, phase: 'unprovisioned', history: [] };
}

export function toStoredKey(k: KeyRecord): StoredKey {
  return { id: k.id, algorithm: k.algorithm, spki: Buffer.from(k.spki).toString('base64'), location: { ...k.location } };
}

export function fromStoredKey(k: StoredKey): KeyRecord {
  return { id: k.id, algorithm: k.algorithm, spki: new Uint8Array(Buffer.from(k.spki, 'base64')), location: { ...k.location } };
}

/** Applies one event. Pure: returns a new state or throws TransitionError; never mutates its input. */
export function transition(state: AgentState, event: LifecycleEvent, now: Date): AgentState {
  const next = (phase: Phase, patch: Partial<AgentState>): AgentState => {
    const history =
      phase === state.phase && event.type !== 'issued'
        ? state.history
        : [...state.history, { at: now.toISOString(), from: state.phase, to: phase, event: event.type }].slice(-HISTORY);
    const out: AgentState = { ...state, ...patch, phase, history };
    for (const k of Object.keys(patch) as Array<keyof AgentState>) if (patch[k] === undefined) delete out[k];
    return out;
  };
  const reject = (): never => {
    throw new TransitionError(state.phase, event.type);
  };
  switch (event.type) {
    case 'bootstrap':
      return state.phase === 'unprovisioned' ? next('bootstrapped', {}) : reject();
    case 'start':
      if (state.phase === 'bootstrapped') return next('enrolling', { pending: event.pending, retry: undefined });
      if (state.phase === 'enrolled') return next('renewing', { pending: event.pending, retry: undefined });
      return reject();
    case 'wait':
    case 'fail': {
      if (state.phase !== 'enrolling' && state.phase !== 'renewing' && state.phase !== 'enrolled' && state.phase !== 'bootstrapped') return reject();
      if (event.type === 'fail') {
        const attempt = (state.failures ?? 0) + 1;
        return next(state.phase, { retry: { kind: 'failed', until: event.until.toISOString(), attempt, reason: event.reason }, failures: attempt });
      }
      const attempt = (state.retry?.kind === 'waiting' ? state.retry.attempt : 0) + 1;
      return next(state.phase, { retry: { kind: 'waiting', until: event.until.toISOString(), attempt, reason: event.reason } });
    }
    case 'issued':
      if (state.phase !== 'enrolling' && state.phase !== 'renewing') return reject();
      return next('enrolled', { credential: event.credential, pending: undefined, retry: undefined, failures: undefined });
    case 'poll-fail': {
      const pollRetry: Retry = { kind: 'failed', until: event.until.toISOString(), attempt: (state.pollRetry?.attempt ?? 0) + 1, reason: event.reason };
      return next(state.phase, { pollRetry });
    }
    case 'poll-ok':
      return next(state.phase, { pollRetry: undefined });
    case 'abandon':
      // A permanently rejected renewal: keep the current credential, drop the request.
      if (state.phase === 'renewing') return next('enrolled', { pending: undefined });
      if (state.phase === 'enrolling') return next('bootstrapped', { pending: undefined });
      return reject();
  }
}

/** Structural check of a loaded document; anything else is treated as corrupt by the caller. */
export function isAgentState(doc: unknown): doc is AgentState {
  if (typeof doc !== 'object' || doc === null) return false;
  const s = doc as Partial<AgentState>;
  const phases: Phase[] = ['unprovisioned', 'bootstrapped', 'enrolling', 'enrolled', 'renewing'];
  if (s.schema !== STATE_SCHEMA || !phases.includes(s.phase as Phase) || !Array.isArray(s.history)) return false;
  if ((s.phase === 'enrolling' || s.phase === 'renewing') && !s.pending) return false;
  if ((s.phase === 'enrolled' || s.phase === 'renewing') && !s.credential) return false;
  return true;
}
