// PAL XML encoding (RFC 8295 §2.1.2): parse and serialize.
//
// Hardening, before fast-xml-parser sees anything: the body is size-capped and decoded as strict UTF-8; a linear
// pre-scan refuses any DOCTYPE / ENTITY / other "<!" declaration, any entity reference other than the five
// predefined ones and numeric character references, raw control characters, nesting beyond PAL_MAX_XML_DEPTH and
// more <message> start tags than the entry cap (so a 100 000-entry PAL is refused before a tree is built). The
// parser then runs with entity processing off (we decode the predefined references ourselves), values as strings,
// and the tree is checked against the schema: namespace urn:ietf:params:xml:ns:pal on every element
// (elementFormDefault="qualified"), the xsd:sequence order type, date?, size, info, and the info xsd:choice.
import type { XMLParser } from 'fast-xml-parser';
import { lazyRequire } from '../util/lazy-require.js';
import { decodeBody, type PalParseOptions } from './body.js';
import {
  PAL_DEFAULT_MAX_ENTRIES,
  PAL_MAX_SERIAL_DIGITS,
  PAL_MAX_XML_DEPTH,
  PAL_NAMESPACE,
  XSI_NAMESPACE,
} from './constants.js';
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
  parseXsdInteger,
  type PalEntry,
  type PalInfo,
} from './model.js';

// ---------------------------------------------------------------------------------------------------------------
// Pre-scan

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** Length of a valid reference at s[i] === '&', or throws. */
function scanReference(s: string, i: number): number {
  const semi = s.indexOf(';', i);
  const body = semi > i && semi - i <= 12 ? s.slice(i + 1, semi) : '';
  if (PREDEFINED[body] !== undefined) return semi - i + 1;
  const num = /^#([0-9]{1,7}|x[0-9A-Fa-f]{1,6})$/.exec(body);
  if (num) {
    const cp = num[1]!.startsWith('x') ? parseInt(num[1]!.slice(1), 16) : parseInt(num[1]!, 10);
    if (isXmlChar(cp)) return semi - i + 1;
    throw new PalFormatError('entity', 'pal', `character reference &${body}; is not an XML character`);
  }
  const shown = semi > i && semi - i <= 32 ? s.slice(i, semi + 1) : s.slice(i, Math.min(s.length, i + 16)).replace(/\s.*$/, '');
  throw new PalFormatError('entity', 'pal', `entity reference ${JSON.stringify(shown)} refused: only &lt; &gt; &amp; &quot; &apos; and numeric references are allowed`);
}

