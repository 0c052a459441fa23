// ACME remote-attest-01 end to end against the lab ACME server: the TPM (swtpm) certifies the key to be enrolled
// with the provisioned AK, qualifyingData = SHA-256(keyAuthorization), the lab verifies the evidence (AK chain,
// signature, TPM-resident key, binding to the token and the account key) and issues only for the attested key.
// Bad inputs: evidence for another token (stale/replayed), a CSR for a key other than the attested one, no evidence.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import type { KeyRecord } from '../../agent/keystore/keystore.js';
import { Enroller } from '../../agent/lifecycle/enroller.js';
import { ManualClock } from '../../agent/lifecycle/clock.js';
import { FileStateStore } from '../../agent/store/state-store.js';
import { STATE_SCHEMA, isAgentState, type AgentState } from '../../agent/lifecycle/state.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { validateChain } from '../../agent/pki/chain.js';
import { certificatesFromPem } from '../../agent/pki/cert.js';
import { memoryLogger } from '../../agent/util/log.js';
import { buildCertifyEvidence } from '../../agent/attest/evidence.js';
import { provisionAttestationKey, type ProvisionedAk } from '../../agent/attest/provision.js';
import { AcmeEnrollment, type AcmeAttester } from '../../agent/protocols/acme/enrollment.js';
import { AcmeProblemError } from '../../agent/protocols/acme/errors.js';
import { createLabServer, type LabServer } from '../../deploy/lab/server.js';
import { createAttestationCa, labAkCertifier } from '../../deploy/lab/attestation.js';
import { registerAcmeHandlers, type LabAcme } from '../../deploy/lab/acme.js';
import { startSwtpm, type Swtpm } from '../harness/swtpm.js';

let lab: LabServer;
let acmeLab: LabAcme;
let tpm: Swtpm;
let ks: TpmKeyStore;
let ak: ProvisionedAk;
const dir = mkdtempSync(path.join(os.tmpdir(), 'enrolld-acme-rats-'));
const NAME = 'dev-rats-1.devices.example';

test.before(async () => {
  const attCa = await createAttestationCa();
  lab = await createLabServer({ attestation: { trustAnchors: [attCa.root.der] } });
  acmeLab = registerAcmeHandlers(lab.router, { baseUrl: lab.url, ca: lab.ca, attestation: lab.attestation });
  tpm = await startSwtpm();
  ks = await TpmKeyStore.open({ tcti: tpm.tcti });
  ak = await provisionAttestationKey({ keystore: ks, certifier: labAkCertifier(attCa), deviceId: 'dev-rats-1', akKeyFile: path.join(dir, 'ak.json'), akCertFile: path.join(dir, 'ak.pem') });
});
test.after(async () => {
  await ks?.close();
  await tpm?.stop();
  await lab?.close();
  rmSync(dir, { recursive: true, force: true });
});

const attester: AcmeAttester = async (key, qualifyingData) => (await buildCertifyEvidence({ keystore: ks, key, ak: ak.ak, akChain: ak.chain, nonce: qualifyingData })).bundle.toDER();

function protocol(attest: AcmeAttester | undefined, file: string): AcmeEnrollment {
  return new AcmeEnrollment({ directoryUrl: acmeLab.directoryUrl, trustAnchors: [lab.trustAnchorPem], keystore: ks, accountFile: path.join(dir, file), ...(attest ? { attest } : {}), pollIntervalMs: 50, maxPollMs: 10_000 });
}

async function csrFor(key: KeyRecord): Promise<Uint8Array> {
  return (await buildCsr({ subject: `CN=${NAME}`, san: { dns: [NAME] }, signer: ks.signer(key) })).der;
}

