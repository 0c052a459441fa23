// 0032 Apex Trust Anchor Update (RFC 5934 §4.5–4.6): replaces the apex TA. Only a message signed under the current
// apex TA is accepted (the manager checks; anything else is notAuthorized). The new apex must carry a certificate
// (Certificate, or TrustAnchorInfo with certPath.certificate): enrolld validates TAMP signers with RFC 5280 paths.
// clearTrustAnchors empties the TrustAnchorStore (every non-apex TA, as §4.5 says — including the EST server TA, so
// a device usually needs an update re-adding it from the new apex); clearCommunities empties the communities;
// seqNumber, when present, is the first sequence number slot of the new apex (§4.5).
// A message signed with the apex's contingency key (§2.2.4.1) is verified by contingency.ts before it gets here.
import { TAMPApexUpdateConfirm } from '../../pki/asn1/tamp-apex-update-confirm.js';
import type { TAMPApexUpdate } from '../../pki/asn1/tamp-apex-update.js';
import { bytesEqual } from '../../pki/der.js';
import { certificateFromDer, certificateSpki } from '../../pki/cert.js';
import { type TampActionContext, type TampPlan, asInputs, fail, keyIdOfChoice, seqNumbers, taInfoList } from './view.js';

export function apexUpdate(ctx: TampActionContext, m: TAMPApexUpdate): TampPlan {
  const der = m.apexTA.certificateDer();
  if (!der) return fail('unsupportedTrustAnchorFormat', `a ${m.apexTA.kind} apex without a certificate cannot be installed`, ctx.msgRef);
  const spki = certificateSpki(certificateFromDer(der));
  const declared = m.apexTA.spki();
  if (declared && !bytesEqual(declared, spki)) fail('improperTAAddition', "the apex TrustAnchorInfo pubKey differs from its certificate's key", ctx.msgRef);
  const keyId = Buffer.from(keyIdOfChoice(m.apexTA)!).toString('hex');
  const anchors = m.clearTrustAnchors ? [] : asInputs(ctx.view.anchors).filter((a) => !bytesEqual(certificateSpki(certificateFromDer(a.certificate as Uint8Array)), spki));
  return {
    anchors,
    mutate: (d) => {
      d.apex = Buffer.from(m.apexTA.toDer()).toString('base64');
      if (m.clearCommunities) d.communities = [];
      if (m.seqNumber !== undefined) d.seq[keyId] = m.seqNumber.toString();
    },
    respond: (v) => {
      const conf =
        m.terse === 'terse'
          ? new TAMPApexUpdateConfirm({ apexReplace: ctx.msgRef, apexConfirm: { kind: 'terse', status: 'success' } })
          : new TAMPApexUpdateConfirm({
              apexReplace: ctx.msgRef,
              apexConfirm: { kind: 'verbose', status: 'success', taInfo: taInfoList(v), ...(v.communities.length ? { communities: [...v.communities] } : {}), ...(seqNumbers(v) ? { tampSeqNumbers: seqNumbers(v)! } : {}) },
            });
      return { contentType: TAMPApexUpdateConfirm.CONTENT_TYPE, der: conf.toDer() };
    },
  };
}