function prescan(s: string, maxEntries: number): void {
  let depth = 0;
  let messages = 0;
  const n = s.length;
  for (let i = 0; i < n; ) {
    const c = s.charCodeAt(i);
    if (c === 0x3c /* < */) {
      if (s.startsWith('<!--', i)) {
        const j = s.indexOf('-->', i + 4);
        if (j < 0) throw new PalFormatError('xml', 'pal', 'unterminated comment');
        i = j + 3;
      } else if (s.startsWith('<![CDATA[', i)) {
        const j = s.indexOf(']]>', i + 9);
        if (j < 0) throw new PalFormatError('xml', 'pal', 'unterminated CDATA section');
        i = j + 3;
      } else if (s.startsWith('<?', i)) {
        const j = s.indexOf('?>', i + 2);
        if (j < 0) throw new PalFormatError('xml', 'pal', 'unterminated processing instruction');
        const pi = s.slice(i + 2, j);
        if (/^xml\s/i.test(pi)) {
          const enc = /\sencoding\s*=\s*["']([^"']*)["']/.exec(pi);
          if (enc && !/^utf-?8$/i.test(enc[1]!)) throw new PalFormatError('encoding', 'pal', `XML encoding "${enc[1]}" refused: PAL bodies must be UTF-8`);
        }
        i = j + 2;
      } else if (s.startsWith('<!', i)) {
        const what = /^<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/i.exec(s.slice(i, i + 12));
        throw new PalFormatError('doctype', 'pal', what ? `<!${what[1]!.toUpperCase()} declarations are refused (no DTD processing)` : 'markup declaration refused');
      } else if (s.charCodeAt(i + 1) === 0x2f /* / */) {
        depth--;
        const j = s.indexOf('>', i);
        if (j < 0) throw new PalFormatError('xml', 'pal', 'unterminated end tag');
        i = j + 1;
      } else {
        // Start tag: name, then attributes up to ">" (quotes may hold ">" but never "<").
        const name = /^<([^\s/>]+)/.exec(s.slice(i, i + 128));
        if (!name) throw new PalFormatError('xml', 'pal', `malformed tag at offset ${i}`);
        const local = name[1]!.slice(name[1]!.indexOf(':') + 1);
        if (local === 'message' && ++messages > maxEntries) {
          throw new PalLimitError('entries', 'pal', maxEntries, `PAL has more than ${maxEntries} entries`);
        }
        let j = i + name[0].length;
        let quote = 0;
        for (; j < n; j++) {
          const d = s.charCodeAt(j);
          if (quote) {
            if (d === quote) quote = 0;
            else if (d === 0x26 /* & */) j += scanReference(s, j) - 1;
            else if (d === 0x3c) throw new PalFormatError('xml', 'pal', `"<" in attribute value at offset ${j}`);
          } else if (d === 0x22 || d === 0x27) quote = d;
          else if (d === 0x3e /* > */) break;
        }
        if (j >= n) throw new PalFormatError('xml', 'pal', 'unterminated start tag');
        if (s.charCodeAt(j - 1) !== 0x2f /* / */ && ++depth > PAL_MAX_XML_DEPTH) {
          throw new PalLimitError('depth', 'pal', PAL_MAX_XML_DEPTH, `XML nesting deeper than ${PAL_MAX_XML_DEPTH} elements`);
        }
        i = j + 1;
      }
    } else if (c === 0x26 /* & */) {
      i += scanReference(s, i);
    } else {
      if (c < 0x20 && c !== 0x9 && c !== 0xa && c !== 0xd) throw new PalFormatError('xml', 'pal', `control character U+${c.toString(16).padStart(4, '0')} at offset ${i}`);
      if (c === 0xfffe || c === 0xffff) throw new PalFormatError('xml', 'pal', `non-character at offset ${i}`);
      i++;
    }
  }
}

