// TAMP (RFC 5934) end to end through the composed agent and the real PAL poller against the lab's TAMP service:
// status query, TA add (then used: a firmware package signed under the added TA verifies), TA remove, community
// update, sequence number adjust, apex update; and the bad inputs — replayed sequence number (also after a
// restart), signer outside TAMP trust, wrong target, truncated DER, unknown content type — each answered with a
// TAMPError and no change to the TA store. Answers are signed with the device's TPM credential (openssl cms -verify).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { composeAgent, type AgentParts } from '../../agent/cli/compose.js';
import { parseConfig, type Config } from '../../agent/config.js';
import { memoryLogger } from '../../agent/util/log.js';
import { certificateFromDer, certificateSpki, certificateToDer, certificatesFromPem } from '../../agent/pki/cert.js';
import { TampStatus, tampStatusName, OID_CT_TAMP_STATUS_RESPONSE, OID_CT_TAMP_UPDATE_CONFIRM, OID_CT_TAMP_ERROR } from '../../agent/pki/asn1/tamp-oids.js';
import { TampStatusResponse } from '../../agent/pki/asn1/tamp-status-response.js';
import { TampUpdateConfirm } from '../../agent/pki/asn1/tamp-update-confirm.js';
import { TampError } from '../../agent/pki/asn1/tamp-error.js';
import { TampCommunityUpdateConfirm } from '../../agent/pki/asn1/tamp-community-update-confirm.js';
import { SequenceNumberAdjustConfirm } from '../../agent/pki/asn1/tamp-sequence-number-adjust.js';
import { TampApexUpdateConfirm } from '../../agent/pki/asn1/tamp-apex-update-confirm.js';
import { APEX_NAME } from '../../agent/packages/tamp/manager.js';
import { LabTamp, type LabTampMessage, type TampReturnRecord } from '../../deploy/lab/tamp.js';
import { FirmwareLab } from '../../deploy/lab/firmware.js';
import { labPal } from '../../deploy/lab/pal.js';
import { startAgentEnv, type AgentEnv } from '../harness/agent-env.js';

const HW = '1.3.6.1.4.1.32473.8.1';
const COMMUNITY = '1.3.6.1.4.1.32473.9.1';
let env: AgentEnv;
let lab: LabTamp;
let fw: FirmwareLab;
let config: Config;
let agent: AgentParts;

const RETURN_OF: Record<string, string> = { '0028': '0029', '0030': '0031', '0032': '0033', '0034': '0035', '0036': '0037' };

