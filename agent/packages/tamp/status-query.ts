// 0028 TAMP Status Query (RFC 5934 §4.1–4.2): answers with a TAMPStatusResponse — terse (TA key identifiers and
// communities) or verbose (every TA, communities, sequence numbers), as the query asks. Changes nothing.
import { TAMPStatusResponse } from '../../pki/asn1/tamp-status-response.js';
import type { TAMPStatusQuery } from '../../pki/asn1/tamp-status-query.js';
import { type TampActionContext, type TampPlan, keyIdOfChoice, seqNumbers, taInfoList } from './view.js';

export function statusQuery(ctx: TampActionContext, q: TAMPStatusQuery): TampPlan {
  return {
    respond: (v) => {
      const tas = taInfoList(v);
      const usesApex = v.apex !== undefined;
      const comms = v.communities.length ? [...v.communities] : undefined;
      const r =
        q.terse === 'terse'
          ? new TAMPStatusResponse({ query: ctx.msgRef, usesApex, response: { kind: 'terse', taKeyIds: tas.map(keyIdOfChoice).filter((k): k is Uint8Array => k !== undefined), ...(comms ? { communities: comms } : {}) } })
          : new TAMPStatusResponse({ query: ctx.msgRef, usesApex, response: { kind: 'verbose', taInfo: tas, ...(comms ? { communities: comms } : {}), ...(seqNumbers(v) ? { tampSeqNumbers: seqNumbers(v)! } : {}) } });
      return { contentType: TAMPStatusResponse.CONTENT_TYPE, der: r.toDer() };
    },
  };
}