function decodeRefs(v: string): string {
  if (!v.includes('&')) return v;
  return v.replace(/&(#x[0-9A-Fa-f]+|#[0-9]+|[a-z]+);/g, (_m, ref: string) =>
    ref.startsWith('#x') ? String.fromCodePoint(parseInt(ref.slice(2), 16)) : ref.startsWith('#') ? String.fromCodePoint(parseInt(ref.slice(1), 10)) : PREDEFINED[ref]!,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Tree walk (fast-xml-parser preserveOrder output: [{ tag: children[], ':@'?: attrs }, { '#text': s }, …])

type XNode = Record<string, unknown>;
interface Elem {
  local: string;
  ns: string | undefined;
  qname: string;
  children: XNode[];
  scope: Map<string, string>;
}

const ATTR_PREFIX = '@_';
const fxp = lazyRequire<typeof import('fast-xml-parser')>('fast-xml-parser');
let cachedParser: XMLParser | undefined;
/** fast-xml-parser is loaded when the first XML PAL arrives (JSON is preferred). */
const parser = (): XMLParser => (cachedParser ??= new (fxp().XMLParser)({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: ATTR_PREFIX,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  cdataPropName: '#cdata',
  commentPropName: false,
  allowBooleanAttributes: false,
}));

function tagOf(node: XNode): string | undefined {
  for (const k of Object.keys(node)) if (k !== ':@' && k !== '#text' && k !== '#cdata') return k;
  return undefined;
}

function toElem(node: XNode, parentScope: Map<string, string>, path: string): Elem {
  const qname = tagOf(node)!;
  const attrs = (node[':@'] ?? {}) as Record<string, string>;
  let scope = parentScope;
  for (const [k, raw] of Object.entries(attrs)) {
    const name = k.slice(ATTR_PREFIX.length);
    const value = decodeRefs(String(raw));
    if (name === 'xmlns' || name.startsWith('xmlns:')) {
      if (scope === parentScope) scope = new Map(parentScope);
      scope.set(name === 'xmlns' ? '' : name.slice(6), value);
    }
  }
  const colon = qname.indexOf(':');
  const prefix = colon < 0 ? '' : qname.slice(0, colon);
  const local = colon < 0 ? qname : qname.slice(colon + 1);
  const ns = scope.get(prefix);
  if (prefix && ns === undefined) throw new PalFormatError('namespace', path, `undeclared namespace prefix "${prefix}" on <${qname}>`);
  // Only namespace declarations and xsi:* schema hints are allowed: the schema declares no attributes.
  for (const k of Object.keys(attrs)) {
    const name = k.slice(ATTR_PREFIX.length);
    if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
    const ac = name.indexOf(':');
    const ans = ac < 0 ? undefined : scope.get(name.slice(0, ac));
    if (ans === XSI_NAMESPACE && /^(schemaLocation|noNamespaceSchemaLocation)$/.test(name.slice(ac + 1))) continue;
    throw new PalFormatError('attribute', path, `unexpected attribute "${name}" on <${qname}>`);
  }
  return { local, ns: ns || undefined, qname, children: (node[qname] as XNode[]) ?? [], scope };
}

/** Child elements of an element-only node (whitespace text allowed; other text refused). */
function elementChildren(e: Elem, path: string, childPath: (i: number, local: string) => string = (_i, l) => `${path}.${l}`): Elem[] {
  const out: Elem[] = [];
  for (const child of e.children) {
    if ('#text' in child) {
      if (/\S/.test(String(child['#text']))) throw new PalFormatError('text', path, `unexpected text in <${e.qname}>`);
      continue;
    }
    if ('#cdata' in child) throw new PalFormatError('text', path, `unexpected CDATA in <${e.qname}>`);
    const qname = tagOf(child)!;
    const cpath = childPath(out.length, qname.slice(qname.indexOf(':') + 1));
    const child_ = toElem(child, e.scope, cpath);
    if (child_.ns !== PAL_NAMESPACE) {
      throw new PalFormatError('namespace', cpath, `<${child_.qname}> is not in namespace ${PAL_NAMESPACE} (found ${child_.ns ?? 'no namespace'})`);
    }
    out.push(child_);
  }
  return out;
}

/** Text content of a simple-typed element (text and CDATA; no child elements). */
function textOf(e: Elem, path: string): string {
  let s = '';
  for (const child of e.children) {
    if ('#text' in child) s += decodeRefs(String(child['#text']));
    else if ('#cdata' in child) {
      for (const part of (child['#cdata'] as XNode[]) ?? []) s += String(part['#text'] ?? '');
    } else throw new PalFormatError('element', path, `<${e.qname}> must contain text only, found <${tagOf(child)}>`);
  }
  return s;
}

/** XSD whiteSpace="collapse" (dateTime, integers, hexBinary, anyURI): trim and squeeze runs of XML whitespace. */
const collapse = (s: string): string => s.replace(/[\t\n\r ]+/g, ' ').trim();

const ENTRY_FIELDS = ['type', 'date', 'size', 'info'] as const;
const INFO_CHOICES = ['dn', 'ski', 'iasn', 'uri'] as const;

function parseInfo(e: Elem, path: string): PalInfo {
  const kids = elementChildren(e, path);
  const unknown = kids.find((k) => !(INFO_CHOICES as readonly string[]).includes(k.local));
  if (unknown) throw new PalFormatError('element', `${path}.${unknown.local}`, `unknown element <${unknown.qname}> in <info>`);
  if (kids.length !== 1) {
    throw new PalFormatError('info', path, `info must contain exactly one of dn, ski, iasn, uri (found ${kids.length ? kids.map((k) => k.local).join(', ') : 'none'})`);
  }
  const k = kids[0]!;
  const p = `${path}.${k.local}`;
  switch (k.local) {
    case 'uri':
      return { kind: 'uri', uri: checkUri(collapse(textOf(k, p)), p) };
    case 'dn':
      return { kind: 'dn', dn: checkDn(textOf(k, p), p, 'dn', false) };
    case 'ski':
      return { kind: 'ski', ski: checkSki(collapse(textOf(k, p)), p) };
    default: {
      const parts = elementChildren(k, p);
      const [issuer, serial, extra] = parts;
      if (!issuer || issuer.local !== 'issuer') throw new PalFormatError('iasn', `${p}.issuer`, issuer ? `expected <issuer>, found <${issuer.qname}>` : 'missing <issuer>');
      if (!serial || serial.local !== 'serial') throw new PalFormatError('iasn', `${p}.serial`, serial ? `expected <serial>, found <${serial.qname}>` : 'missing <serial>');
      if (extra) throw new PalFormatError('element', `${p}.${extra.local}`, `unexpected element <${extra.qname}> in <iasn>`);
      const issuerDn = checkDn(textOf(issuer, `${p}.issuer`), `${p}.issuer`, 'issuer', true);
      const sn = parseXsdInteger(collapse(textOf(serial, `${p}.serial`)), `${p}.serial`, 'serial', 1, PAL_MAX_SERIAL_DIGITS);
      return { kind: 'iasn', issuer: issuerDn, serial: sn };
    }
  }
}

function parseEntry(e: Elem, path: string): PalEntry {
  const kids = elementChildren(e, path);
  // xsd:sequence type, date (minOccurs 0), size, info — order and multiplicity are part of the schema.
  let pos = 0;
  const seen: Partial<Record<(typeof ENTRY_FIELDS)[number], Elem>> = {};
  for (const k of kids) {
    const idx = (ENTRY_FIELDS as readonly string[]).indexOf(k.local);
    if (idx < 0) throw new PalFormatError('element', `${path}.${k.local}`, `unknown element <${k.qname}> in <message>`);
    if (seen[k.local as keyof typeof seen]) throw new PalFormatError('element', `${path}.${k.local}`, `duplicate <${k.local}>`);
    if (idx < pos) throw new PalFormatError('element', `${path}.${k.local}`, `<${k.local}> out of order (schema order: type, date?, size, info)`);
    pos = idx;
    seen[k.local as keyof typeof seen] = k;
  }
  for (const f of ['type', 'size', 'info'] as const) {
    if (!seen[f]) throw new PalFormatError(f === 'info' ? 'info' : f, `${path}.${f}`, `missing <${f}>`);
  }
  const type = checkType(textOf(seen.type!, `${path}.type`), `${path}.type`); // xsd:string base: no whitespace collapse
  const date = seen.date ? parsePalDate(collapse(textOf(seen.date, `${path}.date`)), `${path}.date`) : undefined;
  const sizeBig = parseXsdInteger(collapse(textOf(seen.size!, `${path}.size`)), `${path}.size`, 'size', 0, 16);
  const size = checkSize(Number(sizeBig), `${path}.size`);
  const info = parseInfo(seen.info!, `${path}.info`);
  return date ? { type, date, size, info } : { type, size, info };
}

/** Parses an XML PAL (RFC 8295 §2.1.2). Throws PalFormatError / PalLimitError with the path of the offending entry. */
export function parsePalXml(input: Uint8Array | string, opts?: PalParseOptions): PalEntry[] {
  const maxEntries = opts?.maxEntries ?? PAL_DEFAULT_MAX_ENTRIES;
  const text = decodeBody(input, opts, 'XML');
  prescan(text, maxEntries);
  const valid = fxp().XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    const msg = /^Invalid '\[/.test(valid.err.msg) ? 'unclosed element(s)' : valid.err.msg;
    throw new PalFormatError('xml', 'pal', `malformed XML: ${msg} (line ${valid.err.line}, column ${valid.err.col})`);
  }
  let tree: XNode[];
  try {
    tree = parser().parse(text) as XNode[];
  } catch (cause) {
    throw new PalFormatError('xml', 'pal', `malformed XML: ${(cause as Error).message}`, { cause });
  }
  const roots = tree.filter((n) => tagOf(n) !== undefined);
  if (tree.some((n) => '#text' in n && /\S/.test(String(n['#text'])))) throw new PalFormatError('xml', 'pal', 'text outside the root element');
  if (roots.length !== 1) throw new PalFormatError('xml', 'pal', `expected exactly one root element, found ${roots.length}`);
  const root = toElem(roots[0]!, new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]), 'pal');
  if (root.local !== 'pal' || root.ns !== PAL_NAMESPACE) {
    throw new PalFormatError('namespace', 'pal', `root element must be {${PAL_NAMESPACE}}pal, found {${root.ns ?? ''}}${root.local}`);
  }
  const messages = elementChildren(root, 'pal', (i) => `pal.entry[${i}]`);
  if (messages.length > maxEntries) throw new PalLimitError('entries', 'pal', maxEntries, `PAL has more than ${maxEntries} entries`);
  const entries = messages.map((m, i) => {
    const path = `pal.entry[${i}]`;
    if (m.local !== 'message') throw new PalFormatError('element', path, `unknown element <${m.qname}> in <pal> (entries are <message>)`);
    return parseEntry(m, path);
  });
  checkChainRules(entries);
  return entries;
}

