// `enrolld help [command]` and `--help`: the one description of every command and option. The man page enrolld(8)
// and the bash completion are generated from these tables, so the text here is what users read everywhere.
// `enrolld help config` lists the configuration fields from the schema (agent/config/schema.ts via config/docs.ts),
// the same rows as enrolld.json(5), so a new field shows up here without an edit.
import { DEFAULT_CONFIG_PATH } from '../config.js';
import { fieldRows, summary } from '../config/docs.js';

export interface OptionHelp {
  /** Long flag including dashes, e.g. `--config`. */
  flag: string;
  short?: string;
  /** Placeholder of the value (absent for boolean flags). */
  arg?: string;
  /** Allowed values where the set is closed (completion offers them). */
  values?: readonly string[];
  text: string;
}

export interface CommandHelp {
  name: string;
  /** Arguments after the command name, e.g. `--now`. */
  synopsis: string;
  /** One line for the command list. */
  summary: string;
  /** Paragraphs shown by `enrolld help <command>`. */
  description: string[];
  options: OptionHelp[];
  /** Exit status meanings, one line each. */
  exit: string[];
}

const CONFIG: OptionHelp = { flag: '--config', arg: 'FILE', text: `configuration file (default ${DEFAULT_CONFIG_PATH})` };
const HELP: OptionHelp = { flag: '--help', short: '-h', text: 'show this help and exit' };
const JSON_OUT: OptionHelp = { flag: '--json', text: 'print JSON instead of text' };
const EXIT_COMMON = ['0  success', '1  error (the message names its code)', '2  usage or configuration error'];

export const GLOBAL_OPTIONS: OptionHelp[] = [CONFIG, HELP];

