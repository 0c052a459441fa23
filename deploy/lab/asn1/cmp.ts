// The CMP messages the lab reads and writes, from RFC 4210 §5 (module PKIXCMP, EXPLICIT TAGS) with the RFC 9480
// updates and the RFC 9483 profile. Received messages keep the DER of header and body so protection is checked over
// ProtectedPart exactly as sent (RFC 4210 §5.1.3).
import { createHash, createHmac } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { DerError, der } from '../pki/der.js';
import { type Node, algorithm, algorithmId, bitString, ctx, int, isUniversal, node, octetString, oidOf, raw, seq, sequenceOf, unwrap } from './read.js';

export const CMP_MEDIA_TYPE = 'application/pkixcmp'; // RFC 6712 §3.4

/** PKIBody CHOICE arms (RFC 4210 §5.1.2, RFC 9480 §2.3). */
export const BODY = {
  ir: 0, ip: 1, cr: 2, cp: 3, p10cr: 4, popdecc: 5, popdecr: 6, kur: 7, kup: 8, krr: 9, krp: 10, rr: 11, rp: 12, ccr: 13,
  ccp: 14, ckuann: 15, cann: 16, rann: 17, crlann: 18, pkiconf: 19, nested: 20, genm: 21, genp: 22, error: 23,
  certConf: 24, pollReq: 25, pollRep: 26,
} as const;
export const bodyName = (tag: number): string => Object.entries(BODY).find(([, v]) => v === tag)?.[0] ?? `body[${tag}]`;

/** PKIFailureInfo bits (RFC 4210 §5.2.3). */
export const FAIL = {
  badAlg: 0, badMessageCheck: 1, badRequest: 2, badTime: 3, badCertId: 4, badDataFormat: 5, wrongAuthority: 6,
  incorrectData: 7, missingTimeStamp: 8, badPOP: 9, certRevoked: 10, certConfirmed: 11, wrongIntegrity: 12,
  badRecipientNonce: 13, timeNotAvailable: 14, unacceptedPolicy: 15, unacceptedExtension: 16, addInfoNotAvailable: 17,
  badSenderNonce: 18, badCertTemplate: 19, signerNotTrusted: 20, transactionIdInUse: 21, unsupportedVersion: 22,
  notAuthorized: 23, systemUnavail: 24, systemFailure: 25, duplicateCertReq: 26,
} as const;

const ID_IT = '1.3.6.1.5.5.7.4';
export const CMP_OID = {
  passwordBasedMac: '1.2.840.113533.7.66.13', // RFC 4211 §4.4
  hmacSha1: '1.3.6.1.5.5.8.1.2', // RFC 2104 / RFC 4210 Appendix D.2
  hmacSha256: '1.2.840.113549.2.9', // RFC 4231 §3.1
  itImplicitConfirm: `${ID_IT}.13`, // RFC 4210 §5.1.1.1
  itCaCerts: `${ID_IT}.17`, // RFC 9480 §2.14
  itRootCaKeyUpdate: `${ID_IT}.18`,
  itRootCaCert: `${ID_IT}.20`,
  itCertProfile: `${ID_IT}.21`, // RFC 9480 §2.4
} as const;

/** certReqId -1: the whole response (RFC 9480 §2.19) and the CertResponse to a p10cr (RFC 9483 §4.1.4). */
export const CERT_REQ_ID_NONE = -1;

export interface InfoTypeAndValue {
  infoType: string;
  infoValue?: Node;
}

export interface PKIHeader {
  pvno: number;
  /** GeneralName, DER as received. */
  sender: Uint8Array;
  recipient: Uint8Array;
  messageTime?: Date;
  protectionAlg?: { id: string; params?: Node };
  senderKID?: Uint8Array;
  recipKID?: Uint8Array;
  transactionID?: Uint8Array;
  senderNonce?: Uint8Array;
  recipNonce?: Uint8Array;
  generalInfo: InfoTypeAndValue[];
}

export interface ReceivedPKIMessage {
  header: PKIHeader;
  bodyTag: number;
  /** The body's content (inside its [n]). */
  body: Node;
  protection?: Uint8Array;
  extraCerts: Uint8Array[];
  /** DER of ProtectedPart ::= SEQUENCE { header, body } from the received bytes. */
  protectedPart: Uint8Array;
}

