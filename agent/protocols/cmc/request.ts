// Building a Full PKI Request (RFC 5272 §3.2): PKIData with transactionId + senderNonce controls (§6.6) and one
// TaggedCertificationRequest (PKCS#10), or — to resume a pending request — with the queryPending control carrying
// the pendToken (§6.13) and no request; wrapped in SignedData{id-cct-PKIData} signed by `signer`.
import { randomBytes } from 'node:crypto';
import type { Signer } from '../../pki/signer.js';
import { OID_CCT_PKI_DATA, OID_DATA } from './constants.js';
import { queryPendingControl, senderNonceControl, transactionIdControl } from './controls.js';
import { PKIData } from './pki-data.js';
import { TaggedAttribute } from './tagged-attribute.js';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { toArrayBuffer } from '../../pki/der.js';
import { TaggedCertificationRequest } from './tagged-request.js';
import { signCmc } from './signed-message.js';

/** Body part IDs used in our requests (RFC 5272 §3.2.2: unique within the PKIData, 0 is "the current PKIData object"). */
export const REQUEST_BODY_PART_ID = 1;

export interface CmcRequestInput {
  transactionId: bigint;
  senderNonce: Uint8Array;
  /** DER PKCS#10, a pendToken to query a pending request, or nothing (a message of controls only, e.g. an abort). */
  body: { csr: Uint8Array } | { pendToken: Uint8Array } | { none: true };
  extraControls?: TaggedAttribute[];
  signer: Signer;
  certificate?: Uint8Array;
  chain?: Uint8Array[];
}

export function newTransactionId(): bigint {
  const b = randomBytes(8);
  b[0] = b[0]! & 0x7f; // positive
  return BigInt('0x' + b.toString('hex')) || 1n;
}

export function newSenderNonce(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

export function buildPkiData(i: Omit<CmcRequestInput, 'signer' | 'certificate' | 'chain'>): PKIData {
  let id = REQUEST_BODY_PART_ID + 1;
  const controls = [transactionIdControl(id++, i.transactionId), senderNonceControl(id++, i.senderNonce)];
  if ('pendToken' in i.body) controls.push(queryPendingControl(id++, i.body.pendToken));
  for (const c of i.extraControls ?? []) controls.push(c);
  const reqs = 'csr' in i.body ? [new TaggedCertificationRequest({ bodyPartID: REQUEST_BODY_PART_ID, certificationRequest: i.body.csr })] : [];
  return new PKIData({ controlSequence: controls, reqSequence: reqs });
}

/**
 * The freshness nonce request (draft-ietf-lamps-attestation-freshness-08 §7): a PKIData carrying transactionId,
 * senderNonce and only the nonce request control, in an unsigned ContentInfo{id-data} ("id-data SHOULD be used").
 */
export function createCmcNonceRequest(i: { transactionId: bigint; senderNonce: Uint8Array; nonceRequest: asn1js.AsnType; controlType: string }): Uint8Array {
  let id = REQUEST_BODY_PART_ID + 1;
  const controls = [transactionIdControl(id++, i.transactionId), senderNonceControl(id++, i.senderNonce), new TaggedAttribute({ bodyPartID: id++, attrType: i.controlType, attrValues: [i.nonceRequest] })];
  const ci = new pkijs.ContentInfo({ contentType: OID_DATA, content: new asn1js.OctetString({ valueHex: toArrayBuffer(new PKIData({ controlSequence: controls }).toDer()) }) });
  return new Uint8Array(ci.toSchema().toBER(false));
}

/** DER ContentInfo{SignedData{PKIData}}. */
export function createCmcRequest(i: CmcRequestInput): Promise<Uint8Array> {
  return signCmc({
    eContentType: OID_CCT_PKI_DATA,
    eContent: buildPkiData(i).toDer(),
    signer: i.signer,
    ...(i.certificate ? { certificate: i.certificate } : {}),
    ...(i.chain ? { extraCertificates: i.chain } : {}),
  });
}
