// enrolld configuration: /etc/enrolld/config.json, written once at manufacture. Validated at start; every error
// names the offending field so an operator can fix the file without reading code.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { EnrolldError } from './util/errors.js';
import { KEY_ALGORITHMS, type KeyAlgorithm } from './pki/signer.js';
import { FRESHNESS_OID_PLACEHOLDERS, OID_TCG_ATTEST_TPM_QUOTE_PLACEHOLDER, PCR_BANKS, type FreshnessOids, type PcrBank } from './attest/constants.js';

export const DEFAULT_CONFIG_PATH = '/etc/enrolld/config.json';

export type Protocol = 'est' | 'cmp' | 'cmc' | 'acme';

export interface EstConfig {
  /** Base URL of the EST server, e.g. https://est.example.com:8443 (the /.well-known/est prefix is added). */
  url: string;
  /** Optional label segment (RFC 7030 §3.2.2). */
  label?: string;
  /** PEM file with the explicit trust anchors for the EST server (RFC 7030 §4.1.1); the system store is never used. */
  trustAnchorsFile: string;
  /** HTTP Basic credentials for the initial enrollment; the password is read from a 0600 file, never from config. */
  basicAuth?: { username: string; passwordFile: string };
  maxResponseBytes: number;
  timeoutMs: number;
  /**
   * Does the server offer the RFC 8295 PAL? true: yes; false: no — the agent runs the plain RFC 7030 lifecycle itself
   * (/cacerts refresh, §4.1.3 root key update); "auto" (default): GET /pal, and a 404/501 answer means no PAL
   * (remembered in the state directory, probed again once a day).
   */
  pal: boolean | 'auto';
  /** Ask /csrattrs (RFC 7030 §4.5, RFC 9908) before every (re)enrollment and follow it (default true). */
  csrattrs: boolean;
  /** Without a PAL: refresh /cacerts this often, and this long before a held CA certificate expires (default 24). */
  cacertsRefreshHours: number;
}

/** Lightweight CMP (RFC 9483) enrollment, when protocol is "cmp". */
export interface CmpSettings {
  /** CMP endpoint (https; http only to a loopback address with allowLoopbackHttp, for a local mock). */
  url: string;
  /** PEM: trust anchors for signature-protected CMP responses (and TLS unless tlsTrustAnchorsFile is given). */
  trustAnchorsFile: string;
  tlsTrustAnchorsFile?: string;
  /** Shared-secret (MAC) protection for the initial request: reference (senderKID) and a 0600 secret file. */
  mac?: { reference: string; secretFile: string };
  /** "crmf" (ir/kur, default) or "p10cr" (the PKCS#10 as built, carrying the attestation attribute). */
  request: 'crmf' | 'p10cr';
  implicitConfirm: boolean;
  allowLoopbackHttp: boolean;
}

/** CMC (RFC 5272) over EST /fullcmc, when protocol is "cmc" (the EST url, TA and auth are shared). */
export interface CmcSettings {
  /** PEM: who may sign PKIResponses (default: est.trustAnchorsFile). */
  responseTrustAnchorsFile?: string;
}

/** ACME (RFC 8555) enrollment, when protocol is "acme" (the PAL still comes from the EST server). */
export interface AcmeSettings {
  /** The ACME directory URL (https). */
  directoryUrl: string;
  /** PEM: explicit trust anchors for the ACME server's TLS certificate. */
  trustAnchorsFile: string;
  /** mailto: contacts for the account. */
  contact: string[];
  /** Challenge types in order of preference for identifier authorizations; remote-attest-01 needs attestation.enabled. */
  challengePreference: string[];
  /** Hints offered as "remote-attestation" identifiers in newOrder (draft-ietf-acme-rats-01: "", "hsm", …); needs attestation.enabled. */
  remoteAttestation: string[];
  /** Give up polling an order after this long and retry later (seconds). */
  maxPollSeconds: number;
  /** PEM: roots the ACME CA's certificates chain to, when not the EST CA's (issued certificates are validated). */
  issuerTrustAnchorsFile?: string;
}

