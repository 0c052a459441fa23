// Distinguished names (RFC 5280 §4.1.2.4) from a short description: {CN:'x', O:'y'} (encoded in the order DC, C, ST,
// L, O, OU, CN, serialNumber, then the rest), [[type, value], …] (encoded order), or an RFC 4514 string
// ("CN=x,O=y", most specific first). countryName/serialNumber are PrintableString, DC/emailAddress IA5String,
// everything else UTF8String (RFC 5280 Appendix A).
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

export type NameInput = string | Record<string, string | string[]> | Array<[string, string]>;

const TYPES: Record<string, string> = {
  CN: '2.5.4.3', SN: '2.5.4.4', serialNumber: '2.5.4.5', C: '2.5.4.6', L: '2.5.4.7', ST: '2.5.4.8', street: '2.5.4.9',
  O: '2.5.4.10', OU: '2.5.4.11', title: '2.5.4.12', GN: '2.5.4.42', DC: '0.9.2342.19200300.100.1.25',
  UID: '0.9.2342.19200300.100.1.1', emailAddress: '1.2.840.113549.1.9.1',
};
const LOWER = new Map(Object.entries(TYPES).map(([k, v]) => [k.toLowerCase(), v]));
const ORDER = ['DC', 'C', 'ST', 'L', 'O', 'OU', 'CN', 'serialNumber'];

function typeOid(t: string): string {
  if (/^\d+(\.\d+)+$/.test(t.trim())) return t.trim();
  const o = LOWER.get(t.trim().toLowerCase());
  if (!o) throw new Error(`unknown attribute type "${t}" in a name`);
  return o;
}

function value(oid: string, v: string): asn1js.BaseStringBlock {
  if (oid === TYPES.C || oid === TYPES.serialNumber) return new asn1js.PrintableString({ value: v });
  if (oid === TYPES.DC || oid === TYPES.emailAddress) return new asn1js.IA5String({ value: v });
  return new asn1js.Utf8String({ value: v });
}

function pairs(input: NameInput): Array<[string, string]> {
  if (Array.isArray(input)) return input;
  if (typeof input === 'string') {
    return input
      .split(/(?<!\\),/)
      .filter((p) => p.trim().length > 0)
      .map((p) => {
        const eq = p.indexOf('=');
        if (eq <= 0) throw new Error(`malformed attribute "${p}" in a name`);
        return [p.slice(0, eq).trim(), p.slice(eq + 1).trim().replace(/\\(.)/g, '$1')] as [string, string];
      })
      .reverse();
  }
  const rank = (k: string): number => {
    const i = ORDER.findIndex((c) => c.toLowerCase() === k.toLowerCase());
    return i === -1 ? ORDER.length : i;
  };
  return Object.keys(input)
    .map((k, i) => ({ k, i }))
    .sort((a, b) => rank(a.k) - rank(b.k) || a.i - b.i)
    .flatMap(({ k }) => {
      const v = input[k]!;
      return (Array.isArray(v) ? v : [v]).map((one) => [k, one] as [string, string]);
    });
}

/** One RDN per attribute, re-parsed from its DER so pkijs keeps the exact encoding for comparisons. */
export function buildName(input: NameInput): pkijs.RelativeDistinguishedNames {
  const seq = new asn1js.Sequence({
    value: pairs(input).map(([t, v]) => {
      const o = typeOid(t);
      return new asn1js.Set({ value: [new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: o }), value(o, v)] })] });
    }),
  });
  return new pkijs.RelativeDistinguishedNames({ schema: asn1js.fromBER(seq.toBER(false)).result });
}