test.before(async () => {
  env = await startAgentEnv();
  lab = await LabTamp.create(env.lab.router, { baseUrl: env.lab.url });
  fw = await FirmwareLab.create(env.lab.router, { dir: path.join(env.dir, 'fw'), baseUrl: env.lab.url });
  writeFileSync(path.join(env.dir, 'apex.pem'), lab.apexTrustAnchorPem);
  writeFileSync(path.join(env.dir, 'factory-fw-ta.pem'), lab.rogueCa.root.pem); // some other firmware TA at manufacture
  const hook = path.join(env.dir, 'apply.sh');
  writeFileSync(hook, '#!/bin/sh\nexit 0\n');
  chmodSync(hook, 0o755);
  const doc = JSON.parse(readFileSync(path.join(env.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  doc.tamp = { apexTrustAnchorFile: 'apex.pem', communities: [COMMUNITY] };
  doc.firmware = { trustAnchorsFile: 'factory-fw-ta.pem', hook: { path: hook }, hardware: { type: HW, serialHex: '0102' } };
  config = parseConfig(doc, env.dir);
  agent = await composeAgent(config, { log: memoryLogger('info') });
  assert.is((await agent.enroller.step()).action, 'issued');
});
test.after(async () => {
  await agent?.close();
  await env?.stop();
});

const TYPE_OF: Record<string, string> = {
  '1.2.840.113549.1.9.16.1.31': '0028',
  '1.2.840.113549.1.9.16.1.33': '0030',
  '1.2.840.113549.1.9.16.1.35': '0032',
  '1.2.840.113549.1.9.16.1.37': '0034',
  '1.2.840.113549.1.9.16.1.39': '0036',
};

/** Lists `m` (and its return entry) in the device's PAL, polls, returns what the device POSTed to /tamp/return. */
async function deliver(m: LabTampMessage, a: AgentParts = agent): Promise<TampReturnRecord> {
  const type = TYPE_OF[m.contentType]!;
  labPal(env.lab.router).setPal(config.deviceId, [
    { type, size: 0, info: { kind: 'uri', uri: m.url } },
    { type: RETURN_OF[type]!, size: 0, info: { kind: 'uri', uri: `${env.lab.url}/.well-known/est/tamp/return` } },
  ]);
  const before = lab.returns.length;
  await a.poller.poll((await a.state.load())!);
  assert.is(lab.returns.length, before + 1, `one answer returned (poll: ${JSON.stringify(a.poller.last?.codes)})`);
  const r = lab.returns.at(-1)!;
  assert.ok(r.signatureValid, 'the answer is signed');
  return r;
}

function errorStatus(r: TampReturnRecord): string | undefined {
  return r.contentType === OID_CT_TAMP_ERROR ? tampStatusName(TampError.fromDer(r.content).status) : undefined;
}

test('status query → verbose status response signed with the device TPM credential (openssl cms -verify)', async () => {
  const r = await deliver(await lab.statusQuery());
  assert.is(r.contentType, OID_CT_TAMP_STATUS_RESPONSE);
  assert.is(r.mediaType, 'application/tamp-status-response');
  const resp = TampStatusResponse.fromDer(r.content);
  assert.is(resp.status.terse, false);
  if (!resp.status.terse) {
    assert.ok(resp.status.trustAnchors.some((c) => Buffer.from(certificateToDer(c)).equals(Buffer.from(lab.apexCa.root.der))), 'the apex is listed');
    assert.equal(resp.status.communities, [COMMUNITY]);
  }
  const cred = (await agent.state.load())!.credential!;
  assert.is(r.signerCertificate!.toSchema().toBER(false).byteLength > 0, true);
  assert.ok(Buffer.from(certificateToDer(r.signerCertificate!)).equals(Buffer.from(certificateToDer(certificatesFromPem(cred.certPem)[0]!))), 'signed by the device credential');
  const f = path.join(env.dir, 'answer.der');
  writeFileSync(f, r.der);
  const out = execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-in', f, '-noverify', '-out', '/dev/null'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.is(out, '');
});

test('TA add: the added TA then authorizes a firmware package that was refused before; remove takes it away', async () => {
  const pkg = await fw.addPackage({ id: 'tamp-fw', image: new Uint8Array(randomBytes(50_000)), name: { preferred: { fwPkgID: '1.3.6.1.4.1.32473.7.9', verNum: 1 } }, targetHardware: [HW] });
  assert.is((await agent.firmware!.processPackage(pkg.url, pkg.palSize)).status, 'rejected', 'not trusted before the TAMP add');
  const fwTa = certificateFromDer(fw.trustAnchorDer);
  const added = await deliver(await lab.update([{ add: fwTa }]));
  assert.is(added.contentType, OID_CT_TAMP_UPDATE_CONFIRM);
  assert.equal(TampUpdateConfirm.fromDer(added.content).statuses, [TampStatus.success]);
  assert.ok(agent.taStore.find(fwTa)?.uses.includes('firmware'));
  assert.is((await agent.firmware!.processPackage(pkg.url, pkg.palSize)).status, 'applied', 'trusted after the TAMP add');

  const apexSpki = certificateSpki(certificateFromDer(lab.apexCa.root.der));
  const unknownSpki = certificateSpki(await LabTamp.newTrustAnchor());
  const removed = await deliver(await lab.update([{ remove: certificateSpki(fwTa) }, { remove: apexSpki }, { remove: unknownSpki }]));
  assert.equal(TampUpdateConfirm.fromDer(removed.content).statuses, [TampStatus.success, TampStatus.apexTAMPAnchor, TampStatus.trustAnchorNotFound]);
  assert.not.ok(agent.taStore.find(fwTa), 'removed');
  assert.ok(agent.taStore.get(APEX_NAME), 'the apex stays');
});

test('bad inputs: TAMPError with the RFC 5934 status, TA store and sequence numbers unchanged', async () => {
  const digest = agent.taStore.digest();
  const used = lab.nextSeq(); // consume a number, then deliver it twice
  assert.is(errorStatus(await deliver(await lab.statusQuery({ seqNum: used }))), undefined);
  const cases: Array<[string, () => Promise<LabTampMessage>, string]> = [
    ['replayed sequence number', () => lab.statusQuery({ seqNum: used }), 'seqNumFailure'],
    ['signer outside TAMP trust', () => lab.update([{ add: certificateFromDer(fw.trustAnchorDer) }], { signer: 'rogue' }), 'notAuthorized'],
    ['wrong target (another community)', () => lab.statusQuery({ target: { kind: 'communities', communities: ['1.3.6.1.4.1.32473.9.99'] } }), 'incorrectTarget'],
    ['wrong hardware target', () => lab.statusQuery({ target: { kind: 'hwModules', modules: [{ hwType: HW, serials: [{ single: new Uint8Array([9, 9]) }] }] } }), 'incorrectTarget'],
    ['truncated DER', () => lab.statusQuery({ variant: 'truncated' }), 'badSignedData'],
    ['unknown content type', () => lab.statusQuery({ variant: 'unknown-content-type' }), 'unsupportedTAMPMsgType'],
  ];
  for (const [what, make, status] of cases) {
    const r = await deliver(await make());
    assert.is(errorStatus(r), status, what);
    assert.is(r.mediaType, 'application/tamp-error');
  }
  assert.is(agent.taStore.digest(), digest, 'TA store unchanged');
  // A hardware target naming this module is accepted.
  assert.is(errorStatus(await deliver(await lab.statusQuery({ target: { kind: 'hwModules', modules: [{ hwType: HW, serials: [{ single: new Uint8Array([1, 2]) }] }] } }))), undefined);
});

test('community update, sequence number adjust; replay rejected after a restart (state persisted)', async () => {
  const c = await deliver(await lab.communityUpdate([COMMUNITY], ['1.3.6.1.4.1.32473.9.2']));
  assert.equal(TampCommunityUpdateConfirm.fromDer(c.content).communities, ['1.3.6.1.4.1.32473.9.2']);
  assert.is(errorStatus(await deliver(await lab.statusQuery({ target: { kind: 'communities', communities: ['1.3.6.1.4.1.32473.9.2'] } }))), undefined);
  const adj = await deliver(await lab.sequenceAdjust(1000n));
  assert.is(SequenceNumberAdjustConfirm.fromDer(adj.content).status, TampStatus.success);
  assert.is(errorStatus(await deliver(await lab.statusQuery({ seqNum: 500n }))), 'seqNumFailure');
  await agent.close();
  agent = await composeAgent(config, { log: memoryLogger('info') }); // restart
  assert.is(errorStatus(await deliver(await lab.statusQuery({ seqNum: 1000n }))), 'seqNumFailure', 'replay after restart');
  assert.is(errorStatus(await deliver(await lab.statusQuery({ seqNum: 1001n }))), undefined);
});

test('apex update signed by the apex replaces it; the old apex and its signers lose TAMP authority; rogue apex refused', async () => {
  const next = await (await import('../../deploy/lab/ca.js')).LabCa.create({ now: new Date() });
  assert.is(errorStatus(await deliver(await lab.apexUpdate(next.root.certificate, { signer: 'rogue' }))), 'notAuthorized');
  const r = await deliver(await lab.apexUpdate(next.root.certificate, { seqNumber: 1n }));
  assert.is(TampApexUpdateConfirm.fromDer(r.content).status, TampStatus.success);
  assert.ok(Buffer.from(certificateToDer(agent.taStore.get(APEX_NAME)!.certificate)).equals(Buffer.from(next.root.der)), 'new apex installed');
  assert.is(errorStatus(await deliver(await lab.statusQuery())), 'notAuthorized', 'the old apex no longer authorizes TAMP');
});

test.run();