/** Key packages via the PAL (0020–0025): symmetric keys sealed in the TPM, server-generated keys imported into it. */
export interface KeyPackageSettings {
  /** PEM: the TAs authorized to sign symmetric key packages (seeded into the TA store, use "key-packages"). */
  trustAnchorsFile: string;
  maxPackageBytes: number;
  /** Server-generated keys (0020, RFC 7030 §4.4). */
  serverKeygen: {
    /** Key type asked for in the /serverkeygen CSR (its SubjectPublicKeyInfo); absent: the device key's type. */
    keyAlgorithm?: KeyAlgorithm;
    /**
     * Accept a key part that is a PKCS#1 RSAPrivateKey or SEC1 ECPrivateKey instead of the PKCS#8 PrivateKeyInfo
     * RFC 7030 §4.4.2 requires (Cisco libest's estserver sends PKCS#1), with a logged warning; default true.
     * false: such a key is refused with a KeyPackageError (badKeyPackage) and nothing is stored.
     */
    acceptPkcs1: boolean;
  };
}

/** TAMP (RFC 5934) trust-anchor management via the PAL (types 0028–0037); absent: TAMP entries are skipped. */
export interface TampSettings {
  /** PEM: the apex trust anchor (installed at first start; afterwards only TAMP apex updates change it). */
  apexTrustAnchorFile: string;
  /** Communities this module starts in (OIDs). */
  communities: string[];
  /** This module's hardware type OID and serial (TAMP targets); default: firmware.hardware. */
  hardware?: { type: string; serialHex: string };
}

export interface FirmwareSettings {
  /** PEM: the authorized firmware signers' trust anchors, seeded into the TA store (use "firmware") at first start. */
  trustAnchorsFile: string;
  /** The installer (A/B slot tool or script) run with the verified image; the agent never writes block devices. */
  hook: { path: string; args: string[]; timeoutSeconds: number };
  /** This module in RFC 4108 terms: hardware type OID (+ alternates), serial number (hex), communities (OIDs). */
  hardware: { type: string; altTypes: string[]; serialHex: string; communities: string[] };
  /** Cap on a package when the PAL gives no size. */
  maxPackageBytes: number;
  /** Sign load receipts and errors with the device credential (default true). */
  signReturns: boolean;
}

export interface Config {
  /** Stable device identifier: MQTT topic segment, default subject CN. */
  deviceId: string;
  stateDir: string;
  tpm: {
    /** tpm2-tss TCTI configuration, e.g. "device:/dev/tpmrm0" or "swtpm:host=127.0.0.1,port=2321". */
    tcti: string;
    /** Persistent handle of the storage root key. */
    srkHandle: number;
    /** Flush stale transient objects at start: only for TPMs reached without a resource manager. */
    flushStaleTransients: boolean;
  };
  protocol: Protocol;
  est: EstConfig;
  acme?: AcmeSettings;
  cmp?: CmpSettings;
  cmc?: CmcSettings;
  identity: {
    /** Subject DN as an RFC 4514 string, e.g. "CN=dev-0001,O=Example". */
    subject: string;
    dnsNames: string[];
    keyAlgorithm: KeyAlgorithm;
    /** Existing credential used for TLS client auth on first enrollment (an IDevID), if any. */
    bootstrapCertFile?: string;
    bootstrapKeyFile?: string;
  };
  attestation: {
    enabled: boolean;
    /** JSON key record of the attestation key written by provisioning. */
    akKeyFile?: string;
    /** PEM: AK certificate followed by its chain. */
    akCertFile?: string;
    /** PCRs quoted (TPM2_Quote statement beside the certify statement); empty: no quote. */
    pcrs: number[];
    /** PCR bank the quote covers. */
    pcrBank: PcrBank;
    /** AttestationStatement type of the quote statement (placeholder unless configured, see attest/constants.ts). */
    quoteOid: string;
    /** The draft's TBD freshness OIDs (CMP InfoTypes, CMC controls); placeholders unless configured. */
    freshnessOids: FreshnessOids;
  };
  schedule: {
    /** node-cron expression for PAL polls. */
    cron: string;
    jitterSeconds: number;
    /** Renew once this fraction of the certificate lifetime has passed; with jitterSeconds > 0, at a time drawn uniformly from [fraction/2, fraction] (fleet spread). */
    renewFraction: number;
    backoffMinSeconds: number;
    backoffMaxSeconds: number;
    /** A renewal refused with 401/403 is resent (with backoff) this many times before its new key is dropped; the current credential stays. */
    renewAuthRetries: number;
  };
  /** RFC 4108 firmware packages via the PAL (types 0026/0027); absent: firmware entries are skipped. */
  firmware?: FirmwareSettings;
  tamp?: TampSettings;
  keyPackages?: KeyPackageSettings;
  mqtt: {
    enabled: boolean;
    url?: string;
    caFile?: string;
    topicPrefix: string;
  };
  log: { level: 'debug' | 'info' | 'warn' | 'error' };
}

