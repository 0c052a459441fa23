// ACME remote-attest-01 (draft-ietf-acme-rats-01) end to end against the lab ACME server, whose verifier side is
// written from the drafts with its own codecs: the order carries a dns identifier (dns-01, validated by the lab's
// stand-in DNS operator) and a remote-attestation identifier whose challenge gives a freshness_nonce and no token;
// the TPM (swtpm) certifies the key to be enrolled with the provisioned AK, qualifyingData = the nonce; the answer is
// the JSON CMW record (msg-wrap-23), or its compact JWE to the verifierEncryptionCredential (inline JWK or URL).
// The CMW and the TPMS_ATTEST inside are also decoded by Debian's python3 (json + pyasn1), not by this repo.
// Bad inputs: replayed evidence, a wrong nonce, an unsupported credential key type (Ed448), a challenge without
// freshness_nonce, a CSR for another key, a client that cannot attest.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
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
import { AcmeRatsError } from '../../agent/protocols/acme/remote-attest-01.js';
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
let certifies = 0;

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

const attester: AcmeAttester = async (key, qualifyingData) => {
  certifies++;
  return (await buildCertifyEvidence({ keystore: ks, key, ak: ak.ak, akChain: ak.chain, nonce: qualifyingData })).bundle.toDER();
};

function protocol(attest: AcmeAttester | undefined, file: string, extra: { remoteAttestation?: string[] } = {}): AcmeEnrollment {
  return new AcmeEnrollment({
    directoryUrl: acmeLab.directoryUrl,
    trustAnchors: [lab.trustAnchorPem],
    keystore: ks,
    accountFile: path.join(dir, file),
    ...(attest ? { attest } : {}),
    ...extra,
    pollIntervalMs: 50,
    maxPollMs: 10_000,
  });
}

async function csrFor(key: KeyRecord): Promise<Uint8Array> {
  return (await buildCsr({ subject: `CN=${NAME}`, san: { dns: [NAME] }, signer: ks.signer(key) })).der;
}

function enrollerFor(p: AcmeEnrollment, stateDir: string, log = memoryLogger('info')): { enroller: Enroller; state: FileStateStore<AgentState>; log: ReturnType<typeof memoryLogger> } {
  const roots = certificatesFromPem(lab.trustAnchorPem);
  const state = new FileStateStore<AgentState>({ dir: path.join(dir, stateDir), version: STATE_SCHEMA, validate: isAgentState, log });
  const enroller = new Enroller({
    clock: new ManualClock(new Date()),
    log,
    keystore: ks,
    protocol: p,
    state,
    buildCsr: async (key) => csrFor(key),
    verifyIssued: async (cert, chain, at) => {
      await validateChain({ leaf: cert, intermediates: chain, trustAnchors: roots, at });
    },
    policy: { keyAlgorithm: 'ecc-p256', renewFraction: 2 / 3, backoffMinSeconds: 60, backoffMaxSeconds: 3600 },
  });
  return { enroller, state, log };
}

/** Debian's python3: the JSON CMW record and, inside it, the TPMS_ATTEST of the tcg-attest-tpm-certify statement. */
const PY_DECODE = String.raw`
import sys, json, base64, struct
from pyasn1.codec.der import decoder
from pyasn1.type import univ
b64 = lambda s: base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))
rec = json.loads(sys.stdin.read())
assert isinstance(rec, list) and len(rec) in (2, 3), rec
der = b64(rec[1])
bundle, rest = decoder.decode(der)
assert rest == b''
atts = bundle[0]
out = {'type': rec[0], 'ind': rec[2] if len(rec) == 3 else None, 'statements': [str(a[0]) for a in atts], 'certs': len(bundle[1]) if len(bundle) > 1 else 0}
for a in atts:
    if str(a[0]) == '2.23.133.20.1':
        stmt = a[1]
        attest = bytes(stmt[0])
        magic, typ = struct.unpack('>IH', attest[:6])
        off = 6
        n, = struct.unpack('>H', attest[off:off+2]); off += 2 + n
        n, = struct.unpack('>H', attest[off:off+2]); extra = attest[off+2:off+2+n]
        out.update(magic=hex(magic), attestType=hex(typ), extraData=base64.urlsafe_b64encode(extra).decode().rstrip('='), tpmTPublic=len(bytes(stmt[2])))
print(json.dumps(out))
`;

function pyDecode(cmwJson: string): Record<string, unknown> {
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', PY_DECODE], { input: cmwJson, encoding: 'utf8' })) as Record<string, unknown>;
}

