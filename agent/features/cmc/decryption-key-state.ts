// The CMC decryption key's persisted state (cmc-decryption-key.json: the certified key, the pending request, the
// backoff) and its status reader for `enrolld status`, without the CMC and ASN.1 modules decryption-key.ts needs.
import type { StoredKey } from '../../lifecycle/state.js';
import { DocumentStore } from '../../store/document-store.js';
import { CMC_DECRYPTION_KEY_FILE } from '../../store/layout.js';
import type { DecryptionKeyStatus } from '../../status/schema.js';

/** The certified decryption key. */
export interface DecryptionKeyRecord {
  key: StoredKey;
  certPem: string;
  chainPem: string[];
  serial: string;
  notBefore: string;
  notAfter: string;
  /** When its successor is enrolled (schedule.renewFraction of the lifetime). */
  renewAt: string;
}

/** What survives a restart. */
export interface DecryptionKeyState {
  current?: DecryptionKeyRecord;
  /** A request the CA answered "pending" (RFC 5272 §6.13): the same key and CSR are sent again (queryPending). */
  pending?: { key: StoredKey; csr: string };
  /** ISO-8601: no request before this (the backoff, or the CA's pendTime). */
  nextCheck?: string;
  /** Consecutive failures. */
  failures: number;
  last?: { at: string; result: 'enrolled' | 'renewed' | 'pending' | 'failed'; code?: string };
}

const isStoredKey = (k: unknown): k is StoredKey =>
  typeof k === 'object' && k !== null && typeof (k as StoredKey).id === 'string' && typeof (k as StoredKey).spki === 'string' && typeof (k as StoredKey).location === 'object';
const isRecord = (r: unknown): r is DecryptionKeyRecord => {
  const x = r as DecryptionKeyRecord;
  return typeof r === 'object' && r !== null && isStoredKey(x.key) && typeof x.certPem === 'string' && Array.isArray(x.chainPem) && x.chainPem.every((p) => typeof p === 'string')
    && [x.serial, x.notBefore, x.notAfter, x.renewAt].every((t) => typeof t === 'string');
};
const isState = (x: unknown): x is DecryptionKeyState => {
  if (typeof x !== 'object' || x === null) return false;
  const s = x as DecryptionKeyState;
  return Number.isInteger(s.failures) && (s.current === undefined || isRecord(s.current)) && (s.nextCheck === undefined || typeof s.nextCheck === 'string')
    && (s.pending === undefined || (isStoredKey(s.pending.key) && typeof s.pending.csr === 'string'));
};

export const decryptionKeyStore = (stateDir: string): DocumentStore<DecryptionKeyState> =>
  new DocumentStore<DecryptionKeyState>({ dir: stateDir, name: CMC_DECRYPTION_KEY_FILE, kind: 'enrolld-cmc-decryption-key', version: 1, validate: isState });

/** The status snapshot's `dk` part: the certified key, the last attempt and the next one; undefined before any. */
export function decryptionKeyStatus(s: DecryptionKeyState | undefined): DecryptionKeyStatus | undefined {
  if (!s || (!s.current && !s.last)) return undefined;
  return {
    ...(s.current ? { serial: s.current.serial, notAfter: s.current.notAfter, renewAt: s.current.renewAt } : {}),
    ...(s.last ? { result: s.last.result, at: s.last.at, ...(s.last.code !== undefined ? { code: s.last.code } : {}) } : {}),
    ...(s.nextCheck ? { until: s.nextCheck } : {}),
  };
}

/** The persisted decryption key state for `enrolld status` (reads the file only; never throws). */
export async function readDecryptionKeyStatus(stateDir: string): Promise<DecryptionKeyStatus | undefined> {
  const s = await decryptionKeyStore(stateDir).peekData().catch(() => undefined);
  return isState(s) ? decryptionKeyStatus(s) : undefined;
}