export class ConfigError extends EnrolldError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('config.invalid', `${field}: ${message}`);
    this.field = field;
  }
}

type Obj = Record<string, unknown>;

class Reader {
  constructor(private readonly obj: Obj, private readonly prefix: string, private readonly known: string[]) {
    for (const key of Object.keys(obj)) {
      if (!known.includes(key)) throw new ConfigError(this.at(key), `unknown field (known: ${known.join(', ')})`);
    }
  }
  at(key: string): string {
    return this.prefix ? `${this.prefix}.${key}` : key;
  }
  private raw(key: string): unknown {
    return this.obj[key];
  }
  str(key: string, def?: string): string {
    const v = this.raw(key);
    if (v === undefined && def !== undefined) return def;
    if (typeof v !== 'string' || v.length === 0) throw new ConfigError(this.at(key), 'must be a non-empty string');
    return v;
  }
  optStr(key: string): string | undefined {
    return this.raw(key) === undefined ? undefined : this.str(key);
  }
  bool(key: string, def: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (typeof v !== 'boolean') throw new ConfigError(this.at(key), 'must be true or false');
    return v;
  }
  num(key: string, def: number, min: number, max: number, integer = true): number {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
      throw new ConfigError(this.at(key), `must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`);
    }
    return v;
  }
  handle(key: string, def: number): number {
    const v = this.raw(key);
    if (v === undefined) return def;
    const n = typeof v === 'string' && /^0x[0-9a-f]{8}$/i.test(v) ? Number.parseInt(v, 16) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0x81000000 || n > 0x81ffffff) {
      throw new ConfigError(this.at(key), 'must be a persistent handle 0x81000000–0x81FFFFFF (hex string)');
    }
    return n;
  }
  oneOf<T extends string>(key: string, values: readonly T[], def: T): T {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      throw new ConfigError(this.at(key), `must be one of ${values.join(', ')}`);
    }
    return v as T;
  }
  /** true, false, or one of `values`. */
  boolOr<T extends string>(key: string, values: readonly T[], def: boolean | T): boolean | T {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (typeof v === 'boolean') return v;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      throw new ConfigError(this.at(key), `must be true, false or ${values.map((x) => JSON.stringify(x)).join(', ')}`);
    }
    return v as T;
  }
  strList(key: string, allowEmpty = false): string[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || (s.length === 0 && !allowEmpty))) {
      throw new ConfigError(this.at(key), 'must be a list of non-empty strings');
    }
    return v as string[];
  }
  numList(key: string, def: number[], min: number, max: number): number[] {
    const v = this.raw(key);
    if (v === undefined) return def;
    if (!Array.isArray(v) || v.some((n) => typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)) {
      throw new ConfigError(this.at(key), `must be a list of integers in [${min}, ${max}]`);
    }
    return v as number[];
  }
  sub(key: string, known: string[], required = false): Reader {
    const v = this.raw(key);
    if (v === undefined && !required) return new Reader({}, this.at(key), known);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(this.at(key), 'must be an object');
    return new Reader(v as Obj, this.at(key), known);
  }
  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }
}

