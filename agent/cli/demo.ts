// `enrolld demo`: the full device lifecycle against the bundled lab server and a software TPM (swtpm), on loopback:
// manufacture (an attestation key created in the TPM and certified by the lab's attestation CA), attested enrollment
// of a TPM-resident key over EST (freshness nonce + TPM2_Certify evidence in the CSR, checked by the lab), a PAL poll
// that delivers a CRL and a signed firmware package (verified, applied by a hook, receipt signed with the TPM key),
// re-enrollment with TLS client auth signed in the TPM, the TPM timings; then it stops everything it started.
// `--server plain` runs the RFC 7030 lifecycle against the lab's plain profile instead (an EST server that shares
// no code with the agent): 202 + Retry-After on enrollment, /csrattrs, /cacerts with a root key update, re-enrollment
// with TLS client auth and the HTTP Basic the server still demands.
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
// Types only (erased): the lab is found at run time in a development tree, never bundled or installed.
import type * as LabKit from '../../deploy/lab/demo-kit.js';
import { packageRoot } from '../keystore/addon.js';
import { EnrolldError } from '../util/errors.js';
import { DEMO_FILES, configLayout } from '../store/layout.js';
import { signatureByOid } from '../pki/algorithms.js';
import { composeAgent, type AgentParts } from './compose.js';
import { parseConfig } from '../config.js';
import { createLogger } from '../util/log.js';
import { TpmKeyStore } from '../keystore/tpm.js';
import { akRecordToJson, provisionAttestationKey } from '../attest/provision.js';
import type { Credential } from '../lifecycle/state.js';
import type { Clock } from '../lifecycle/clock.js';
import type { StepOutcome } from '../lifecycle/enroller.js';

type Out = (line: string) => void;

/** Protocols the demo can run against the lab (the PAL, firmware and CRLs always come over EST). */
export const DEMO_PROTOCOLS = ['est', 'cmp', 'cmc', 'acme'] as const;

/** What each protocol's enrollment and renewal look like, for the printed steps. */
const STEPS: Record<(typeof DEMO_PROTOCOLS)[number], { enroll: string; evidence: string; renew: string }> = {
  est: {
    enroll: '/simpleenroll, HTTP Basic',
    evidence: 'freshness nonce from /nonce, TPM2_Certify of the new key by the AK in the CSR',
    renew: '/simplereenroll, TLS client auth signed by the TPM key',
  },
  cmp: {
    enroll: 'CMP ir, MAC-protected with the shared secret, POP signed by the TPM key',
    evidence: 'nonce by CMP genm, TPM2_Certify of the new key by the AK in the certTemplate',
    renew: 'CMP kur, signature-protected by the current TPM key',
  },
  cmc: {
    enroll: 'CMC Full PKI Request on /fullcmc, signed by the TPM-resident IDevID',
    evidence: 'freshness nonce from /nonce, TPM2_Certify of the new key by the AK in the CSR',
    renew: 'CMC Full PKI Request signed by the current TPM credential, TLS client auth',
  },
  acme: {
    enroll: 'ACME order, remote-attest-01, finalize with the TPM-signed CSR; account key in the TPM',
    evidence: 'TPM2_Certify of the new key by the AK, bound to SHA-256(token.accountThumbprint), POSTed to the challenge',
    renew: 'a new ACME order for a new TPM key, same account',
  },
};

const DEMO_FW_PACKAGE = '1.3.6.1.4.1.32473.7.1';
const DEMO_HW_TYPE = '1.3.6.1.4.1.32473.8.1';

function describe(out: Out, title: string, c: Credential): void {
  const cert = new X509Certificate(c.certPem);
  out(`${title}`);
  out(`  subject:   ${c.subject}`);
  out(`  issuer:    ${cert.issuer.split('\n').join(',')}`);
  out(`  serial:    ${c.serial}`);
  out(`  notAfter:  ${c.notAfter}   (renew at ${c.renewAt})`);
  out(`  key:       ${c.key.algorithm} ${c.key.id} — TPM object under SRK 0x${Number(c.key.location.parent).toString(16)}, blobs in the state file`);
}

/** EST servers the demo can run against: the bundled lab (default) or its plain RFC 7030 profile. */
export const DEMO_SERVERS = ['lab', 'plain'] as const;

/**
 * The lab (deploy/lab/demo-kit.ts, compiled by `npm run build`) from the development tree this enrolld runs from.
 * An installed package has no deploy/lab/: then the demo says it needs the development tree.
 */