test('enroll and renew through the shared Enroller with remote-attest-01 TPM evidence; the lab verifies and issues', async () => {
  const log = memoryLogger('info');
  const roots = certificatesFromPem(lab.trustAnchorPem);
  const enroller = new Enroller({
    clock: new ManualClock(new Date()),
    log,
    keystore: ks,
    protocol: protocol(attester, 'acct-ok.json'),
    state: new FileStateStore<AgentState>({ dir: path.join(dir, 'state'), version: STATE_SCHEMA, validate: isAgentState, log }),
    buildCsr: async (key) => csrFor(key),
    verifyIssued: async (cert, chain, at) => {
      await validateChain({ leaf: cert, intermediates: chain, trustAnchors: roots, at });
    },
    policy: { keyAlgorithm: 'ecc-p256', renewFraction: 2 / 3, backoffMinSeconds: 60, backoffMaxSeconds: 3600 },
  });
  const before = acmeLab.events.length;
  const first = await enroller.step();
  assert.is(first.action, 'issued', log.lines.join('\n') + JSON.stringify(acmeLab.events));
  const second = await enroller.step({ force: true });
  assert.is(second.action, 'issued', log.lines.join('\n') + JSON.stringify(acmeLab.events));
  assert.equal(acmeLab.events.slice(before), [{ ok: true }, { ok: true }], 'one verified TPM evidence per enrollment');
  const x = new X509Certificate(second.state.credential!.certPem);
  assert.ok(x.subjectAltName?.includes(NAME));
  assert.is((await ks.listHandles()).length, 0);
});

test('evidence bound to another token (replayed / stale) is refused: authorization invalid, typed error, nothing issued', async () => {
  const key = await ks.createKey('rats-replay', 'ecc-p256');
  let first: Uint8Array | undefined;
  // Replay: the first challenge's evidence is captured, then sent again for a second order's new token.
  const replaying: AcmeAttester = async (k, qd) => (first ??= await attester(k, qd));
  const p = protocol(replaying, 'acct-replay.json');
  const ok = await p.enroll({ operation: 'enroll', csr: await csrFor(key), key });
  assert.is(ok.kind, 'issued');
  const err = await p.enroll({ operation: 'enroll', csr: await csrFor(key), key }).then(() => undefined, (e: unknown) => e);
  assert.instance(err, AcmeProblemError);
  assert.match((err as Error).message, /authorization invalid: attest\.nonce-unknown: extraData is not SHA-256 of this challenge key authorization/);
  assert.is((err as AcmeProblemError).status, 403, 'permanent for the lifecycle');
});

test('a CSR for a key other than the attested one is refused at finalize (badCSR)', async () => {
  const attested = await ks.createKey('rats-attested', 'ecc-p256');
  const other = await ks.createKey('rats-other', 'ecc-p256');
  // The evidence certifies `attested`, the CSR is for `other`.
  const p = protocol(async (_k, qd) => attester(attested, qd), 'acct-swap.json');
  const err = await p.enroll({ operation: 'enroll', csr: await csrFor(other), key: other }).then(() => undefined, (e: unknown) => e);
  assert.instance(err, AcmeProblemError);
  assert.is((err as AcmeProblemError).acmeType, 'badCSR');
  assert.match((err as Error).message, /not the key the TPM evidence certified/);
});

test('evidence for the right token but the wrong account key is refused; a client without an attester cannot answer', async () => {
  const key = await ks.createKey('rats-acct', 'ecc-p256');
  // qualifyingData computed over another thumbprint: simulate by hashing the token with a bogus suffix.
  const wrong: AcmeAttester = async (k, _qd) => attester(k, new Uint8Array(createHash('sha256').update('token.not-my-account').digest()));
  const err = await protocol(wrong, 'acct-wrong.json').enroll({ operation: 'enroll', csr: await csrFor(key), key }).then(() => undefined, (e: unknown) => e);
  assert.instance(err, AcmeProblemError);
  assert.match((err as Error).message, /wrong token or account key/);
  const none = await protocol(undefined, 'acct-none.json').enroll({ operation: 'enroll', csr: await csrFor(key), key }).then(() => undefined, (e: unknown) => e);
  assert.match(String((none as Error)?.message), /offers none of the challenge types/);
});

test.run();
