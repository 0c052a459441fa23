// The PAL entry model (RFC 8295 §2.1), the package type registry (§2.1.1, Table 1; IANA "PAL Package Types") and
// the field rules both encodings share (§2.1 text + §2.1.2 schema). The JSON form is the RFC's own (§2.1.3): a
// top-level array of {type, date?, size, info:{dn|ski|iasn|uri}} objects with the same field rules as the XML.
import { PAL_MAX_FIELD_LENGTH, PAL_MAX_SERIAL_DIGITS, PAL_MIN_DATE } from './constants.js';
import { PalFormatError } from './errors.js';

// ---------------------------------------------------------------------------------------------------------------
// Package types (§2.1.1 Table 1; semantics of 0002 and 0006–0021 come from RFC 7030)

/** §2.1.1 Table 1: every package type this RFC defines, by name. Values are the 4-digit wire codes. */
export const PackageType = {
  Reserved: '0000',
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
  StartKeEnrollmentWithCsrAttr: '0013',
  StartKeEnrollment: '0014',
  KeEnrollmentSuccess: '0015',
  KeEnrollmentFailure: '0016',
  StartKeReenrollment: '0017',
  KeReenrollmentSuccess: '0018',
  KeReenrollmentFailure: '0019',
  AsymmetricKeyPkcs8: '0020',
  AsymmetricKeyCms: '0021',
  AsymmetricKeyPkcs12: '0022',
  AsymmetricKeyReceiptOrError: '0023',
  SymmetricKey: '0024',
  SymmetricKeyReceiptOrError: '0025',
  Firmware: '0026',
  FirmwareReceiptOrError: '0027',
  TampStatusQuery: '0028',
  TampStatusQueryResponseOrError: '0029',
  TrustAnchorUpdate: '0030',
  TrustAnchorUpdateConfirmOrError: '0031',
  ApexTrustAnchorUpdate: '0032',
  ApexTrustAnchorUpdateConfirmOrError: '0033',
  CommunityUpdate: '0034',
  CommunityUpdateConfirmOrError: '0035',
  SequenceNumberAdjust: '0036',
  SequenceNumberAdjustConfirmOrError: '0037',
} as const;
export type KnownPackageType = (typeof PackageType)[keyof typeof PackageType];
/** Any 4-digit code: §2.1 types are an open registry (§11.3, Expert Review), so unknown codes parse fine. */
export type PackageTypeCode = string;

/**
 * What a package type asks the client to do, grouped by the path component it names (§2.1.1) — the unit §2.3
 * precedence speaks about. 'return' types ask the client to POST a receipt/confirm/error (§2: they follow the entry
 * that delivered the package).
 */
export type PackageKind =
  | 'pal' // 0001: /pal (another PAL)
  | 'cacerts' // 0002: /cacerts (RFC 7030 §4.1)
  | 'eecerts' // 0003: /eecerts (§3)
  | 'crls' // 0004, 0005: /crls (§4)
  | 'csrattrs' // 0006, 0013: /csrattrs (RFC 7030 §4.5)
  | 'enroll' // 0007–0012, 0014–0019: /simpleenroll, /simplereenroll, /fullcmc (RFC 7030 §4.2, §4.3; §9)
  | 'serverkeygen' // 0020–0022: /serverkeygen or /fullcmc (RFC 7030 §4.4; §8)
  | 'symmetrickeys' // 0024: /symmetrickeys (§5)
  | 'firmware' // 0026: /firmware (§6)
  | 'tamp' // 0028, 0030, 0032, 0034, 0036: /tamp (§7)
  | 'return'; // 0023, 0025, 0027, 0029, 0031, …, 0037: /serverkeygen|/symmetrickeys|/firmware|/tamp + /return

export interface PackageTypeInfo {
  readonly code: KnownPackageType;
  /** Table 1 description, verbatim. */
  readonly name: string;
  readonly kind: PackageKind | 'reserved';
  /** Path components the entry's URI points to (§2.1.1 per-type text). */
  readonly paths: readonly string[];
}

const T = (code: KnownPackageType, name: string, kind: PackageTypeInfo['kind'], paths: string[]): PackageTypeInfo => ({
  code,
  name,
  kind,
  paths,
});
const ENROLL_GET = ['simpleenroll', 'fullcmc']; // §2.1.1 0008/0009 (and 0015/0016 by reference)
const REENROLL = ['simplereenroll', 'fullcmc']; // §2.1.1 0010; §9 for the success/failure retrieval

