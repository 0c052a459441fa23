// The lab's RFC 5934 (TAMP) and RFC 5914 (trust anchor format) ASN.1, from the modules in their Appendix A
// (TAMP-Protocol-v2 is DEFINITIONS IMPLICIT TAGS; a tagged CHOICE is explicit, X.680 §31.2.7): encoders for what the
// lab sends (TAMPStatusQuery, TAMPUpdate, TAMPApexUpdate, TAMPCommunityUpdate, SequenceNumberAdjust) and decoders
// for what a device answers (TAMPStatusResponse, TAMPUpdateConfirm, TAMPApexUpdateConfirm,
// TAMPCommunityUpdateConfirm, SequenceNumberAdjustConfirm, TAMPError). DEFAULT values are omitted when encoding
// (X.690 §11.5); decoders refuse unknown tags and trailing components.
import * as asn1js from 'asn1js';
import type * as pkijs from 'pkijs';
import {
  DerError,
  Fields,
  UNIVERSAL,
  bool,
  contentOf,
  der,
  explicit,
  implicitConstructed,
  implicitPrimitive,
  int,
  isContext,
  isUniversal,
  nul,
  octets,
  oid,
  parse,
  readBool,
  readInt,
  readOctets,
  readOid,
  readUtf8,
  seq,
  utf8,
  type Node,
} from './der.js';

// ---- OIDs and media types (RFC 5934 Appendix A, §8) ----------------------------------------------------------------

const ID_TAMP = '2.16.840.1.101.2.1.2.77';
export const OID_TAMP = {
  statusQuery: `${ID_TAMP}.1`,
  statusResponse: `${ID_TAMP}.2`,
  update: `${ID_TAMP}.3`,
  updateConfirm: `${ID_TAMP}.4`,
  apexUpdate: `${ID_TAMP}.5`,
  apexUpdateConfirm: `${ID_TAMP}.6`,
  communityUpdate: `${ID_TAMP}.7`,
  communityUpdateConfirm: `${ID_TAMP}.8`,
  error: `${ID_TAMP}.9`,
  seqNumAdjust: `${ID_TAMP}.10`,
  seqNumAdjustConfirm: `${ID_TAMP}.11`,
} as const;
/** RFC 5934 §4.5: id-aa-TAMP-contingencyPublicKeyDecryptKey (PlaintextSymmetricKey ::= OCTET STRING). */
export const OID_AA_TAMP_CONTINGENCY_PUBLIC_KEY_DECRYPT_KEY = '2.16.840.1.101.2.1.5.63';
/** RFC 5934 §2.2.4.1: id-pe-wrappedApexContinKey. */
export const OID_PE_WRAPPED_APEX_CONTIN_KEY = '1.3.6.1.5.5.7.1.20';

/** RFC 5934 §8 media types, by content type. */
export const TAMP_MEDIA_TYPES: Readonly<Record<string, string>> = {
  [OID_TAMP.statusQuery]: 'application/tamp-status-query',
  [OID_TAMP.statusResponse]: 'application/tamp-status-response',
  [OID_TAMP.update]: 'application/tamp-update',
  [OID_TAMP.updateConfirm]: 'application/tamp-update-confirm',
  [OID_TAMP.apexUpdate]: 'application/tamp-apex-update',
  [OID_TAMP.apexUpdateConfirm]: 'application/tamp-apex-update-confirm',
  [OID_TAMP.communityUpdate]: 'application/tamp-community-update',
  [OID_TAMP.communityUpdateConfirm]: 'application/tamp-community-update-confirm',
  [OID_TAMP.seqNumAdjust]: 'application/tamp-sequence-adjust',
  [OID_TAMP.seqNumAdjustConfirm]: 'application/tamp-sequence-adjust-confirm',
  [OID_TAMP.error]: 'application/tamp-error',
};

