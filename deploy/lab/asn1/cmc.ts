// CMC structures as RFC 5272 §3–§6 and RFC 6402 define them (module EnrollmentMessageSyntax, IMPLICIT TAGS):
//   PKIData ::= SEQUENCE { controlSequence SEQUENCE OF TaggedAttribute, reqSequence SEQUENCE OF TaggedRequest,
//                          cmsSequence SEQUENCE OF TaggedContentInfo, otherMsgSequence SEQUENCE OF OtherMsg }
//   PKIResponse ::= SEQUENCE { controlSequence, cmsSequence, otherMsgSequence }
//   TaggedAttribute ::= SEQUENCE { bodyPartID BodyPartID, attrType OBJECT IDENTIFIER, attrValues SET OF AttributeValue }
//   TaggedRequest ::= CHOICE { tcr [0] TaggedCertificationRequest, crm [1] CertReqMsg, orm [2] SEQUENCE {…} }
//   TaggedCertificationRequest ::= SEQUENCE { bodyPartID BodyPartID, certificationRequest CertificationRequest }
//   CMCStatusInfoV2 ::= SEQUENCE { cMCStatus CMCStatus, bodyList SEQUENCE SIZE (1..MAX) OF BodyPartReference,
//                                  statusString UTF8String OPTIONAL, otherInfo OtherStatusInfo OPTIONAL }
//   OtherStatusInfo ::= CHOICE { failInfo CMCFailInfo, pendInfo PendInfo, extendedFailInfo ExtendedFailInfo }
//   PendInfo ::= SEQUENCE { pendToken OCTET STRING, pendTime GeneralizedTime }
//   EncryptedPOP ::= SEQUENCE { request TaggedRequest, cms ContentInfo, thePOPAlgID, witnessAlgID, witness OCTET STRING }
//   DecryptedPOP ::= SEQUENCE { bodyPartID BodyPartID, thePOPAlgID AlgorithmIdentifier, thePOP OCTET STRING }
import * as asn1js from 'asn1js';
import { DerError, der } from '../pki/der.js';
import { type Node, algorithm, algorithmId, bigint, ctx, int, isUniversal, kids, node, octetString, oidOf, raw, seq } from './read.js';

const PKIX = '1.3.6.1.5.5.7';
export const CMC_OID = {
  pkiData: `${PKIX}.12.2`, // id-cct-PKIData (§3.2.1)
  pkiResponse: `${PKIX}.12.3`, // id-cct-PKIResponse (§4.2)
  transactionId: `${PKIX}.7.5`, // §6.6
  senderNonce: `${PKIX}.7.6`,
  recipientNonce: `${PKIX}.7.7`,
  encryptedPOP: `${PKIX}.7.9`, // §6.7
  decryptedPOP: `${PKIX}.7.10`,
  queryPending: `${PKIX}.7.21`, // §6.13
  statusInfoV2: `${PKIX}.7.25`, // §6.1.1
  noSignature: `${PKIX}.6.2`, // id-alg-noSignature (§3.2.1.2.1, Appendix A)
} as const;

/** CMCStatus (§6.1.1). */
export const CMC_STATUS = { success: 0, failed: 2, pending: 3, noSupport: 4, confirmRequired: 5, popRequired: 6, partial: 7 } as const;
export type CmcStatusName = keyof typeof CMC_STATUS;
/** CMCFailInfo (§6.1.4). */
export const CMC_FAIL = ['badAlg', 'badMessageCheck', 'badRequest', 'badTime', 'badCertId', 'unsupportedExt', 'mustArchiveKeys', 'badIdentity', 'popRequired', 'popFailed', 'noKeyReuse', 'internalCAError', 'tryLater', 'authDataFail'] as const;
export type CmcFailName = (typeof CMC_FAIL)[number];

