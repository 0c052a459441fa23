// The Package Availability List as the lab writes it (RFC 8295 §2.1): entries {type, date?, size, info}, info one
// of dn | ski | iasn {issuer, serial} | uri; encoded as XML in the urn:ietf:params:xml:ns:pal namespace (§2.1.2
// schema) or as the §2.1.3 JSON array, negotiated by Accept (§2.3).

/** §2.1.1 Table 1 codes the lab serves. */
export const PackageType = {
  AdditionalPal: '0001',
  CaCertificate: '0002',
  EeCertificate: '0003',
  Arl: '0004',
  Crl: '0005',
  StartDsEnrollmentWithCsrAttr: '0006',
  StartDsEnrollment: '0007',
  DsEnrollmentSuccess: '0008',
  DsEnrollmentFailure: '0009',
  StartDsReenrollment: '0010',
  DsReenrollmentSuccess: '0011',
  DsReenrollmentFailure: '0012',
  SymmetricKey: '0024',
  Firmware: '0026',
  TampStatusQuery: '0028',
  TrustAnchorUpdate: '0030',
  ApexTrustAnchorUpdate: '0032',
  CommunityUpdate: '0034',
  SequenceNumberAdjust: '0036',
} as const;

export type PalInfo =
  | { readonly kind: 'uri'; readonly uri: string }
  | { readonly kind: 'dn'; readonly dn: string }
  | { readonly kind: 'ski'; readonly ski: string }
  | { readonly kind: 'iasn'; readonly issuer: string; readonly serial: bigint };

export interface PalEntry {
  /** §2.1: 4-digit string. */
  readonly type: string;
  /** §2.1: when the client last downloaded the package. */
  readonly date?: Date;
  /** §2.1: bytes; 0 = begin a transaction / return a receipt. */
  readonly size: number;
  readonly info: PalInfo;
}

/** §2.3: the two encodings. */
export const PAL_MEDIA_TYPES = { xml: 'application/xml', json: 'application/json' } as const;
export type PalFormat = keyof typeof PAL_MEDIA_TYPES;
const PAL_NAMESPACE = 'urn:ietf:params:xml:ns:pal';

/** §2.1 "Generalized Time with 20 characters: YYYY-MM-DDTHH:MM:SSZ". */
const palDate = (d: Date): string => d.toISOString().slice(0, 19) + 'Z';

function check(entries: readonly PalEntry[]): void {
  entries.forEach((e, i) => {
    if (!/^[0-9]{4}$/.test(e.type)) throw new Error(`pal entry ${i}: type must be 4 digits`);
    if (!Number.isSafeInteger(e.size) || e.size < 0) throw new Error(`pal entry ${i}: size must be a non-negative integer`);
    // §2.1.1 0001: last, not alone, pointing at another /pal.
    if (e.type === PackageType.AdditionalPal && (i !== entries.length - 1 || entries.length === 1 || e.info.kind !== 'uri')) throw new Error(`pal entry ${i}: 0001 must be the last of several entries and carry a uri`);
  });
}

const xmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function toXml(entries: readonly PalEntry[]): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>\n', `<pal xmlns="${PAL_NAMESPACE}">\n`];
  for (const e of entries) {
    out.push('  <message>\n', `    <type>${e.type}</type>\n`);
    if (e.date) out.push(`    <date>${palDate(e.date)}</date>\n`);
    out.push(`    <size>${e.size}</size>\n`, '    <info>\n');
    const i = e.info;
    if (i.kind === 'uri') out.push(`      <uri>${xmlText(i.uri)}</uri>\n`);
    else if (i.kind === 'dn') out.push(`      <dn>${xmlText(i.dn)}</dn>\n`);
    else if (i.kind === 'ski') out.push(`      <ski>${i.ski.toUpperCase()}</ski>\n`);
    else out.push(`      <iasn>\n        <issuer>${xmlText(i.issuer)}</issuer>\n        <serial>${i.serial}</serial>\n      </iasn>\n`);
    out.push('    </info>\n', '  </message>\n');
  }
  out.push('</pal>\n');
  return out.join('');
}

function toJson(entries: readonly PalEntry[]): string {
  const serials: bigint[] = [];
  const items = entries.map((e) => {
    const i = e.info;
    const info =
      i.kind === 'uri' ? { uri: i.uri } : i.kind === 'dn' ? { dn: i.dn } : i.kind === 'ski' ? { ski: i.ski } : { iasn: { issuer: i.issuer, serial: `\u0000${serials.push(i.serial) - 1}` } };
    return { type: e.type, ...(e.date ? { date: palDate(e.date) } : {}), size: e.size, info };
  });
  // serial is a JSON number of any size (§2.1.3): written from the bigint, not through a double.
  return JSON.stringify(items, null, 2).replace(/"\\u0000(\d+)"/g, (_, n: string) => serials[Number(n)]!.toString()) + '\n';
}

/** The body and Content-Type of a PAL page. */
export function writePal(entries: readonly PalEntry[], format: PalFormat): { body: string; contentType: string } {
  check(entries);
  return format === 'xml' ? { body: toXml(entries), contentType: `${PAL_MEDIA_TYPES.xml}; charset=utf-8` } : { body: toJson(entries), contentType: PAL_MEDIA_TYPES.json };
}