async function loadLab(): Promise<typeof LabKit> {
  let root: string | undefined;
  try {
    root = packageRoot();
  } catch {
    root = undefined;
  }
  const kit = root ? path.join(root, 'dist', 'deploy', 'lab', 'demo-kit.js') : undefined;
  if (!root || !kit || !existsSync(path.join(root, 'deploy', 'lab')) || !existsSync(kit)) {
    throw new EnrolldError(
      'cli.demo',
      `the demo needs the lab server from the development tree (deploy/lab/ in a git checkout, built with npm run build); ${root ? `${root} has none` : 'no enrolld package root found'}`,
    );
  }
  return (await import(pathToFileURL(kit).href)) as typeof LabKit;
}

export async function runDemo(opts: { protocol?: string; server?: string; verbose?: boolean; out?: Out } = {}): Promise<void> {
  const out: Out = opts.out ?? ((l) => process.stdout.write(l + '\n'));
  const server = opts.server ?? 'lab';
  if (!(DEMO_SERVERS as readonly string[]).includes(server)) throw new Error(`demo --server ${server}: one of ${DEMO_SERVERS.join(', ')}`);
  if (server === 'plain') {
    if (opts.protocol !== undefined && opts.protocol !== 'est') throw new Error('demo --server plain runs EST only (no --protocol)');
    return runPlainDemo(await loadLab(), out, opts.verbose === true);
  }
  const protocol = opts.protocol ?? 'est';
  if (!(DEMO_PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new Error(`demo --protocol ${protocol}: one of ${DEMO_PROTOCOLS.join(', ')}`);
  }
  const { startLabEnv, createAttestationCa, labAkCertifier, FirmwareLab, labPal, registerAcmeHandlers, registerCmpHandlers, registerCmcHandlers, LabCa, certificatePem, subjectAltName } = await loadLab();
  const t0 = performance.now();
  out('enrolld demo: starting swtpm and the lab EST server on 127.0.0.1 …');
  const attCa = await createAttestationCa();
  const labEnv = await startLabEnv({ lab: { certValiditySeconds: 7 * 86400, attestation: { trustAnchors: [attCa.root.der], nonce: { ttlSeconds: 300 } } } });
  const env = { ...labEnv, config: parseConfigOrStop(labEnv) };
  const log = createLogger({ level: opts.verbose ? 'debug' : 'warn', journal: false });
  let agent: AgentParts | undefined;
  let keystore: TpmKeyStore | undefined;
  try {
    out(`  TPM:       swtpm (pid ${env.tpm.pid}), TCTI ${env.tpm.tcti}`);
    out(`  EST:       ${env.lab.estUrl()} (explicit TA: the lab root)`);
    out(`  state:     ${env.config.stateDir}`);

    // 0. Manufacture: the AK is created in the TPM and certified by the (lab) attestation CA; firmware trust is set.
    keystore = await TpmKeyStore.open({ tcti: env.tpm.tcti });
    const factory = configLayout(path.join(env.dir, DEMO_FILES.factoryDir));
    const akKeyFile = factory.ak;
    const akCertFile = factory.akChain;
    const ak = await provisionAttestationKey({ keystore, certifier: labAkCertifier(attCa), deviceId: env.config.deviceId, akKeyFile, akCertFile });
    const fwLab = await FirmwareLab.create(env.lab.router, { dir: path.join(env.dir, 'fwlab'), baseUrl: env.lab.url });
    writeFileSync(path.join(env.dir, DEMO_FILES.firmwareTa), fwLab.trustAnchorPem);
    const applied = path.join(env.dir, 'slot-b.img');
    const hook = path.join(env.dir, 'install-firmware.sh');
    writeFileSync(hook, `#!/bin/sh\n# demo installer: "writes" the inactive slot\nset -e\ncp "$1" "${applied}"\n`);
    chmodSync(hook, 0o755);
    const doc = JSON.parse(readFileSync(env.configPath, 'utf8')) as Record<string, unknown>;
    // ACME and CMP trust the lab's TLS certificate through the EST trust-anchor file the lab environment wrote
    const estTa = (doc.est as { trustAnchorsFile: string }).trustAnchorsFile;
    doc.attestation = { enabled: true, akKeyFile, akCertFile };
    const acmeLab = protocol === 'acme' ? registerAcmeHandlers(env.lab.router, { baseUrl: env.lab.url, ca: env.lab.ca, attestation: env.lab.attestation }) : undefined;
    if (acmeLab) {
      doc.protocol = 'acme';
      doc.acme = { directoryUrl: acmeLab.directoryUrl, trustAnchorsFile: estTa };
      out(`  ACME:      ${acmeLab.directoryUrl} (lab ACME server with remote-attest-01)`);
    }
    let labSaw: () => string = () => {
      const rec = env.lab.issued.at(-1)!;
      return `${rec.operation} authenticated as ${rec.authenticatedAs}`;
    };
    if (acmeLab) labSaw = () => `${acmeLab.orders.size} orders from ${acmeLab.accounts.size} account(s)`;
    if (protocol === 'cmp') {
      const records = registerCmpHandlers(env.lab.router, { ca: env.lab.ca, attestation: env.lab.attestation, reference: env.config.deviceId, secret: new Uint8Array(Buffer.from('demo-cmp-secret')) });
      writeFileSync(path.join(env.dir, DEMO_FILES.cmpSecret), 'demo-cmp-secret\n', { mode: 0o600 });
      doc.protocol = 'cmp';
      doc.cmp = { url: `${env.lab.url}/.well-known/cmp`, trustAnchorsFile: estTa, mac: { reference: env.config.deviceId, secretFile: DEMO_FILES.cmpSecret } };
      out(`  CMP:       ${env.lab.url}/.well-known/cmp (lab CMP, lightweight profile)`);
      labSaw = () => records.filter((r) => r.outcome === 'issued').map((r) => r.body).join(', ') + ' issued';
    }
    if (protocol === 'cmc') {
      // Manufacture also gives the device an IDevID (a TPM key certified by the factory CA): it signs the first CMC request.
      const idevid = await keystore.createKey('idevid', 'ecc-p256');
      const t = new Date();
      const factoryCa = await LabCa.create({ name: 'enrolld factory', now: t });
      const cert = await factoryCa.issue({ subject: env.config.identity.subject, spki: idevid.spki, notBefore: new Date(t.getTime() - 60_000), notAfter: new Date(t.getTime() + 365 * 86_400_000), profile: 'client', extensions: [subjectAltName({ dns: env.config.identity.dnsNames })] });
      writeFileSync(factory.idevid, akRecordToJson(idevid), { mode: 0o600 });
      writeFileSync(factory.idevidCert, certificatePem(cert) + factoryCa.issuing.pem);
      const cmcLab = registerCmcHandlers(env.lab.router, { ca: env.lab.ca, users: { [env.config.deviceId]: 'factory-secret' }, idevidCaDers: [factoryCa.root.der], checkEvidence: (csr, at) => env.lab.attestation.checkCsr(csr, at) }, { nonces: env.lab.attestation.nonces });
      doc.protocol = 'cmc';
      (doc.identity as Record<string, unknown>).bootstrapCertFile = factory.idevidCert;
      (doc.identity as Record<string, unknown>).bootstrapKeyFile = factory.idevid;
      out(`  CMC:       ${env.lab.estUrl()}/fullcmc (lab CMC)`);
      labSaw = () => cmcLab.issued.map((r) => `${r.operation} as ${r.authenticatedAs}`).join(', ');
    }
    const steps = STEPS[protocol as keyof typeof STEPS];
    doc.firmware = { trustAnchorsFile: DEMO_FILES.firmwareTa, hook: { path: hook, timeoutSeconds: 60 }, hardware: { type: DEMO_HW_TYPE, serialHex: '00c0ffee' } };
    const config = parseConfig(doc, env.dir);
    out(`\n0. manufacture: AK ${ak.ak.id} created in the TPM, certified by the lab attestation CA (${ak.chain.length} certs); firmware TA installed`);

    agent = await composeAgent(config, { log, keystore });
    const t1 = performance.now();
    const first = await agent.enroller.step();
    if (first.action !== 'issued') throw new Error(`enrollment did not complete: ${first.action} ${first.error?.message ?? ''}`);
    const t2 = performance.now();
    describe(out, `\n1. enrolled (${steps.enroll}) in ${(t2 - t1).toFixed(0)} ms`, first.state.credential!);
    const ev = env.lab.attestation.events.at(-1);
    out(`  evidence:  ${steps.evidence} — lab verifier: ${ev?.ok ? 'ok' : (ev?.reason ?? 'none')}`);

    // 2. The PAL: a fresh CRL and a signed firmware package for this hardware, then the receipt path.
    const pal = labPal(env.lab.router);
    await pal.reissueCrl();
    const image = new Uint8Array(256 * 1024).map((_, i) => i & 0xff);
    const pkg = await fwLab.addPackage({ id: 'demo-v2', image, name: { preferred: { fwPkgID: DEMO_FW_PACKAGE, verNum: 2 } }, targetHardware: [DEMO_HW_TYPE] });
    pal.setPal(config.deviceId, [
      { type: '0004', size: 0, info: { kind: 'uri', uri: `${env.lab.estUrl()}/crls` } },
      { type: '0026', size: pkg.palSize, info: { kind: 'uri', uri: pkg.url } },
      { type: '0027', size: 0, info: { kind: 'uri', uri: `${env.lab.estUrl()}/firmware/return` } },
    ]);
    const poll = await agent.poller.poll(first.state);
    const last = agent.poller.last;
    out(`\n2. PAL polled (TLS client auth with the new TPM credential): ${last?.entries ?? 0} entries — ok ${last?.counts.ok ?? 0}, failed ${last?.counts.failed ?? 0}; renew requested: ${poll.renew === true}`);
    out(`  CRLs:      ${agent.crlStore.size} held`);
    const fwState = await agent.firmware!.state();
    const ret = fwLab.returns.at(-1);
    out(`  firmware:  ${pkg.bytes} B package verified to the firmware TA, hook installed ${existsSync(applied) ? statSync(applied).size : 0} B → ${fwState.pending?.status ?? 'not applied'}`);
    out(`  receipt:   ${ret ? `${ret.kind}, signed by the TPM key: ${ret.signatureValid === true}` : 'none returned'}`);

    const t3 = performance.now();
    const second = await agent.enroller.step({ force: true });
    if (second.action !== 'issued') throw new Error(`re-enrollment did not complete: ${second.action} ${second.error?.message ?? ''}`);
    const t4 = performance.now();
    describe(out, `\n3. re-enrolled (${steps.renew}) in ${(t4 - t3).toFixed(0)} ms`, second.state.credential!);
    const verdict = env.lab.attestation.events.at(-1)?.ok ? 'verified' : 'rejected';
    out(`  lab saw:   ${labSaw()}; evidence ${verdict}`);
    out(`  old key:   ${first.state.credential!.key.id} dropped after the switch`);

    finish(out, agent.keystore as TpmKeyStore, t0, second.state.phase);
  } finally {
    await shutdown(agent, keystore, env);
  }
}

/** The agent's reading of the config the lab environment wrote (the environment is stopped if it does not parse). */
function parseConfigOrStop(env: { configDoc: Record<string, unknown>; dir: string; stop(): Promise<void> }): ReturnType<typeof parseConfig> {
  try {
    return parseConfig(env.configDoc, env.dir);
  } catch (e) {
    void env.stop();
    throw e;
  }
}

/** The closing summary both demos print: TPM timings and the end state. */
function finish(out: Out, keystore: TpmKeyStore, t0: number, phase: string): void {
  tpmTable(out, keystore);
  out(`\ndemo finished in ${((performance.now() - t0) / 1000).toFixed(2)} s — state: ${phase}`);
}

async function shutdown(agent: AgentParts | undefined, keystore: TpmKeyStore | undefined, env: { stop(): Promise<void> }): Promise<void> {
  if (agent) await agent.close().catch(() => undefined);
  else await keystore?.close().catch(() => undefined);
  await env.stop();
}

function tpmTable(out: Out, keystore: TpmKeyStore): void {
  out('\nTPM calls (in-process, ms):');
  for (const [name, s] of Object.entries(keystore.stats()).sort()) {
    out(`  ${name.padEnd(22)} ${String(s.count).padStart(3)} × ${(s.totalMs / s.count).toFixed(2).padStart(7)} avg  ${s.totalMs.toFixed(1).padStart(8)} total`);
  }
}

/** The demo's clock: real time plus what the demo skips (the 60 s the plain server asks clients to wait). */
class SkippingClock implements Clock {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  sleepUntil(when: Date, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const t = setTimeout(resolve, Math.max(0, Math.min(when.getTime() - this.now().getTime(), 2 ** 31 - 1)));
      signal?.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
    });
  }
}