function readItav(n: Node | undefined, path: string): InfoTypeAndValue {
  const k = seq(n, path);
  if (k.length < 1 || k.length > 2) throw new DerError(`${path}: InfoTypeAndValue has ${k.length} elements`);
  return { infoType: oidOf(k[0], `${path}.infoType`), ...(k[1] !== undefined ? { infoValue: k[1] } : {}) };
}

/** GenMsgContent / GenRepContent ::= SEQUENCE OF InfoTypeAndValue (§5.3.19, §5.3.20). */
export function readGenContent(n: Node | undefined, path = 'GenMsgContent'): InfoTypeAndValue[] {
  return seq(n, path).map((x, i) => readItav(x, `${path}[${i}]`));
}

function readHeader(n: Node | undefined, path: string): PKIHeader {
  const k = seq(n, path);
  if (k.length < 3) throw new DerError(`${path}: ${k.length} elements, at least pvno, sender, recipient expected`);
  const h: PKIHeader = { pvno: int(k[0], `${path}.pvno`, 1, 3), sender: raw(k[1]!), recipient: raw(k[2]!), generalInfo: [] };
  let last = -1;
  for (let i = 3; i < k.length; i++) {
    const t = ctx(k[i]);
    const p = `${path}[${t}]`;
    if (t === undefined || t <= last || t > 8) throw new DerError(`${p}: unexpected or out-of-order header field`);
    last = t;
    const v = unwrap(k[i], p);
    if (t === 0) {
      if (!(v instanceof asn1js.GeneralizedTime)) throw new DerError(`${p}: messageTime is not GeneralizedTime`);
      h.messageTime = v.toDate();
    } else if (t === 1) h.protectionAlg = algorithm(v, `${path}.protectionAlg`);
    else if (t === 2) h.senderKID = octetString(v, `${path}.senderKID`);
    else if (t === 3) h.recipKID = octetString(v, `${path}.recipKID`);
    else if (t === 4) h.transactionID = octetString(v, `${path}.transactionID`);
    else if (t === 5) h.senderNonce = octetString(v, `${path}.senderNonce`);
    else if (t === 6) h.recipNonce = octetString(v, `${path}.recipNonce`);
    else if (t === 8) h.generalInfo = readGenContent(v, `${path}.generalInfo`);
  }
  return h;
}

/** PKIMessage ::= SEQUENCE { header, body, protection [0] BIT STRING OPTIONAL, extraCerts [1] SEQUENCE OF CMPCertificate OPTIONAL }. */
export function readPKIMessage(bytes: Uint8Array): ReceivedPKIMessage {
  const k = seq(der(bytes, 'PKIMessage'), 'PKIMessage');
  const header = readHeader(k[0], 'PKIMessage.header');
  const bodyTag = ctx(k[1]);
  if (bodyTag === undefined || bodyTag > 26) throw new DerError('PKIMessage.body: expected a PKIBody [0..26]');
  const body = unwrap(k[1], `PKIMessage.body(${bodyName(bodyTag)})`);
  const msg: ReceivedPKIMessage = { header, bodyTag, body, extraCerts: [], protectedPart: sequenceOf(raw(k[0]!), raw(k[1]!)) };
  let i = 2;
  if (ctx(k[i]) === 0) msg.protection = bitString(unwrap(k[i++], 'PKIMessage.protection'), 'PKIMessage.protection');
  if (ctx(k[i]) === 1) msg.extraCerts = seq(unwrap(k[i++], 'PKIMessage.extraCerts'), 'PKIMessage.extraCerts').map((c) => raw(c));
  if (i < k.length) throw new DerError(`PKIMessage[${i}]: unexpected element`);
  return msg;
}

const explicit = (n: number, v: asn1js.BaseBlock): asn1js.Constructed => new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: n }, value: [v] });
const octets = (b: Uint8Array): asn1js.OctetString => new asn1js.OctetString({ valueHex: b });
/** PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String. */
const freeText = (texts: string[]): asn1js.Sequence => new asn1js.Sequence({ value: texts.map((t) => new asn1js.Utf8String({ value: t })) });
const itav = (i: InfoTypeAndValue): asn1js.Sequence => new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: i.infoType }), ...(i.infoValue ? [i.infoValue as asn1js.BaseBlock] : [])] });
export const genContent = (items: InfoTypeAndValue[]): asn1js.Sequence => new asn1js.Sequence({ value: items.map(itav) });

