// ACME (RFC 8555) against pebble on loopback, with TPM keys (swtpm) for both the account and the certificate:
// account creation and reuse, order, challenge (pebble's VA is set to always valid), finalize with the TPM-signed
// CSR, chain download, driven through the shared Enroller (enroll, then renewal with a fresh TPM key); badNonce
// retried once; the error paths return typed errors and store nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { Enroller } from '../../agent/lifecycle/enroller.js';
import { SystemClock } from '../../agent/lifecycle/clock.js';
import { FileStateStore } from '../../agent/store/state-store.js';
import { STATE_SCHEMA, isAgentState, type AgentState } from '../../agent/lifecycle/state.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { validateChain } from '../../agent/pki/chain.js';
import { certificatesFromPem } from '../../agent/pki/cert.js';
import { memoryLogger } from '../../agent/util/log.js';
import { AcmeEnrollment } from '../../agent/protocols/acme/enrollment.js';
import { AcmeProblemError } from '../../agent/protocols/acme/errors.js';
import { createHttpsTransport, type Transport } from '../../agent/protocols/http/transport.js';
import { startPebble, type Pebble } from '../harness/pebble.js';
import { startSwtpm, type Swtpm } from '../harness/swtpm.js';

let pebble: Pebble;
let tpm: Swtpm;
let ks: TpmKeyStore;
const dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-acme-'));

test.before(async () => {
  pebble = await startPebble();
  tpm = await startSwtpm();
  ks = await TpmKeyStore.open({ tcti: tpm.tcti });
});
test.after(async () => {
  await ks?.close();
  await tpm?.stop();
  await pebble?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('enroll and renew a TPM key through the shared Enroller against pebble; one TPM account key, reused', async () => {
  // Real time: pebble stamps notBefore with its own clock, so a frozen clock would see certificates from the future.
  const clock = new SystemClock();
  const log = memoryLogger('info');
  const accountFile = path.join(dir, 'acme-account.json');
  const protocol = new AcmeEnrollment({ directoryUrl: pebble.directoryUrl, trustAnchors: [pebble.tlsTrustAnchorPem], keystore: ks, accountFile, pollIntervalMs: 100, maxPollMs: 20_000 });
  const root = certificatesFromPem(await pebble.issuerRoot());
  const state = new FileStateStore<AgentState>({ dir: path.join(dir, 'state'), version: STATE_SCHEMA, validate: isAgentState, log });
  const enroller = new Enroller({
    clock,
    log,
    keystore: ks,
    protocol,
    state,
    buildCsr: async (_key, signer) => (await buildCsr({ subject: 'CN=dev-acme-1.devices.example', san: { dns: ['dev-acme-1.devices.example'] }, signer })).der,
    verifyIssued: async (cert, chain, at) => {
      await validateChain({ leaf: cert, intermediates: chain, trustAnchors: root, at });
    },
    policy: { keyAlgorithm: 'ecc-p256', renewFraction: 2 / 3, backoffMinSeconds: 60, backoffMaxSeconds: 3600 },
  });
  const first = await enroller.step();
  assert.is(first.action, 'issued', log.lines.join('\n') + pebble.output().slice(-2000));
  const c1 = first.state.credential!;
  const x1 = new X509Certificate(c1.certPem);
  assert.ok(x1.subjectAltName?.includes('dev-acme-1.devices.example'));
  assert.equal(new Uint8Array(x1.publicKey.export({ format: 'der', type: 'spki' })), new Uint8Array(Buffer.from(c1.key.spki, 'base64')), 'the certificate certifies the TPM key');
  assert.is(statSync(accountFile).mode & 0o777, 0o600);
  const acct1 = (JSON.parse(readFileSync(accountFile, 'utf8')) as { data: { kid: string; key: { id: string; location: { private?: string } } } }).data;
  assert.match(acct1.kid, /^https:\/\/127\.0\.0\.1:\d+\//);
  assert.ok(acct1.key.location.private, 'the account key is a TPM object (blobs), not a PEM key');

  const second = await enroller.step({ force: true });
  assert.is(second.action, 'issued', log.lines.join('\n'));
  assert.is.not(second.state.credential!.serial, c1.serial);
  assert.is.not(second.state.credential!.key.id, c1.key.id, 'renewal rotates the TPM key');
  const acct2 = (JSON.parse(readFileSync(accountFile, 'utf8')) as { data: { kid: string } }).data;
  assert.is(acct2.kid, acct1.kid, 'the account is reused');

  // A second agent object (restart) reuses the account from the file.
  const again = new AcmeEnrollment({ directoryUrl: pebble.directoryUrl, trustAnchors: [pebble.tlsTrustAnchorPem], keystore: ks, accountFile });
  assert.is((await again.account()).kid, acct1.kid);
  assert.is((await ks.listHandles()).length, 0, 'no TPM transient left');
});

test('an identifier pebble refuses is a typed, permanent ACME problem; nothing issued', async () => {
  const key = await ks.createKey('acme-bad-id', 'ecc-p256');
  const csr = (await buildCsr({ subject: 'CN=x', san: { dns: ['bad_name!.example'] }, signer: ks.signer(key) })).der;
  const protocol = new AcmeEnrollment({ directoryUrl: pebble.directoryUrl, trustAnchors: [pebble.tlsTrustAnchorPem], keystore: ks, accountFile: path.join(dir, 'acct-bad.json') });
  const err = await protocol.enroll({ operation: 'enroll', csr, key }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.instance(err, AcmeProblemError);
  assert.ok((err as AcmeProblemError).status >= 400 && (err as AcmeProblemError).status < 500, String((err as Error).message));
  assert.ok(['rejectedIdentifier', 'malformed', 'unauthorized'].includes((err as AcmeProblemError).acmeType ?? ''), (err as Error).message);
  assert.match((err as AcmeProblemError).code, /^acme\.problem\./);
});

test('badNonce is retried exactly once with the nonce the error carried, then surfaces as a typed error', async () => {
  const rejecting = await startPebble({ nonceRejectPercent: 100 });
  try {
    let posts = 0;
    const inner = createHttpsTransport({ trustAnchors: [rejecting.tlsTrustAnchorPem] });
    const counting: Transport = { request: (r) => ((posts += r.method === 'POST' ? 1 : 0), inner.request(r)) };
    const protocol = new AcmeEnrollment({ directoryUrl: rejecting.directoryUrl, trustAnchors: [], transport: counting, keystore: ks, accountFile: path.join(dir, 'acct-nonce.json') });
    const err = await protocol.account().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, AcmeProblemError);
    assert.is((err as AcmeProblemError).acmeType, 'badNonce');
    assert.is(posts, 2, 'one retry');
  } finally {
    await rejecting.stop();
  }
});

test('a server whose TLS certificate is not the configured TA is refused before anything is sent', async () => {
  // pebble's issuing root is a real CA certificate, but not the one its TLS listener chains to.
  const accountFile = path.join(dir, 'acct-tls.json');
  const protocol = new AcmeEnrollment({ directoryUrl: pebble.directoryUrl, trustAnchors: [await pebble.issuerRoot()], keystore: ks, accountFile });
  const err = await protocol.account().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof Error);
  assert.match((err as { code?: string }).code ?? '', /^transport\.tls/);
  assert.not.ok(existsSync(accountFile), 'no account key was created');
});

test.run();