export const COMMANDS: CommandHelp[] = [
  {
    name: 'run',
    synopsis: '[--config FILE] [--metrics-file PATH]',
    summary: 'run the agent (systemd service; Type=notify)',
    description: [
      'Runs the enrollment lifecycle until SIGTERM/SIGINT: enroll, renew before expiry, poll the Package Availability List, apply firmware, trust-anchor and key packages, report status over MQTT.',
      'Under systemd it sends READY=1 and STATUS= with the lifecycle phase, pings the watchdog at half of WatchdogSec, and logs structured entries to the journal.',
    ],
    options: [
      CONFIG,
      { flag: '--metrics-file', arg: 'PATH', text: 'write a Prometheus node_exporter textfile (certificate expiry, last successful poll, failures by kind), replaced atomically after every iteration' },
      HELP,
    ],
    exit: ['0  stopped by a signal', '1  fatal error', '2  usage or configuration error'],
  },
  {
    name: 'once',
    synopsis: '[--config FILE]',
    summary: 'one PAL poll and enrollment cycle, then exit',
    description: ['Runs one iteration of the daemon (enroll or renew when due, poll the PAL now), prints the resulting status and exits. Meant for cron-style deployments and debugging.'],
    options: [CONFIG, HELP],
    exit: ['0  the cycle completed', '1  the cycle failed (the agent is backing off)', '2  usage or configuration error'],
  },
  {
    name: 'status',
    synopsis: '[--config FILE] [--json]',
    summary: 'show the lifecycle state, the current certificate and the next scheduled run',
    description: ['Reads the persisted state only (no TPM, no network): lifecycle phase, certificate validity and renewal time, pending operation, last PAL poll, firmware download progress, the last error per feature and the next wake-up with its reason.'],
    options: [CONFIG, JSON_OUT, HELP],
    exit: EXIT_COMMON,
  },
  {
    name: 'provision',
    synopsis: '--device-id ID --config-dir DIR --state-dir DIR --tcti TCTI --est-url URL --est-ta FILE [options]',
    summary: 'manufacture: TPM checks, SRK, EK certificate, AK, IDevID, config',
    description: ['Prepares a device on the production line: checks the TPM, creates the SRK and the attestation key, reads the EK certificate, writes the IDevID CSR and the configuration. Running it again changes nothing that is already in place.'],
    options: [
      { flag: '--device-id', arg: 'ID', text: 'device identifier (subject CN default, MQTT topic segment)' },
      { flag: '--config-dir', arg: 'DIR', text: 'where config.json and the files it names are written (0700; files 0600)' },
      { flag: '--state-dir', arg: 'DIR', text: "the agent's state directory (created 0700)" },
      { flag: '--tcti', arg: 'TCTI', text: 'tpm2-tss TCTI, e.g. device:/dev/tpmrm0' },
      { flag: '--srk-handle', arg: 'HANDLE', text: 'persistent SRK handle (default 0x81000001)' },
      { flag: '--est-url', arg: 'URL', text: 'EST server base URL (https)' },
      { flag: '--est-ta', arg: 'FILE', text: 'PEM trust anchors of the EST server (RFC 7030 §4.1.1 explicit TA)' },
      { flag: '--est-user', arg: 'NAME', text: 'HTTP Basic user for the initial enrollment (default: the device id)' },
      { flag: '--est-password-file', arg: 'FILE', text: 'HTTP Basic password (copied into the config directory, 0600)' },
      { flag: '--subject', arg: 'DN', text: 'certificate subject (default CN=<device id>)' },
      { flag: '--ak-chain', arg: 'FILE', text: "the attestation CA's answer to ak-request.json (PEM, AK certificate first)" },
      { flag: '--enroll-idevid', text: 'enroll the IDevID CSR at the EST server now (else it is left for the factory CA)' },
      { flag: '--require-ek-cert', text: 'fail when the TPM holds no EK certificate' },
      { flag: '--owner', arg: 'USER[:GROUP]', text: 'chown the written directories and files (run as root; e.g. enrolld)' },
      { flag: '--json', text: 'print the result as JSON' },
      HELP,
    ],
    exit: ['0  done ("nothing changed" on a rerun)', '1  error', '2  usage', '3  done but a CA answer is still pending'],
  },
  {
    name: 'kek',
    synopsis: '[--config FILE] [--out FILE] [--json]',
    summary: 'manufacture: create the key-encryption key in the TPM if missing, print its public key and key identifier',
    description: [
      'Creates the RSA-2048 decrypt-only key-encryption key of encrypted key packages (EnvelopedData, RFC 6032 EncryptedKeyPackage) under the SRK when the device has none — the key the agent would otherwise create at its first start — and writes its SubjectPublicKeyInfo PEM to keyPackages.kek.publicKeyFile (default <stateDir>/keys/kek.pub.pem).',
      'Prints the PEM and the key identifier (SHA-1 of the subjectPublicKey, RFC 5280 §4.2.1.2 method 1): hand both to the key server, which encrypts the content-encryption key with RSAES-OAEP SHA-256 / MGF1-SHA-256 and names the recipient by that subjectKeyIdentifier (e.g. `openssl cms -encrypt -keyid` with a certificate it issues for the key). Running it again prints the same key. Needs keyPackages in the configuration with keyPackages.kek.enabled.',
    ],
    options: [CONFIG, { flag: '--out', arg: 'FILE', text: 'also write the public key PEM to FILE (0644, replaced atomically)' }, JSON_OUT, HELP],
    exit: EXIT_COMMON,
  },
  {
    name: 'enroll',
    synopsis: '--now [--config FILE]',
    summary: 'enroll or renew now',
    description: ['Enrolls (or renews, if a certificate is held) immediately, regardless of the schedule, then prints the status.'],
    options: [{ flag: '--now', text: 'required: confirms the immediate enrollment' }, CONFIG, HELP],
    exit: EXIT_COMMON,
  },
  {
    name: 'pal',
    synopsis: '[--config FILE]',
    summary: 'fetch and print the Package Availability List',
    description: ['Fetches the EST Package Availability List with the current credential and prints one line per entry: package type, its name, date, size and the entry details. Nothing is downloaded or applied.'],
    options: [CONFIG, HELP],
    exit: EXIT_COMMON,
  },
  {
    name: 'fleet',
    synopsis: '[--config FILE] [--url URL] [--ca FILE] [--cert FILE] [--key FILE] [--state STATE] [--expiring DURATION] [--json] [--watch [--group NAME]]',
    summary: "the operator's view: every device's state, certificate, firmware and last error from the MQTT broker",
    description: [
      'Subscribes to {prefix}/+/state and {prefix}/+/status and prints one line per device (state including lost, certificate notAfter and renew-at, firmware running/pending, trust-anchor digest, last seen, last error) and a summary line (devices per state, certificates expiring within 7 days, messages that could not be read).',
      'The retained snapshot counts as complete when no new retained message arrived for --quiet-ms (default 500 ms) after the first one, or at --timeout (default 30 s), whichever comes first; an empty broker is reported after the quiet period following the subscription acknowledgement.',
      'With --watch the view stays open and is redrawn as devices change (with --json: one line per changed device and a summary line). The live stream (state, status and event topics) uses an MQTT 5 shared subscription ($share/GROUP/...) so several consumers in one group split the stream; the retained snapshot is always read with an ordinary subscription, again after every reconnect.',
      'Broker URL, CA and topic prefix come from the mqtt section of the agent configuration when it can be read; the options override them. Malformed CBOR, unknown schema versions, topics that do not parse and oversized payloads are counted and shown, never fatal. A dropped connection is retried with capped exponential backoff.',
    ],
    options: [
      CONFIG,
      { flag: '--url', arg: 'URL', text: 'broker URL, mqtt:// or mqtts:// (default: mqtt.url of the configuration)' },
      { flag: '--ca', arg: 'FILE', text: 'PEM CA of the broker, required for mqtts:// (default: mqtt.caFile of the configuration)' },
      { flag: '--cert', arg: 'FILE', text: 'client certificate, PEM (TLS client authentication)' },
      { flag: '--key', arg: 'FILE', text: 'client private key, PEM' },
      { flag: '--username', arg: 'NAME', text: 'MQTT user name' },
      { flag: '--password-file', arg: 'FILE', text: 'MQTT password, read from a file (never from the command line)' },
      { flag: '--prefix', arg: 'PREFIX', text: 'topic prefix (default: mqtt.topicPrefix of the configuration, dev/v1)' },
      { flag: '--state', arg: 'STATE', values: ['unprovisioned', 'bootstrapped', 'enrolling', 'enrolled', 'renewing', 'online', 'offline', 'lost', 'unknown'], text: 'only devices in this state (repeatable, or comma-separated)' },
      { flag: '--expiring', arg: 'DURATION', text: 'only devices whose certificate expires within DURATION (e.g. 7d, 12h, 30m)' },
      { flag: '--device', arg: 'PATTERN', text: 'only device ids matching this glob (* and ?)' },
      JSON_OUT,
      { flag: '--watch', text: 'keep running and redraw the view as devices change' },
      { flag: '--group', arg: 'NAME', text: 'shared-subscription group of the live stream: consumers with the same group split it (default: a group of its own, so this view sees every change)' },
      { flag: '--quiet-ms', arg: 'MS', text: 'retained snapshot complete after this long without a new retained message (default 500)' },
      { flag: '--timeout', arg: 'DURATION', text: 'upper bound on reading the retained snapshot (default 30s)' },
      HELP,
    ],
    exit: ['0  view printed', '1  the broker could not be reached within --timeout', '2  usage or configuration error'],
  },
  {
    name: 'demo',
    synopsis: '[--protocol est|cmp|cmc|acme] [--server lab|plain] [--verbose]',
    summary: 'full lifecycle against the bundled lab server and a software TPM',
    description: ['Starts a software TPM and the lab server from the source tree and walks through manufacture, attested enrollment, PAL processing and re-enrollment, printing each step. Needs the source tree (deploy/lab/).'],
    options: [
      { flag: '--protocol', arg: 'NAME', values: ['est', 'cmp', 'cmc', 'acme'], text: 'enrollment protocol (default est)' },
      { flag: '--server', arg: 'PROFILE', values: ['lab', 'plain'], text: 'lab profile: lab (EST + PAL + nonce) or plain (RFC 7030 only, libest-like; EST protocol)' },
      { flag: '--verbose', text: 'print the agent log as well' },
      HELP,
    ],
    exit: ['0  the demo completed', '1  a step failed'],
  },
  {
    name: 'help',
    synopsis: '[COMMAND | config]',
    summary: 'show the command list, the help of one command, or the configuration fields',
    description: ['Without an argument prints the command list; with a command name prints its options and exit status (the same as `enrolld COMMAND --help`); `enrolld help config` prints every configuration file field with its type, default and meaning (as in enrolld.json(5)).'],
    options: [],
    exit: ['0  help printed', '2  unknown command'],
  },
];