/** RFC 5934 §5 StatusCode ::= ENUMERATED. */
const STATUS_CODES = [
  'success', 'decodeFailure', 'badContentInfo', 'badSignedData', 'badEncapContent', 'badCertificate', 'badSignerInfo', 'badSignedAttrs',
  'badUnsignedAttrs', 'missingContent', 'noTrustAnchor', 'notAuthorized', 'badDigestAlgorithm', 'badSignatureAlgorithm', 'unsupportedKeySize',
  'unsupportedParameters', 'signatureFailure', 'insufficientMemory', 'unsupportedTAMPMsgType', 'apexTAMPAnchor', 'improperTAAddition',
  'seqNumFailure', 'contingencyPublicKeyDecrypt', 'incorrectTarget', 'communityUpdateFailed', 'trustAnchorNotFound', 'unsupportedTAAlgorithm',
  'unsupportedTAKeySize', 'unsupportedContinPubKeyDecryptAlg', 'missingSignature', 'resourcesBusy', 'versionNumberMismatch', 'missingPolicySet',
  'revokedCertificate', 'unsupportedTrustAnchorFormat', 'improperTAChange', 'malformed', 'cmsError', 'unsupportedTargetIdentifier',
] as const;
export type StatusCode = (typeof STATUS_CODES)[number] | 'other';

function statusName(v: bigint, path: string): StatusCode {
  if (v === 127n) return 'other';
  const name = v >= 0n && v < BigInt(STATUS_CODES.length) ? STATUS_CODES[Number(v)] : undefined;
  if (!name) throw new DerError(path, `${v} is not a StatusCode`);
  return name;
}
const readStatus = (n: Node, path: string): StatusCode => statusName(readInt(n, path, { universal: UNIVERSAL.ENUMERATED }), path);
const readTaggedStatus = (n: Node, tag: number, path: string): StatusCode => statusName(readInt(n, path, { implicitTag: tag }), path);

// ---- RFC 5914 trust anchors ----------------------------------------------------------------------------------------

/** RFC 5914 §2 TrustAnchorInfo (version v1 only, so DEFAULT and omitted); certPath with taName and certificate only. */
export interface TrustAnchorInfo {
  /** DER SubjectPublicKeyInfo. */
  pubKey: Uint8Array;
  keyId: Uint8Array;
  taTitle?: string;
  /** CertPathControls: DER Name, DER Certificate. */
  certPath?: { taName: Uint8Array; certificate?: Uint8Array };
  /** DER Extensions (SEQUENCE OF Extension), [1] EXPLICIT. */
  exts?: Uint8Array;
}

/** RFC 5914 §2 TrustAnchorChoice ::= CHOICE { certificate Certificate, tbsCert [1] EXPLICIT TBSCertificate, taInfo [2] EXPLICIT TrustAnchorInfo }. */
export type TrustAnchorChoice =
  | { kind: 'certificate'; der: Uint8Array; certificate?: pkijs.Certificate }
  | { kind: 'tbsCert'; der: Uint8Array }
  | { kind: 'taInfo'; info: TrustAnchorInfo };

function trustAnchorInfoNode(t: TrustAnchorInfo): Node {
  const v: Node[] = [parse(t.pubKey, 'pubKey'), octets(t.keyId)];
  if (t.taTitle !== undefined) v.push(utf8(t.taTitle));
  if (t.certPath) v.push(seq(parse(t.certPath.taName, 'taName'), ...(t.certPath.certificate ? [implicitConstructed(0, Fields.rawChildren(parse(t.certPath.certificate, 'certificate')))] : [])));
  if (t.exts) v.push(explicit(1, parse(t.exts, 'exts')));
  return seq(...v);
}

function readTrustAnchorInfo(n: Node, path: string): TrustAnchorInfo {
  const f = Fields.of(n, path);
  const version = f.optional('version', (x) => isUniversal(x, UNIVERSAL.INTEGER));
  if (version && readInt(...version) !== 1n) throw new DerError(version[1], 'TrustAnchorInfoVersion is v1(1)');
  const [pk, pkPath] = f.next('pubKey');
  Fields.of(pk, pkPath);
  const info: TrustAnchorInfo = { pubKey: der(pk), keyId: readOctets(...f.next('keyId')) };
  const title = f.optional('taTitle', (x) => isUniversal(x, UNIVERSAL.UTF8String));
  if (title) {
    info.taTitle = readUtf8(...title);
    if (info.taTitle.length < 1 || info.taTitle.length > 64) throw new DerError(title[1], 'TrustAnchorTitle is SIZE (1..64)');
  }
  const cp = f.optional('certPath', (x) => isUniversal(x, UNIVERSAL.SEQUENCE));
  if (cp) {
    const c = Fields.of(...cp);
    const [name] = c.next('taName');
    const cert = c.optional('certificate', (x) => isContext(x, 0, true));
    info.certPath = { taName: der(name), ...(cert ? { certificate: der(seq(...Fields.rawChildren(cert[0]))) } : {}) };
  }
  const exts = f.optional('exts', (x) => isContext(x, 1, true));
  if (exts) {
    const e = Fields.of(exts[0], exts[1], { context: 1 });
    info.exts = der(e.next('Extensions')[0]);
    e.end();
  }
  f.optional('taTitleLangTag', (x) => isContext(x, 2, false));
  f.end();
  return info;
}

