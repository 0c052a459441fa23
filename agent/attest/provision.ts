// Manufacture-time attestation-key provisioning: create the AK in the TPM (restricted ECC P-256 signing key under the
// SRK), have the manufacturer's attestation CA certify its public key, and write what the agent's config names:
// the AK key record (JSON, 0600 — it holds no secret, but the wrapped blob is device-specific) and the AK chain
// (PEM: AK certificate first, then its chain). The CA is a callback so this layer does not know who runs it
// (the lab's attestation CA in tests and the demo; a factory CA over some RPC in production).
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { KeyAlgorithm } from '../pki/signer.js';
import type { KeyRecord } from '../keystore/keystore.js';
import { certificateFromDer, certificateHasKey, certificateToPem } from '../pki/cert.js';
import { pemDecodeAll } from '../pki/pem.js';
import { writeFileAtomic } from '../store/atomic-file.js';
import { publicArea } from '../tpm2/public.js';
import { EnrolldError } from '../util/errors.js';

export class ProvisionError extends EnrolldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('attest.provision', message, options);
  }
}

/** What provisioning needs from the keystore (TpmKeyStore implements it). */
export interface AkKeyStore {
  createAttestationKey(id: string): Promise<KeyRecord>;
}

export interface AkCertificationRequest {
  /** DER SubjectPublicKeyInfo of the AK. */
  spki: Uint8Array;
  /** TPMT_PUBLIC of the AK (a CA may check the restricted/fixedTPM attributes). */
  tpmtPublic: Uint8Array;
  deviceId: string;
}

/** The manufacturer CA: returns the AK certificate first, then its chain (DER), trust anchor optional. */
export type AkCertifier = (req: AkCertificationRequest) => Promise<Uint8Array[]>;

export interface ProvisionAkOptions {
  keystore: AkKeyStore;
  certifier: AkCertifier;
  deviceId: string;
  /** Where the AK key record JSON goes (config attestation.akKeyFile). */
  akKeyFile: string;
  /** Where the AK chain PEM goes (config attestation.akCertFile). */
  akCertFile: string;
  /** Key id inside the keystore (default "ak"). */
  id?: string;
}

export interface ProvisionedAk {
  ak: KeyRecord;
  chain: Uint8Array[];
}

/** JSON form of an AK record (same shape as the agent state's StoredKey). */
interface AkRecordJson {
  schema: 'enrolld-ak/1';
  id: string;
  algorithm: KeyAlgorithm;
  spki: string;
  location: Record<string, string | number>;
}

export function akRecordToJson(ak: KeyRecord): string {
  const j: AkRecordJson = { schema: 'enrolld-ak/1', id: ak.id, algorithm: ak.algorithm, spki: Buffer.from(ak.spki).toString('base64'), location: { ...ak.location } };
  return JSON.stringify(j, null, 2) + '\n';
}

export function akRecordFromJson(text: string, what = 'AK key record'): KeyRecord {
  let j: Partial<AkRecordJson>;
  try {
    j = JSON.parse(text) as Partial<AkRecordJson>;
  } catch (cause) {
    throw new ProvisionError(`${what} is not JSON`, { cause });
  }
  if (typeof j !== 'object' || j === null || typeof j.id !== 'string' || typeof j.spki !== 'string' || typeof j.location !== 'object' || j.location === null) {
    throw new ProvisionError(`${what} lacks id/spki/location`);
  }
  if (j.algorithm !== 'ecc-p256' && j.algorithm !== 'rsa-2048') throw new ProvisionError(`${what}: unsupported algorithm ${String(j.algorithm)}`);
  return { id: j.id, algorithm: j.algorithm, spki: new Uint8Array(Buffer.from(j.spki, 'base64')), location: { ...j.location } };
}

/** Reads the provisioned AK record and chain (AK certificate first) from the config's files. */
export async function loadProvisionedAk(akKeyFile: string, akCertFile: string): Promise<ProvisionedAk> {
  let keyText: string;
  let pem: string;
  try {
    keyText = await readFile(akKeyFile, 'utf8');
    pem = await readFile(akCertFile, 'utf8');
  } catch (cause) {
    throw new ProvisionError(`cannot read the provisioned AK: ${(cause as Error).message}`, { cause });
  }
  const ak = akRecordFromJson(keyText, akKeyFile);
  const chain = pemDecodeAll(pem, 'CERTIFICATE').map((b) => b.der);
  if (chain.length === 0) throw new ProvisionError(`${akCertFile} holds no certificate`);
  if (!certificateHasKey(certificateFromDer(chain[0]!), ak.spki)) throw new ProvisionError(`${akCertFile}: the first certificate is not for the AK in ${akKeyFile}`);
  return { ak, chain };
}

/** Creates the AK, gets it certified, writes the record (0600) and the chain PEM (0644). */
export async function provisionAttestationKey(o: ProvisionAkOptions): Promise<ProvisionedAk> {
  const ak = await o.keystore.createAttestationKey(o.id ?? 'ak');
  const pub = ak.location.public;
  if (typeof pub !== 'string') throw new ProvisionError('the keystore returned an AK without a TPM public area');
  const tpmtPublic = publicArea(new Uint8Array(Buffer.from(pub, 'base64')));
  const chain = await o.certifier({ spki: ak.spki, tpmtPublic, deviceId: o.deviceId });
  if (chain.length === 0) throw new ProvisionError('the attestation CA returned no certificate');
  const leaf = certificateFromDer(chain[0]!);
  if (!certificateHasKey(leaf, ak.spki)) throw new ProvisionError('the attestation CA certified a different key');
  for (const f of [o.akKeyFile, o.akCertFile]) await mkdir(path.dirname(f), { recursive: true, mode: 0o700 });
  await writeFileAtomic(o.akKeyFile, akRecordToJson(ak), { mode: 0o600 });
  await writeFileAtomic(o.akCertFile, chain.map((d) => certificateToPem(d)).join(''), { mode: 0o644 });
  return { ak, chain };
}
