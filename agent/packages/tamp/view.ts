// What the TAMP actions see and produce: a snapshot of the module's trust-anchor configuration (the apex, the
// TrustAnchorStore's anchors, communities, sequence numbers) and a plan — the next TA set (applied with one atomic
// TrustAnchorStore.replace), a mutation of the TAMP state (written together with the sequence number), and the
// response built from the configuration as it is after the plan.
import { certificateFromDer } from '../../pki/cert.js';
import type { TampStatusCodeName } from '../../pki/asn1/tamp-oids.js';
import { TAMPSequenceNumber } from '../../pki/asn1/tamp-sequence-number.js';
import { TrustAnchorChoice } from '../../pki/asn1/trust-anchor-choice.js';
import type { TaUse, TrustAnchor, TrustAnchorInput } from '../../store/ta-store.js';
import type { TampStateDoc } from './state.js';
import { TampFailure, taKeyId } from './verify.js';
import type { TAMPMsgRef } from '../../pki/asn1/tamp-msg-ref.js';

export interface TampView {
  apex?: TrustAnchorChoice;
  anchors: readonly TrustAnchor[];
  communities: readonly string[];
  seq: Readonly<Record<string, string>>;
}

export interface TampPlan {
  /** The whole next TA set (undefined: the store is not touched). */
  anchors?: TrustAnchorInput[];
  /** Changes to the TAMP state, written in the same atomic write as the sequence number. */
  mutate?: (d: TampStateDoc) => void;
  /** The response content, built from the view after the plan was applied. */
  respond(after: TampView): { contentType: string; der: Uint8Array };
}

export interface TampActionContext {
  view: TampView;
  msgRef: TAMPMsgRef;
  /** Uses given to TAs added by TAMP. */
  addedUses: readonly TaUse[];
}

export const fail = (status: TampStatusCodeName, message: string, msgRef?: TAMPMsgRef): never => {
  throw new TampFailure(status, message, msgRef);
};

/** The TA list of a status response / verbose confirm: the apex first, then every installed TA as a certificate. */
export function taInfoList(v: TampView): TrustAnchorChoice[] {
  const out: TrustAnchorChoice[] = v.apex ? [v.apex] : [];
  for (const a of v.anchors) out.push(TrustAnchorChoice.fromCertificate(a.der, a.certificate));
  return out;
}

export function keyIdOfChoice(c: TrustAnchorChoice): Uint8Array | undefined {
  if (c.value.kind === 'taInfo') return c.value.info.keyId;
  const der = c.certificateDer();
  return der ? taKeyId(certificateFromDer(der)) : undefined;
}

export function seqNumbers(v: TampView): TAMPSequenceNumber[] | undefined {
  const list = Object.entries(v.seq).map(([k, n]) => new TAMPSequenceNumber({ keyId: new Uint8Array(Buffer.from(k, 'hex')), seqNumber: BigInt(n) }));
  return list.length ? list : undefined;
}

export const asInputs = (anchors: readonly TrustAnchor[]): TrustAnchorInput[] => anchors.map((a) => ({ name: a.name, source: a.source, uses: a.uses, certificate: a.der }));
