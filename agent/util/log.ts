// Structured logging: one line per event, `event key=value …`. Under systemd (JOURNAL_STREAM set) each line carries
// an sd-daemon(3) priority prefix so journald records the level. Values of secret-bearing keys are never printed.

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

export function createLogger(opts: { level?: Level; sink?: LogSink; fields?: Fields; journal?: boolean } = {}): Logger {
  const level = opts.level ?? 'info';
  const sink = opts.sink ?? { write: (l: string) => process.stderr.write(l + '\n') };
  const journal = opts.journal ?? Boolean(process.env.JOURNAL_STREAM);
  const base = opts.fields ?? {};
  const emit = (lvl: Level, event: string, fields?: Fields): void => {
    if (RANK[lvl] < RANK[level]) return;
    const body = formatFields({ ...base, ...fields });
    const line = `${event}${body ? ' ' + body : ''}`;
    sink.write(journal ? `<${SYSLOG[lvl]}>${line}` : `${new Date().toISOString()} ${lvl} ${line}`);
  };
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
    child: (fields) => createLogger({ level, sink, journal, fields: { ...base, ...fields } }),
  };
}

/** A logger that keeps lines in memory (tests, `enrolld demo` transcript). */
export function memoryLogger(level: Level = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(createLogger({ level, journal: false, sink: { write: (l) => lines.push(l) } }), { lines });
}
