// Platform evidence: the agent's CSR carries a TPM2_Quote of attestation.pcrs (TcgAttestQuote) beside the certify
// statement, same AK and nonce; the lab (deploy/lab/tpm-quote.ts) checks it when its policy asks for PCRs; the
// evidence from the real CSR is checked again by tpm2_checkquote and decoded by pyasn1. Bad input: wrong nonce,
// wrong selection, tampered PCR value, bad signature, missing quote; a PCR bank the TPM lacks fails into the backoff.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type * as pkijs from 'pkijs';
import { composeAgent, type AgentParts } from '../../agent/cli/compose.js';
import { memoryLogger } from '../../agent/util/log.js';
import { buildCsr } from '../../agent/pki/csr.js';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import type { KeyRecord } from '../../agent/keystore/keystore.js';
import { buildCertifyEvidence, CERTIFY_NONCE_REQUEST } from '../../agent/attest/evidence.js';
import { OID_TCG_ATTEST_TPM_CERTIFY, OID_TCG_ATTEST_TPM_QUOTE_PLACEHOLDER } from '../../agent/attest/constants.js';
import { provisionAttestationKey, type ProvisionedAk } from '../../agent/attest/provision.js';
import { AttestationBundle } from '../../agent/pki/asn1/evidence-bundle.js';
import { buildAttestationAttribute } from '../../agent/pki/asn1/evidence-attribute.js';
import { TcgAttestQuote } from '../../agent/pki/asn1/tcg-attest-quote.js';
import { createAttestationCa, labAkCertifier } from '../../deploy/lab/attestation.js';
import type { QuotePolicy } from '../../deploy/lab/tpm-quote.js';
import { startAgentEnv, type AgentEnv } from '../harness/agent-env.js';
import { estRefusal } from '../harness/attested-agent.js';
import { hex, pyDecode, requirePyasn1, tapRouter, unbase64, type Tapped } from '../harness/pydecode.js';

interface Ctx {
  env: AgentEnv;
  ks: TpmKeyStore;
  agent: AgentParts;
  ak: ProvisionedAk;
  wire: Tapped[];
}

const EXTENDED: Array<[number, string]> = [[7, 'aa'], [16, 'cc']];

function tools(args: string[], tcti?: string) {
  return spawnSync(args[0]!, args.slice(1), { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...(tcti ? { TPM2TOOLS_TCTI: tcti } : {}), TSS2_LOG: 'all+none' } });
}

async function start(agentAttestation: Record<string, unknown>, labQuote?: QuotePolicy): Promise<Ctx> {
  const attCa = await createAttestationCa();
  const env = await startAgentEnv({
    lab: { attestation: { trustAnchors: [attCa.root.der], nonce: { ttlSeconds: 120 }, ...(labQuote ? { quote: labQuote } : {}) } },
    config: { attestation: { enabled: true, akKeyFile: 'factory/ak.json', akCertFile: 'factory/ak-chain.pem', ...agentAttestation } },
  });
  try {
    // non-trivial PCR values, extended before our connection (swtpm serves one client at a time)
    for (const [pcr, data] of EXTENDED) {
      const r = tools(['tpm2_pcrextend', `${pcr}:sha256=${data.repeat(32)}`], env.tpm.tcti);
      assert.is(r.status, 0, r.stderr);
    }
    const ks = await TpmKeyStore.open({ tcti: env.tpm.tcti });
    const ak = await provisionAttestationKey({ keystore: ks, certifier: labAkCertifier(attCa), deviceId: env.config.deviceId, akKeyFile: env.config.attestation.akKeyFile!, akCertFile: env.config.attestation.akCertFile! });
    const wire = tapRouter(env.lab.router);
    const agent = await composeAgent(env.config, { keystore: ks, log: memoryLogger('info') });
    return { env, ks, agent, ak, wire };
  } catch (e) {
    await env.stop();
    throw e;
  }
}

async function stop(c: Ctx): Promise<void> {
  await c.agent.close();
  await c.env.stop();
}

/** The value of a PCR extended once from zero: H(0^n || data). */
const extendedOnce = (data: string): string => createHash('sha256').update(Buffer.alloc(32)).update(Buffer.from(data.repeat(32), 'hex')).digest('hex');