export interface TaggedAttribute {
  bodyPartID: number;
  attrType: string;
  attrValues: Node[];
}
export interface TaggedCertificationRequest {
  bodyPartID: number;
  /** DER CertificationRequest as received. */
  certificationRequest: Uint8Array;
  /** DER of the whole tcr [0] element (EncryptedPOP.request echoes it). */
  tcr: Uint8Array;
}
export interface PKIData {
  controlSequence: TaggedAttribute[];
  reqSequence: TaggedCertificationRequest[];
  cmsSequence: number;
  otherMsgSequence: number;
}

/** BodyPartID ::= INTEGER (0..4294967295). */
const bodyPartId = (n: Node | undefined, path: string): number => int(n, path, 0, 4294967295);

function readTaggedAttribute(n: Node | undefined, path: string): TaggedAttribute {
  const k = seq(n, path);
  if (k.length !== 3) throw new DerError(`${path}: ${k.length} elements, 3 expected`);
  if (!isUniversal(k[2], 17)) throw new DerError(`${path}.attrValues: expected SET`);
  return { bodyPartID: bodyPartId(k[0], `${path}.bodyPartID`), attrType: oidOf(k[1], `${path}.attrType`), attrValues: kids(k[2], `${path}.attrValues`) };
}

function readTaggedRequest(n: Node | undefined, path: string): TaggedCertificationRequest {
  const t = ctx(n);
  if (t === 1 || t === 2) throw new DerError(`${path}: TaggedRequest ${t === 1 ? 'crm' : 'orm'} is not offered by this lab (tcr only)`);
  if (t !== 0) throw new DerError(`${path}: expected tcr [0]`);
  const k = kids(n, path);
  if (k.length !== 2) throw new DerError(`${path}: ${k.length} elements, 2 expected`);
  seq(k[1], `${path}.certificationRequest`);
  return { bodyPartID: bodyPartId(k[0], `${path}.bodyPartID`), certificationRequest: raw(k[1]!), tcr: raw(n!) };
}

export function readPKIData(bytes: Uint8Array, path = 'PKIData'): PKIData {
  const k = seq(der(bytes, path), path);
  if (k.length !== 4) throw new DerError(`${path}: ${k.length} elements, 4 expected`);
  return {
    controlSequence: seq(k[0], `${path}.controlSequence`).map((x, i) => readTaggedAttribute(x, `${path}.controlSequence[${i}]`)),
    reqSequence: seq(k[1], `${path}.reqSequence`).map((x, i) => readTaggedRequest(x, `${path}.reqSequence[${i}]`)),
    cmsSequence: seq(k[2], `${path}.cmsSequence`).length,
    otherMsgSequence: seq(k[3], `${path}.otherMsgSequence`).length,
  };
}

/** The single value of the one control of `type`, undefined when absent; two such controls are an error. */
export function control(d: PKIData, type: string, what: string): Node | undefined {
  const found = d.controlSequence.filter((c) => c.attrType === type);
  if (found.length === 0) return undefined;
  if (found.length > 1 || found[0]!.attrValues.length !== 1) throw new DerError(`${what}: exactly one control with one value expected`);
  return found[0]!.attrValues[0];
}

/** transactionId ::= INTEGER (§6.6). */
export const readTransactionId = (d: PKIData): bigint | undefined => {
  const v = control(d, CMC_OID.transactionId, 'transactionId');
  return v === undefined ? undefined : bigint(v, 'transactionId');
};
/** senderNonce ::= OCTET STRING (§6.6). */
export const readSenderNonce = (d: PKIData): Uint8Array | undefined => {
  const v = control(d, CMC_OID.senderNonce, 'senderNonce');
  return v === undefined ? undefined : octetString(v, 'senderNonce');
};
/** QueryPending ::= OCTET STRING (the pendToken, §6.13). */
export const readQueryPending = (d: PKIData): Uint8Array | undefined => {
  const v = control(d, CMC_OID.queryPending, 'queryPending');
  return v === undefined ? undefined : octetString(v, 'queryPending');
};