export function trustAnchorChoiceNode(c: TrustAnchorChoice): Node {
  if (c.kind === 'certificate') return parse(c.der, 'certificate');
  if (c.kind === 'tbsCert') return explicit(1, parse(c.der, 'tbsCert'));
  return explicit(2, trustAnchorInfoNode(c.info));
}

function readTrustAnchorChoice(n: Node, path: string): TrustAnchorChoice {
  if (isUniversal(n, UNIVERSAL.SEQUENCE)) return { kind: 'certificate', der: der(n) };
  const inner = (tag: number): Node => {
    const f = Fields.of(n, path, { context: tag });
    const [x] = f.next('inner');
    f.end();
    return x;
  };
  if (isContext(n, 1, true)) return { kind: 'tbsCert', der: der(inner(1)) };
  if (isContext(n, 2, true)) return { kind: 'taInfo', info: readTrustAnchorInfo(inner(2), `${path}.taInfo`) };
  throw new DerError(path, 'not a TrustAnchorChoice alternative');
}

/** TrustAnchorChoiceList ::= SEQUENCE SIZE (1..MAX) OF TrustAnchorChoice. */
function readTrustAnchorList(n: Node, path: string): TrustAnchorChoice[] {
  const list = Fields.of(n, path).rest('').map(([x, p]) => readTrustAnchorChoice(x, p));
  if (list.length === 0) throw new DerError(path, 'TrustAnchorChoiceList is SIZE (1..MAX)');
  return list;
}

/**
 * RFC 5934 §2.2.4.1 id-pe-wrappedApexContinKey extension value:
 * ApexContingencyKey ::= SEQUENCE { wrapAlgorithm AlgorithmIdentifier, wrappedContinPubKey OCTET STRING }.
 */
export function apexContingencyKeyExtension(wrapAlgorithm: string, wrappedContinPubKey: Uint8Array): Node {
  return seq(oid(OID_PE_WRAPPED_APEX_CONTIN_KEY), new asn1js.OctetString({ valueHex: der(seq(seq(oid(wrapAlgorithm)), octets(wrappedContinPubKey))) }));
}

// ---- RFC 5934 §4.1 common fields -----------------------------------------------------------------------------------

export type HardwareSerialEntry = { all: true } | { single: Uint8Array } | { block: { low: Uint8Array; high: Uint8Array } };
/** TargetIdentifier ::= CHOICE { hwModules [1], communities [2], allModules [3] NULL, uri [4] IA5String, otherName [5] } (otherName not sent by the lab). */
export type TargetIdentifier =
  | { kind: 'hwModules'; modules: Array<{ hwType: string; serials: HardwareSerialEntry[] }> }
  | { kind: 'communities'; communities: string[] }
  | { kind: 'allModules' }
  | { kind: 'uri'; uri: string };

function targetNode(t: TargetIdentifier): Node {
  switch (t.kind) {
    case 'allModules':
      return implicitPrimitive(3, new Uint8Array(0));
    case 'uri':
      return implicitPrimitive(4, new Uint8Array(Buffer.from(t.uri, 'latin1')));
    case 'communities':
      return implicitConstructed(2, t.communities.map(oid));
    case 'hwModules':
      return implicitConstructed(
        1,
        t.modules.map((m) => seq(oid(m.hwType), seq(...m.serials.map((s) => ('all' in s ? nul() : 'single' in s ? octets(s.single) : seq(octets(s.block.low), octets(s.block.high))))))),
      );
  }
}