test('the agent quotes attestation.pcrs beside the certify; the lab issues; tpm2_checkquote and pyasn1 agree', async () => {
  requirePyasn1();
  const pcrs = [0, 7, 16];
  const c = await start({ pcrs }, { pcrs });
  try {
    const r = await c.agent.enroller.step();
    assert.is(r.action, 'issued', JSON.stringify(c.env.lab.attestation.events));
    assert.equal(c.env.lab.attestation.events, [{ ok: true }]);
    const req = c.wire.find((w) => w.path.endsWith('/simpleenroll') && w.status === 200);
    assert.ok(req, 'the CSR on the wire');
    const csr = pyDecode('decode_csr.py', unbase64(req!.request));
    const attr = csr.attributes.find((a: { type: string }) => a.type === '1.2.840.113549.1.9.16.2.59');
    const [certify, quote] = attr.bundles[0].attestations;
    assert.is(certify.type, OID_TCG_ATTEST_TPM_CERTIFY);
    assert.is(quote.type, OID_TCG_ATTEST_TPM_QUOTE_PLACEHOLDER);
    assert.is(quote.stmt.attest.magic, 'ff544347');
    assert.is(quote.stmt.attest.type, 'ATTEST_QUOTE');
    assert.is(quote.stmt.attest.extraData, certify.stmt.attest.extraData, 'one nonce for both statements');
    assert.is(quote.stmt.attest.qualifiedSigner, certify.stmt.attest.qualifiedSigner, 'signed by the same AK');
    assert.equal(quote.stmt.attest.quote.pcrSelect, [{ hash: 'SHA256', pcrs }]);
    const values = Buffer.from(quote.stmt.pcrValues, 'hex');
    assert.is(values.byteLength, 3 * 32);
    assert.is(values.subarray(32, 64).toString('hex'), extendedOnce('aa'), 'PCR 7 as extended');
    assert.is(values.subarray(64, 96).toString('hex'), extendedOnce('cc'), 'PCR 16 as extended');

    // tpm2_checkquote on the evidence from the CSR: AK public key (from the AK certificate), message, signature, PCRs
    const f = (n: string) => path.join(c.env.dir, n);
    writeFileSync(f('ak.pem'), new X509Certificate(Buffer.from(c.ak.chain[0]!)).publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(f('quote.msg'), Buffer.from(quote.stmt.tpmSAttest, 'hex'));
    writeFileSync(f('quote.sig'), Buffer.from(quote.stmt.signature, 'hex'));
    writeFileSync(f('pcrs.bin'), values);
    const args = ['tpm2_checkquote', '-u', f('ak.pem'), '-m', f('quote.msg'), '-s', f('quote.sig'), '-f', f('pcrs.bin'), '-l', `sha256:${pcrs.join(',')}`, '-g', 'sha256'];
    const ok = tools([...args, '-q', quote.stmt.attest.extraData]);
    assert.is(ok.status, 0, `tpm2_checkquote: ${ok.stderr}${ok.stdout}`);
    assert.is.not(tools([...args, '-q', hex(randomBytes(32))]).status, 0, 'checkquote refuses another nonce');
    const bad = Buffer.from(values);
    bad[40]! ^= 1;
    writeFileSync(f('pcrs.bin'), bad);
    assert.is.not(tools([...args, '-q', quote.stmt.attest.extraData]).status, 0, 'checkquote refuses a tampered PCR value');
  } finally {
    await stop(c);
  }
});

test('the lab refuses a missing quote, a wrong nonce, a wrong selection, a tampered PCR value, a bad signature', async () => {
  const pcrs = [0, 7, 16];
  const c = await start({ pcrs: [] }, { pcrs });
  try {
    const key = await c.ks.createKey('k1', 'ecc-p256');
    const nonce = async () => (await c.agent.protocol.nonce!(CERTIFY_NONCE_REQUEST)).nonce;
    const csr = async (attribute: pkijs.Attribute) => (await buildCsr({ subject: 'CN=dev-0001,O=enrolld demo', signer: c.ks.signer(key), attributes: [attribute] })).der;
    const refused = async (attribute: pkijs.Attribute) => estRefusal(c.agent.protocol.enroll({ operation: 'enroll', csr: await csr(attribute) }), 403);
    /** Certify with `n`, plus a quote statement built by `quote` (or none). */
    const evidence = async (n: Uint8Array, quote?: (n: Uint8Array) => Promise<TcgAttestQuote>) => {
      const ev = await buildCertifyEvidence({ keystore: c.ks, key, ak: c.ak.ak, akChain: c.ak.chain, nonce: n });
      const attestations = [ev.statement.toAttestationStatement(), ...(quote ? [(await quote(n)).toAttestationStatement(OID_TCG_ATTEST_TPM_QUOTE_PLACEHOLDER)] : [])];
      return buildAttestationAttribute(new AttestationBundle({ attestations, certs: ev.bundle.certs! }));
    };
    const quoteOf = (sel: number[], tamper?: (q: TcgAttestQuote) => void, qNonce?: Uint8Array) => async (n: Uint8Array) => {
      const r = await c.ks.quote(c.ak.ak, qNonce ?? n, sel);
      const q = new TcgAttestQuote({ tpmSAttest: r.quoted, signature: r.signature, pcrValues: new Uint8Array(Buffer.concat(r.pcrDigests.map((d) => d.digest))) });
      tamper?.(q);
      return q;
    };

    assert.match(await refused(await evidence(await nonce())), /^attest\.missing: no TPM2_Quote statement \(2\.23\.133\.20\.2\) though the policy asks for PCRs sha256:0,7,16/);
    assert.match(await refused(await evidence(await nonce(), quoteOf(pcrs, undefined, randomBytes(32)))), /^attest\.nonce-unknown: quote: extraData [0-9a-f]+ is not the nonce of the certify statement/);
    assert.match(await refused(await evidence(await nonce(), quoteOf([0, 7]))), /^attest\.pcr-mismatch: quote: pcrSelect is sha256:0,7, the policy asks for sha256:0,7,16/);
    const flipPcr = (q: TcgAttestQuote) => void (q.pcrValues![40]! ^= 1);
    assert.match(await refused(await evidence(await nonce(), quoteOf(pcrs, flipPcr))), /^attest\.pcr-mismatch: quote: pcrDigest [0-9a-f]+ is not the sha256 of the given PCR values/);
    const flipAttest = (q: TcgAttestQuote) => void (q.tpmSAttest[q.tpmSAttest.byteLength - 1]! ^= 1);
    assert.match(await refused(await evidence(await nonce(), quoteOf(pcrs, flipAttest))), /^attest\.bad-signature: quote: the AK signature over tpmSAttest does not verify/);
    const noValues = (q: TcgAttestQuote) => void delete q.pcrValues;
    assert.match(await refused(await evidence(await nonce(), quoteOf(pcrs, noValues))), /^attest\.pcr-mismatch: quote: no pcrValues/);
    // and the same, untampered, is issued
    const good = await c.agent.protocol.enroll({ operation: 'enroll', csr: await csr(await evidence(await nonce(), quoteOf(pcrs))) });
    assert.is(good.kind, 'issued', JSON.stringify(c.env.lab.attestation.events));
  } finally {
    await stop(c);
  }
});

test('attestation.pcrBank the TPM lacks: a clear error, into the persisted backoff (no hot loop)', async () => {
  // which banks does this swtpm allocate? pick one it does not
  const probe = await start({ pcrs: [] });
  const info = await probe.ks.tpmInfo();
  await stop(probe);
  const allocated = new Set(info.pcrBanks.filter((b) => b.pcrs > 0).map((b) => b.hash));
  const missing = (['sha1', 'sha384', 'sha512', 'sm3-256', 'sha3-256', 'sha3-384', 'sha3-512'] as const).find((b) => !allocated.has(b.replace('sm3-256', 'sm3')));
  assert.ok(missing, `swtpm allocates every bank (${[...allocated].join(',')})`);
  const c = await start({ pcrs: [0, 7], pcrBank: missing });
  try {
    const t0 = Date.now(); // the failure happens after this, so a backoff of ≥ 30 s from it ends ≥ t0 + 30 s
    const r = await c.agent.enroller.step();
    assert.is(r.action, 'failed');
    assert.is(r.error?.code, 'attest.evidence');
    assert.match(r.error!.message, new RegExp(`TPM2_Quote of attestation.pcrs 0,7 in bank ${missing} failed: PCR bank ${missing.replace('sm3-256', 'sm3')} is not allocated in this TPM \\(allocated: `));
    assert.ok(r.nextDue && r.nextDue.getTime() - t0 >= 30_000, `backoff until ${r.nextDue?.toISOString()}`);
    // the next step before the backoff ends does nothing: no new nonce, no CSR
    const before = c.wire.length;
    assert.is((await c.agent.enroller.step()).action, 'none');
    assert.is(c.wire.length, before);
    assert.equal(c.env.lab.issued, []);
  } finally {
    await stop(c);
  }
});

test.run();
