// An agent composed over swtpm with an AK provisioned at "manufacture" (the lab's attestation CA certifies it) and
// CSR attestation switched on: the shared start of the attestation suites.
import * as assert from 'uvu/assert';
import { composeAgent, type AgentParts } from '../../agent/cli/compose.js';
import { EstHttpError } from '../../agent/protocols/est/errors.js';
import { memoryLogger } from '../../agent/util/log.js';
import { TpmKeyStore } from '../../agent/keystore/tpm.js';
import { provisionAttestationKey, type ProvisionedAk } from '../../agent/attest/provision.js';
import { createAttestationCa, labAkCertifier, type LabAttestationOptions } from '../../deploy/lab/attestation.js';
import type { LabCa } from '../../deploy/lab/ca.js';
import type { LabServerOptions } from '../../deploy/lab/server.js';
import { startAgentEnv, type AgentEnv } from './agent-env.js';

export interface AttestedAgent {
  env: AgentEnv;
  ks: TpmKeyStore;
  agent: AgentParts;
  ak: ProvisionedAk;
  attCa: LabCa;
}

/** `lab` options go to the lab server; `attestation` options are merged over the AK trust anchors + a 120 s nonce. */
export async function startAttestedAgent(lab: LabServerOptions = {}, attestation: Partial<LabAttestationOptions> = {}): Promise<AttestedAgent> {
  const attCa = await createAttestationCa();
  const env = await startAgentEnv({
    lab: { ...lab, attestation: { trustAnchors: [attCa.root.der], nonce: { ttlSeconds: 120 }, ...attestation } },
    config: { attestation: { enabled: true, akKeyFile: 'factory/ak.json', akCertFile: 'factory/ak-chain.pem' } },
  });
  const ks = await TpmKeyStore.open({ tcti: env.tpm.tcti });
  try {
    const ak = await provisionAttestationKey({
      keystore: ks,
      certifier: labAkCertifier(attCa),
      deviceId: env.config.deviceId,
      akKeyFile: env.config.attestation.akKeyFile!,
      akCertFile: env.config.attestation.akCertFile!,
    });
    const agent = await composeAgent(env.config, { keystore: ks, log: memoryLogger('info') });
    return { env, ks, agent, ak, attCa };
  } catch (e) {
    await ks.close();
    await env.stop();
    throw e;
  }
}

/** Awaits an EST request the lab must refuse with `status`; returns the server's text (its reason code first). */
export async function estRefusal(p: Promise<unknown>, status: number): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, EstHttpError);
    assert.is((e as EstHttpError).status, status, (e as EstHttpError).serverText);
    return (e as EstHttpError).serverText;
  }
  assert.unreachable('the lab issued a certificate');
  return '';
}