function readTarget(n: Node, path: string): TargetIdentifier {
  if (isContext(n, 3, false)) {
    if (contentOf(n).byteLength) throw new DerError(path, 'allModules NULL with content');
    return { kind: 'allModules' };
  }
  if (isContext(n, 2, true)) return { kind: 'communities', communities: Fields.of(n, path, { context: 2 }).rest('communities').map(([x, p]) => readOid(x, p)) };
  if (isContext(n, 4, false)) return { kind: 'uri', uri: Buffer.from(contentOf(n)).toString('latin1') };
  if (isContext(n, 1, true)) {
    const modules = Fields.of(n, path, { context: 1 })
      .rest('hwModules')
      .map(([m, p]) => {
        const f = Fields.of(m, p);
        const hwType = readOid(...f.next('hwType'));
        const serials = Fields.of(...f.next('hwSerialEntries'))
          .rest('')
          .map(([s, q]): HardwareSerialEntry => {
            if (isUniversal(s, UNIVERSAL.NULL)) return { all: true };
            if (isUniversal(s, UNIVERSAL.OCTET_STRING)) return { single: readOctets(s, q) };
            const b = Fields.of(s, q);
            const block = { low: readOctets(...b.next('low')), high: readOctets(...b.next('high')) };
            b.end();
            return { block };
          });
        f.end();
        return { hwType, serials };
      });
    return { kind: 'hwModules', modules };
  }
  throw new DerError(path, 'not a TargetIdentifier alternative');
}

/** TAMPMsgRef ::= SEQUENCE { target TargetIdentifier, seqNum SeqNumber }. */
export interface TAMPMsgRef {
  target: TargetIdentifier;
  seqNum: bigint;
}
const SEQ_MAX = 9223372036854775807n;

function msgRefNode(r: TAMPMsgRef): Node {
  return seq(targetNode(r.target), int(r.seqNum));
}
function readSeqNumber(n: Node, path: string): bigint {
  const v = readInt(n, path);
  if (v < 0n || v > SEQ_MAX) throw new DerError(path, `SeqNumber ${v} outside 0..9223372036854775807`);
  return v;
}
function readMsgRef(n: Node, path: string): TAMPMsgRef {
  const f = Fields.of(n, path);
  const target = readTarget(...f.next('target'));
  const seqNum = readSeqNumber(...f.next('seqNum'));
  f.end();
  return { target, seqNum };
}

/** TAMPSequenceNumber ::= SEQUENCE { keyId KeyIdentifier, seqNumber SeqNumber }. */
export interface TAMPSequenceNumber {
  keyId: Uint8Array;
  seqNumber: bigint;
}
function readSeqNumbers(f: Fields): TAMPSequenceNumber[] {
  const list = f.rest('').map(([x, p]) => {
    const s = Fields.of(x, p);
    const out = { keyId: readOctets(...s.next('keyId')), seqNumber: readSeqNumber(...s.next('seqNumber')) };
    s.end();
    return out;
  });
  if (list.length === 0) throw new DerError(f.path, 'TAMPSequenceNumbers is SIZE (1..MAX)');
  return list;
}

const readOidList = (f: Fields): string[] => f.rest('').map(([x, p]) => readOid(x, p));

/** `version [0] TAMPVersion DEFAULT v2`: only v2 is this protocol. */
function readVersion(f: Fields): void {
  const v = f.optional('version', (x) => isContext(x, 0, false));
  if (v && readInt(v[0], v[1], { implicitTag: 0 }) !== 2n) throw new DerError(v[1], 'TAMPVersion must be v2');
}

export type TerseOrVerbose = 'terse' | 'verbose';
/** `terse [1] TerseOrVerbose DEFAULT verbose`. */
const terseField = (t: TerseOrVerbose): Node[] => (t === 'terse' ? [implicitPrimitive(1, new Uint8Array([1]))] : []);

// ---- requests (lab → device) ---------------------------------------------------------------------------------------

/** §4.2 TAMPStatusQuery ::= SEQUENCE { version [0] DEFAULT v2, terse [1] DEFAULT verbose, query TAMPMsgRef }. */
export function tampStatusQuery(o: { terse: TerseOrVerbose; query: TAMPMsgRef }): Uint8Array {
  return der(seq(...terseField(o.terse), msgRefNode(o.query)));
}

/** TrustAnchorChangeInfo (§4.3) as the lab sends it: the key it names and a new title. */
export type TrustAnchorChange = { form: 'taChange'; pubKey: Uint8Array; taTitle?: string };
/** A taChange giving the TA with `pubKey` (DER SubjectPublicKeyInfo) the title `taTitle`. */
export const taTitleChange = (pubKey: Uint8Array, taTitle: string): TrustAnchorChange => ({ form: 'taChange', pubKey, taTitle });

