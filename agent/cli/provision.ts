// `enrolld provision` — manufacture-time provisioning of one device. Steps, each idempotent and each
// ending in one atomic write (agent/store/atomic-file.ts), so a rerun after a crash at any point completes the job
// and a rerun after success changes nothing and says so:
//   1. TPM checks (TPM2_GetCapability): family 2.0, manufacturer/firmware reported, a SHA-256 PCR bank with PCRs,
//      room for persistent and transient objects;
//   2. SRK: created and persisted at the configured handle when absent (TpmKeyStore.open);
//   3. EK certificate read from its TCG NV index (ek-cert.pem; --require-ek-cert makes its absence an error);
//   4. AK: restricted signing key under the SRK (ak.json) + a certification request for the manufacturer's
//      attestation CA (ak-request.json: SPKI, TPMT_PUBLIC, EK certificate); --ak-chain imports the CA's answer
//      (ak-chain.pem, AK certificate first) after checking it certifies this AK;
//   5. IDevID: signing key under the SRK (idevid.json) and its PKCS#10 request for the factory CA (idevid-csr.pem);
//      with --enroll-idevid it is enrolled at the EST server (HTTP Basic) and idevid-cert.pem is written;
//   6. the EST trust anchors (est-ta.pem) and Basic password (est-password) copied into the config directory;
//   7. config.json last (validated with parseConfig first): its presence means "provisioned".
// Directories are created 0700, every file is 0600; --owner USER[:GROUP] (as root) hands them to the service user.
// Key files hold only TPM-wrapped blobs; the TPM's own objects (SRK) are the only TPM state changed.
import { parseArgs } from 'node:util';
import { commandUsage } from './help.js';
import { chown, readFile, stat, chmod } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { TpmKeyStore, type TpmInfo } from '../keystore/tpm.js';
import type { KeyRecord } from '../keystore/keystore.js';
import { akRecordFromJson, akRecordToJson } from '../attest/provision.js';
import { publicArea } from '../tpm2/public.js';
import { WELL_KNOWN } from '../tpm2/constants.js';
import { certificateFromDer, certificateHasKey, certificateToPem, certificatesFromPem, describeName } from '../pki/cert.js';
import { pemDecodeAll, pemEncode } from '../pki/pem.js';
import { buildCsr, csrSpki, parseCsr } from '../pki/csr.js';
import { bytesEqual } from '../pki/der.js';
import { ensurePrivateDir, writeFileAtomic } from '../store/atomic-file.js';
import { CONFIG_DIR_FILES, configLayout } from '../store/layout.js';
import { parseConfig } from '../config.js';
import { EstEnrollment } from '../protocols/est/enrollment.js';
import { EnrolldError } from '../util/errors.js';

export class ProvisionCliError extends EnrolldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('provision', message, options);
  }
}

export const PROVISION_USAGE = commandUsage('provision');

export interface ProvisionOptions {
  deviceId: string;
  configDir: string;
  stateDir: string;
  tcti: string;
  srkHandle?: number;
  estUrl: string;
  estTaFile: string;
  estUser?: string;
  estPasswordFile?: string;
  subject?: string;
  akChainFile?: string;
  enrollIdevid?: boolean;
  requireEkCert?: boolean;
  owner?: { uid: number; gid: number };
  /** Progress lines ("step what detail"), printed as they happen. */
  progress?: (line: string) => void;
}

export type StepOutcome = 'created' | 'updated' | 'unchanged' | 'absent' | 'pending';
export interface ProvisionResult {
  tpm: TpmInfo;
  steps: { name: string; outcome: StepOutcome; detail?: string }[];
  changed: boolean;
  configFile: string;
}

