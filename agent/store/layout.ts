// Every file the agent keeps in its state directory (config.stateDir, 0700), named once. JSON documents go through
// DocumentStore (checksummed envelope + `<name>.prev`, atomic, 0600) unless noted; binary content (DER packages,
// images, key blobs) stays in plain files written with writeFileAtomic, named here too. The files of the
// configuration directory (what `enrolld provision` and `enrolld demo` write beside config.json) are named at the end.
import path from 'node:path';

/** The lifecycle state (phase, credential, pending request): DocumentStore kind "enrolld-state". */
export const STATE_FILE = 'state.json';
/** The trust anchor database (RFC 7030 §4.1.1 explicit TA, /cacerts, firmware, TAMP, key packages). */
export const TRUST_ANCHORS_FILE = 'trust-anchors.json';
/** CRLs accepted from /crls (RFC 8295 §4). */
export const CRLS_FILE = 'crls.json';
/** /eecerts peer certificates by the package URI that delivered them (RFC 8295 §3). */
export const PEER_CERTIFICATES_FILE = 'peer-certificates.json';
/** TAMP apex TA, communities, sequence numbers (anti-replay, RFC 5934 §6) and the /tamp/return outbox. */
export const TAMP_FILE = 'tamp.json';
/** Probe memory of the PAL poller against plain RFC 7030 servers (no /pal: when it was last absent). */
export const PAL_PROBE_FILE = 'est-pal-probe.json';
/** The last PAL poll's summary, shown by `enrolld status`. */
export const PAL_LAST_POLL_FILE = 'pal-last-poll.json';
/** Per-feature last success / last error / failure counts (status, metrics). */
export const FEATURE_STATUS_FILE = 'feature-status.json';
/** When the daemon (or `enrolld once`) will run next, shown by `enrolld status`. */
export const NEXT_RUN_FILE = 'next-run.json';
/** MQTT bdSeq: one decimal number and a newline (written synchronously by the status publisher; not a document). */
export const BDSEQ_FILE = 'mqtt-bdseq';
/** CMP transactions waiting for pollReq (RFC 9483 §4.4), by CSR. */
export const CMP_PENDING_FILE = 'cmp-pending.json';
/** CMP root CA key update (RFC 9483 §4.3.2): next look, failures, a waiting genm. */
export const CMP_ROOT_UPDATE_FILE = 'cmp-root-update.json';
/** CMC requests waiting for queryPending (RFC 5272 §6.13), by CSR. */
export const CMC_PENDING_FILE = 'cmc-pending.json';
/** The CMC decryption key (RFC 5272 §6.7 indirect POP): its key record, certificate, renewal time, failures. */
export const CMC_DECRYPTION_KEY_FILE = 'cmc-decryption-key.json';
/** ACME orders still processing (RFC 8555 §7.4), by CSR. */
export const ACME_PENDING_FILE = 'acme-pending.json';
/** The ACME account: key record (TPM blobs, no secret) and account URL (RFC 8555 §7.3). */
export const ACME_ACCOUNT_FILE = 'acme-account.json';

/** Key packages (RFC 8295 §5, RFC 6031/5958): sealed symmetric keys and imported key records. */
export const KEYS_DIR = 'keys';
export const KEYS_FILE = 'keys.json';
/** The key-encryption key's public key (PEM SubjectPublicKeyInfo), published for servers that encrypt key packages. */
export const KEK_PUBLIC_KEY_FILE = 'kek.pub.pem';

/** Firmware work directory (RFC 4108 packages over RFC 8295 §6). */
export const FIRMWARE_DIR = 'firmware';
/** Installed / pending-reboot package and the stale list (anti-downgrade, RFC 4108 §1.2.3.2). */
export const FIRMWARE_STATE_FILE = 'firmware-state.json';
/** The current or last download's progress (bytes, rate, ETA). */
export const DOWNLOAD_PROGRESS_FILE = 'download-progress.json';
/** Single-instance lock of the firmware manager (holds the owner's pid; plain text). */
export const FIRMWARE_LOCK_FILE = 'lock';
/** The package being downloaded (DER) with `<name>.part` and `<name>.part.json` while a download resumes. */
export const FIRMWARE_PACKAGE_FILE = 'package.der';
/** Decrypted content and extracted image while a package is verified (binary, removed after apply). */
export const FIRMWARE_CONTENT_FILE = 'content.bin';
export const FIRMWARE_IMAGE_FILE = 'image.bin';
/** Receipts and error reports waiting for /fwreturn: `<id>.der` + `<id>.json` (RFC 4108 §3). */
export const FIRMWARE_OUTBOX_DIR = 'outbox';

/** Suffix of the previous good copy of a DocumentStore file. */
export const PREV_SUFFIX = '.prev';

/** Suffixes of a download in progress: `<file>.part` (the bytes so far) and `<file>.part.json` (URL, validator). */
export const PART_SUFFIX = '.part';
export const PART_META_SUFFIX = '.json';

/** The resume files of a download to `dest` (`<dest>.part`, `<dest>.part.json`). */
export function partFiles(dest: string): { part: string; meta: string } {
  const part = dest + PART_SUFFIX;
  return { part, meta: part + PART_META_SUFFIX };
}

/** Suffixes of the two files of one firmware outbox item: the DER report and its metadata. */
export const OUTBOX_DER_SUFFIX = '.der';
export const OUTBOX_META_SUFFIX = '.json';

