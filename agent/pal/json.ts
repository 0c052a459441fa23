// PAL JSON encoding (RFC 8295 §2.1 field rules, §2.1.3 example): a top-level array of entry objects
//   { "type": "0003", "date"?: "2016-12-29T09:28:00Z", "size": 1234,
//     "info": { "uri": "…" } | { "dn": "…" } | { "ski": "…" } | { "iasn": { "issuer": "…", "serial": 123 } } }
// The RFC gives the JSON form no schema of its own; we apply the XML schema's constraints 1:1 (same lengths,
// patterns, required members, exactly-one info choice) and refuse unknown members, as the XML side refuses unknown
// elements.
//
// JSON.parse is not used: serials are certificate serial numbers (up to 20 octets, RFC 5280 §4.1.2.2) that a double
// cannot hold, so numbers are read from their source text. The reader below is RFC 8259 strict (no duplicate
// members either), depth-bounded (recursion ≤ 4 levels for a valid PAL, refused past 6) and counts entries while
// reading so an oversized PAL is refused at entry maxEntries+1.
import { PAL_DEFAULT_MAX_ENTRIES, PAL_MAX_SERIAL_DIGITS } from './constants.js';
import { PalFormatError, PalLimitError } from './errors.js';
import {
  checkChainRules,
  checkDn,
  checkEntry,
  checkSerial,
  checkSize,
  checkSki,
  checkType,
  checkUri,
  formatPalDate,
  parsePalDate,
  show,
  type PalEntry,
  type PalInfo,
} from './model.js';
import { decodeBody, type PalParseOptions } from './body.js';

// ---------------------------------------------------------------------------------------------------------------
// Strict JSON reader

/** A number keeps its source text; integers are exact whatever their size. */
class JNum {
  constructor(readonly text: string) {}
  get isInteger(): boolean {
    return /^-?(0|[1-9][0-9]*)$/.test(this.text);
  }
}
type JValue = string | JNum | boolean | null | JValue[] | JObject;
interface JObject {
  readonly members: Map<string, JValue>;
}

const MAX_JSON_DEPTH = 6;

class Reader {
  i = 0;
  constructor(
    readonly s: string,
    readonly maxEntries: number,
  ) {}

  fail(msg: string): never {
    throw new PalFormatError('json', 'pal', `malformed JSON at offset ${this.i}: ${msg}`);
  }
  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else break;
    }
  }
  /** The top level: an array whose elements are counted against the entry cap as they are read. */
  document(): JValue[] {
    this.ws();
    if (this.s[this.i] !== '[') {
      if (this.s[this.i] === '{') throw new PalFormatError('json', 'pal', 'a JSON PAL is an array of entries (§2.1.3), found an object');
      this.fail('expected "["');
    }
    const arr = this.array(1, true);
    this.ws();
    if (this.i !== this.s.length) this.fail('trailing data after the PAL array');
    return arr;
  }
  value(depth: number): JValue {
    if (depth > MAX_JSON_DEPTH) throw new PalLimitError('depth', 'pal', MAX_JSON_DEPTH, `JSON nesting deeper than ${MAX_JSON_DEPTH}`);
    this.ws();
    const c = this.s[this.i];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth, false);
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [lit, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.s.startsWith(lit, this.i)) {
        this.i += lit.length;
        return v;
      }
    }
    return this.fail(c === undefined ? 'unexpected end of input' : `unexpected ${JSON.stringify(c)}`);
  }
  array(depth: number, top: boolean): JValue[] {
    this.i++; // [
    const out: JValue[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      if (top && out.length >= this.maxEntries) throw new PalLimitError('entries', 'pal', this.maxEntries, `PAL has more than ${this.maxEntries} entries`);
      if (top) {
        try {
          out.push(this.value(depth + 1));
        } catch (err) {
          // Syntax errors inside an entry name the entry: pal.entry[3]: malformed JSON at offset …
          if (err instanceof PalFormatError && err.path === 'pal') throw new PalFormatError(err.reason, `pal.entry[${out.length}]`, err.message.slice(5));
          throw err;
        }
      } else out.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') {
        this.i--;
        this.fail('expected "," or "]"');
      }
    }
  }
  object(depth: number): JObject {
    this.i++; // {
    const members = new Map<string, JValue>();
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return { members };
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail('expected a member name');
      const at = this.i;
      const key = this.string();
      if (members.has(key)) {
        this.i = at;
        this.fail(`duplicate member ${JSON.stringify(key)}`);
      }
      this.ws();
      if (this.s[this.i++] !== ':') {
        this.i--;
        this.fail('expected ":"');
      }
      members.set(key, this.value(depth + 1));
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return { members };
      if (c !== ',') {
        this.i--;
        this.fail('expected "," or "}"');
      }
    }
  }
  string(): string {
    const s = this.s;
    let i = this.i + 1;
    let out = '';
    let run = i;
    for (;;) {
      if (i >= s.length) {
        this.i = i;
        this.fail('unterminated string');
      }
      const c = s.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) {
        this.i = i;
        this.fail('control character in string');
      }
      if (c === 0x5c) {
        out += s.slice(run, i);
        const e = s[i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          i += 2;
        } else if (e === 'u' && /^[0-9A-Fa-f]{4}$/.test(s.slice(i + 2, i + 6))) {
          out += String.fromCharCode(parseInt(s.slice(i + 2, i + 6), 16));
          i += 6;
        } else {
          this.i = i;
          this.fail('bad escape in string');
        }
        run = i;
        continue;
      }
      i++;
    }
    out += s.slice(run, i);
    this.i = i + 1;
    return out;
  }
  number(): JNum {
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m) this.fail('bad number');
    if (m[0].length >= 400) this.fail('number too long');
    this.i += m[0].length;
    return new JNum(m[0]);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Schema mapping