function httpsUrl(field: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(field, 'must be an absolute URL');
  }
  if (url.protocol !== 'https:') throw new ConfigError(field, 'must use https');
  return value.replace(/\/+$/, '');
}

/** Resolves a relative file name against the config file's directory. */
function file(base: string, p: string | undefined): string | undefined {
  return p === undefined ? undefined : path.resolve(base, p);
}

const OID = /^[0-2](\.(0|[1-9][0-9]*))+$/;

function oid(field: string, v: string): string {
  if (!OID.test(v)) throw new ConfigError(field, 'must be a dotted OID');
  return v;
}

function cmpSettings(c: Reader, baseDir: string): CmpSettings {
  const allowLoopbackHttp = c.bool('allowLoopbackHttp', false);
  const raw = c.str('url');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('cmp.url', 'must be an absolute URL');
  }
  if (url.protocol !== 'https:' && !(allowLoopbackHttp && url.protocol === 'http:' && ['127.0.0.1', '[::1]'].includes(url.hostname))) {
    throw new ConfigError('cmp.url', 'must use https (http only to 127.0.0.1/::1 with allowLoopbackHttp)');
  }
  const mac = c.has('mac') ? c.sub('mac', ['reference', 'secretFile'], true) : undefined;
  return {
    url: raw,
    trustAnchorsFile: file(baseDir, c.str('trustAnchorsFile'))!,
    ...(c.has('tlsTrustAnchorsFile') ? { tlsTrustAnchorsFile: file(baseDir, c.str('tlsTrustAnchorsFile'))! } : {}),
    ...(mac ? { mac: { reference: mac.str('reference'), secretFile: file(baseDir, mac.str('secretFile'))! } } : {}),
    request: c.oneOf('request', ['crmf', 'p10cr'] as const, 'crmf'),
    implicitConfirm: c.bool('implicitConfirm', false),
    allowLoopbackHttp,
  };
}

function tampSettings(t: Reader, baseDir: string): TampSettings {
  const hw = t.has('hardware') ? t.sub('hardware', ['type', 'serialHex'], true) : undefined;
  const serialHex = hw?.str('serialHex').toLowerCase();
  if (serialHex !== undefined && !/^([0-9a-f]{2}){1,64}$/.test(serialHex)) throw new ConfigError('tamp.hardware.serialHex', 'must be 1–64 bytes of hex');
  return {
    apexTrustAnchorFile: file(baseDir, t.str('apexTrustAnchorFile'))!,
    communities: t.strList('communities').map((c) => oid('tamp.communities', c)),
    ...(hw ? { hardware: { type: oid('tamp.hardware.type', hw.str('type')), serialHex: serialHex! } } : {}),
  };
}

function firmwareSettings(fw: Reader, baseDir: string): FirmwareSettings {
  const hook = fw.sub('hook', ['path', 'args', 'timeoutSeconds'], true);
  const hw = fw.sub('hardware', ['type', 'altTypes', 'serialHex', 'communities'], true);
  const hookPath = hook.str('path');
  if (!path.isAbsolute(hookPath)) throw new ConfigError('firmware.hook.path', 'must be an absolute path');
  const serialHex = hw.str('serialHex').toLowerCase();
  if (!/^([0-9a-f]{2}){1,64}$/.test(serialHex)) throw new ConfigError('firmware.hardware.serialHex', 'must be 1–64 bytes of hex');
  return {
    trustAnchorsFile: file(baseDir, fw.str('trustAnchorsFile'))!,
    hook: { path: hookPath, args: hook.strList('args'), timeoutSeconds: hook.num('timeoutSeconds', 600, 1, 86_400) },
    hardware: {
      type: oid('firmware.hardware.type', hw.str('type')),
      altTypes: hw.strList('altTypes').map((t) => oid('firmware.hardware.altTypes', t)),
      serialHex,
      communities: hw.strList('communities').map((t) => oid('firmware.hardware.communities', t)),
    },
    maxPackageBytes: fw.num('maxPackageBytes', 1024 ** 3, 1024, 16 * 1024 ** 3),
    signReturns: fw.bool('signReturns', true),
  };
}

