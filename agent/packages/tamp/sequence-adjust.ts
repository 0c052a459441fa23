// 0036 Sequence Number Adjust (RFC 5934 §4.9–4.10): the message's own sequence number, once accepted (strictly
// greater than the last one from its signer TA, checked by the manager), becomes the stored number; the answer is a
// SequenceNumberAdjustConfirm with success.
import { SequenceNumberAdjustConfirm } from '../../pki/asn1/tamp-sequence-number-adjust-confirm.js';
import type { TampActionContext, TampPlan } from './view.js';

export function sequenceAdjust(ctx: TampActionContext): TampPlan {
  return { respond: () => ({ contentType: SequenceNumberAdjustConfirm.CONTENT_TYPE, der: new SequenceNumberAdjustConfirm({ adjust: ctx.msgRef, status: 'success' }).toDer() }) };
}
