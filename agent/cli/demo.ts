// `enrolld demo`: the full lifecycle against the bundled lab server and a software TPM (swtpm), on loopback:
// start swtpm + lab CA, enroll a TPM-resident key over EST, re-enroll it with TLS client auth signed in the TPM,
// poll the PAL, print what happened and the TPM timings, stop everything it started.
import { X509Certificate } from 'node:crypto';
import { startAgentEnv } from '../../deploy/lab/environment.js';
import { composeAgent } from './compose.js';
import { createLogger } from '../util/log.js';
import type { TpmKeyStore } from '../keystore/tpm.js';
import type { Credential } from '../lifecycle/state.js';

type Out = (line: string) => void;

function describe(out: Out, title: string, c: Credential): void {
  const cert = new X509Certificate(c.certPem);
  out(`${title}`);
  out(`  subject:   ${c.subject}`);
  out(`  issuer:    ${cert.issuer.split('\n').join(',')}`);
  out(`  serial:    ${c.serial}`);
  out(`  notAfter:  ${c.notAfter}   (renew at ${c.renewAt})`);
  out(`  key:       ${c.key.algorithm} ${c.key.id} — TPM object under SRK 0x${Number(c.key.location.parent).toString(16)}, blobs in the state file`);
}

export async function runDemo(opts: { protocol?: string; verbose?: boolean; out?: Out } = {}): Promise<void> {
  const out: Out = opts.out ?? ((l) => process.stdout.write(l + '\n'));
  if (opts.protocol && opts.protocol !== 'est') {
    throw new Error(`demo --protocol ${opts.protocol}: only 'est' is implemented so far (CMP, CMC and ACME are planned)`);
  }
  const t0 = performance.now();
  out('enrolld demo: starting swtpm and the lab EST server on 127.0.0.1 …');
  const env = await startAgentEnv({ lab: { certValiditySeconds: 7 * 86400 } });
  const log = createLogger({ level: opts.verbose ? 'debug' : 'warn', journal: false });
  let agent;
  try {
    out(`  TPM:       swtpm (pid ${env.tpm.pid}), TCTI ${env.tpm.tcti}`);
    out(`  EST:       ${env.lab.estUrl()} (explicit TA: the lab root)`);
    out(`  state:     ${env.config.stateDir}`);
    agent = await composeAgent(env.config, { log });
    const t1 = performance.now();
    const first = await agent.enroller.step();
    if (first.action !== 'issued') throw new Error(`enrollment did not complete: ${first.action} ${first.error?.message ?? ''}`);
    const t2 = performance.now();
    describe(out, `\n1. enrolled (/simpleenroll, HTTP Basic) in ${(t2 - t1).toFixed(0)} ms`, first.state.credential!);

    const poll = await agent.poller.poll(first.state);
    out(`\n2. PAL polled: ${agent.poller.last?.entries ?? 0} entries, renew requested: ${poll.renew === true}`);

    const t3 = performance.now();
    const second = await agent.enroller.step({ force: true });
    if (second.action !== 'issued') throw new Error(`re-enrollment did not complete: ${second.action} ${second.error?.message ?? ''}`);
    const t4 = performance.now();
    describe(out, `\n3. re-enrolled (/simplereenroll, TLS client auth signed by the TPM key) in ${(t4 - t3).toFixed(0)} ms`, second.state.credential!);
    const rec = env.lab.issued.at(-1)!;
    out(`  lab saw:   ${rec.operation} authenticated as ${rec.authenticatedAs}`);
    out(`  old key:   ${first.state.credential!.key.id} dropped after the switch`);

    const stats = (agent.keystore as TpmKeyStore).stats();
    out('\nTPM calls (in-process, ms):');
    for (const [name, s] of Object.entries(stats).sort()) {
      out(`  ${name.padEnd(22)} ${String(s.count).padStart(3)} × ${(s.totalMs / s.count).toFixed(2).padStart(7)} avg  ${s.totalMs.toFixed(1).padStart(8)} total`);
    }
    out(`\ndemo finished in ${((performance.now() - t0) / 1000).toFixed(2)} s — state: ${second.state.phase}`);
  } finally {
    await agent?.close().catch(() => undefined);
    await env.stop();
  }
}
