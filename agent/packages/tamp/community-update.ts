// 0034 Community Update (RFC 5934 §4.7–4.8): removes, then adds, community OIDs of this module (persisted in the
// TAMP state with the sequence number). Answers TAMPCommunityUpdateConfirm (terse: status; verbose: + communities).
// Removing a community the module is not a member of is not an error (the result is the same).
import type { TAMPCommunityUpdate } from '../../pki/asn1/tamp-community-update.js';
import { TAMPCommunityUpdateConfirm } from '../../pki/asn1/tamp-community-update-confirm.js';
import type { TampActionContext, TampPlan } from './view.js';

export function communityUpdate(ctx: TampActionContext, m: TAMPCommunityUpdate): TampPlan {
  const remove = new Set(m.updates.remove ?? []);
  const next = ctx.view.communities.filter((c) => !remove.has(c));
  for (const c of m.updates.add ?? []) if (!next.includes(c)) next.push(c);
  return {
    mutate: (d) => {
      d.communities = next;
    },
    respond: (v) => {
      const conf =
        m.terse === 'terse'
          ? new TAMPCommunityUpdateConfirm({ update: ctx.msgRef, commConfirm: { kind: 'terse', status: 'success' } })
          : new TAMPCommunityUpdateConfirm({ update: ctx.msgRef, commConfirm: { kind: 'verbose', status: 'success', communities: [...v.communities] } });
      return { contentType: TAMPCommunityUpdateConfirm.CONTENT_TYPE, der: conf.toDer() };
    },
  };
}
