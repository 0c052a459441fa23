import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initialState, transition, isAgentState, TransitionError, type Credential, type PendingRequest } from '../../agent/lifecycle/state.js';

const now = new Date('2026-03-01T00:00:00Z');
const key = { id: 'k1', algorithm: 'ecc-p256' as const, spki: 'AA==', location: {} };
const pending: PendingRequest = { operation: 'enroll', key, csr: 'AA==', createdAt: now.toISOString(), attempts: 0 };
const cred: Credential = { key, certPem: 'x', chainPem: [], subject: 'CN=a', serial: '01', notBefore: now.toISOString(), notAfter: now.toISOString(), renewAt: now.toISOString() };

test('happy path: unprovisioned → bootstrapped → enrolling → enrolled → renewing → enrolled', () => {
  let s = initialState();
  s = transition(s, { type: 'bootstrap' }, now);
  s = transition(s, { type: 'start', pending }, now);
  assert.is(s.phase, 'enrolling');
  assert.ok(isAgentState(s));
  s = transition(s, { type: 'wait', until: new Date(now.getTime() + 60_000), reason: 'pending' }, now);
  s = transition(s, { type: 'wait', until: new Date(now.getTime() + 120_000), reason: 'pending' }, now);
  assert.is(s.retry?.attempt, 2);
  s = transition(s, { type: 'issued', credential: cred }, now);
  assert.is(s.phase, 'enrolled');
  assert.is(s.pending, undefined);
  assert.is(s.retry, undefined);
  s = transition(s, { type: 'start', pending: { ...pending, operation: 'reenroll' } }, now);
  assert.is(s.phase, 'renewing');
  assert.is(s.credential, cred, 'the old credential stays while renewing');
  s = transition(s, { type: 'abandon', reason: 'rejected' }, now);
  assert.is(s.phase, 'enrolled');
  assert.is(s.credential, cred);
  assert.equal(s.history.map((h) => h.to), ['bootstrapped', 'enrolling', 'enrolled', 'renewing', 'enrolled']);
});

test('fail after wait restarts the failure count', () => {
  let s = transition(transition(initialState(), { type: 'bootstrap' }, now), { type: 'start', pending }, now);
  s = transition(s, { type: 'wait', until: now, reason: 'pending' }, now);
  s = transition(s, { type: 'fail', until: now, reason: 'http.503' }, now);
  assert.equal([s.retry?.kind, s.retry?.attempt], ['failed', 1]);
});

test('consecutive failures carry across a dropped and replaced request; only an issued certificate clears them', () => {
  let s = transition(transition(initialState(), { type: 'bootstrap' }, now), { type: 'start', pending }, now);
  s = transition(s, { type: 'abandon', reason: 'est.client_error' }, now);
  s = transition(s, { type: 'fail', until: now, reason: 'est.client_error' }, now);
  assert.equal([s.phase, s.retry?.attempt, s.failures], ['bootstrapped', 1, 1]);
  s = transition(s, { type: 'start', pending: { ...pending, key: { ...key, id: 'k2' } } }, now);
  assert.is(s.retry, undefined);
  s = transition(s, { type: 'abandon', reason: 'est.client_error' }, now);
  s = transition(s, { type: 'fail', until: now, reason: 'est.client_error' }, now);
  assert.equal([s.retry?.attempt, s.failures], [2, 2], 'the fresh request continues the backoff');
  s = transition(s, { type: 'start', pending }, now);
  s = transition(s, { type: 'issued', credential: cred }, now);
  assert.is(s.failures, undefined);
  s = transition(s, { type: 'fail', until: now, reason: 'transport.tls' }, now);
  assert.equal([s.phase, s.retry?.attempt], ['enrolled', 1], 'a failure before any request (nonce, key, CSR) is recorded in enrolled too');
});

test('poll backoff is part of the state: poll-fail counts up, poll-ok clears it, neither touches the lifecycle', () => {
  let s = transition(transition(initialState(), { type: 'bootstrap' }, now), { type: 'start', pending }, now);
  s = transition(s, { type: 'issued', credential: cred }, now);
  const history = s.history.length;
  s = transition(s, { type: 'poll-fail', until: new Date(now.getTime() + 60_000), reason: 'transport.connect' }, now);
  s = transition(s, { type: 'poll-fail', until: new Date(now.getTime() + 120_000), reason: 'transport.connect' }, now);
  assert.equal([s.phase, s.pollRetry?.attempt, s.pollRetry?.until, s.retry], ['enrolled', 2, new Date(now.getTime() + 120_000).toISOString(), undefined]);
  assert.ok(isAgentState(s));
  s = transition(s, { type: 'poll-ok' }, now);
  assert.is(s.pollRetry, undefined);
  assert.is(s.credential, cred);
  assert.is(s.history.length, history, 'polls are not lifecycle transitions');
});

test('invalid transitions are refused and the input is not mutated', () => {
  const s = initialState();
  const copy = JSON.stringify(s);
  assert.throws(() => transition(s, { type: 'issued', credential: cred }, now), (e: unknown) => e instanceof TransitionError);
  assert.throws(() => transition(s, { type: 'start', pending }, now), (e: unknown) => e instanceof TransitionError);
  assert.is(JSON.stringify(s), copy);
});

test('history is bounded', () => {
  let s = transition(initialState(), { type: 'bootstrap' }, now);
  s = transition(s, { type: 'start', pending }, now);
  s = transition(s, { type: 'issued', credential: cred }, now);
  for (let i = 0; i < 100; i++) {
    s = transition(s, { type: 'start', pending }, now);
    s = transition(s, { type: 'issued', credential: cred }, now);
  }
  assert.is(s.history.length, 20);
});

test('isAgentState rejects inconsistent documents', () => {
  assert.not.ok(isAgentState({ schema: 1, phase: 'renewing', history: [] }));
  assert.not.ok(isAgentState({ schema: 2, phase: 'enrolled', history: [] }));
  assert.not.ok(isAgentState(null));
});

test.run();