/** TrustAnchorUpdate ::= CHOICE { add [1] TrustAnchorChoice, remove [2] SubjectPublicKeyInfo, change [3] EXPLICIT TrustAnchorChangeInfoChoice }. */
export type TrustAnchorUpdate = { kind: 'add'; ta: TrustAnchorChoice } | { kind: 'remove'; pubKey: Uint8Array } | { kind: 'change'; change: TrustAnchorChange };

function updateNode(u: TrustAnchorUpdate): Node {
  if (u.kind === 'add') return explicit(1, trustAnchorChoiceNode(u.ta));
  if (u.kind === 'remove') return implicitConstructed(2, Fields.rawChildren(parse(u.pubKey, 'pubKey')));
  // TrustAnchorChangeInfoChoice ::= CHOICE { tbsCertChange [0] ..., taChange [1] TrustAnchorChangeInfo }
  const info = [parse(u.change.pubKey, 'pubKey'), ...(u.change.taTitle !== undefined ? [utf8(u.change.taTitle)] : [])];
  return explicit(3, implicitConstructed(1, info));
}

/** §4.3 TAMPUpdate ::= SEQUENCE { version [0] DEFAULT v2, terse [1] DEFAULT verbose, msgRef, updates SEQUENCE SIZE (1..MAX) OF TrustAnchorUpdate, tampSeqNumbers [2] OPTIONAL }. */
export function tampUpdate(o: { terse: TerseOrVerbose; msgRef: TAMPMsgRef; updates: TrustAnchorUpdate[] }): Uint8Array {
  return der(seq(...terseField(o.terse), msgRefNode(o.msgRef), seq(...o.updates.map(updateNode))));
}

/** §4.5 TAMPApexUpdate ::= SEQUENCE { version, terse, msgRef, clearTrustAnchors BOOLEAN, clearCommunities BOOLEAN, seqNumber SeqNumber OPTIONAL, apexTA TrustAnchorChoice }. */
export function tampApexUpdate(o: { terse: TerseOrVerbose; msgRef: TAMPMsgRef; clearTrustAnchors: boolean; clearCommunities: boolean; seqNumber?: bigint; apexTA: TrustAnchorChoice }): Uint8Array {
  return der(seq(...terseField(o.terse), msgRefNode(o.msgRef), bool(o.clearTrustAnchors), bool(o.clearCommunities), ...(o.seqNumber !== undefined ? [int(o.seqNumber)] : []), trustAnchorChoiceNode(o.apexTA)));
}

/** CommunityUpdates ::= SEQUENCE { remove [1] CommunityIdentifierList OPTIONAL, add [2] CommunityIdentifierList OPTIONAL }. */
export interface CommunityUpdates {
  remove?: string[];
  add?: string[];
}
/** §4.7 TAMPCommunityUpdate ::= SEQUENCE { version, terse, msgRef, updates CommunityUpdates }. */
export function tampCommunityUpdate(o: { terse: TerseOrVerbose; msgRef: TAMPMsgRef; updates: CommunityUpdates }): Uint8Array {
  const u = o.updates;
  return der(seq(...terseField(o.terse), msgRefNode(o.msgRef), seq(...(u.remove ? [implicitConstructed(1, u.remove.map(oid))] : []), ...(u.add ? [implicitConstructed(2, u.add.map(oid))] : []))));
}

/** §4.9 SequenceNumberAdjust ::= SEQUENCE { version [0] DEFAULT v2, msgRef TAMPMsgRef }. */
export function sequenceNumberAdjust(o: { msgRef: TAMPMsgRef }): Uint8Array {
  return der(seq(msgRefNode(o.msgRef)));
}

// ---- responses (device → lab) --------------------------------------------------------------------------------------

/** §4.2 TAMPStatusResponse ::= SEQUENCE { version, query TAMPMsgRef, response StatusResponse, usesApex BOOLEAN DEFAULT TRUE }. */
export class TAMPStatusResponse {
  static readonly CONTENT_TYPE = OID_TAMP.statusResponse;
  query: TAMPMsgRef;
  /** StatusResponse ::= CHOICE { terseResponse [0] TerseStatusResponse, verboseResponse [1] VerboseStatusResponse }. */
  response:
    | { kind: 'terse'; taKeyIds: Uint8Array[]; communities?: string[] }
    | { kind: 'verbose'; taInfo: TrustAnchorChoice[]; continPubKeyDecryptAlg?: Uint8Array; communities?: string[]; tampSeqNumbers?: TAMPSequenceNumber[] };
  usesApex = true;