export interface HeaderFields {
  /** GeneralName DER. */
  sender: Uint8Array;
  recipient: Uint8Array;
  messageTime: Date;
  protectionAlg: asn1js.BaseBlock;
  senderKID?: Uint8Array;
  transactionID: Uint8Array;
  senderNonce: Uint8Array;
  recipNonce?: Uint8Array;
  generalInfo?: InfoTypeAndValue[];
}

/** GeneralName directoryName [4] (RFC 5280 §4.2.1.6; Name is a CHOICE, so the tag is explicit). */
export function directoryName(name: pkijs.RelativeDistinguishedNames): Uint8Array {
  return new Uint8Array((new pkijs.GeneralName({ type: 4, value: name }).toSchema() as asn1js.BaseBlock).toBER(false));
}

/** The DER PKIHeader of an answer (pvno cmp2000(2), RFC 9483 §3.1). */
export function header(h: HeaderFields): Uint8Array {
  const value: asn1js.BaseBlock[] = [new asn1js.Integer({ value: 2 }), node(h.sender), node(h.recipient)];
  value.push(explicit(0, new asn1js.GeneralizedTime({ valueDate: h.messageTime })));
  value.push(explicit(1, h.protectionAlg));
  if (h.senderKID) value.push(explicit(2, octets(h.senderKID)));
  value.push(explicit(4, octets(h.transactionID)));
  value.push(explicit(5, octets(h.senderNonce)));
  if (h.recipNonce) value.push(explicit(6, octets(h.recipNonce)));
  if (h.generalInfo?.length) value.push(explicit(8, genContent(h.generalInfo)));
  return new Uint8Array(new asn1js.Sequence({ value }).toBER(false));
}

/** The DER PKIBody arm [tag] around `content`. */
export function body(tag: number, content: asn1js.BaseBlock): Uint8Array {
  return new Uint8Array(explicit(tag, content).toBER(false));
}

/** A PKIMessage from the DER header and body it protects. */
export function pkiMessage(headerDer: Uint8Array, bodyDer: Uint8Array, protection: Uint8Array, extraCerts: Uint8Array[]): Uint8Array {
  const value: asn1js.BaseBlock[] = [node(headerDer), node(bodyDer), explicit(0, new asn1js.BitString({ valueHex: protection }))];
  if (extraCerts.length) value.push(explicit(1, new asn1js.Sequence({ value: extraCerts.map(node) })));
  return new Uint8Array(new asn1js.Sequence({ value }).toBER(false));
}

// PBMParameter ::= SEQUENCE { salt OCTET STRING, owf AlgorithmIdentifier, iterationCount INTEGER, mac AlgorithmIdentifier }
// (RFC 4211 §4.4): key = owf^iterationCount(secret || salt), protection = mac(key, ProtectedPart).
export interface PBMParameter {
  salt: Uint8Array;
  owf: string;
  iterationCount: number;
  mac: string;
}
const OWF: Record<string, string> = { '2.16.840.1.101.3.4.2.1': 'sha256', '1.3.14.3.2.26': 'sha1' };
const MAC: Record<string, string> = { [CMP_OID.hmacSha256]: 'sha256', [CMP_OID.hmacSha1]: 'sha1' };

export function readPBMParameter(n: Node | undefined, path = 'PBMParameter'): PBMParameter {
  const k = seq(n, path);
  if (k.length !== 4) throw new DerError(`${path}: ${k.length} elements, 4 expected`);
  return { salt: octetString(k[0], `${path}.salt`), owf: algorithm(k[1], `${path}.owf`).id, iterationCount: int(k[2], `${path}.iterationCount`, 1, 100_000), mac: algorithm(k[3], `${path}.mac`).id };
}

