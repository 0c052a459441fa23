// A device's IDevID for the tests: a P-256 key created in the TPM (swtpm) and certified by a manufacturer LabCa
// (its root is what a CA that accepts IDevID-signed requests trusts; its issuing CA is the chain the device sends).
import type { KeyRecord } from '../../agent/keystore/keystore.js';
import { TpmKeyStore, type TpmSigner } from '../../agent/keystore/tpm.js';
import { certificateToDer } from '../../agent/pki/cert.js';
import type { CmcEnrollmentOptions } from '../../agent/protocols/cmc/index.js';
import { LabCa } from '../../deploy/lab/ca.js';
import { registerCmcHandlers, type CmcLab } from '../../deploy/lab/cmc.js';
import { startAgentEnv, type AgentEnv } from './agent-env.js';

export interface TpmIdevid {
  /** The manufacturer CA that issued it. */
  mfg: LabCa;
  key: KeyRecord;
  signer: TpmSigner;
  /** DER certificate, valid from a minute ago for a day. */
  der: Uint8Array;
  /** As a CMC/EST bootstrap credential: signer, certificate and the manufacturer's issuing CA. */
  bootstrap: { signer: TpmSigner; certificate: Uint8Array; chain: Uint8Array[] };
}

export async function createTpmIdevid(ks: TpmKeyStore, subject: Parameters<LabCa['issue']>[0]['subject'] = { CN: 'dev-0001 IDevID', O: 'enrolld manufacturer' }): Promise<TpmIdevid> {
  const mfg = await LabCa.create({ name: 'enrolld manufacturer' });
  const key = await ks.createKey('idevid', 'ecc-p256');
  const signer = ks.signer(key);
  const der = certificateToDer(await mfg.issue({ subject, spki: signer.spki, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000), profile: 'client' }));
  return { mfg, key, signer, der, bootstrap: { signer, certificate: der, chain: [mfg.issuing.der] } };
}

/** CMC client options for the lab of `env` (its CA trusted for TLS and issued certificates), signing with the IDevID. */
export function cmcIdevidOptions(env: AgentEnv, ks: TpmKeyStore, idevid: TpmIdevid, extra: Partial<CmcEnrollmentOptions> = {}): CmcEnrollmentOptions {
  return { baseUrl: env.lab.url, trustAnchors: [env.lab.trustAnchorPem], issuerTrustAnchors: [env.lab.trustAnchorPem], ...extra, bootstrap: idevid.bootstrap, keystore: ks };
}

/** An agent environment (swtpm + lab) whose CMC side trusts the manufacturer of an IDevID created in the TPM. */
export async function startCmcIdevidLab(): Promise<{ env: AgentEnv; ks: TpmKeyStore; idevid: TpmIdevid; lab: CmcLab; options: CmcEnrollmentOptions }> {
  const env = await startAgentEnv();
  const ks = await TpmKeyStore.open({ tcti: env.tpm.tcti });
  const idevid = await createTpmIdevid(ks);
  const lab = registerCmcHandlers(env.lab.router, { ca: env.lab.ca, idevidCaDers: [idevid.mfg.root.der] }, {});
  return { env, ks, idevid, lab, options: cmcIdevidOptions(env, ks, idevid) };
}
