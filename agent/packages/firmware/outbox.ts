// The outbox of RFC 4108 load receipts (§3) and load error reports (§4) built by report.ts: the DER of each report
// kept on disk until a /firmware/return POST (RFC 8295 §6, PAL type 0027) is answered 204, so a crash between apply
// and return loses nothing. Reads and posts the stored DER as it is: no ASN.1 stack.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { FIRMWARE_RETURN_SUCCESS_STATUS, firmwareReturnMediaType } from '../../pki/asn1/firmware-media-types.js';
import type { Transport } from '../../protocols/http/transport.js';
import { OUTBOX_META_SUFFIX, outboxItemFiles } from '../../store/layout.js';
import { atomicWriteFile } from './state.js';

export interface OutboxItem {
  id: string;
  kind: 'receipt' | 'error';
  signed: boolean;
  der: Uint8Array;
  /** Package name and (for errors) the code, for logs. */
  summary: string;
}

/** On-disk queue of reports waiting for a /firmware/return POST. */
export class Outbox {
  constructor(readonly dir: string) {}

  async add(kind: OutboxItem['kind'], report: { der: Uint8Array; signed: boolean }, summary: string): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const id = `${Date.now().toString().padStart(15, '0')}-${process.pid}-${kind}`;
    const f = outboxItemFiles(this.dir, id);
    await atomicWriteFile(f.der, report.der);
    await atomicWriteFile(f.meta, JSON.stringify({ kind, signed: report.signed, summary }));
    return id;
  }

  async list(): Promise<OutboxItem[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const items: OutboxItem[] = [];
    for (const n of names.filter((x) => x.endsWith(OUTBOX_META_SUFFIX)).sort()) {
      const id = n.slice(0, -OUTBOX_META_SUFFIX.length);
      const f = outboxItemFiles(this.dir, id);
      try {
        const meta = JSON.parse(await readFile(f.meta, 'utf8')) as { kind: OutboxItem['kind']; signed: boolean; summary: string };
        const der = new Uint8Array(await readFile(f.der));
        items.push({ id, kind: meta.kind, signed: meta.signed, der, summary: meta.summary });
      } catch {
        /* half-written item from a crash: the .der is written first, so a missing .der means junk */
      }
    }
    return items;
  }

  async remove(id: string): Promise<void> {
    const f = outboxItemFiles(this.dir, id);
    await rm(f.meta, { force: true });
    await rm(f.der, { force: true });
  }
}

export interface PostResult {
  sent: OutboxItem[];
  failed: Array<{ item: OutboxItem; status?: number; error: string }>;
}

/**
 * POSTs every queued report to `url` (binary application/cms: RFC 7193 registers the type with binary encoding;
 * `base64: true` sends the RFC 7030-style base64 body instead). A report is dropped from the outbox only on 204.
 */
export async function postOutbox(outbox: Outbox, transport: Transport, url: string, opts: { base64?: boolean; signal?: AbortSignal } = {}): Promise<PostResult> {
  const out: PostResult = { sent: [], failed: [] };
  for (const item of await outbox.list()) {
    const body = opts.base64 ? Buffer.from(item.der).toString('base64').replace(/.{64}/g, '$&\r\n') : item.der;
    try {
      const res = await transport.request({
        method: 'POST',
        url,
        headers: { 'content-type': firmwareReturnMediaType(item.kind, item.signed), ...(opts.base64 ? { 'content-transfer-encoding': 'base64' } : {}) },
        body,
        maxResponseBytes: 64 * 1024,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      if (res.status === FIRMWARE_RETURN_SUCCESS_STATUS) {
        await outbox.remove(item.id);
        out.sent.push(item);
      } else out.failed.push({ item, status: res.status, error: `HTTP ${res.status}` });
    } catch (e) {
      out.failed.push({ item, error: (e as Error).message });
    }
  }
  return out;
}