const isObj = (v: JValue | undefined): v is JObject => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JNum);
const kindOf = (v: JValue): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : v instanceof JNum ? 'number' : isObj(v) ? 'object' : typeof v);

function onlyMembers(o: JObject, allowed: readonly string[], path: string): void {
  for (const k of o.members.keys()) {
    if (!allowed.includes(k)) throw new PalFormatError('element', `${path}.${k}`, `unknown member ${show(k)} (allowed: ${allowed.join(', ')})`);
  }
}

function str(v: JValue | undefined, path: string, reason: string): string {
  if (typeof v !== 'string') throw new PalFormatError(reason, path, `expected a string, got ${v === undefined ? 'nothing' : kindOf(v)}`);
  return v;
}

function integer(v: JValue | undefined, path: string, reason: string): bigint {
  if (!(v instanceof JNum)) throw new PalFormatError(reason, path, `expected a number, got ${v === undefined ? 'nothing' : kindOf(v)}`);
  if (!v.isInteger) throw new PalFormatError(reason, path, `expected an integer without fraction or exponent, got ${v.text}`);
  if (v.text.replace(/^-/, '').length > PAL_MAX_SERIAL_DIGITS) throw new PalFormatError(reason, path, `integer has more than ${PAL_MAX_SERIAL_DIGITS} digits`);
  return BigInt(v.text);
}

function parseInfo(v: JValue | undefined, path: string): PalInfo {
  if (v === undefined) throw new PalFormatError('info', path, 'missing info');
  if (!isObj(v)) throw new PalFormatError('info', path, `info must be an object, got ${kindOf(v)}`);
  onlyMembers(v, ['dn', 'ski', 'iasn', 'uri'], path);
  const keys = [...v.members.keys()];
  if (keys.length !== 1) {
    throw new PalFormatError('info', path, `info must contain exactly one of dn, ski, iasn, uri (found ${keys.length ? keys.join(', ') : 'none'})`);
  }
  const key = keys[0]!;
  const p = `${path}.${key}`;
  const val = v.members.get(key);
  switch (key) {
    case 'uri':
      return { kind: 'uri', uri: checkUri(str(val, p, 'uri'), p) };
    case 'dn':
      return { kind: 'dn', dn: checkDn(str(val, p, 'dn'), p, 'dn', false) };
    case 'ski':
      return { kind: 'ski', ski: checkSki(str(val, p, 'ski'), p) };
    default: {
      if (!isObj(val)) throw new PalFormatError('iasn', p, `iasn must be an object, got ${kindOf(val!)}`);
      onlyMembers(val, ['issuer', 'serial'], p);
      if (!val.members.has('issuer')) throw new PalFormatError('iasn', `${p}.issuer`, 'missing issuer');
      if (!val.members.has('serial')) throw new PalFormatError('iasn', `${p}.serial`, 'missing serial');
      const issuer = checkDn(str(val.members.get('issuer'), `${p}.issuer`, 'issuer'), `${p}.issuer`, 'issuer', true);
      // §2.1: "'serial' is a number" (the XML <serial> is a positiveInteger). The RFC's own §2.1.3 example carries
      // serial 0, so JSON accepts 0; negatives and fractions are refused.
      const serial = checkSerial(integer(val.members.get('serial'), `${p}.serial`, 'serial'), `${p}.serial`, true);
      return { kind: 'iasn', issuer, serial };
    }
  }
}