// ---------------------------------------------------------------------------------------------------------------
// Serializer (the lab server publishes PALs with it)

export interface PalXmlSerializeOptions {
  /** Emit the <?xml …?> declaration (default true). */
  declaration?: boolean;
  /** Indent with two spaces per level (default true). Whitespace-only text between elements is allowed by the schema. */
  pretty?: boolean;
}

const escapeText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');

/**
 * Serializes entries as an RFC 8295 §2.1.2 document in the default namespace. The entries are validated first with
 * the same rules the parser applies (including the 0001 rules), so what this emits, parsePalXml accepts.
 */
export function serializePalXml(entries: readonly PalEntry[], opts?: PalXmlSerializeOptions): string {
  entries.forEach((e, i) => checkEntry(e, `pal.entry[${i}]`, { allowZeroSerial: false }));
  checkChainRules(entries);
  const pretty = opts?.pretty ?? true;
  const nl = pretty ? '\n' : '';
  const ind = (n: number): string => (pretty ? '  '.repeat(n) : '');
  const out: string[] = [];
  if (opts?.declaration ?? true) out.push(`<?xml version="1.0" encoding="UTF-8"?>${nl}`);
  out.push(`<pal xmlns="${PAL_NAMESPACE}">${nl}`);
  entries.forEach((e, i) => {
    const path = `pal.entry[${i}]`;
    out.push(`${ind(1)}<message>${nl}`);
    out.push(`${ind(2)}<type>${e.type}</type>${nl}`);
    if (e.date) out.push(`${ind(2)}<date>${formatPalDate(e.date, `${path}.date`)}</date>${nl}`);
    out.push(`${ind(2)}<size>${e.size}</size>${nl}`);
    out.push(`${ind(2)}<info>${nl}`);
    const info = e.info;
    if (info.kind === 'uri') out.push(`${ind(3)}<uri>${escapeText(info.uri)}</uri>${nl}`);
    else if (info.kind === 'dn') out.push(`${ind(3)}<dn>${escapeText(info.dn)}</dn>${nl}`);
    else if (info.kind === 'ski') out.push(`${ind(3)}<ski>${info.ski.toUpperCase()}</ski>${nl}`); // hexBinary canonical form
    else {
      checkSerial(info.serial, `${path}.info.iasn.serial`, false);
      out.push(`${ind(3)}<iasn>${nl}${ind(4)}<issuer>${escapeText(info.issuer)}</issuer>${nl}${ind(4)}<serial>${info.serial}</serial>${nl}${ind(3)}</iasn>${nl}`);
    }
    out.push(`${ind(2)}</info>${nl}`);
    out.push(`${ind(1)}</message>${nl}`);
  });
  out.push(`</pal>${nl}`);
  return out.join('');
}