test('enroll and renew through the Enroller: dns-01 + remote-attest-01 (freshness_nonce, no token); the CMW decodes independently', async () => {
  const { enroller, log } = enrollerFor(protocol(attester, 'acct-ok.json', { remoteAttestation: ['hsm'] }), 'state-ok');
  const before = acmeLab.events.length;
  const answersBefore = acmeLab.answers.length;
  const first = await enroller.step();
  assert.is(first.action, 'issued', log.lines.join('\n') + JSON.stringify(acmeLab.events));
  const second = await enroller.step({ force: true });
  assert.is(second.action, 'issued', log.lines.join('\n') + JSON.stringify(acmeLab.events));
  assert.equal(acmeLab.events.slice(before), [{ ok: true }, { ok: true }], 'one verified TPM evidence per enrollment');
  const x = new X509Certificate(second.state.credential!.certPem);
  assert.ok(x.subjectAltName?.includes(NAME));
  assert.not.ok(x.subjectAltName?.includes('hsm'), 'the remote-attestation identifier names nothing in the certificate');
  // The order carried both identifiers; the attestation challenge had a nonce and no token.
  const order = [...acmeLab.orders.values()].at(-1)!;
  assert.equal(order.identifiers, [{ type: 'dns', value: NAME }, { type: 'remote-attestation', value: 'hsm' }]);
  const ratsAuthz = acmeLab.authzs.get(order.authzs[1]!)!;
  assert.is(ratsAuthz.challenges.length, 1);
  assert.is(ratsAuthz.challenges[0]!.type, 'remote-attest-01');
  assert.is(ratsAuthz.challenges[0]!.token, undefined);
  // The JWS payload is the JSON CMW record itself, decoded by python3.
  assert.is(acmeLab.answers.length - answersBefore, 2);
  for (const a of acmeLab.answers.slice(answersBefore)) {
    const text = Buffer.from(a.payload).toString('utf8');
    assert.ok(text.startsWith('["application/vnd.enrolld.attestation-bundle+der",'), text.slice(0, 80));
    const d = pyDecode(text);
    assert.is(d.type, 'application/vnd.enrolld.attestation-bundle+der');
    assert.is(d.ind, 4, 'msg-wrap cm-type evidence bit');
    assert.equal(d.statements, ['2.23.133.20.1']);
    assert.ok((d.certs as number) >= 1, 'the AK certificate travels in the bundle');
    assert.is(d.magic, '0xff544347');
    assert.is(d.attestType, '0x8017', 'TPM_ST_ATTEST_CERTIFY');
    assert.is(d.extraData, Buffer.from(a.nonce).toString('base64url'), 'qualifyingData is the freshness_nonce');
    assert.ok((d.tpmTPublic as number) > 0);
  }
  assert.is((await ks.listHandles()).length, 0);
});

test('verifierEncryptionCredential (inline JWK, then a URL): the answer is a compact JWE of the CMW, never the CMW in the clear', async () => {
  for (const mode of ['jwk', 'url'] as const) {
    acmeLab.settings.encryption = mode;
    try {
      const key = await ks.createKey(`rats-jwe-${mode}`, 'ecc-p256');
      const n = acmeLab.answers.length;
      const r = await protocol(attester, `acct-jwe-${mode}.json`).enroll({ operation: 'enroll', csr: await csrFor(key), key });
      assert.is(r.kind, 'issued', JSON.stringify(acmeLab.events.slice(-2)));
      const a = acmeLab.answers[n]!;
      const text = Buffer.from(a.payload).toString('ascii');
      assert.match(text, /^[\w-]+\.[\w-]*\.[\w-]+\.[\w-]+\.[\w-]+$/, 'compact JWE (RFC 7516 §7.1)');
      assert.not.ok(text.includes('attestation-bundle'), 'nothing of the CMW in the clear');
      assert.is(a.decoded?.encrypted, true);
      // The protected header, decoded by python3.
      const hdr = JSON.parse(execFileSync('/usr/bin/python3', ['-c', 'import sys,base64,json; h=sys.stdin.read().split(".")[0]; print(base64.urlsafe_b64decode(h+"="*(-len(h)%4)).decode())'], { input: text, encoding: 'utf8' })) as Record<string, unknown>;
      assert.is(hdr.alg, 'ECDH-ES+A256KW');
      assert.is(hdr.enc, 'A256GCM');
      assert.is(hdr.cty, 'application/cmw+json');
      assert.is(a.decoded?.record.type, 'application/vnd.enrolld.attestation-bundle+der');
      await ks.deleteKey(key);
    } finally {
      acmeLab.settings.encryption = 'none';
    }
  }
});