/** Help topics that are not commands. */
export const HELP_TOPICS = ['config'] as const;

export function findCommand(name: string): CommandHelp | undefined {
  return COMMANDS.find((c) => c.name === name);
}

function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(indent + line);
  return out;
}

function optionLines(options: OptionHelp[]): string[] {
  const label = (o: OptionHelp): string => `${o.short ? `${o.short}, ` : ''}${o.flag}${o.arg ? ` ${o.arg}` : ''}`;
  const col = Math.max(...options.map((o) => label(o).length)) + 4;
  return options.flatMap((o) => {
    const [first = '', ...rest] = wrap(o.text, Math.max(40, 100 - col), '');
    return [`  ${label(o).padEnd(col - 2)}${first}`, ...rest.map((r) => ' '.repeat(col) + r)];
  });
}

/** `enrolld help` / `enrolld --help`: the command list. */
export function mainUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 4;
  return [
    'usage: enrolld <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    "`enrolld help <command>` (or `enrolld <command> --help`) shows a command's options; `enrolld help config` the configuration fields.",
  ].join('\n');
}

/** `enrolld help <command>` / `enrolld <command> --help`. */
export function commandUsage(name: string): string {
  const c = findCommand(name);
  if (!c) throw new RangeError(`no such command: ${name}`);
  return [
    `usage: enrolld ${c.name} ${c.synopsis}`.trimEnd(),
    '',
    ...wrap(c.summary, 100, '').map((l) => l),
    '',
    ...c.description.flatMap((p, i) => [...(i ? [''] : []), ...wrap(p, 100, '')]),
    ...(c.options.length ? ['', 'options:', ...optionLines(c.options)] : []),
    '',
    'exit status:',
    ...c.exit.map((e) => `  ${e}`),
  ].join('\n');
}

/** `enrolld help config`: every field and section of the configuration file, in file order, from the schema. */
export function configUsage(): string {
  const out = [
    'usage: enrolld help config',
    '',
    ...wrap(`The configuration file (${DEFAULT_CONFIG_PATH}, or --config FILE) is one JSON object; unknown fields are errors. Relative file names are resolved against its directory. enrolld.json(5) has the full description.`, 100, ''),
    '',
    'top-level fields:',
  ];
  for (const r of fieldRows()) {
    if (r.section && !r.path.includes('.')) {
      out.push('', `${r.path} (section):`, ...wrap(r.doc.doc, 98, '  '));
      continue;
    }
    out.push(`  ${r.path} (${summary(r.doc, r.section)})`, ...wrap(r.doc.doc, 94, '      '));
  }
  return out.join('\n');
}