async function readOptional(file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ProvisionCliError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

async function readRequired(file: string, what: string): Promise<Buffer> {
  const b = await readOptional(file);
  if (b === undefined) throw new ProvisionCliError(`${what} ${file} does not exist`);
  return b;
}

/** The minimum a TPM must offer for enrolld; throws a ProvisionCliError naming what is missing. */
export function checkTpm(info: TpmInfo): void {
  if (info.family !== '2.0') throw new ProvisionCliError(`TPM family "${info.family}" is not 2.0`);
  if (!info.pcrBanks.some((b) => b.hash === 'sha256' && b.pcrs > 0)) {
    throw new ProvisionCliError(`no SHA-256 PCR bank is allocated (banks: ${info.pcrBanks.map((b) => `${b.hash}:${b.pcrs}`).join(' ')})`);
  }
  // The agent needs up to 3 transient objects at once (SRK context + AK + key for TPM2_Certify).
  if (info.transientAvail < 2) throw new ProvisionCliError(`only ${info.transientAvail} transient object slots`);
}

export async function provision(o: ProvisionOptions): Promise<ProvisionResult> {
  const say = o.progress ?? (() => undefined);
  const steps: ProvisionResult['steps'] = [];
  const step = (name: string, outcome: StepOutcome, detail?: string): void => {
    steps.push({ name, outcome, ...(detail ? { detail } : {}) });
    say(`${name} ${outcome}${detail ? ' ' + detail : ''}`);
  };
  const at = configLayout(o.configDir);
  const cfgDir = at.dir;
  const stateDir = path.resolve(o.stateDir);

  // Inputs are checked before anything is written or any TPM object is created.
  const taPem = (await readRequired(o.estTaFile, 'EST trust anchor file')).toString('utf8');
  const anchors = certificatesFromPem(taPem);
  if (anchors.length === 0) throw new ProvisionCliError(`${o.estTaFile} holds no certificate`);
  const password = o.estPasswordFile ? (await readRequired(o.estPasswordFile, 'EST password file')).toString('utf8').replace(/\r?\n$/, '') : undefined;
  const akChainPem = o.akChainFile ? (await readRequired(o.akChainFile, 'AK chain file')).toString('utf8') : undefined;
  if (o.enrollIdevid && password === undefined) throw new ProvisionCliError('--enroll-idevid needs --est-password-file (HTTP Basic)');
  if (!/^https:\/\//.test(o.estUrl)) throw new ProvisionCliError(`--est-url ${o.estUrl} must use https`);

  /** Writes `content` unless the file already holds exactly it with mode 0600 (and the right owner). */
  const put = async (which: keyof typeof CONFIG_DIR_FILES, content: string | Uint8Array): Promise<StepOutcome> => {
    const file = at[which];
    const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    const old = await readOptional(file);
    let outcome: StepOutcome = old === undefined ? 'created' : old.equals(buf) ? 'unchanged' : 'updated';
    if (outcome === 'unchanged') {
      const st = await stat(file);
      if ((st.mode & 0o777) !== 0o600) {
        await chmod(file, 0o600);
        outcome = 'updated';
      }
      if (o.owner && (st.uid !== o.owner.uid || st.gid !== o.owner.gid)) {
        await chown(file, o.owner.uid, o.owner.gid);
        outcome = 'updated';
      }
      return outcome;
    }
    await writeFileAtomic(file, buf, { mode: 0o600 });
    if (o.owner) await chown(file, o.owner.uid, o.owner.gid);
    return outcome;
  };

  for (const dir of [cfgDir, stateDir]) {
    let existed = true;
    try {
      await stat(dir);
    } catch {
      existed = false;
    }
    await ensurePrivateDir(dir);
    if (o.owner) await chown(dir, o.owner.uid, o.owner.gid);
    step(dir === cfgDir ? 'config-dir' : 'state-dir', existed ? 'unchanged' : 'created', dir);
  }

  const srkHandle = o.srkHandle ?? WELL_KNOWN.SRK_PERSISTENT;
  const ks = await TpmKeyStore.open({ tcti: o.tcti, srkHandle });
  try {
    // 1. TPM checks
    const tpm = await ks.tpmInfo();
    say(`tpm manufacturer=${tpm.manufacturer} vendor="${tpm.vendor}" firmware=${tpm.firmware} banks=${tpm.pcrBanks.filter((b) => b.pcrs > 0).map((b) => b.hash).join(',')} transient-avail=${tpm.transientAvail} persistent=${tpm.persistent}/${tpm.persistent + tpm.persistentAvail} nv-indices=${tpm.nvIndices}`);
    checkTpm(tpm);
    // 2. SRK
    step('srk', ks.srkCreated ? 'created' : 'unchanged', `0x${srkHandle.toString(16)}`);
    // 3. EK certificate
    const ek = await ks.readEkCertificate();
    if (!ek) {
      if (o.requireEkCert) throw new ProvisionCliError('the TPM holds no EK certificate in NV (0x01c00002, 0x01c0000a, 0x01c00016)');
      step('ek-cert', 'absent');
    } else {
      let desc: string;
      try {
        const c = certificateFromDer(ek);
        desc = `issuer="${describeName(c.issuer)}"`;
      } catch (cause) {
        throw new ProvisionCliError('the EK certificate in NV is not a valid X.509 certificate', { cause });
      }
      step('ek-cert', await put('ekCert', certificateToPem(ek)), desc);
    }
    // 4. AK (+ request for the attestation CA, + its answer)
    let ak: KeyRecord;
    const akText = await readOptional(at.ak);
    if (akText) {
      ak = akRecordFromJson(akText.toString('utf8'), at.ak);
      step('ak', await put('ak', akRecordToJson(ak)), ak.id);
    } else {
      ak = await ks.createAttestationKey('ak');
      step('ak', await put('ak', akRecordToJson(ak)), ak.id);
    }
    const pub = ak.location.public;
    if (typeof pub !== 'string') throw new ProvisionCliError(`${at.ak} has no TPM public area`);
    const request = {
      schema: 'enrolld-ak-request/1',
      deviceId: o.deviceId,
      spki: Buffer.from(ak.spki).toString('base64'),
      tpmtPublic: Buffer.from(publicArea(new Uint8Array(Buffer.from(pub, 'base64')))).toString('base64'),
      ...(ek ? { ekCertificate: Buffer.from(ek).toString('base64') } : {}),
    };
    step('ak-request', await put('akRequest', JSON.stringify(request, null, 2) + '\n'));
    let haveAkChain = false;
    if (akChainPem !== undefined) {
      const chain = pemDecodeAll(akChainPem, 'CERTIFICATE').map((b) => b.der);
      if (chain.length === 0) throw new ProvisionCliError(`${o.akChainFile} holds no certificate`);
      if (!certificateHasKey(certificateFromDer(chain[0]!), ak.spki)) throw new ProvisionCliError(`${o.akChainFile}: the first certificate does not certify the AK in ${at.ak}`);
      step('ak-chain', await put('akChain', chain.map((d) => certificateToPem(d)).join('')));
      haveAkChain = true;
    } else {
      const existing = await readOptional(at.akChain);
      if (existing) {
        const chain = pemDecodeAll(existing.toString('utf8'), 'CERTIFICATE').map((b) => b.der);
        if (chain.length === 0 || !certificateHasKey(certificateFromDer(chain[0]!), ak.spki)) throw new ProvisionCliError(`${at.akChain} does not certify the AK in ${at.ak}`);
        haveAkChain = true;
        step('ak-chain', 'unchanged');
      } else {
        step('ak-chain', 'pending', `send ${at.akRequest} to the attestation CA, then rerun with --ak-chain`);
      }
    }
    // 5. IDevID key, CSR, certificate
    const subject = o.subject ?? `CN=${o.deviceId}`;
    let idevid: KeyRecord;
    const idText = await readOptional(at.idevid);
    if (idText) idevid = akRecordFromJson(idText.toString('utf8'), at.idevid);
    else idevid = await ks.createKey('idevid', 'ecc-p256');
    // Same JSON form as the AK record (agent/attest/provision.ts), so one reader serves both.
    step('idevid', await put('idevid', akRecordToJson(idevid)), idevid.id);
    const oldCsr = await readOptional(at.idevidCsr);
    let csrDer: Uint8Array | undefined;
    if (oldCsr) {
      try {
        const der = pemDecodeAll(oldCsr.toString('utf8'), 'CERTIFICATE REQUEST')[0]?.der;
        if (der && bytesEqual(csrSpki(parseCsr(der)), idevid.spki)) csrDer = der;
      } catch {
        csrDer = undefined; // unreadable: written again below
      }
    }
    if (csrDer) step('idevid-csr', 'unchanged');
    else {
      // ECDSA signatures are randomized: the CSR is written once per key, never re-signed on a rerun.
      csrDer = (await buildCsr({ subject, signer: ks.signer(idevid) })).der;
      step('idevid-csr', await put('idevidCsr', pemEncode('CERTIFICATE REQUEST', csrDer)));
    }
    const oldCert = await readOptional(at.idevidCert);
    let haveIdevidCert = false;
    if (oldCert && certificatesFromPem(oldCert.toString('utf8')).some((c, i) => i === 0 && certificateHasKey(c, idevid.spki))) {
      haveIdevidCert = true;
      step('idevid-cert', 'unchanged');
    } else if (o.enrollIdevid) {
      const est = new EstEnrollment({ baseUrl: o.estUrl, trustAnchors: [taPem], basicAuth: { username: o.estUser ?? o.deviceId, password: password! }, keystore: ks });
      const r = await est.enroll({ operation: 'enroll', csr: csrDer });
      if (r.kind === 'pending') step('idevid-cert', 'pending', `the EST server answered 202; rerun after ${r.retryAfterSeconds} s`);
      else {
        if (!certificateHasKey(certificateFromDer(r.cert), idevid.spki)) throw new ProvisionCliError('the EST server issued a certificate for another key');
        step('idevid-cert', await put('idevidCert', [r.cert, ...r.chain].map((d) => certificateToPem(d)).join('')));
        haveIdevidCert = true;
      }
    } else {
      step('idevid-cert', 'pending', `send ${at.idevidCsr} to the factory CA`);
    }
    // 6. trust anchors and password
    step('est-ta', await put('estTa', anchors.map((c) => certificateToPem(c)).join('')));
    if (password !== undefined) step('est-password', await put('estPassword', password + '\n'));
    // 7. config (validated before it is written; written last)
    const doc = {
      deviceId: o.deviceId,
      stateDir,
      tpm: { tcti: o.tcti, srkHandle: `0x${srkHandle.toString(16)}` },
      protocol: 'est',
      est: {
        url: o.estUrl,
        trustAnchorsFile: CONFIG_DIR_FILES.estTa,
        ...(password !== undefined ? { basicAuth: { username: o.estUser ?? o.deviceId, passwordFile: CONFIG_DIR_FILES.estPassword } } : {}),
      },
      identity: {
        subject,
        keyAlgorithm: 'ecc-p256',
        ...(haveIdevidCert ? { bootstrapCertFile: CONFIG_DIR_FILES.idevidCert, bootstrapKeyFile: CONFIG_DIR_FILES.idevid } : {}),
      },
      // Attestation is switched on once the AK is certified (the agent needs the chain for every CSR).
      attestation: { enabled: haveAkChain, akKeyFile: CONFIG_DIR_FILES.ak, akCertFile: CONFIG_DIR_FILES.akChain },
    };
    parseConfig(doc, cfgDir);
    step('config', await put('config', JSON.stringify(doc, null, 2) + '\n'), at.config);
    return { tpm, steps, changed: steps.some((s) => s.outcome === 'created' || s.outcome === 'updated'), configFile: at.config };
  } finally {
    await ks.close();
  }
}

function parseHandle(s: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new ProvisionCliError(`--srk-handle ${s} is not a handle`);
  return n;
}

function resolveOwner(spec: string): { uid: number; gid: number } {
  const [user, group] = spec.split(':');
  const id = (flag: string, name: string): number => {
    if (/^\d+$/.test(name)) return Number(name);
    try {
      return Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
    } catch (cause) {
      throw new ProvisionCliError(`--owner ${spec}: unknown user ${name}`, { cause });
    }
  };
  const uid = id('-u', user!);
  let gid: number;
  if (group === undefined) gid = id('-g', user!);
  else if (/^\d+$/.test(group)) gid = Number(group);
  else {
    const line = execFileSync('getent', ['group', group], { encoding: 'utf8' }).trim();
    gid = Number(line.split(':')[2]);
    if (!Number.isInteger(gid)) throw new ProvisionCliError(`--owner ${spec}: unknown group ${group}`);
  }
  return { uid, gid };
}

/** `enrolld provision …`: exit 0 when done (also when nothing changed), 3 when a step waits for a CA. */
export async function runProvisionCli(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'device-id': { type: 'string' },
      'config-dir': { type: 'string' },
      'state-dir': { type: 'string' },
      tcti: { type: 'string' },
      'srk-handle': { type: 'string' },
      'est-url': { type: 'string' },
      'est-ta': { type: 'string' },
      'est-user': { type: 'string' },
      'est-password-file': { type: 'string' },
      subject: { type: 'string' },
      'ak-chain': { type: 'string' },
      'enroll-idevid': { type: 'boolean', default: false },
      'require-ek-cert': { type: 'boolean', default: false },
      owner: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(PROVISION_USAGE + '\n');
    return 0;
  }
  const missing = (['device-id', 'config-dir', 'state-dir', 'tcti', 'est-url', 'est-ta'] as const).filter((k) => values[k] === undefined);
  if (missing.length) {
    process.stderr.write(`enrolld provision: missing ${missing.map((m) => '--' + m).join(', ')}\n${PROVISION_USAGE}\n`);
    return 2;
  }
  const r = await provision({
    deviceId: values['device-id']!,
    configDir: values['config-dir']!,
    stateDir: values['state-dir']!,
    tcti: values.tcti!,
    ...(values['srk-handle'] ? { srkHandle: parseHandle(values['srk-handle']) } : {}),
    estUrl: values['est-url']!,
    estTaFile: values['est-ta']!,
    ...(values['est-user'] ? { estUser: values['est-user'] } : {}),
    ...(values['est-password-file'] ? { estPasswordFile: values['est-password-file'] } : {}),
    ...(values.subject ? { subject: values.subject } : {}),
    ...(values['ak-chain'] ? { akChainFile: values['ak-chain'] } : {}),
    enrollIdevid: values['enroll-idevid'],
    requireEkCert: values['require-ek-cert'],
    ...(values.owner ? { owner: resolveOwner(values.owner) } : {}),
    ...(values.json ? {} : { progress: (l: string) => process.stdout.write(l + '\n') }),
  });
  if (values.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  else process.stdout.write(r.changed ? `provisioned: ${r.configFile}\n` : `already provisioned, nothing changed: ${r.configFile}\n`);
  return r.steps.some((s) => s.outcome === 'pending') ? 3 : 0;
}