/** §2.1.1 Table 1 with each type's kind and path components. */
export const PACKAGE_TYPES: Readonly<Record<KnownPackageType, PackageTypeInfo>> = {
  '0000': T('0000', 'Reserved', 'reserved', []),
  '0001': T('0001', 'Additional PAL value present', 'pal', ['pal']),
  '0002': T('0002', 'X.509 CA certificate', 'cacerts', ['cacerts']),
  '0003': T('0003', 'X.509 EE certificate', 'eecerts', ['eecerts']),
  '0004': T('0004', 'X.509 ARL', 'crls', ['crls']),
  '0005': T('0005', 'X.509 CRL', 'crls', ['crls']),
  '0006': T('0006', 'Start DS certificate enrollment with CSR attribute', 'csrattrs', ['csrattrs']),
  '0007': T('0007', 'Start DS certificate enrollment', 'enroll', ['simpleenroll']),
  '0008': T('0008', 'DS certificate enrollment (success)', 'enroll', ENROLL_GET),
  '0009': T('0009', 'DS certificate enrollment (failure)', 'enroll', ENROLL_GET),
  '0010': T('0010', 'Start DS certificate re-enrollment', 'enroll', REENROLL),
  '0011': T('0011', 'DS certificate re-enrollment (success)', 'enroll', REENROLL),
  '0012': T('0012', 'DS certificate re-enrollment (failure)', 'enroll', REENROLL),
  '0013': T('0013', 'Start KE certificate enrollment with CSR attribute', 'csrattrs', ['csrattrs']),
  '0014': T('0014', 'Start KE certificate enrollment', 'enroll', ['simpleenroll']),
  '0015': T('0015', 'KE certificate enrollment (success)', 'enroll', ENROLL_GET),
  '0016': T('0016', 'KE certificate enrollment (failure)', 'enroll', ENROLL_GET),
  '0017': T('0017', 'Start KE certificate re-enrollment', 'enroll', REENROLL),
  '0018': T('0018', 'KE certificate re-enrollment (success)', 'enroll', REENROLL),
  '0019': T('0019', 'KE certificate re-enrollment (failure)', 'enroll', REENROLL),
  '0020': T('0020', 'Asymmetric Key Package (PKCS #8)', 'serverkeygen', ['serverkeygen', 'fullcmc']),
  '0021': T('0021', 'Asymmetric Key Package (CMS)', 'serverkeygen', ['serverkeygen', 'fullcmc']),
  '0022': T('0022', 'Asymmetric Key Package (PKCS #12)', 'serverkeygen', ['serverkeygen', 'fullcmc']),
  '0023': T('0023', 'Asymmetric Key Package Receipt or Error', 'return', ['serverkeygen/return']),
  '0024': T('0024', 'Symmetric Key Package', 'symmetrickeys', ['symmetrickeys']),
  '0025': T('0025', 'Symmetric Key Package Receipt or Error', 'return', ['symmetrickeys/return']),
  '0026': T('0026', 'Firmware Package', 'firmware', ['firmware']),
  '0027': T('0027', 'Firmware Package Receipt or Error', 'return', ['firmware/return']),
  '0028': T('0028', 'TAMP Status Query', 'tamp', ['tamp']),
  '0029': T('0029', 'TAMP Status Query Response or Error', 'return', ['tamp/return']),
  '0030': T('0030', 'Trust Anchor Update', 'tamp', ['tamp']),
  '0031': T('0031', 'Trust Anchor Update Confirm or Error', 'return', ['tamp/return']),
  '0032': T('0032', 'Apex Trust Anchor Update', 'tamp', ['tamp']),
  '0033': T('0033', 'Apex Trust Anchor Update Confirm or Error', 'return', ['tamp/return']),
  '0034': T('0034', 'Community Update', 'tamp', ['tamp']),
  '0035': T('0035', 'Community Update Confirm or Error', 'return', ['tamp/return']),
  '0036': T('0036', 'Sequence Number Adjust', 'tamp', ['tamp']),
  '0037': T('0037', 'Sequence Number Adjust Confirm or Error', 'return', ['tamp/return']),
};