/** The two files of one firmware outbox item: the DER report and its metadata (`<id>.der`, `<id>.json`). */
export function outboxItemFiles(outboxDir: string, id: string): { der: string; meta: string } {
  return { der: path.join(outboxDir, id + OUTBOX_DER_SUFFIX), meta: path.join(outboxDir, id + OUTBOX_META_SUFFIX) };
}

/** Absolute paths of the firmware manager's files under its work directory (0700). */
export function firmwareLayout(workDir: string) {
  const dir = path.resolve(workDir);
  const at = (name: string): string => path.join(dir, name);
  const pkg = at(FIRMWARE_PACKAGE_FILE);
  const part = partFiles(pkg);
  return {
    dir,
    /** firmware-state.json when no separate state directory is configured. */
    state: at(FIRMWARE_STATE_FILE),
    downloadProgress: at(DOWNLOAD_PROGRESS_FILE),
    lock: at(FIRMWARE_LOCK_FILE),
    package: pkg,
    packagePart: part.part,
    packagePartMeta: part.meta,
    content: at(FIRMWARE_CONTENT_FILE),
    image: at(FIRMWARE_IMAGE_FILE),
    outbox: at(FIRMWARE_OUTBOX_DIR),
  };
}

export type FirmwareLayout = ReturnType<typeof firmwareLayout>;

/** Absolute paths of every state file under one state directory. */
export function stateLayout(stateDir: string) {
  const dir = path.resolve(stateDir);
  const at = (...p: string[]): string => path.join(dir, ...p);
  const fw = firmwareLayout(at(FIRMWARE_DIR));
  return {
    dir,
    state: at(STATE_FILE),
    trustAnchors: at(TRUST_ANCHORS_FILE),
    crls: at(CRLS_FILE),
    peerCertificates: at(PEER_CERTIFICATES_FILE),
    tamp: at(TAMP_FILE),
    palProbe: at(PAL_PROBE_FILE),
    palLastPoll: at(PAL_LAST_POLL_FILE),
    featureStatus: at(FEATURE_STATUS_FILE),
    nextRun: at(NEXT_RUN_FILE),
    bdseq: at(BDSEQ_FILE),
    cmpPending: at(CMP_PENDING_FILE),
    cmpRootUpdate: at(CMP_ROOT_UPDATE_FILE),
    cmcPending: at(CMC_PENDING_FILE),
    cmcDecryptionKey: at(CMC_DECRYPTION_KEY_FILE),
    acmePending: at(ACME_PENDING_FILE),
    acmeAccount: at(ACME_ACCOUNT_FILE),
    keysDir: at(KEYS_DIR),
    keys: at(KEYS_DIR, KEYS_FILE),
    kekPublicKey: at(KEYS_DIR, KEK_PUBLIC_KEY_FILE),
    firmwareDir: fw.dir,
    firmwareState: fw.state,
    downloadProgress: fw.downloadProgress,
    firmwareLock: fw.lock,
    firmwarePackage: fw.package,
    firmwareOutbox: fw.outbox,
    /** Every firmware work file (package, .part, content, image, outbox, lock). */
    firmware: fw,
  };
}

export type StateLayout = ReturnType<typeof stateLayout>;

/** The bdSeq file: `stateDirOrFile` is the state directory, or already the file itself (a path ending in BDSEQ_FILE). */
export function bdseqPath(stateDirOrFile: string): string {
  return path.basename(stateDirOrFile) === BDSEQ_FILE ? stateDirOrFile : stateLayout(stateDirOrFile).bdseq;
}

// ---- the configuration directory ----------------------------------------------------------------------------------

/** Where the packaged agent finds its configuration (the Debian conffile). */
export const DEFAULT_CONFIG_DIR = '/etc/enrolld';

/** The files `enrolld provision` writes into the configuration directory (0700; files 0600), config.json last. */
export const CONFIG_DIR_FILES = {
  config: 'config.json',
  estTa: 'est-ta.pem',
  estPassword: 'est-password',
  ekCert: 'ek-cert.pem',
  ak: 'ak.json',
  akRequest: 'ak-request.json',
  akChain: 'ak-chain.pem',
  idevid: 'idevid.json',
  idevidCsr: 'idevid-csr.pem',
  idevidCert: 'idevid-cert.pem',
} as const;

/** What `enrolld demo` adds: manufacturing's output (AK, IDevID, as provision names them) under factory/, the firmware TA, the CMP shared secret. */
export const DEMO_FILES = {
  factoryDir: 'factory',
  firmwareTa: 'firmware-ta.pem',
  cmpSecret: 'cmp-secret',
} as const;

/** The packaged agent's configuration file. */
export const DEFAULT_CONFIG_PATH = path.join(DEFAULT_CONFIG_DIR, CONFIG_DIR_FILES.config);

/** Absolute paths of the configuration directory's files. */
export function configLayout(configDir: string): { dir: string } & { [K in keyof typeof CONFIG_DIR_FILES]: string } {
  const dir = path.resolve(configDir);
  const out = { dir } as { dir: string } & Record<keyof typeof CONFIG_DIR_FILES, string>;
  for (const [k, name] of Object.entries(CONFIG_DIR_FILES)) out[k as keyof typeof CONFIG_DIR_FILES] = path.join(dir, name);
  return out;
}
