// 0023 and 0025, the return entries of key packages (RFC 8295 §2.1.1, §5; RFC 7191 receipts and errors): POST the
// signed reports queued in keys.json to the entry's /serverkeygen/return or /symmetrickeys/return URI; a report
// leaves the outbox only on 204. Light (no ASN.1 stack): the reports are DER already, so a PAL that lists a return
// entry at every poll loads no DER code for it.
import type { HandlerContext, HandlerResult } from '../../pal/dispatch.js';
import type { PalEntry } from '../../pal/model.js';
import { MEDIA_TYPE_CMS } from '../../pki/asn1/key-package-oids.js';
import { resolvePackageUri } from '../../protocols/est/package-uri.js';
import type { Transport } from '../../protocols/http/transport.js';
import type { PackageContext } from '../context.js';
import type { KeysStateFile, OutboxItem } from './state.js';

export function returnMediaType(kind: 'receipt' | 'error'): string {
  return `${MEDIA_TYPE_CMS}; encapsulatingContent=signedData; innerContent=${kind === 'receipt' ? 'keyPackageReceipt' : 'keyPackageError'}`;
}

/** POSTs the outbox items for `which` to `url`; an item leaves the outbox only on 204. */
export async function postReturns(
  state: KeysStateFile,
  transport: Transport,
  which: OutboxItem['path'],
  url: URL,
  signal?: AbortSignal,
): Promise<{ sent: number; failed: string[] }> {
  const items = (await state.load()).outbox.filter((i) => i.path === which);
  const failed: string[] = [];
  let sent = 0;
  for (const item of items) {
    try {
      const res = await transport.request({
        method: 'POST',
        url,
        headers: { 'content-type': returnMediaType(item.kind) },
        body: new Uint8Array(Buffer.from(item.der, 'base64')),
        ...(signal ? { signal } : {}),
      });
      if (res.status !== 204) throw new Error(`HTTP ${res.status}`);
      await state.update((s) => {
        s.outbox = s.outbox.filter((o) => o.der !== item.der || o.path !== item.path);
      });
      sent++;
    } catch (e) {
      failed.push(`${item.kind} ${item.pkgId ?? ''}: ${(e as Error).message}`);
    }
  }
  return { sent, failed };
}

/** A return entry for `which`: its URI resolved (the /return path appended when the entry names the operation). */
export async function handleReturnEntry(state: KeysStateFile, which: OutboxItem['path'], entry: PalEntry, ctx: HandlerContext<PackageContext>): Promise<HandlerResult> {
  const s = ctx.shared;
  const opts = s.policy.allowedOrigins ? { allowedOrigins: s.policy.allowedOrigins } : {};
  const url = resolvePackageUri(s.est.ctx, entry.info.kind === 'uri' ? entry.info.uri : undefined, [which], opts).url;
  const ret = new RegExp(`/${which}/return$`);
  if (!ret.test(url.pathname)) url.pathname = url.pathname.replace(new RegExp(`/${which}(/.*)?$`), `/${which}/return`);
  const r = await postReturns(state, s.est.ctx.transport, which, url, ctx.signal);
  if (r.failed.length) return { status: 'failed', code: 'keys.return', message: r.failed.join('; ') };
  return { status: 'ok', detail: `${r.sent} report(s) returned` };
}