/** Registry lookup; undefined for codes this RFC does not define (0038–9999). */
export function packageTypeInfo(code: string): PackageTypeInfo | undefined {
  return Object.prototype.hasOwnProperty.call(PACKAGE_TYPES, code) ? PACKAGE_TYPES[code as KnownPackageType] : undefined;
}

/** "0026 (Firmware Package)" for logs; "0042 (unknown)" otherwise. */
export function describePackageType(code: string): string {
  return `${code} (${packageTypeInfo(code)?.name ?? 'unknown'})`;
}

// ---------------------------------------------------------------------------------------------------------------
// Entries (§2.1)

/** §2.1 info: exactly one of DN, SKI, issuer+serial, URI. */
export type PalInfo =
  /** Where the package is retrieved from (or posted to, for return types). An absolute URI, ≤ 1024 chars. */
  | { readonly kind: 'uri'; readonly uri: string }
  /** RFC 4514 string naming the certificate the notification concerns. ≤ 1024 chars. */
  | { readonly kind: 'dn'; readonly dn: string }
  /** SubjectKeyIdentifier of that certificate: lower-case hex (hexBinary, 1..1024 octets). */
  | { readonly kind: 'ski'; readonly ski: string }
  /** Issuer DN (RFC 4514) and serial number of that certificate. */
  | { readonly kind: 'iasn'; readonly issuer: string; readonly serial: bigint };

export interface PalEntry {
  /** §2.1: 4-digit string, see PackageType. */
  readonly type: PackageTypeCode;
  /** §2.1: when the client last successfully downloaded the package; absent when never, for 0001, or for requests. */
  readonly date?: Date;
  /** §2.1: package size in bytes; 0 = the client is to begin a transaction or return a receipt/error. */
  readonly size: number;
  readonly info: PalInfo;
}

// ---------------------------------------------------------------------------------------------------------------
// Field rules shared by the XML and JSON codecs. `path` names the field for errors.

/** §2.1 / §2.1.2 PackageType: pattern \d{4} (the RFC prints "d{4}", a lost backslash). ASCII digits only. */
export function checkType(value: string, path: string): string {
  if (!/^[0-9]{4}$/.test(value)) throw new PalFormatError('type', path, `package type must be a 4-digit string, got ${show(value)}`);
  return value;
}

const DATE_RE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/;
const MIN_DATE_MS = Date.parse(PAL_MIN_DATE);

/**
 * §2.1: "Generalized Time with 20 characters: YYYY-MM-DDTHH:MM:SSZ", the canonical xsd:dateTime (so hour 24 and
 * leap second 60 are refused); §2.1.2 GeneralizedTimeType: pattern ".*:\d{2}Z", minInclusive 2013-05-23T00:00:00Z.
 */
export function parsePalDate(value: string, path: string): Date {
  const m = DATE_RE.exec(value);
  if (!m) throw new PalFormatError('date', path, `date must be YYYY-MM-DDTHH:MM:SSZ (20 characters, UTC), got ${show(value)}`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12) throw new PalFormatError('date', path, `month ${m[2]} out of range in ${show(value)}`);
  const dim = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d < 1 || d > dim) throw new PalFormatError('date', path, `day ${m[3]} out of range in ${show(value)}`);
  if (h > 23) throw new PalFormatError('date', path, `hour ${m[4]} out of range in ${show(value)}`);
  if (mi > 59) throw new PalFormatError('date', path, `minute ${m[5]} out of range in ${show(value)}`);
  if (s > 59) throw new PalFormatError('date', path, `second ${m[6]} out of range in ${show(value)} (leap seconds are not allowed)`);
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  date.setUTCFullYear(y); // years 0000–0099 would otherwise map to 1900–1999 (they are refused below anyway)
  if (date.getTime() < MIN_DATE_MS) throw new PalFormatError('date', path, `date ${value} is before the schema minimum ${PAL_MIN_DATE}`);
  return date;
}

/** The §2.1 wire form of a date. Sub-second precision is dropped (§2.1: resolution finer than seconds is not relied on). */
export function formatPalDate(date: Date, path: string): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new PalFormatError('date', path, 'invalid Date');
  if (ms < MIN_DATE_MS) throw new PalFormatError('date', path, `date ${date.toISOString()} is before the schema minimum ${PAL_MIN_DATE}`);
  if (date.getUTCFullYear() > 9999) throw new PalFormatError('date', path, 'year beyond 9999 does not fit the 20-character form');
  return date.toISOString().slice(0, 19) + 'Z';
}