function parseEntry(v: JValue, path: string): PalEntry {
  if (!isObj(v)) throw new PalFormatError('entry', path, `entry must be an object, got ${kindOf(v)}`);
  onlyMembers(v, ['type', 'date', 'size', 'info'], path);
  const m = v.members;
  if (!m.has('type')) throw new PalFormatError('type', `${path}.type`, 'missing type');
  const type = checkType(str(m.get('type'), `${path}.type`, 'type'), `${path}.type`);
  const date = m.has('date') ? parsePalDate(str(m.get('date'), `${path}.date`, 'date'), `${path}.date`) : undefined;
  if (!m.has('size')) throw new PalFormatError('size', `${path}.size`, 'missing size');
  const sizeBig = integer(m.get('size'), `${path}.size`, 'size');
  if (sizeBig < 0n || sizeBig > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new PalFormatError('size', `${path}.size`, `size must be a non-negative integer below 2^53, got ${sizeBig}`);
  }
  const size = checkSize(Number(sizeBig), `${path}.size`);
  const info = parseInfo(m.get('info'), `${path}.info`);
  return date ? { type, date, size, info } : { type, size, info };
}

/** Parses a JSON PAL. Throws PalFormatError / PalLimitError with the path of the offending entry. */
export function parsePalJson(input: Uint8Array | string, opts?: PalParseOptions): PalEntry[] {
  const text = decodeBody(input, opts, 'JSON');
  const arr = new Reader(text, opts?.maxEntries ?? PAL_DEFAULT_MAX_ENTRIES).document();
  const entries = arr.map((v, i) => parseEntry(v, `pal.entry[${i}]`));
  checkChainRules(entries);
  return entries;
}

// ---------------------------------------------------------------------------------------------------------------
// Serializer

export interface PalJsonSerializeOptions {
  /** Indentation: spaces per level, 0 for one line (default 2). */
  space?: number;
}

/** Serializes entries as a JSON PAL (validated first; serials written as exact integers). */
export function serializePalJson(entries: readonly PalEntry[], opts?: PalJsonSerializeOptions): string {
  entries.forEach((e, i) => checkEntry(e, `pal.entry[${i}]`, { allowZeroSerial: true }));
  checkChainRules(entries);
  const space = opts?.space ?? 2;
  const nl = space > 0 ? '\n' : '';
  const ind = (n: number): string => ' '.repeat(space * n);
  const sep = space > 0 ? ': ' : ':';
  const q = (s: string): string => JSON.stringify(s);
  const obj = (pairs: Array<[string, string]>, level: number): string =>
    pairs.length === 0 ? '{}' : `{${nl}${pairs.map(([k, v]) => `${ind(level + 1)}${q(k)}${sep}${v}`).join(`,${nl}`)}${nl}${ind(level)}}`;
  const items = entries.map((e, i) => {
    const path = `pal.entry[${i}]`;
    const info = e.info;
    let infoJson: string;
    if (info.kind === 'uri') infoJson = obj([['uri', q(info.uri)]], 2);
    else if (info.kind === 'dn') infoJson = obj([['dn', q(info.dn)]], 2);
    else if (info.kind === 'ski') infoJson = obj([['ski', q(info.ski)]], 2);
    else infoJson = obj([['iasn', obj([['issuer', q(info.issuer)], ['serial', info.serial.toString()]], 3)]], 2);
    const pairs: Array<[string, string]> = [['type', q(e.type)]];
    if (e.date) pairs.push(['date', q(formatPalDate(e.date, `${path}.date`))]);
    pairs.push(['size', String(e.size)], ['info', infoJson]);
    return `${ind(1)}${obj(pairs, 1)}`;
  });
  return items.length === 0 ? `[]${nl}` : `[${nl}${items.join(`,${nl}`)}${nl}]${nl}`;
}