  private constructor(n: Node, path = 'TAMPStatusResponse') {
    const f = Fields.of(n, path);
    readVersion(f);
    this.query = readMsgRef(...f.next('query'));
    const [r, rp] = f.next('response');
    if (isContext(r, 0, true)) {
      // TerseStatusResponse ::= SEQUENCE { taKeyIds KeyIdentifiers, communities CommunityIdentifierList OPTIONAL }
      const t = Fields.of(r, rp, { context: 0 });
      const taKeyIds = Fields.of(...t.next('taKeyIds')).rest('').map(([x, p]) => readOctets(x, p));
      if (taKeyIds.length === 0) throw new DerError(`${rp}.taKeyIds`, 'KeyIdentifiers is SIZE (1..MAX)');
      const c = t.optional('communities', (x) => isUniversal(x, UNIVERSAL.SEQUENCE));
      t.end();
      this.response = { kind: 'terse', taKeyIds, ...(c ? { communities: readOidList(Fields.of(...c)) } : {}) };
    } else if (isContext(r, 1, true)) {
      // VerboseStatusResponse ::= SEQUENCE { taInfo, continPubKeyDecryptAlg [0] OPTIONAL, communities [1] OPTIONAL, tampSeqNumbers [2] OPTIONAL }
      const v = Fields.of(r, rp, { context: 1 });
      const out: TAMPStatusResponse['response'] = { kind: 'verbose', taInfo: readTrustAnchorList(...v.next('taInfo')) };
      const alg = v.optional('continPubKeyDecryptAlg', (x) => isContext(x, 0, true));
      if (alg) out.continPubKeyDecryptAlg = der(seq(...Fields.rawChildren(alg[0])));
      const c = v.optional('communities', (x) => isContext(x, 1, true));
      if (c) out.communities = readOidList(Fields.of(c[0], c[1], { context: 1 }));
      const s = v.optional('tampSeqNumbers', (x) => isContext(x, 2, true));
      if (s) out.tampSeqNumbers = readSeqNumbers(Fields.of(s[0], s[1], { context: 2 }));
      v.end();
      this.response = out;
    } else throw new DerError(rp, 'expected terseResponse [0] or verboseResponse [1]');
    const ua = f.optional('usesApex', (x) => isUniversal(x, UNIVERSAL.BOOLEAN));
    if (ua) {
      this.usesApex = readBool(...ua);
      if (this.usesApex) throw new DerError(ua[1], 'usesApex DEFAULT TRUE encoded (not DER)');
    }
    f.end();
  }
  static fromDer(d: Uint8Array): TAMPStatusResponse {
    return new TAMPStatusResponse(parse(d, 'TAMPStatusResponse'));
  }
}

const readStatusList = (f: Fields): StatusCode[] => {
  const list = f.rest('').map(([x, p]) => readStatus(x, p));
  if (list.length === 0) throw new DerError(f.path, 'StatusCodeList is SIZE (1..MAX)');
  return list;
};

/** §4.4 TAMPUpdateConfirm ::= SEQUENCE { version, update TAMPMsgRef, confirm UpdateConfirm }. */
export class TAMPUpdateConfirm {
  static readonly CONTENT_TYPE = OID_TAMP.updateConfirm;
  update: TAMPMsgRef;
  /** UpdateConfirm ::= CHOICE { terseConfirm [0] StatusCodeList, verboseConfirm [1] VerboseUpdateConfirm }. */
  confirm: { kind: 'terse'; status: StatusCode[] } | { kind: 'verbose'; status: StatusCode[]; taInfo: TrustAnchorChoice[]; tampSeqNumbers?: TAMPSequenceNumber[]; usesApex: boolean };

