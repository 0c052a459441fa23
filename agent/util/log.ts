// Structured logging: one line per event, `event key=value …`. Values of secret-bearing keys are never printed.
// Under systemd, when stderr is the journal stream (JOURNAL_STREAM names stderr's device:inode, systemd.exec(5)) and
// the journal socket exists, each event is sent as one datagram in the journal's native protocol
// (systemd-journald.socket / "Native Journal Protocol"): MESSAGE, PRIORITY, MESSAGE_ID, SYSLOG_IDENTIFIER,
// CODE_FILE/CODE_LINE/CODE_FUNC and every field as ENROLLD_<NAME>, so journalctl can filter on them. Values never
// contain newlines, so the simple `KEY=value\n` form suffices. Node has no unix datagram sockets; the native
// addon's sendto (the one sd_notify uses) sends it. If sending fails the line goes to stderr with an sd-daemon(3)
// priority prefix instead, as it does whenever JOURNAL_STREAM is set but the native protocol is not in use.
import { createHash } from 'node:crypto';
import { existsSync, fstatSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 0, info: 1, warn: 2, error: 3 };
const SYSLOG: Record<Level, number> = { debug: 7, info: 6, warn: 4, error: 3 };

/** Field names whose values are secrets or single-use material: printed as [redacted]. */
const SECRET = /(pass(word)?|secret|token|nonce|private|priv|key(material)?$|authorization|psk|otp|seed)/i;

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: Fields): void;
  info(event: string, fields?: Fields): void;
  warn(event: string, fields?: Fields): void;
  error(event: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

function formatValue(v: unknown): string {
  if (v instanceof Error) v = (v as Error & { code?: string }).code ? `${(v as Error & { code?: string }).code}: ${v.message}` : v.message;
  if (v instanceof Date) v = v.toISOString();
  if (typeof v === 'object' && v !== null) v = JSON.stringify(v);
  const s = String(v).replace(/[\r\n]+/g, ' ');
  return /^[^\s"=]*$/.test(s) && s.length > 0 ? s : JSON.stringify(s);
}

export function formatFields(fields: Fields): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${SECRET.test(k) && k !== 'keyId' && k !== 'keyAlgorithm' ? '[redacted]' : formatValue(v)}`)
    .join(' ');
}

export interface LogSink {
  write(line: string): void;
}

export const JOURNAL_SOCKET = '/run/systemd/journal/socket';

/** A datagram sender to a unix socket path (the addon's sdNotify(state, path)). */
export type DatagramSend = (datagram: string, socketPath: string) => void;

/** JOURNAL_STREAM is "device:inode" of the stream systemd connected; it counts only if that is our stderr. */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const js = env.JOURNAL_STREAM;
  if (!js) return false;
  try {
    const st = fstatSync(2);
    return js === `${st.dev}:${st.ino}`;
  } catch {
    return false;
  }
}

function addonSend(): DatagramSend {
  let fn: ((s: string, p: string) => boolean) | undefined;
  return (datagram, socketPath) => {
    if (!fn) {
      // The addon lives in build/Release of the package root (found from this file, in agent/ or dist/agent/).
      let dir = path.dirname(fileURLToPath(import.meta.url));
      while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
      const file = process.env.ENROLLD_TPM_ADDON ?? path.join(dir, 'build', 'Release', 'enrolld_tpm.node');
      const addon = createRequire(import.meta.url)(file) as { sdNotify?: (s: string, p: string) => boolean };
      if (!addon.sdNotify) throw new Error('addon without sdNotify');
      fn = addon.sdNotify;
    }
    fn(datagram, socketPath);
  };
}

/** Journal field name for a log field: uppercase A-Z0-9_, prefixed, at most 64 chars (journal rules). */
function journalName(k: string): string {
  return ('ENROLLD_' + k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase().replace(/[^A-Z0-9_]/g, '_')).slice(0, 64);
}

const messageIds = new Map<string, string>();
/** MESSAGE_ID: a stable 128-bit id per event name (journal catalog convention: 32 lowercase hex digits). */
export function messageId(event: string): string {
  let id = messageIds.get(event);
  if (!id) messageIds.set(event, (id = createHash('sha256').update(`enrolld:${event}`).digest('hex').slice(0, 32)));
  return id;
}

/** The first stack frame outside this file: CODE_FILE / CODE_LINE / CODE_FUNC. */
function callSite(): { file?: string; line?: string; func?: string } {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  const self = fileURLToPath(import.meta.url);
  for (const l of stack) {
    const m = /at (?:(\S+) \()?(?:file:\/\/)?([^():]+):(\d+):\d+\)?$/.exec(l.trim());
    if (!m || m[2] === self) continue;
    return { file: m[2]!, line: m[3]!, ...(m[1] ? { func: m[1] } : {}) };
  }
  return {};
}

/** One native-protocol datagram: `KEY=value\n` per field (values have no newlines: formatValue removes them). */
export function journalDatagram(level: Level, event: string, fields: Fields): string {
  const body = formatFields(fields);
  const site = callSite();
  const lines = [
    `MESSAGE=${event}${body ? ' ' + body : ''}`,
    `PRIORITY=${SYSLOG[level]}`,
    `MESSAGE_ID=${messageId(event)}`,
    'SYSLOG_IDENTIFIER=enrolld',
    `ENROLLD_EVENT=${event}`,
    ...(site.file ? [`CODE_FILE=${site.file}`, `CODE_LINE=${site.line}`] : []),
    ...(site.func ? [`CODE_FUNC=${site.func}`] : []),
  ];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    lines.push(`${journalName(k)}=${SECRET.test(k) && k !== 'keyId' && k !== 'keyAlgorithm' ? '[redacted]' : formatValue(v).replace(/^"(.*)"$/, '$1')}`);
  }
  return lines.join('\n') + '\n';
}

export interface LoggerOptions {
  level?: Level;
  sink?: LogSink;
  fields?: Fields;
  /** Lines with a `<priority>` prefix for journald. Default: JOURNAL_STREAM is set. */
  journal?: boolean;
  /**
   * Native journal protocol to this socket. Default: ENROLLD_JOURNAL_SOCKET or /run/systemd/journal/socket when
   * stderr is the journal stream and the socket exists; false turns it off.
   */
  journalSocket?: string | false;
  /** Datagram sender (default: the native addon's sendto). */
  send?: DatagramSend;
}

function defaultJournalSocket(): string | false {
  const p = process.env.ENROLLD_JOURNAL_SOCKET ?? JOURNAL_SOCKET;
  return stderrIsJournal() && existsSync(p) ? p : false;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  const sink = opts.sink ?? { write: (l: string) => process.stderr.write(l + '\n') };
  const journal = opts.journal ?? Boolean(process.env.JOURNAL_STREAM);
  let socket = opts.journalSocket ?? (opts.sink ? false : defaultJournalSocket());
  const send = opts.send ?? (socket ? addonSend() : undefined);
  const base = opts.fields ?? {};
  const emit = (lvl: Level, event: string, fields?: Fields): void => {
    if (RANK[lvl] < RANK[level]) return;
    const all = { ...base, ...fields };
    if (socket && send) {
      try {
        return send(journalDatagram(lvl, event, all), socket);
      } catch {
        socket = false; // journal unreachable: plain lines from now on (no retry per line)
      }
    }
    const body = formatFields(all);
    const line = `${event}${body ? ' ' + body : ''}`;
    sink.write(journal || opts.journalSocket ? `<${SYSLOG[lvl]}>${line}` : `${new Date().toISOString()} ${lvl} ${line}`);
  };
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
    child: (fields) => createLogger({ level, sink, journal, journalSocket: socket, ...(send ? { send } : {}), fields: { ...base, ...fields } }),
  };
}

/** A logger that keeps lines in memory (tests, `enrolld demo` transcript). */
export function memoryLogger(level: Level = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(createLogger({ level, journal: false, sink: { write: (l) => lines.push(l) } }), { lines });
}