/** Validates a parsed config document; `baseDir` resolves relative file names. */
export function parseConfig(doc: unknown, baseDir = '/etc/enrolld'): Config {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigError('(root)', 'must be a JSON object');
  const r = new Reader(doc as Obj, '', ['deviceId', 'stateDir', 'tpm', 'protocol', 'est', 'acme', 'cmp', 'cmc', 'identity', 'attestation', 'schedule', 'firmware', 'tamp', 'keyPackages', 'mqtt', 'log']);
  const deviceId = r.str('deviceId');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(deviceId)) throw new ConfigError('deviceId', 'must be 1–64 of [A-Za-z0-9._-] (it is an MQTT topic segment)');

  const tpm = r.sub('tpm', ['tcti', 'srkHandle', 'flushStaleTransients']);
  const est = r.sub('est', ['url', 'label', 'trustAnchorsFile', 'basicAuth', 'maxResponseBytes', 'timeoutMs', 'pal', 'csrattrs', 'cacertsRefreshHours'], true);
  const basic = est.has('basicAuth') ? est.sub('basicAuth', ['username', 'passwordFile']) : undefined;
  const id = r.sub('identity', ['subject', 'dnsNames', 'keyAlgorithm', 'bootstrapCertFile', 'bootstrapKeyFile']);
  const att = r.sub('attestation', ['enabled', 'akKeyFile', 'akCertFile', 'pcrs', 'pcrBank', 'quoteOid', 'freshnessOids']);
  const quoteOid = att.str('quoteOid', OID_TCG_ATTEST_TPM_QUOTE_PLACEHOLDER);
  if (!/^[0-2](\.(0|[1-9]\d*))+$/.test(quoteOid)) throw new ConfigError(att.at('quoteOid'), `not a dotted-decimal OID: ${quoteOid}`);
  const fo = att.sub('freshnessOids', Object.keys(FRESHNESS_OID_PLACEHOLDERS));
  const freshnessOids = Object.fromEntries(
    (Object.keys(FRESHNESS_OID_PLACEHOLDERS) as Array<keyof FreshnessOids>).map((k) => {
      const v = fo.str(k, FRESHNESS_OID_PLACEHOLDERS[k]);
      if (!/^[0-2](\.(0|[1-9]\d*))+$/.test(v)) throw new ConfigError(fo.at(k), `not a dotted-decimal OID: ${v}`);
      return [k, v];
    }),
  ) as unknown as FreshnessOids;
  const sch = r.sub('schedule', ['cron', 'jitterSeconds', 'renewFraction', 'backoffMinSeconds', 'backoffMaxSeconds', 'renewAuthRetries']);
  const acme = r.has('acme') ? r.sub('acme', ['directoryUrl', 'trustAnchorsFile', 'contact', 'challengePreference', 'remoteAttestation', 'maxPollSeconds', 'issuerTrustAnchorsFile'], true) : undefined;
  const cmp = r.has('cmp') ? r.sub('cmp', ['url', 'trustAnchorsFile', 'tlsTrustAnchorsFile', 'mac', 'request', 'implicitConfirm', 'allowLoopbackHttp'], true) : undefined;
  const cmc = r.has('cmc') ? r.sub('cmc', ['responseTrustAnchorsFile']) : undefined;
  const fw = r.has('firmware') ? r.sub('firmware', ['trustAnchorsFile', 'hook', 'hardware', 'maxPackageBytes', 'signReturns'], true) : undefined;
  const tamp = r.has('tamp') ? r.sub('tamp', ['apexTrustAnchorFile', 'communities', 'hardware'], true) : undefined;
  const kp = r.has('keyPackages') ? r.sub('keyPackages', ['trustAnchorsFile', 'maxPackageBytes', 'serverKeygen'], true) : undefined;
  const skg = kp?.sub('serverKeygen', ['keyAlgorithm', 'acceptPkcs1']);
  const mq = r.sub('mqtt', ['enabled', 'url', 'caFile', 'topicPrefix']);
  const log = r.sub('log', ['level']);

  const label = est.optStr('label');
  if (label !== undefined && !/^[A-Za-z0-9_.~-]{1,64}$/.test(label)) throw new ConfigError('est.label', 'must be a single URL path segment');

  const config: Config = {
    deviceId,
    stateDir: path.resolve(baseDir, r.str('stateDir', '/var/lib/enrolld')),
    tpm: {
      tcti: tpm.str('tcti', 'device:/dev/tpmrm0'),
      srkHandle: tpm.handle('srkHandle', 0x81000001),
      flushStaleTransients: tpm.bool('flushStaleTransients', false),
    },
    protocol: r.oneOf('protocol', ['est', 'cmp', 'cmc', 'acme'] as const, 'est'),
    est: {
      url: httpsUrl('est.url', est.str('url')),
      ...(label !== undefined ? { label } : {}),
      trustAnchorsFile: file(baseDir, est.str('trustAnchorsFile'))!,
      ...(basic ? { basicAuth: { username: basic.str('username'), passwordFile: file(baseDir, basic.str('passwordFile'))! } } : {}),
      maxResponseBytes: est.num('maxResponseBytes', 1 << 20, 1024, 64 << 20),
      timeoutMs: est.num('timeoutMs', 30_000, 100, 600_000),
      pal: est.boolOr('pal', ['auto'] as const, 'auto'),
      csrattrs: est.bool('csrattrs', true),
      cacertsRefreshHours: est.num('cacertsRefreshHours', 24, 1, 24 * 90),
    },
    ...(acme
      ? {
          acme: {
            directoryUrl: httpsUrl('acme.directoryUrl', acme.str('directoryUrl')),
            trustAnchorsFile: file(baseDir, acme.str('trustAnchorsFile'))!,
            contact: acme.strList('contact'),
            challengePreference: acme.has('challengePreference') ? acme.strList('challengePreference') : ['remote-attest-01', 'dns-01', 'http-01'],
            remoteAttestation: acme.strList('remoteAttestation', true),
            maxPollSeconds: acme.num('maxPollSeconds', 120, 1, 3600),
            ...(acme.has('issuerTrustAnchorsFile') ? { issuerTrustAnchorsFile: file(baseDir, acme.str('issuerTrustAnchorsFile'))! } : {}),
          },
        }
      : {}),
    ...(cmp ? { cmp: cmpSettings(cmp, baseDir) } : {}),
    ...(cmc ? { cmc: cmc.has('responseTrustAnchorsFile') ? { responseTrustAnchorsFile: file(baseDir, cmc.str('responseTrustAnchorsFile'))! } : {} } : {}),
    identity: {
      subject: id.str('subject', `CN=${deviceId}`),
      dnsNames: id.strList('dnsNames'),
      keyAlgorithm: id.oneOf('keyAlgorithm', KEY_ALGORITHMS, 'ecc-p256'),
      ...(id.has('bootstrapCertFile') ? { bootstrapCertFile: file(baseDir, id.str('bootstrapCertFile'))! } : {}),
      ...(id.has('bootstrapKeyFile') ? { bootstrapKeyFile: file(baseDir, id.str('bootstrapKeyFile'))! } : {}),
    },
    attestation: {
      enabled: att.bool('enabled', false),
      ...(att.has('akKeyFile') ? { akKeyFile: file(baseDir, att.str('akKeyFile'))! } : {}),
      ...(att.has('akCertFile') ? { akCertFile: file(baseDir, att.str('akCertFile'))! } : {}),
      pcrs: att.numList('pcrs', [0, 1, 2, 3, 4, 5, 6, 7], 0, 23),
      pcrBank: att.oneOf('pcrBank', PCR_BANKS, 'sha256'),
      quoteOid,
      freshnessOids,
    },
    schedule: {
      cron: sch.str('cron', '*/15 * * * *'),
      jitterSeconds: sch.num('jitterSeconds', 120, 0, 86_400),
      renewFraction: sch.num('renewFraction', 2 / 3, 0.05, 0.95, false),
      backoffMinSeconds: sch.num('backoffMinSeconds', 60, 1, 86_400),
      backoffMaxSeconds: sch.num('backoffMaxSeconds', 6 * 3600, 1, 7 * 86_400),
      renewAuthRetries: sch.num('renewAuthRetries', 3, 0, 100),
    },
    ...(fw ? { firmware: firmwareSettings(fw, baseDir) } : {}),
    ...(tamp ? { tamp: tampSettings(tamp, baseDir) } : {}),
    ...(kp && skg
      ? {
          keyPackages: {
            trustAnchorsFile: file(baseDir, kp.str('trustAnchorsFile'))!,
            maxPackageBytes: kp.num('maxPackageBytes', 64 * 1024, 1024, 16 * 1024 * 1024),
            serverKeygen: {
              ...(skg.has('keyAlgorithm') ? { keyAlgorithm: skg.oneOf('keyAlgorithm', ['ecc-p256', 'rsa-2048'] as const, 'ecc-p256') } : {}),
              acceptPkcs1: skg.bool('acceptPkcs1', true),
            },
          },
        }
      : {}),
    mqtt: {
      enabled: mq.bool('enabled', false),
      ...(mq.has('url') ? { url: mq.str('url') } : {}),
      ...(mq.has('caFile') ? { caFile: file(baseDir, mq.str('caFile'))! } : {}),
      topicPrefix: mq.str('topicPrefix', 'dev/v1'),
    },
    log: { level: log.oneOf('level', ['debug', 'info', 'warn', 'error'] as const, 'info') },
  };
  if (config.schedule.backoffMaxSeconds < config.schedule.backoffMinSeconds) {
    throw new ConfigError('schedule.backoffMaxSeconds', 'must be ≥ schedule.backoffMinSeconds');
  }
  if (config.attestation.enabled && (!config.attestation.akKeyFile || !config.attestation.akCertFile)) {
    throw new ConfigError('attestation', 'enabled attestation needs akKeyFile and akCertFile (written by `enrolld provision`)');
  }
  if (config.tamp && !config.tamp.hardware && !config.firmware) throw new ConfigError('tamp.hardware', 'required unless firmware.hardware names the module');
  if (config.protocol === 'cmp' && !config.cmp) throw new ConfigError('cmp', 'required when protocol is "cmp"');
  if (config.protocol === 'cmc' && !config.identity.bootstrapCertFile) throw new ConfigError('identity.bootstrapCertFile', 'CMC signs the initial request with the bootstrap (IDevID) credential: required when protocol is "cmc"');
  if (config.protocol === 'acme' && !config.acme) throw new ConfigError('acme', 'required when protocol is "acme"');
  if (config.mqtt.enabled && !config.mqtt.url) throw new ConfigError('mqtt.url', 'required when mqtt.enabled is true');
  if (config.identity.bootstrapCertFile !== undefined && config.identity.bootstrapKeyFile === undefined) {
    throw new ConfigError('identity.bootstrapKeyFile', 'required with identity.bootstrapCertFile');
  }
  return config;
}

/** Validates configuration text (JSON); a syntax error is a ConfigError naming `where`. */
export function parseConfigText(text: string, baseDir: string, where = '(config)'): Config {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(where, `not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(doc, baseDir);
}

/** Reads and validates the config file; a missing or unparsable file is a ConfigError naming the file. */
export function loadConfig(file = DEFAULT_CONFIG_PATH): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, `cannot read: ${(err as Error).message}`);
  }
  return parseConfigText(text, path.dirname(path.resolve(file)), file);
}