  private constructor(n: Node, path = 'TAMPUpdateConfirm') {
    const f = Fields.of(n, path);
    readVersion(f);
    this.update = readMsgRef(...f.next('update'));
    const [c, cp] = f.next('confirm');
    if (isContext(c, 0, true)) this.confirm = { kind: 'terse', status: readStatusList(Fields.of(c, cp, { context: 0 })) };
    else if (isContext(c, 1, true)) {
      // VerboseUpdateConfirm ::= SEQUENCE { status StatusCodeList, taInfo TrustAnchorChoiceList, tampSeqNumbers OPTIONAL, usesApex BOOLEAN DEFAULT TRUE }
      const v = Fields.of(c, cp, { context: 1 });
      const status = readStatusList(Fields.of(...v.next('status')));
      const out: TAMPUpdateConfirm['confirm'] = { kind: 'verbose', status, taInfo: readTrustAnchorList(...v.next('taInfo')), usesApex: true };
      const s = v.optional('tampSeqNumbers', (x) => isUniversal(x, UNIVERSAL.SEQUENCE));
      if (s) out.tampSeqNumbers = readSeqNumbers(Fields.of(...s));
      const ua = v.optional('usesApex', (x) => isUniversal(x, UNIVERSAL.BOOLEAN));
      if (ua) {
        out.usesApex = readBool(...ua);
        if (out.usesApex) throw new DerError(ua[1], 'usesApex DEFAULT TRUE encoded (not DER)');
      }
      v.end();
      this.confirm = out;
    } else throw new DerError(cp, 'expected terseConfirm [0] or verboseConfirm [1]');
    f.end();
  }
  static fromDer(d: Uint8Array): TAMPUpdateConfirm {
    return new TAMPUpdateConfirm(parse(d, 'TAMPUpdateConfirm'));
  }
}

/** §4.6 TAMPApexUpdateConfirm ::= SEQUENCE { version, apexReplace TAMPMsgRef, apexConfirm ApexUpdateConfirm }. */
export class TAMPApexUpdateConfirm {
  static readonly CONTENT_TYPE = OID_TAMP.apexUpdateConfirm;
  apexReplace: TAMPMsgRef;
  /** ApexUpdateConfirm ::= CHOICE { terseApexConfirm [0] StatusCode, verboseApexConfirm [1] VerboseApexUpdateConfirm }. */
  apexConfirm: { kind: 'terse'; status: StatusCode } | { kind: 'verbose'; status: StatusCode; taInfo: TrustAnchorChoice[]; communities?: string[]; tampSeqNumbers?: TAMPSequenceNumber[] };

  private constructor(n: Node, path = 'TAMPApexUpdateConfirm') {
    const f = Fields.of(n, path);
    readVersion(f);
    this.apexReplace = readMsgRef(...f.next('apexReplace'));
    const [c, cp] = f.next('apexConfirm');
    if (isContext(c, 0, false)) this.apexConfirm = { kind: 'terse', status: readTaggedStatus(c, 0, cp) };
    else if (isContext(c, 1, true)) {
      // VerboseApexUpdateConfirm ::= SEQUENCE { status StatusCode, taInfo, communities [0] OPTIONAL, tampSeqNumbers [1] OPTIONAL }
      const v = Fields.of(c, cp, { context: 1 });
      const out: TAMPApexUpdateConfirm['apexConfirm'] = { kind: 'verbose', status: readStatus(...v.next('status')), taInfo: readTrustAnchorList(...v.next('taInfo')) };
      const cm = v.optional('communities', (x) => isContext(x, 0, true));
      if (cm) out.communities = readOidList(Fields.of(cm[0], cm[1], { context: 0 }));
      const s = v.optional('tampSeqNumbers', (x) => isContext(x, 1, true));
      if (s) out.tampSeqNumbers = readSeqNumbers(Fields.of(s[0], s[1], { context: 1 }));
      v.end();
      this.apexConfirm = out;
    } else throw new DerError(cp, 'expected terseApexConfirm [0] or verboseApexConfirm [1]');
    f.end();
  }
  static fromDer(d: Uint8Array): TAMPApexUpdateConfirm {
    return new TAMPApexUpdateConfirm(parse(d, 'TAMPApexUpdateConfirm'));
  }
}