test('replayed evidence (an earlier challenge\'s nonce) and a wrong nonce are refused: authorization invalid, typed 403, nothing issued', async () => {
  const key = await ks.createKey('rats-replay', 'ecc-p256');
  let captured: Uint8Array | undefined;
  const replaying: AcmeAttester = async (k, qd) => (captured ??= await attester(k, qd));
  const p = protocol(replaying, 'acct-replay.json');
  assert.is((await p.enroll({ operation: 'enroll', csr: await csrFor(key), key })).kind, 'issued');
  const orders = acmeLab.orders.size;
  const err = await p.enroll({ operation: 'enroll', csr: await csrFor(key), key }).then(() => undefined, (e: unknown) => e);
  assert.instance(err, AcmeProblemError);
  assert.match((err as Error).message, /authorization invalid: extraData is the freshness_nonce of an earlier challenge \(replayed evidence\)/);
  assert.is((err as AcmeProblemError).status, 403, 'permanent for the lifecycle');
  assert.is(acmeLab.orders.size, orders + 1);
  assert.is([...acmeLab.orders.values()].at(-1)!.certPem, undefined, 'nothing issued');

  const wrong: AcmeAttester = async (k) => attester(k, randomBytes(32));
  const err2 = await protocol(wrong, 'acct-wrong.json').enroll({ operation: 'enroll', csr: await csrFor(key), key }).then(() => undefined, (e: unknown) => e);
  assert.instance(err2, AcmeProblemError);
  assert.match((err2 as Error).message, /extraData is not the freshness_nonce of this challenge/);
  await ks.deleteKey(key);
});

test('an unsupported credential key type (Ed448) or a challenge without freshness_nonce: typed error, no TPM2_Certify, nothing sent, authorization deactivated, persisted backoff', async () => {
  const cases: Array<{ name: string; set: () => void; code: string; msg: RegExp }> = [
    {
      name: 'ed448',
      set: () => {
        acmeLab.credentialOverride = { kty: 'OKP', crv: 'Ed448', x: randomBytes(57).toString('base64url') };
      },
      code: 'acme.rats.encryption-credential',
      msg: /unsupported key type OKP\/Ed448.*the evidence is not sent/,
    },
    {
      name: 'nononce',
      set: () => {
        acmeLab.omitFreshnessNonce = true;
      },
      code: 'acme.rats.freshness-nonce',
      msg: /no freshness_nonce/,
    },
  ];
  for (const c of cases) {
    c.set();
    try {
      const { enroller, state, log } = enrollerFor(protocol(attester, `acct-${c.name}.json`), `state-${c.name}`);
      const [answers, deact, cert0] = [acmeLab.answers.length, acmeLab.deactivated.length, certifies];
      const out = await enroller.step();
      assert.is(out.action, 'failed', `${c.name}: ${log.lines.join('\n')}`);
      assert.instance(out.error, AcmeRatsError);
      assert.is(out.error!.code, c.code);
      assert.match(out.error!.message, c.msg);
      assert.is(certifies, cert0, 'no TPM2_Certify for a challenge that cannot be answered');
      assert.is(acmeLab.answers.length, answers, 'nothing posted to the challenge');
      assert.is(acmeLab.deactivated.length, deact + 1, 'the authorization was deactivated (RFC 8555 §7.5.2)');
      assert.is(acmeLab.deactivated.at(-1)!.identifier.type, 'remote-attestation');
      // The failure is persisted with a backoff; no credential.
      const saved = await state.load();
      assert.is(saved?.failures, 1);
      assert.is(saved?.credential, undefined);
      assert.is(saved?.retry?.kind, 'failed');
      assert.ok(saved?.retry && Date.parse(saved.retry.until) > Date.now() + 10_000, JSON.stringify(saved));
      const again = await enroller.step();
      assert.is(again.action, 'none', 'no retry before the backoff expires');
      assert.is(acmeLab.deactivated.length, deact + 1);
    } finally {
      acmeLab.credentialOverride = undefined;
      acmeLab.omitFreshnessNonce = false;
    }
  }
});

test('a CSR for a key other than the attested one is refused at finalize (badCSR); a client without an attester cannot answer', async () => {
  const attested = await ks.createKey('rats-attested', 'ecc-p256');
  const other = await ks.createKey('rats-other', 'ecc-p256');
  const p = protocol(async (_k, qd) => attester(attested, qd), 'acct-swap.json');
  const err = await p.enroll({ operation: 'enroll', csr: await csrFor(other), key: other }).then(() => undefined, (e: unknown) => e);
  assert.instance(err, AcmeProblemError);
  assert.is((err as AcmeProblemError).acmeType, 'badCSR');
  assert.match((err as Error).message, /not the key the TPM evidence certified/);
  const none = await protocol(undefined, 'acct-none.json').enroll({ operation: 'enroll', csr: await csrFor(other), key: other }).then(() => undefined, (e: unknown) => e);
  assert.match(String((none as Error)?.message), /offers none of the challenge types .*remote-attest-01 needs attestation/);
});

test.run();