/** protectionAlg = id-PasswordBasedMac with its PBMParameter (RFC 9481 §6.1.1: SHA-256, HMAC-SHA256). */
export function pbmAlgorithm(p: PBMParameter): asn1js.Sequence {
  return algorithmId(CMP_OID.passwordBasedMac, new asn1js.Sequence({ value: [octets(p.salt), algorithmId(p.owf), new asn1js.Integer({ value: p.iterationCount }), algorithmId(p.mac)] }));
}

export function pbmMac(p: PBMParameter, secret: Uint8Array, data: Uint8Array): Uint8Array {
  const owf = OWF[p.owf];
  const mac = MAC[p.mac];
  if (!owf || !mac) throw new DerError(`PBMParameter: unsupported owf ${p.owf} / mac ${p.mac}`);
  let key = createHash(owf).update(secret).update(p.salt).digest();
  for (let i = 1; i < p.iterationCount; i++) key = createHash(owf).update(key).digest();
  return new Uint8Array(createHmac(mac, key).update(data).digest());
}

/** PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL, failInfo PKIFailureInfo OPTIONAL } (§5.2.3). */
export function pkiStatusInfo(status: number, texts: string[] = [], failBits: number[] = []): asn1js.Sequence {
  const value: asn1js.BaseBlock[] = [new asn1js.Integer({ value: status })];
  if (texts.length) value.push(freeText(texts));
  if (failBits.length) {
    const max = Math.max(...failBits);
    const bytes = new Uint8Array((max >> 3) + 1);
    for (const b of failBits) bytes[b >> 3]! |= 0x80 >> (b & 7);
    value.push(new asn1js.BitString({ valueHex: bytes, unusedBits: 7 - (max & 7) }));
  }
  return new asn1js.Sequence({ value });
}

/** ErrorMsgContent ::= SEQUENCE { pKIStatusInfo, errorCode INTEGER OPTIONAL, errorDetails PKIFreeText OPTIONAL } (§5.3.21). */
export function errorMsgContent(failBit: number, text: string): asn1js.Sequence {
  return new asn1js.Sequence({ value: [pkiStatusInfo(2, [text], [failBit])] });
}

/** CertRepMessage ::= SEQUENCE { caPubs [1] SEQUENCE OF CMPCertificate OPTIONAL, response SEQUENCE OF CertResponse } (§5.3.4);
 *  CertResponse ::= SEQUENCE { certReqId, status, certifiedKeyPair { certOrEncCert CHOICE { certificate [0] } } OPTIONAL }. */
export function certRepMessage(caPubs: Uint8Array[], responses: Array<{ certReqId: number; status: asn1js.Sequence; certificate?: Uint8Array }>): asn1js.Sequence {
  const value: asn1js.BaseBlock[] = [];
  if (caPubs.length) value.push(explicit(1, new asn1js.Sequence({ value: caPubs.map(node) })));
  value.push(new asn1js.Sequence({
    value: responses.map((r) => new asn1js.Sequence({
      value: [new asn1js.Integer({ value: r.certReqId }), r.status, ...(r.certificate ? [new asn1js.Sequence({ value: [explicit(0, node(r.certificate))] })] : [])],
    })),
  }));
  return new asn1js.Sequence({ value });
}

/** CertConfirmContent ::= SEQUENCE OF CertStatus; CertStatus ::= SEQUENCE { certHash OCTET STRING, certReqId INTEGER,
 *  statusInfo PKIStatusInfo OPTIONAL, hashAlg [0] AlgorithmIdentifier OPTIONAL } (§5.3.18, RFC 9480 §2.10). */
export function readCertConfirmContent(n: Node | undefined, path = 'CertConfirmContent'): Array<{ certHash: Uint8Array; certReqId: number; status?: number; hashAlg?: string }> {
  return seq(n, path).map((x, i) => {
    const p = `${path}[${i}]`;
    const k = seq(x, p);
    const out: { certHash: Uint8Array; certReqId: number; status?: number; hashAlg?: string } = { certHash: octetString(k[0], `${p}.certHash`), certReqId: int(k[1], `${p}.certReqId`, -1) };
    let j = 2;
    if (isUniversal(k[j], 16)) out.status = int(seq(k[j++], `${p}.statusInfo`)[0], `${p}.statusInfo.status`, 0, 6);
    if (ctx(k[j]) === 0) out.hashAlg = algorithm(unwrap(k[j++], `${p}.hashAlg`), `${p}.hashAlg`).id;
    if (j < k.length) throw new DerError(`${p}[${j}]: unexpected element`);
    return out;
  });
}