export function readDecryptedPOP(n: Node | undefined, path = 'DecryptedPOP'): { bodyPartID: number; thePOPAlgID: string; thePOPAlgIDDer: Uint8Array; thePOP: Uint8Array } {
  const k = seq(n, path);
  if (k.length !== 3) throw new DerError(`${path}: ${k.length} elements, 3 expected`);
  return { bodyPartID: bodyPartId(k[0], `${path}.bodyPartID`), thePOPAlgID: algorithm(k[1], `${path}.thePOPAlgID`).id, thePOPAlgIDDer: raw(k[1]!), thePOP: octetString(k[2], `${path}.thePOP`) };
}

/** A client's CMCStatusInfoV2 (§6.1.1): { cMCStatus, bodyList, statusString?, otherInfo? } — the failInfo when it has one. */
export function readStatusInfoV2(n: Node | undefined, path = 'statusInfoV2'): { status: number; bodyList: number[]; failInfo?: CmcFailName } {
  const k = seq(n, path);
  if (k.length < 2 || k.length > 4) throw new DerError(`${path}: ${k.length} elements`);
  const bodyList = seq(k[1], `${path}.bodyList`).map((b, i) => bodyPartId(b, `${path}.bodyList[${i}]`));
  const last = k[k.length - 1];
  const fail = k.length > 2 && isUniversal(last, 2) ? CMC_FAIL[int(last, `${path}.failInfo`, 0, CMC_FAIL.length - 1)] : undefined;
  return { status: int(k[0], `${path}.cMCStatus`, 0, 7), bodyList, ...(fail ? { failInfo: fail } : {}) };
}

export function taggedAttribute(bodyPartID: number, attrType: string, values: asn1js.BaseBlock[]): asn1js.Sequence {
  return new asn1js.Sequence({ value: [new asn1js.Integer({ value: bodyPartID }), new asn1js.ObjectIdentifier({ value: attrType }), new asn1js.Set({ value: values })] });
}

/** INTEGER from a bigint (transactionId may exceed 2^53). */
export const integer = (v: bigint): asn1js.Integer => asn1js.Integer.fromBigInt(v);

export type OtherStatusInfo = { failInfo: CmcFailName } | { pendInfo: { pendToken: Uint8Array; pendTime: Date } };

export function statusInfoV2(status: CmcStatusName, bodyList: number[], statusString?: string, other?: OtherStatusInfo): asn1js.Sequence {
  const value: asn1js.BaseBlock[] = [new asn1js.Integer({ value: CMC_STATUS[status] }), new asn1js.Sequence({ value: bodyList.map((b) => new asn1js.Integer({ value: b })) })];
  if (statusString !== undefined) value.push(new asn1js.Utf8String({ value: statusString }));
  if (other && 'failInfo' in other) value.push(new asn1js.Integer({ value: CMC_FAIL.indexOf(other.failInfo) }));
  if (other && 'pendInfo' in other) value.push(new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: other.pendInfo.pendToken }), new asn1js.GeneralizedTime({ valueDate: other.pendInfo.pendTime })] }));
  return new asn1js.Sequence({ value });
}

export function pkiResponse(controls: asn1js.BaseBlock[]): Uint8Array {
  return new Uint8Array(new asn1js.Sequence({ value: [new asn1js.Sequence({ value: controls }), new asn1js.Sequence(), new asn1js.Sequence()] }).toBER(false));
}

export function encryptedPOP(o: { tcr: Uint8Array; cms: Uint8Array; thePOPAlgIDNode: asn1js.BaseBlock; witnessAlgIDNode: asn1js.BaseBlock; witness: Uint8Array }): asn1js.Sequence {
  return new asn1js.Sequence({ value: [node(o.tcr), node(o.cms), o.thePOPAlgIDNode, o.witnessAlgIDNode, new asn1js.OctetString({ valueHex: o.witness })] });
}