/** §4.8 TAMPCommunityUpdateConfirm ::= SEQUENCE { version, update TAMPMsgRef, commConfirm CommunityConfirm }. */
export class TAMPCommunityUpdateConfirm {
  static readonly CONTENT_TYPE = OID_TAMP.communityUpdateConfirm;
  update: TAMPMsgRef;
  /** CommunityConfirm ::= CHOICE { terseCommConfirm [0] StatusCode, verboseCommConfirm [1] SEQUENCE { status, communities OPTIONAL } }. */
  commConfirm: { kind: 'terse'; status: StatusCode } | { kind: 'verbose'; status: StatusCode; communities?: string[] };

  private constructor(n: Node, path = 'TAMPCommunityUpdateConfirm') {
    const f = Fields.of(n, path);
    readVersion(f);
    this.update = readMsgRef(...f.next('update'));
    const [c, cp] = f.next('commConfirm');
    if (isContext(c, 0, false)) this.commConfirm = { kind: 'terse', status: readTaggedStatus(c, 0, cp) };
    else if (isContext(c, 1, true)) {
      const v = Fields.of(c, cp, { context: 1 });
      const status = readStatus(...v.next('status'));
      const cm = v.optional('communities', (x) => isUniversal(x, UNIVERSAL.SEQUENCE));
      v.end();
      this.commConfirm = { kind: 'verbose', status, ...(cm ? { communities: readOidList(Fields.of(...cm)) } : {}) };
    } else throw new DerError(cp, 'expected terseCommConfirm [0] or verboseCommConfirm [1]');
    f.end();
  }
  static fromDer(d: Uint8Array): TAMPCommunityUpdateConfirm {
    return new TAMPCommunityUpdateConfirm(parse(d, 'TAMPCommunityUpdateConfirm'));
  }
}

/** §4.10 SequenceNumberAdjustConfirm ::= SEQUENCE { version, adjust TAMPMsgRef, status StatusCode }. */
export class SequenceNumberAdjustConfirm {
  static readonly CONTENT_TYPE = OID_TAMP.seqNumAdjustConfirm;
  adjust: TAMPMsgRef;
  status: StatusCode;
  private constructor(n: Node, path = 'SequenceNumberAdjustConfirm') {
    const f = Fields.of(n, path);
    readVersion(f);
    this.adjust = readMsgRef(...f.next('adjust'));
    this.status = readStatus(...f.next('status'));
    f.end();
  }
  static fromDer(d: Uint8Array): SequenceNumberAdjustConfirm {
    return new SequenceNumberAdjustConfirm(parse(d, 'SequenceNumberAdjustConfirm'));
  }
}

/** §4.11 TAMPError ::= SEQUENCE { version, msgType OBJECT IDENTIFIER, status StatusCode, msgRef TAMPMsgRef OPTIONAL }. */
export class TAMPError {
  static readonly CONTENT_TYPE = OID_TAMP.error;
  msgType: string;
  status: StatusCode;
  msgRef?: TAMPMsgRef;
  private constructor(n: Node, path = 'TAMPError') {
    const f = Fields.of(n, path);
    readVersion(f);
    this.msgType = readOid(...f.next('msgType'));
    this.status = readStatus(...f.next('status'));
    const r = f.optional('msgRef', (x) => isUniversal(x, UNIVERSAL.SEQUENCE));
    if (r) this.msgRef = readMsgRef(...r);
    f.end();
  }
  static fromDer(d: Uint8Array): TAMPError {
    return new TAMPError(parse(d, 'TAMPError'));
  }
}

export type TAMPResponse = TAMPStatusResponse | TAMPUpdateConfirm | TAMPApexUpdateConfirm | TAMPCommunityUpdateConfirm | SequenceNumberAdjustConfirm | TAMPError;

/** Response content type → decoder. */
export const TAMP_RESPONSE_DECODERS: Readonly<Record<string, (d: Uint8Array) => TAMPResponse>> = {
  [OID_TAMP.statusResponse]: (d) => TAMPStatusResponse.fromDer(d),
  [OID_TAMP.updateConfirm]: (d) => TAMPUpdateConfirm.fromDer(d),
  [OID_TAMP.apexUpdateConfirm]: (d) => TAMPApexUpdateConfirm.fromDer(d),
  [OID_TAMP.communityUpdateConfirm]: (d) => TAMPCommunityUpdateConfirm.fromDer(d),
  [OID_TAMP.seqNumAdjustConfirm]: (d) => SequenceNumberAdjustConfirm.fromDer(d),
  [OID_TAMP.error]: (d) => TAMPError.fromDer(d),
};