/** step() until issued: each 202 is waited out on the demo clock (skipped, not slept), then the same CSR is resent. */
async function untilIssued(what: string, out: Out, clock: SkippingClock, step: () => Promise<StepOutcome>, retry: () => Promise<StepOutcome>): Promise<StepOutcome> {
  let r = await step();
  for (let i = 0; r.action === 'pending' && i < 3; i++) {
    const wait = Math.max(0, (r.nextDue?.getTime() ?? clock.now().getTime()) - clock.now().getTime());
    out(`  ${what}: 202 Accepted, Retry-After ${Math.round(wait / 1000)} s — demo clock skips ahead, the same CSR is resent`);
    clock.offsetMs += wait;
    r = await retry();
  }
  if (r.action !== 'issued') throw new Error(`${what} did not complete: ${r.action} ${r.error?.message ?? ''}`);
  return r;
}

async function runPlainDemo(kit: typeof LabKit, out: Out, verbose: boolean): Promise<void> {
  const t0 = performance.now();
  out('enrolld demo --server plain: starting swtpm and the plain RFC 7030 EST server (lab profile "plain") on 127.0.0.1 …');
  const labEnv = await kit.startPlainLabEnv();
  const env = { ...labEnv, config: parseConfigOrStop(labEnv) };
  const log = createLogger({ level: verbose ? 'debug' : 'warn', journal: false });
  const clock = new SkippingClock();
  let agent: AgentParts | undefined;
  let keystore: TpmKeyStore | undefined;
  try {
    out(`  TPM:       swtpm (pid ${env.tpm.pid}), TCTI ${env.tpm.tcti}`);
    out(`  EST:       ${env.lab.estUrl()} (explicit TA: the plain CA's root)`);
    out('  server:    no /pal, no /nonce; /csrattrs asks for P-384 + SHA-384; 202 + Retry-After 60 on a new CSR;');
    out('             HTTP Basic demanded even after TLS client auth; the CA drops O= from the requested subject');
    out(`  state:     ${env.config.stateDir}`);
    keystore = await TpmKeyStore.open({ tcti: env.tpm.tcti });
    agent = await composeAgent(env.config, { log, keystore, clock });
    const enroller = agent.enroller;

    const t1 = performance.now();
    out(`\n1. enrollment (/simpleenroll, HTTP Basic; the CSR follows /csrattrs)`);
    const first = await untilIssued('simpleenroll', out, clock, () => enroller.step(), () => enroller.step());
    const t2 = performance.now();
    const rec1 = env.lab.issued.at(-1)!;
    describe(out, `  enrolled in ${(t2 - t1).toFixed(0)} ms (wall clock; ${Math.round(clock.offsetMs / 1000)} s of Retry-After skipped)`, first.state.credential!);
    out(`  server:    asked for "${rec1.requestedSubject}", issued "${rec1.subject}"; CSR key ${rec1.key}, signature ${signatureByOid(rec1.csrSignatureAlgorithm)?.asn1 ?? rec1.csrSignatureAlgorithm}`);

    // 2. A root key update on the server, then the agent's own /cacerts refresh: the server has no PAL, so the agent
    // runs RFC 7030 §4.1.3 itself (NewWithOld validated to the held root, NewWithNew added as a TA).
    env.lab.rollover();
    await agent.poller.poll(first.state);
    const last = agent.poller.last;
    const probed = env.lab.requests.filter((r) => r.path.endsWith('/pal')).map((r) => r.status);
    out(`\n2. /cacerts refreshed after a root key update on the server (/pal answered ${probed.join(', ') || 'nothing'}: mode ${last?.mode ?? 'pal'}) — ok ${last?.counts.ok ?? 0}, failed ${last?.counts.failed ?? 0}${last?.error ? `, error ${last.error.code}` : ''}`);
    out(`  TAs:       ${agent.taStore.list().map((t) => `${t.subject} [${t.source}]`).join('; ')}`);

    const t3 = performance.now();
    out(`\n3. re-enrollment (/simplereenroll, TLS client auth signed by the TPM key, then HTTP Basic on the server's 401)`);
    const before = env.lab.requests.length;
    const second = await untilIssued('simplereenroll', out, clock, () => enroller.step({ force: true }), () => enroller.step());
    const t4 = performance.now();
    const rec2 = env.lab.issued.at(-1)!;
    describe(out, `  re-enrolled in ${(t4 - t3).toFixed(0)} ms`, second.state.credential!);
    const seen = env.lab.requests.slice(before).filter((r) => r.path.endsWith('/simplereenroll')).map((r) => r.status);
    out(`  lab saw:   simplereenroll answered ${seen.join(' → ')}; issued under root generation ${rec2.rootGeneration} to ${rec2.authenticatedAs.join(' + ')}`);
    out(`  old key:   ${first.state.credential!.key.id} dropped after the switch`);

    finish(out, agent.keystore as TpmKeyStore, t0, second.state.phase);
  } finally {
    await shutdown(agent, keystore, env);
  }
}
