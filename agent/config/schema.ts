// The configuration schema: every field of /etc/enrolld/config.json, written once. Validation, defaults, the
// TypeScript types (below), the example configs (deploy/examples/) and the field tables of docs/configuration.md and
// enrolld.json(5) all come from here (docs.ts). The document is a union discriminated by `protocol`: the section of
// the chosen protocol is required and typed as present; a section of another protocol is validated and ignored.
import path from 'node:path';
import * as v from 'valibot';
import { KEY_ALGORITHMS } from '../pki/signer.js';
import { FRESHNESS_OID_PLACEHOLDERS, OID_TCG_ATTEST_TPM_QUOTE_PLACEHOLDER, PCR_BANKS, type FreshnessOids } from '../attest/constants.js';
import { bool, boolOr, file, handle, hex, httpsUrl, int, intList, num, oid, oidList, oneOf, rule, section, str, strList, tag } from './fields.js';

export const PROTOCOLS = ['est', 'cmp', 'cmc', 'acme'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

const EST_TIMEOUT_MS = 30_000;
const LOOPBACK = ['127.0.0.1', '[::1]'];

/** The document as validated, before the fields that depend on other fields are resolved (resolve below). */
export function documentSchema(baseDir: string) {
  const f = <const O extends Parameters<typeof file>[1]>(o: O) => file(baseDir, o);

  const tpm = section(
    {
      tcti: str({ default: 'device:/dev/tpmrm0', example: 'device:/dev/tpmrm0', doc: 'tpm2-tss TCTI configuration, e.g. "swtpm:host=127.0.0.1,port=2321".' }),
      srkHandle: handle({ default: '0x81000001', example: '0x81000001', doc: 'Persistent handle of the storage root key, 0x81000000–0x81FFFFFF.' }),
      flushStaleTransients: bool({ default: false, doc: 'Flush stale transient objects at start; only for TPMs reached without a resource manager.' }),
    },
    { default: {}, doc: 'The TPM.' },
  );

  const est = section(
    {
      url: httpsUrl({ example: 'https://est.example.com:8443', doc: 'Base URL of the EST server, e.g. https://est.example.com:8443; the /.well-known/est prefix is added (RFC 7030 §3.2.2).' }),
      label: str({ optional: true, check: [(s) => /^[A-Za-z0-9_.~-]{1,64}$/.test(s), 'must be a single URL path segment'], doc: 'Optional label path segment (RFC 7030 §3.2.2).' }),
      trustAnchorsFile: f({ type: 'PEM file', example: 'est-ta.pem', doc: 'Explicit trust anchors of the EST server (RFC 7030 §4.1.1); the system store is never used.' }),
      basicAuth: section(
        {
          username: str({ example: 'dev-0001', doc: 'User name.' }),
          passwordFile: f({ example: 'est-password', doc: 'File holding the password (0600), never the config itself.' }),
        },
        { optional: true, doc: 'HTTP Basic credentials for the initial enrollment.' },
      ),
      maxResponseBytes: int(1024, 64 << 20, { default: 1 << 20, doc: 'Largest EST response accepted.' }),
      timeoutMs: int(100, 600_000, { default: EST_TIMEOUT_MS, doc: 'Timeout of one EST request (ms).' }),
      pal: boolOr(['auto'], {
        default: 'auto',
        doc: 'Does the server offer the RFC 8295 PAL? false: the agent runs the plain RFC 7030 lifecycle itself (/cacerts refresh, §4.1.3 root key update); "auto": GET /pal, and a 404/501 answer means no PAL (remembered in the state directory, probed again once a day).',
      }),
      csrattrs: bool({ default: true, doc: 'Ask /csrattrs (RFC 7030 §4.5, RFC 9908) before every (re)enrollment and follow it.' }),
      cacertsRefreshHours: int(1, 24 * 90, { default: 24, doc: 'Without a PAL: refresh /cacerts this often, and this long before a held CA certificate expires.' }),
    },
    { doc: 'The EST server (RFC 7030). Required with every protocol: the PAL always comes from it.' },
  );

  const bootstrapCertDoc = 'An existing credential (an IDevID, PEM: certificate and chain) for TLS client authentication on the first enrollment; required for protocol cmc, which signs its initial request with it.';
  const bootstrapKeyDoc = 'The JSON key record of the bootstrap credential; required with identity.bootstrapCertFile.';
  const identityFields = {
    subject: str({ defaultText: 'CN=deviceId', example: 'CN=dev-0001,O=Example Devices', doc: 'Subject of the certificate request as an RFC 4514 DN, e.g. "CN=dev-0001,O=Example".' }),
    dnsNames: strList({ default: [], doc: 'DNS subjectAltNames.' }),
    keyAlgorithm: oneOf(KEY_ALGORITHMS, { default: 'ecc-p256', example: 'ecc-p256', doc: 'Algorithm of the TPM key.' }),
  };
  const identity = section(
    { ...identityFields, bootstrapCertFile: f({ optional: true, doc: bootstrapCertDoc }), bootstrapKeyFile: f({ optional: true, doc: bootstrapKeyDoc }) },
    { default: {}, doc: 'What the device asks to be certified as.' },
    rule((i) => i.bootstrapCertFile === undefined || i.bootstrapKeyFile !== undefined, 'required with identity.bootstrapCertFile', 'bootstrapKeyFile'),
  );
  const cmcIdentity = section(
    {
      ...identityFields,
      bootstrapCertFile: f({ example: 'idevid-cert.pem', missing: 'CMC signs the initial request with the bootstrap (IDevID) credential: required when protocol is "cmc"', doc: bootstrapCertDoc }),
      bootstrapKeyFile: f({ example: 'idevid-key.json', missing: 'required with identity.bootstrapCertFile', doc: bootstrapKeyDoc }),
    },
    // Absent, it is validated as {} and so names the missing bootstrap credential.
    { default: {} as { bootstrapCertFile: string; bootstrapKeyFile: string }, doc: 'What the device asks to be certified as.' },
  );

  const notOid = (i: { input: unknown }) => `not a dotted-decimal OID: ${String(i.input)}`;
  const freshnessOids = section(
    Object.fromEntries(
      (Object.keys(FRESHNESS_OID_PLACEHOLDERS) as Array<keyof FreshnessOids>).map((k) => [
        k,
        str({ default: FRESHNESS_OID_PLACEHOLDERS[k], type: 'OID', check: [(s) => /^[0-2](\.(0|[1-9]\d*))+$/.test(s), notOid], doc: `The ${k} OID.` }),
      ]),
    ) as Record<keyof FreshnessOids, ReturnType<typeof str<{ default: string; doc: string }>>>,
    { default: {}, doc: "The draft's TBD freshness OIDs (CMP InfoTypes, CMC controls); placeholders unless configured." },
  );
  const attestation = section(
    {
      enabled: bool({ default: false, example: true, doc: 'Attach TPM evidence (CSR attestation) to certificate requests; needs the two files below, written by `enrolld provision`.' }),
      akKeyFile: f({ optional: true, example: 'ak.json', doc: 'JSON key record of the attestation key.' }),
      akCertFile: f({ optional: true, example: 'ak-chain.pem', doc: 'PEM: the AK certificate followed by its chain.' }),
      pcrs: intList(0, 23, { default: [0, 1, 2, 3, 4, 5, 6, 7], example: [0, 1, 2, 3, 7], doc: 'PCRs quoted into the evidence (a TPM2_Quote statement beside the certify statement); [] for none.' }),
      pcrBank: oneOf(PCR_BANKS, { default: 'sha256', doc: 'PCR bank the quote covers; one the TPM has not allocated fails every request (into the backoff).' }),
      quoteOid: oid({ default: OID_TCG_ATTEST_TPM_QUOTE_PLACEHOLDER, doc: 'AttestationStatement type of the quote statement; the default is a placeholder (the draft defines none).' }),
      freshnessOids,
    },
    { default: {}, doc: 'TPM attestation of the certificate requests.' },
    rule((a) => !a.enabled || (a.akKeyFile !== undefined && a.akCertFile !== undefined), 'enabled attestation needs akKeyFile and akCertFile (written by `enrolld provision`)'),
  );

  const schedule = section(
    {
      cron: str({ default: '*/15 * * * *', example: '*/15 * * * *', type: 'cron expression', doc: 'When the PAL is polled.' }),
      jitterSeconds: int(0, 86_400, { default: 120, example: 120, doc: 'Random delay added to each poll.' }),
      renewFraction: num(0.05, 0.95, {
        default: 2 / 3,
        example: 0.6667,
        doc: "Renew once this fraction of the certificate lifetime has passed. With schedule.jitterSeconds above 0 each certificate's renewal time is drawn uniformly between half this fraction and the fraction itself, so that a fleet enrolled on one day does not renew in one wave.",
      }),
      backoffMinSeconds: int(1, 86_400, { default: 60, doc: 'Lower bound of the persisted exponential backoff after failures.' }),
      backoffMaxSeconds: int(1, 7 * 86_400, { default: 6 * 3600, doc: 'Upper bound of the backoff; at least schedule.backoffMinSeconds.' }),
      renewAuthRetries: int(0, 100, { default: 3, doc: 'A renewal refused with 401/403 is resent (with backoff) this many times before its new key is dropped; the current credential stays.' }),
    },
    { default: {}, doc: 'When the agent polls, renews and retries.' },
    rule((s) => s.backoffMaxSeconds >= s.backoffMinSeconds, 'must be ≥ schedule.backoffMinSeconds', 'backoffMaxSeconds'),
  );

  const hardware = section(
    {
      type: oid({ example: '1.3.6.1.4.1.32473.8.1', doc: 'Hardware type OID.' }),
      altTypes: oidList({ default: [], doc: 'Alternate hardware type OIDs.' }),
      serialHex: hex({ example: '00c0ffee', doc: 'Serial number.' }),
      communities: oidList({ default: [], doc: 'Communities (OIDs).' }),
    },
    { doc: 'This module in RFC 4108 terms.' },
  );
  const firmware = section(
    {
      trustAnchorsFile: f({ type: 'PEM file', example: 'firmware-ta.pem', doc: 'Trust anchors of the authorized firmware signers, seeded into the TA store (use "firmware") at first start.' }),
      hook: section(
        {
          path: str({ type: 'absolute path', example: '/usr/lib/enrolld/install-firmware', check: [(p) => path.isAbsolute(p), 'must be an absolute path'], doc: 'The program.' }),
          args: strList({ default: [], example: [], doc: 'Its arguments before the image.' }),
          timeoutSeconds: int(1, 86_400, { default: 600, example: 900, doc: 'How long it may run.' }),
        },
        { doc: 'The installer (A/B slot tool or script) run with the verified image; the agent never writes block devices.' },
      ),
      hardware,
      maxPackageBytes: int(1024, 16 * 1024 ** 3, { default: 1024 ** 3, doc: 'Cap on a package when the PAL gives no size.' }),
      signReturns: bool({ default: true, doc: 'Sign load receipts and errors with the device credential.' }),
    },
    { optional: true, doc: 'RFC 4108 firmware packages from the PAL (types 0026/0027); absent: firmware entries are skipped.' },
  );

  const tamp = section(
    {
      apexTrustAnchorFile: f({ type: 'PEM file', example: 'tamp-apex.pem', doc: 'The apex trust anchor, installed at first start; afterwards only TAMP apex updates change it.' }),
      communities: oidList({ default: [], example: [], doc: 'Communities this module starts in.' }),
      hardware: section(
        {
          type: oid({ example: '1.3.6.1.4.1.32473.8.1', doc: 'Hardware type OID.' }),
          serialHex: hex({ example: '00c0ffee', doc: 'Serial number.' }),
        },
        {
          defaultText: 'firmware.hardware',
          doc: 'This module as a TAMP target. Absent: the type and serial of firmware.hardware, with a warning at start (required when there is no firmware section).',
        },
      ),
    },
    { optional: true, doc: 'RFC 5934 trust-anchor management from the PAL (types 0028–0037); absent: TAMP entries are skipped.' },
  );

  const keyPackages = section(
    {
      trustAnchorsFile: f({ type: 'PEM file', example: 'key-packages-ta.pem', doc: 'The TAs authorized to sign symmetric key packages (seeded into the TA store, use "key-packages").' }),
      maxPackageBytes: int(1024, 16 * 1024 * 1024, { default: 64 * 1024, doc: 'Largest key package accepted.' }),
      serverKeygen: section(
        {
          keyAlgorithm: oneOf(['ecc-p256', 'rsa-2048'], { optional: true, doc: "Key type asked for in the /serverkeygen CSR; absent: the device key's type." }),
          acceptPkcs1: bool({
            default: true,
            doc: 'Accept a key part that is a PKCS#1 RSAPrivateKey or SEC1 ECPrivateKey instead of the PKCS#8 PrivateKeyInfo RFC 7030 §4.4.2 requires (Cisco libest sends PKCS#1), with a logged warning; false: such a key is refused (badKeyPackage) and nothing is stored.',
          }),
          pkcs12PasswordFile: f({ optional: true, type: 'file', example: 'pkcs12.pass', doc: 'Password of 0022 PKCS #12 key parts (RFC 7292): a file of mode 0600 owned by enrolld (one trailing newline ignored).' }),
          pkcs12PasswordSealedKeyId: str({ optional: true, doc: 'Instead of the file: the keyId of a symmetric key sealed in the TPM (delivered by 0024) used as the PKCS #12 password.' }),
        },
        { default: {}, doc: 'Server-generated keys (0020–0022, RFC 7030 §4.4, RFC 8295 §5).' },
      ),
      kek: section(
        {
          enabled: bool({ default: true, doc: 'Create an RSA-2048 key-encryption key in the TPM at first start, so encrypted key packages (EnvelopedData, RFC 6032 EncryptedKeyPackage; ktri by subjectKeyIdentifier, RSAES-OAEP SHA-256) can be opened.' }),
          publicKeyFile: f({ optional: true, type: 'PEM file', example: 'kek.pub.pem', doc: 'Where its public key (SubjectPublicKeyInfo PEM) is written for the server; absent: <stateDir>/keys/kek.pub.pem.' }),
        },
        { default: {}, doc: 'The TPM-held key-encryption key of encrypted key packages.' },
      ),
    },
    { optional: true, doc: 'Key packages from the PAL (0020–0025): symmetric keys sealed in the TPM, server-generated keys imported into it.' },
  );

  const mqtt = section(
    {
      enabled: bool({ default: false, example: true, doc: 'Publish state and status to MQTT; needs mqtt.url.' }),
      url: str({ optional: true, type: 'mqtt:// or mqtts:// URL', example: 'mqtts://broker.example.com:8883', doc: 'The broker.' }),
      caFile: f({ optional: true, type: 'PEM file', example: 'mqtt-ta.pem', doc: 'Trust anchors of an mqtts broker (required for mqtts://: the broker is trusted only through them, never through the system store).' }),
      topicPrefix: str({ default: 'dev/v1', doc: 'Topics are prefix/deviceId/{state,status,event}.' }),
    },
    { default: {}, doc: 'Device status over MQTT.' },
    rule((m) => !m.enabled || m.url !== undefined, 'required when mqtt.enabled is true', 'url'),
    rule((m) => !m.enabled || !m.url?.toLowerCase().startsWith('mqtts:') || m.caFile !== undefined, 'required for an mqtts:// broker (TLS trusts only configured anchors)', 'caFile'),
  );

  const log = section({ level: oneOf(['debug', 'info', 'warn', 'error'], { default: 'info', example: 'info', doc: 'Lowest level logged.' }) }, { default: {}, doc: 'Logging.' });

  const cmp = section(
    {
      url: str({
        type: 'URL',
        example: 'https://ca.example.com/.well-known/cmp',
        doc: 'CMP endpoint; https (RFC 9811), coap (RFC 9482, e.g. coap://ca.example.com/.well-known/cmp, port 5683 by default; UDP without DTLS: CMP message protection only, see cmp.coap), or http to 127.0.0.1/::1 only with cmp.allowLoopbackHttp.',
      }),
      trustAnchorsFile: f({ type: 'PEM file', example: 'cmp-ta.pem', doc: 'Trust anchors of signature-protected responses (and of TLS unless cmp.tlsTrustAnchorsFile is given).' }),
      tlsTrustAnchorsFile: f({ optional: true, type: 'PEM file', doc: 'Trust anchors of the TLS server.' }),
      mac: section(
        {
          reference: str({ example: 'dev-0001', doc: 'The reference (senderKID).' }),
          secretFile: f({ example: 'cmp-secret', doc: 'File holding the shared secret (0600).' }),
        },
        { optional: true, doc: 'Shared-secret (MAC) protection of the initial request.' },
      ),
      request: oneOf(['crmf', 'p10cr'], { default: 'crmf', doc: 'ir/kur with CRMF, or the PKCS#10 as built (carrying the attestation attribute).' }),
      implicitConfirm: bool({ default: false, doc: 'Ask for implicit confirmation.' }),
      allowLoopbackHttp: bool({ default: false, doc: 'Permit http:// to a loopback address (a local test server).' }),
      certProfile: str({ optional: true, doc: 'Certificate profile named in generalInfo id-it-certProfile of ir/cr/kur/p10cr (RFC 9483 §3.1).' }),
      coap: section(
        {
          blockSize: int(16, 1024, { default: 1024, type: 'integer 16–1024, a power of two', doc: 'Block size of the block-wise transfer (RFC 7959) of requests and answers.' }),
          timeoutMs: int(100, 600_000, { default: 60_000, doc: 'Timeout of one CoAP exchange, every block and retransmission included (ms).' }),
          maxResponseBytes: int(1024, 64 << 20, { default: 1 << 20, doc: 'Largest CMP answer accepted over CoAP.' }),
        },
        {
          default: {},
          doc: 'CoAP transfer (RFC 9482) when cmp.url is coap://. There is no DTLS (coaps:// is refused): the MAC or signature protection of every CMP message is what authenticates the exchange; the messages travel unencrypted.',
        },
        rule((c) => [16, 32, 64, 128, 256, 512, 1024].includes(c.blockSize), 'must be a power of two 16–1024 (RFC 7959 §2.2)', 'blockSize'),
      ),
    },
    { missing: 'required when protocol is "cmp"', doc: 'Lightweight CMP (RFC 9483); required when protocol is cmp.' },
    rule((c) => URL.canParse(c.url), 'must be an absolute URL', 'url'),
    rule(
      (c) => {
        const u = new URL(c.url);
        return u.protocol === 'https:' || u.protocol === 'coap:' || (c.allowLoopbackHttp && u.protocol === 'http:' && LOOPBACK.includes(u.hostname));
      },
      'must use https or coap (http only to 127.0.0.1/::1 with allowLoopbackHttp)',
      'url',
    ),
  );

  const cmc = section(
    {
      responseTrustAnchorsFile: f({ optional: true, type: 'PEM file', defaultText: 'est.trustAnchorsFile', doc: 'Who may sign PKIResponses.' }),
      decryptionKey: section(
        {
          enabled: bool({ default: false, example: true, doc: 'Keep a certified decrypt-only TPM key next to the signing credential: enrolled with indirect POP (RFC 5272 §6.7, encryptedPOP/decryptedPOP) on the daemon cycle once the device has its credential, renewed at schedule.renewFraction; failures take the persisted backoff.' }),
          algorithm: oneOf(['rsa-2048', 'ecc-p256'], { default: 'rsa-2048', doc: 'rsa-2048: the CA encrypts to it (ktri, or KEMRecipientInfo RSA-KEM); ecc-p256: ECDH key agreement (kari, TPM2_ECDH_ZGen).' }),
        },
        { default: {}, doc: 'A certified decryption (key-establishment) key, CMC only.' },
      ),
    },
    { default: {}, doc: 'CMC (RFC 5272) over EST /fullcmc when protocol is cmc; the EST url, trust anchors and authentication are shared.' },
  );

  const acme = section(
    {
      directoryUrl: httpsUrl({ example: 'https://acme.example.com/directory', doc: 'The ACME directory.' }),
      trustAnchorsFile: f({ type: 'PEM file', example: 'acme-ta.pem', doc: "Trust anchors of the ACME server's TLS certificate." }),
      contact: strList({ default: [], type: 'list of mailto: URLs', example: ['mailto:devices@example.com'], doc: 'Account contacts.' }),
      challengePreference: strList({ default: ['remote-attest-01', 'dns-01', 'http-01'], doc: 'Challenge types in order of preference for identifier authorizations; remote-attest-01 needs attestation.enabled.' }),
      remoteAttestation: strList({ default: [], allowEmpty: true, doc: 'Hints offered as "remote-attestation" identifiers in newOrder (draft-ietf-acme-rats: "", "hsm", …); needs attestation.enabled.' }),
      maxPollSeconds: int(1, 3600, { default: 120, doc: 'Give up polling an order after this long and retry later.' }),
      timeoutMs: int(100, 600_000, {
        defaultText: 'est.timeoutMs',
        example: EST_TIMEOUT_MS,
        doc: 'Timeout of one ACME request (ms). Absent: est.timeoutMs, with a deprecation warning at start when that is not its default.',
      }),
      issuerTrustAnchorsFile: f({ optional: true, type: 'PEM file', doc: "Roots of the ACME CA's certificates when they are not the EST CA's (issued certificates are validated)." }),
    },
    { missing: 'required when protocol is "acme"', doc: 'ACME (RFC 8555); required when protocol is acme (the PAL still comes from the EST server).' },
  );

  const protocolDoc = <P extends Protocol>(protocol: P) => ({
    type: PROTOCOLS.join(' | '),
    example: protocol,
    doc: 'Enrollment protocol; its section (cmp, acme) is required, a section of another protocol is ignored with a warning. The PAL always comes from the EST server.',
  });
  // One option per protocol; the order of the fields is the one "unknown field" lists. A section of another
  // protocol is validated but left undocumented (and dropped by resolve).
  const option = <P extends Protocol, I extends v.GenericSchema, A extends v.GenericSchema, Cp extends v.GenericSchema, Cc extends v.GenericSchema>(protocol: P, ident: I, sections: { acme: A; cmp: Cp; cmc: Cc }) =>
    section(
      {
        deviceId: str({
          example: 'dev-0001',
          check: [(s) => /^[A-Za-z0-9._-]{1,64}$/.test(s), 'must be 1–64 of [A-Za-z0-9._-] (it is an MQTT topic segment)'],
          doc: 'Stable device identifier, 1–64 of [A-Za-z0-9._-]: the MQTT topic segment and the default subject CN.',
        }),
        stateDir: f({ default: '/var/lib/enrolld', example: '/var/lib/enrolld', type: 'path', doc: 'Where the lifecycle state, the credential and the TA and CRL stores live.' }),
        tpm,
        protocol: protocol === 'est' ? tag(protocol, { default: protocol, ...protocolDoc(protocol) }) : tag(protocol, protocolDoc(protocol)),
        est,
        acme: sections.acme,
        cmp: sections.cmp,
        cmc: sections.cmc,
        identity: ident,
        attestation,
        schedule,
        firmware,
        tamp,
        keyPackages,
        mqtt,
        log,
      },
      { doc: '' },
    );
  return v.variant(
    'protocol',
    [
      option('est', identity, { acme: v.optional(acme), cmp: v.optional(cmp), cmc: v.optional(cmc) }),
      option('cmp', identity, { acme: v.optional(acme), cmp, cmc: v.optional(cmc) }),
      option('cmc', cmcIdentity, { acme: v.optional(acme), cmp: v.optional(cmp), cmc }),
      option('acme', identity, { acme, cmp: v.optional(cmp), cmc: v.optional(cmc) }),
    ],
    `must be one of ${PROTOCOLS.join(', ')}`,
  );
}

type Document = v.InferOutput<ReturnType<typeof documentSchema>>;
type Option<P extends Protocol> = Extract<Document, { protocol: P }>;

export type EstConfig = Document['est'];
export type CmpSettings = NonNullable<Option<'cmp'>['cmp']>;
export type CmcSettings = NonNullable<Option<'cmc'>['cmc']>;
export type AcmeSettings = Omit<NonNullable<Option<'acme'>['acme']>, 'timeoutMs'> & { timeoutMs: number };
export type FirmwareSettings = NonNullable<Document['firmware']>;
type TampDocument = NonNullable<Document['tamp']>;
export type TampSettings = Omit<TampDocument, 'hardware'> & { hardware: NonNullable<TampDocument['hardware']> };
export type KeyPackageSettings = NonNullable<Document['keyPackages']>;

/** Something in the file that still works but should change (a deprecated shape, an implicit fallback). */
export interface ConfigWarning {
  field: string;
  message: string;
}

/** The fields every protocol shares, resolved. */
type Resolved<D extends Document> = Omit<D, 'cmp' | 'cmc' | 'acme' | 'identity' | 'tamp'> & {
  identity: Omit<D['identity'], 'subject'> & { subject: string };
  tamp?: TampSettings;
  /** Logged once at start (config.warning). */
  warnings: readonly ConfigWarning[];
};
/** The sections of the other protocols are never there (so `config.cmp?.url` reads on any Config). */
type Absent<K extends string> = { [S in Exclude<'acme' | 'cmp' | 'cmc', K>]?: never };
/** The validated configuration: one shape per protocol, the section of the chosen protocol present. */
export type Config =
  | (Resolved<Option<'est'>> & Absent<never>)
  | (Resolved<Option<'cmp'>> & Absent<'cmp'> & { cmp: CmpSettings })
  | (Resolved<Option<'cmc'>> & Absent<'cmc'> & { cmc: CmcSettings })
  | (Resolved<Option<'acme'>> & Absent<'acme'> & { acme: AcmeSettings });

const item = (input: Record<string, unknown>, key: string): v.IssuePathItem => ({ type: 'object', origin: 'value', input, key, value: input[key] });

/**
 * The fields that depend on others: the default subject (CN=deviceId), TAMP's hardware (firmware.hardware when not
 * given, logged), ACME's timeout (est.timeoutMs when not given, deprecated); sections of other protocols are dropped.
 */
function resolve({ dataset, addIssue, NEVER }: v.RawTransformContext<Document>): Config {
  const d = dataset.value;
  const warnings: ConfigWarning[] = [];
  const { acme, cmp, cmc, tamp, identity, ...rest } = d;
  for (const [name, s] of Object.entries({ acme, cmp, cmc })) {
    if (s !== undefined && name !== d.protocol) warnings.push({ field: name, message: `ignored: protocol is "${d.protocol}"` });
  }
  let resolvedTamp: TampSettings | undefined;
  if (tamp) {
    const hw = tamp.hardware ?? (d.firmware ? { type: d.firmware.hardware.type, serialHex: d.firmware.hardware.serialHex } : undefined);
    if (!hw) {
      addIssue({ message: 'required unless firmware.hardware names the module', path: [item(d, 'tamp'), item(tamp, 'hardware')] });
      return NEVER;
    }
    if (!tamp.hardware) warnings.push({ field: 'tamp.hardware', message: `not set: the TAMP target is firmware.hardware (type ${hw.type}, serial ${hw.serialHex})` });
    resolvedTamp = { ...tamp, hardware: hw };
  }
  const common = {
    ...rest,
    identity: { ...identity, subject: identity.subject ?? `CN=${d.deviceId}` },
    ...(resolvedTamp ? { tamp: resolvedTamp } : {}),
    warnings,
  };
  switch (d.protocol) {
    case 'cmp':
      return { ...common, protocol: d.protocol, cmp: cmp! };
    case 'cmc':
      return { ...common, protocol: d.protocol, cmc: cmc! } as Config; // identity was narrowed with d, not with common
    case 'acme': {
      const a = acme!;
      if (a.timeoutMs === undefined && d.est.timeoutMs !== EST_TIMEOUT_MS) {
        warnings.push({ field: 'acme.timeoutMs', message: `not set: est.timeoutMs (${d.est.timeoutMs} ms) is used for ACME requests too; that is deprecated, set acme.timeoutMs` });
      }
      return { ...common, protocol: d.protocol, acme: { ...a, timeoutMs: a.timeoutMs ?? d.est.timeoutMs } };
    }
    default:
      return { ...common, protocol: d.protocol } as Config;
  }
}

const build = (baseDir: string) => v.pipe(documentSchema(baseDir), v.rawTransform(resolve));
// Building the schema costs more than one validation; a process reads one or two directories' configs.
const built = new Map<string, ReturnType<typeof build>>();

/** The whole schema: validation, conversion, defaults and resolution; `baseDir` resolves relative file names. */
export function configSchema(baseDir: string): ReturnType<typeof build> {
  let s = built.get(baseDir);
  if (!s) {
    if (built.size >= 16) built.clear();
    built.set(baseDir, (s = build(baseDir)));
  }
  return s;
}
