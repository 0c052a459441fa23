// Distinguished names from simple inputs: an RFC 4514 string ("CN=dev-1,O=Acme,C=DE"), an OpenSSL-style slash
// string ("/C=DE/O=Acme/CN=dev-1"), an object ({CN:'dev-1', O:'Acme'}) or an explicit list of [type, value] pairs.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { PkiDecodeError } from './errors.js';

/**
 * - string starting with "/": OpenSSL order (most general first, as in the encoded Name);
 * - other strings: RFC 4514 order (most specific first; reversed when encoded); `+` joins multi-valued RDNs;
 * - object: one RDN per key, in the canonical order DC, C, ST, L, O, OU, CN, serialNumber, then the rest;
 * - array: one RDN per pair, in the encoded order.
 */
export type NameInput = string | Record<string, string | string[]> | Array<[string, string]>;

export const ATTRIBUTE_OIDS: Record<string, string> = {
  CN: '2.5.4.3',
  SN: '2.5.4.4',
  serialNumber: '2.5.4.5',
  C: '2.5.4.6',
  L: '2.5.4.7',
  ST: '2.5.4.8',
  street: '2.5.4.9',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  title: '2.5.4.12',
  GN: '2.5.4.42',
  DC: '0.9.2342.19200300.100.1.25',
  UID: '0.9.2342.19200300.100.1.1',
  emailAddress: '1.2.840.113549.1.9.1',
};
const BY_LOWER = new Map(Object.entries(ATTRIBUTE_OIDS).map(([k, v]) => [k.toLowerCase(), v]));
const CANONICAL = ['DC', 'C', 'ST', 'L', 'O', 'OU', 'CN', 'serialNumber'];

function oidOf(type: string): string {
  const t = type.trim();
  if (/^\d+(\.\d+)+$/.test(t)) return t;
  const oid = BY_LOWER.get(t.toLowerCase());
  if (!oid) throw new PkiDecodeError('name', `unknown attribute type "${t}" in distinguished name`);
  return oid;
}

function valueFor(oid: string, value: string): asn1js.BaseStringBlock {
  if (value.length === 0) throw new PkiDecodeError('name', `empty value for attribute ${oid}`);
  if (oid === ATTRIBUTE_OIDS.C || oid === ATTRIBUTE_OIDS.serialNumber) {
    // RFC 5280 Appendix A: countryName and serialNumber are PrintableString.
    if (!/^[A-Za-z0-9 '()+,\-./:=?]+$/.test(value)) {
      throw new PkiDecodeError('name', `value "${value}" is not a PrintableString (attribute ${oid})`);
    }
    if (oid === ATTRIBUTE_OIDS.C && value.length !== 2) throw new PkiDecodeError('name', `country "${value}" must be 2 letters`);
    return new asn1js.PrintableString({ value });
  }
  if (oid === ATTRIBUTE_OIDS.DC || oid === ATTRIBUTE_OIDS.emailAddress) {
    if (!/^[\x00-\x7f]+$/.test(value)) throw new PkiDecodeError('name', `value "${value}" is not IA5 (attribute ${oid})`);
    return new asn1js.IA5String({ value });
  }
  return new asn1js.Utf8String({ value });
}

/** Splits on an unescaped separator; keeps escapes for the next stage. */
function splitUnescaped(s: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

/** RFC 4514 §2.4 unescaping: `\,` style and `\XX` hex pairs (UTF-8 bytes). */
function unescape(v: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === '\\') {
      const hex = v.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16));
        i += 2;
        continue;
      }
      if (i + 1 >= v.length) throw new PkiDecodeError('name', 'dangling backslash in distinguished name');
      i++;
      bytes.push(...Buffer.from(v[i]!, 'utf8'));
      continue;
    }
    bytes.push(...Buffer.from(c, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

function parseRdnString(rdn: string): Array<[string, string]> {
  return splitUnescaped(rdn, '+').map((ava) => {
    const eq = ava.indexOf('=');
    if (eq <= 0) throw new PkiDecodeError('name', `malformed attribute "${ava}" in distinguished name`);
    return [ava.slice(0, eq).trim(), unescape(ava.slice(eq + 1).trim())] as [string, string];
  });
}

function rdnsFromInput(input: NameInput): Array<Array<[string, string]>> {
  if (typeof input === 'string') {
    const s = input.trim();
    if (s.length === 0) return [];
    if (s.startsWith('/')) return splitUnescaped(s.slice(1), '/').filter((p) => p.length > 0).map(parseRdnString);
    return splitUnescaped(s, ',').map(parseRdnString).reverse();
  }
  if (Array.isArray(input)) return input.map(([t, v]) => [[t, v]]);
  const keys = Object.keys(input);
  const rank = (k: string): number => {
    const i = CANONICAL.findIndex((c) => c.toLowerCase() === k.toLowerCase());
    return i === -1 ? CANONICAL.length : i;
  };
  const ordered = keys.map((k, i) => ({ k, i })).sort((a, b) => rank(a.k) - rank(b.k) || a.i - b.i);
  const out: Array<Array<[string, string]>> = [];
  for (const { k } of ordered) {
    const v = input[k]!;
    for (const one of Array.isArray(v) ? v : [v]) out.push([[k, one]]);
  }
  return out;
}

/** Builds a pkijs Name. pkijs RelativeDistinguishedNames flattens RDNs, so multi-valued RDNs are encoded by hand. */
export function buildName(input: NameInput): pkijs.RelativeDistinguishedNames {
  const rdns = rdnsFromInput(input);
  const seq = new asn1js.Sequence({
    value: rdns.map(
      (rdn) =>
        new asn1js.Set({
          value: rdn.map(([t, v]) => {
            const oid = oidOf(t);
            return new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: oid }), valueFor(oid, v)] });
          }),
        }),
    ),
  });
  // Round-trip through DER so pkijs keeps the exact encoding (valueBeforeDecode) for comparisons and re-encoding.
  const der = seq.toBER(false);
  return new pkijs.RelativeDistinguishedNames({ schema: asn1js.fromBER(der).result });
}