/** §2.1 / §2.1.2: size is a nonNegativeInteger. We also require it to be a safe JS integer (< 2^53 bytes). */
export function checkSize(value: number, path: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new PalFormatError('size', path, `size must be a non-negative integer, got ${show(value)}`);
  return value;
}

/** xsd:nonNegativeInteger / positiveInteger lexical form (optional "+", decimal digits) as used by the XML codec. */
export function parseXsdInteger(lexical: string, path: string, reason: string, min: 0 | 1, maxDigits: number): bigint {
  if (!/^\+?[0-9]+$/.test(lexical)) throw new PalFormatError(reason, path, `expected a ${min ? 'positive' : 'non-negative'} integer, got ${show(lexical)}`);
  const digits = lexical.replace(/^\+?0*/, '');
  if (digits.length > maxDigits) throw new PalFormatError(reason, path, `integer has more than ${maxDigits} digits`);
  const v = BigInt(digits || '0');
  if (v < BigInt(min)) throw new PalFormatError(reason, path, `expected a positive integer, got ${show(lexical)}`);
  return v;
}

/** Serial numbers: positiveInteger in XML (§2.1.2); see checkSerial for the JSON form. */
export function checkSerial(value: bigint, path: string, allowZero: boolean): bigint {
  if (value < 0n || (!allowZero && value === 0n)) {
    throw new PalFormatError('serial', path, `serial must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${value}`);
  }
  if (value.toString().length > PAL_MAX_SERIAL_DIGITS) throw new PalFormatError('serial', path, `serial has more than ${PAL_MAX_SERIAL_DIGITS} digits`);
  return value;
}

/** §2.1 'uri' / §2.1.2 ThisURI: anyURI, maxLength 1024. We require an absolute URI the agent can dereference. */
export function checkUri(value: string, path: string): string {
  if (value.length === 0) throw new PalFormatError('uri', path, 'empty URI');
  if ([...value].length > PAL_MAX_FIELD_LENGTH) throw new PalFormatError('uri', path, `URI longer than ${PAL_MAX_FIELD_LENGTH} characters`);
  // RFC 3986 §3: scheme ":" hier-part; no whitespace or controls anywhere (they would need percent-encoding).
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:[^\s\x00-\x1f\x7f]*$/.test(value)) throw new PalFormatError('uri', path, `not an absolute URI: ${show(value)}`);
  try {
    new URL(value);
  } catch {
    throw new PalFormatError('uri', path, `not a valid URI: ${show(value)}`);
  }
  return value;
}

/** §2.1.2 SubjectKeyIdentifier: hexBinary (even number of hex digits), maxLength 1024 octets. Returned lower-case. */
export function checkSki(value: string, path: string): string {
  if (!/^[0-9A-Fa-f]*$/.test(value) || value.length % 2 !== 0) {
    throw new PalFormatError('ski', path, `ski must be an even number of hex digits, got ${show(value)}`);
  }
  // The schema sets no minLength; an empty key identifier cannot name a certificate, so we refuse it.
  if (value.length === 0) throw new PalFormatError('ski', path, 'empty ski');
  if (value.length / 2 > PAL_MAX_FIELD_LENGTH) throw new PalFormatError('ski', path, `ski longer than ${PAL_MAX_FIELD_LENGTH} octets`);
  return value.toLowerCase();
}

/**
 * §2.1 dn / issuer: RFC 4514 string, §2.1.2 DistinguishedName maxLength 1024. Checked for RFC 4514 §3 syntax:
 * RDNs split on unescaped "," and "+", each `type=value` with a descr or numericoid type, a value that is either
 * "#hex" or a string whose specials are escaped. `nonEmpty` is set for issuers (RFC 5280 §4.1.2.4).
 */