/** PollRepContent ::= SEQUENCE OF SEQUENCE { certReqId INTEGER, checkAfter INTEGER, reason PKIFreeText OPTIONAL } (RFC 9480 §2.19). */
export function pollRepContent(certReqId: number, checkAfter: number): asn1js.Sequence {
  return new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.Integer({ value: certReqId }), new asn1js.Integer({ value: checkAfter })] })] });
}

/** ErrorMsgContent with status waiting (RFC 9483 §4.4: delayed delivery of any answer). */
export function waitingErrorMsgContent(): asn1js.Sequence {
  return new asn1js.Sequence({ value: [pkiStatusInfo(3)] });
}

/** RevRepContent ::= SEQUENCE { status SEQUENCE OF PKIStatusInfo, revCerts [0] OPTIONAL, crls [1] OPTIONAL } (§5.3.10). */
export function revRepContent(statuses: asn1js.Sequence[]): asn1js.Sequence {
  return new asn1js.Sequence({ value: [new asn1js.Sequence({ value: statuses })] });
}

/** RevReqContent ::= SEQUENCE OF RevDetails; RevDetails ::= SEQUENCE { certDetails CertTemplate, crlEntryDetails
 *  Extensions OPTIONAL } (§5.3.9); RFC 9483 §4.2: certDetails carries serialNumber [1] and issuer [3] (CRMF IMPLICIT
 *  TAGS; Name is a CHOICE, so [3] is explicit). Returns issuer (DER Name) and serial (hex) of each. */
export function readRevReqContent(n: Node | undefined, path = 'RevReqContent'): Array<{ issuer: Uint8Array; serialHex: string }> {
  return seq(n, path).map((x, i) => {
    const p = `${path}[${i}]`;
    const tmpl = seq(seq(x, p)[0], `${p}.certDetails`);
    let serialHex: string | undefined;
    let issuer: Uint8Array | undefined;
    for (const f of tmpl) {
      const t = ctx(f);
      if (t === 1) serialHex = Buffer.from((f as asn1js.Primitive).valueBlock.valueHexView).toString('hex');
      else if (t === 3) issuer = raw(unwrap(f, `${p}.certDetails.issuer`));
    }
    if (!serialHex || !issuer) throw new DerError(`${p}.certDetails: serialNumber [1] and issuer [3] are required (RFC 9483 §4.2)`);
    return { issuer, serialHex };
  });
}

/** CertProfileValue ::= SEQUENCE SIZE (1..MAX) OF UTF8String (RFC 9480 §2.4). */
export function readCertProfile(n: Node | undefined, path = 'certProfile'): string[] {
  const k = seq(n, path);
  if (k.length === 0) throw new DerError(`${path}: empty CertProfileValue`);
  return k.map((x, i) => {
    if (!(x instanceof asn1js.Utf8String)) throw new DerError(`${path}[${i}]: not a UTF8String`);
    return x.valueBlock.value;
  });
}

/** RootCaKeyUpdateContent ::= SEQUENCE { newWithNew CMPCertificate, newWithOld [0] CMPCertificate OPTIONAL,
 *  oldWithNew [1] CMPCertificate OPTIONAL } (RFC 9480 §2.15). */
export interface RootCaKeyUpdate {
  newWithNew: Uint8Array;
  newWithOld?: Uint8Array;
  oldWithNew?: Uint8Array;
}
export function rootCaKeyUpdateContent(u: RootCaKeyUpdate): asn1js.Sequence {
  return new asn1js.Sequence({
    value: [node(u.newWithNew), ...(u.newWithOld ? [explicit(0, node(u.newWithOld))] : []), ...(u.oldWithNew ? [explicit(1, node(u.oldWithNew))] : [])],
  });
}

/** CaCertsValue ::= SEQUENCE SIZE (1..MAX) OF CMPCertificate (RFC 9480 §2.14). */
export const caCertsValue = (certs: Uint8Array[]): asn1js.Sequence => new asn1js.Sequence({ value: certs.map(node) });

