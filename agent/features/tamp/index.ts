// TAMP (RFC 5934): the apex TA installed once from config; responses signed with the device identity; the highest
// accepted sequence number in the status snapshot (§6). Composes without the ASN.1 stack: the state, the status part
// and returning queued responses are light; the manager loads its message processor at the first package run and
// decodes the apex file only at the first start.
import type { TampSettings } from '../../config.js';
import type { TampManager } from '../../packages/tamp/manager.js';
import type { FeatureContext, FeatureParts } from '../feature.js';

async function tampSequence(t: TampManager): Promise<number | undefined> {
  const seqs = Object.values((await t.state.load()).seq).map(Number);
  return seqs.length ? Math.max(...seqs) : undefined;
}

export async function compose(ctx: FeatureContext<TampSettings>): Promise<FeatureParts> {
  const { TampManager } = await import('../../packages/tamp/manager.js');
  const t = ctx.section;
  const hw = t.hardware;
  const tamp = new TampManager({
    stateDir: ctx.config.stateDir,
    apexTaFile: t.apexTrustAnchorFile,
    module: { hwType: hw.type, hwSerialNum: new Uint8Array(Buffer.from(hw.serialHex, 'hex')) },
    initialCommunities: t.communities,
    returnSigner: () => ctx.identity.returnSigner(),
    now: () => ctx.clock.now(),
  });
  await tamp.init();
  let seq = await tampSequence(tamp);
  return {
    tamp,
    handlers: [tamp.handler()],
    statusPart: {
      current: () => (seq !== undefined ? { ta: { digest: ctx.stores.ta.digest(), tampSeq: seq } } : {}),
      refresh: async () => {
        seq = await tampSequence(tamp).catch(() => seq);
      },
    },
  };
}