export function checkDn(value: string, path: string, reason: 'dn' | 'issuer', nonEmpty: boolean): string {
  if ([...value].length > PAL_MAX_FIELD_LENGTH) throw new PalFormatError(reason, path, `distinguished name longer than ${PAL_MAX_FIELD_LENGTH} characters`);
  if (value.length === 0) {
    if (nonEmpty) throw new PalFormatError(reason, path, 'empty distinguished name');
    return value; // RFC 4514 §3: the empty string is the empty DN (RFC 5280 allows an empty subject)
  }
  const bad = (why: string): PalFormatError => new PalFormatError(reason, path, `not an RFC 4514 distinguished name (${why}): ${show(value)}`);
  let i = 0;
  const n = value.length;
  for (;;) {
    // attributeType = descr / numericoid (RFC 4512 §1.4)
    const typeMatch = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)=/.exec(value.slice(i, i + 256));
    if (!typeMatch) throw bad(`attribute type expected at offset ${i}`);
    i += typeMatch[0].length;
    if (value[i] === '#') {
      const hex = /^#((?:[0-9A-Fa-f]{2})+)/.exec(value.slice(i));
      if (!hex) throw bad(`bad hexstring at offset ${i}`);
      i += hex[0].length;
    } else {
      for (; i < n; i++) {
        const c = value[i]!;
        if (c === ',' || c === '+') break;
        if (c === '\\') {
          const next = value[i + 1];
          if (next !== undefined && ' "#+,;<=>\\'.includes(next)) i++;
          else if (next !== undefined && /^[0-9A-Fa-f]{2}$/.test(value.slice(i + 1, i + 3))) i += 2;
          else throw bad(`bad escape at offset ${i}`);
        } else if (c === '"' || c === ';' || c === '<' || c === '>' || c === '\u0000') {
          throw bad(`unescaped ${JSON.stringify(c)} at offset ${i}`);
        }
      }
    }
    if (i >= n) return value;
    if (value[i] !== ',' && value[i] !== '+') throw bad(`separator expected at offset ${i}`);
    i++;
  }
}

/** Validates a whole entry (used by both serializers, and by callers building PALs by hand). */
export function checkEntry(entry: PalEntry, path: string, opts: { allowZeroSerial: boolean }): void {
  if (typeof entry !== 'object' || entry === null) throw new PalFormatError('entry', path, 'entry must be an object');
  checkType(String(entry.type), `${path}.type`);
  if (entry.date !== undefined) {
    if (!(entry.date instanceof Date)) throw new PalFormatError('date', `${path}.date`, 'date must be a Date');
    formatPalDate(entry.date, `${path}.date`);
  }
  checkSize(entry.size, `${path}.size`);
  const info = entry.info as PalInfo | undefined;
  switch (info?.kind) {
    case 'uri':
      checkUri(info.uri, `${path}.info.uri`);
      break;
    case 'dn':
      checkDn(info.dn, `${path}.info.dn`, 'dn', false);
      break;
    case 'ski':
      checkSki(info.ski, `${path}.info.ski`);
      break;
    case 'iasn':
      checkDn(info.issuer, `${path}.info.iasn.issuer`, 'issuer', true);
      if (typeof info.serial !== 'bigint') throw new PalFormatError('serial', `${path}.info.iasn.serial`, 'serial must be a bigint');
      checkSerial(info.serial, `${path}.info.iasn.serial`, opts.allowZeroSerial);
      break;
    default:
      throw new PalFormatError('info', `${path}.info`, 'info must be exactly one of dn, ski, iasn, uri');
  }
}

/**
 * §2 and §2.1.1 rules for type 0001 ("Additional PAL value present"): it MUST be the last entry, MUST NOT be the
 * only entry, and refers to another /pal URI (so its info must be a uri). §2 also says entries after a 0001 "are
 * ignored"; we treat a misplaced 0001 as an invalid PAL instead (§2.1.1 MUST), so nothing is silently dropped.
 */
export function checkChainRules(entries: readonly PalEntry[]): void {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (e.type !== PackageType.AdditionalPal) continue;
    if (i !== entries.length - 1) {
      throw new PalFormatError('chain_not_last', `pal.entry[${i}]`, `type 0001 (Additional PAL value present) must be the last entry (§2.1.1); ${entries.length - 1 - i} entries follow it`);
    }
    if (entries.length === 1) {
      throw new PalFormatError('chain_alone', `pal.entry[${i}]`, 'type 0001 (Additional PAL value present) must not be the only entry (§2.1.1)');
    }
    if (e.info.kind !== 'uri') throw new PalFormatError('chain_uri', `pal.entry[${i}].info`, 'type 0001 must point to another /pal URI (info.uri)');
  }
}

/** Short, log-safe rendering of a bad value. */
export function show(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v.length > 64 ? v.slice(0, 64) + '…' : v) : String(v);
  return s;
}
