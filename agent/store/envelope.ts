// The on-disk document every store file uses: versioned JSON with a SHA-256 over the exact bytes that follow the
// first line, so a truncated, half-written or bit-rotted file is detected before its content is trusted.
//
//   {"checksum":"sha256:<64 hex>",
//   "kind":"enrolld-state","version":1,"generation":7,"savedAt":"2025-01-01T00:00:00.000Z","data":{…}}
//
// The whole file is one valid JSON object (readable with jq); the checksum covers everything after the first "\n",
// including the final newline, byte for byte (no re-serialisation involved).
import { createHash } from 'node:crypto';

export interface Envelope<T = unknown> {
  /** What the file is ("enrolld-state", "enrolld-blob"…): a file of another kind is never accepted. */
  kind: string;
  /** Schema version of `data` (the caller's; bumped with a migration). */
  version: number;
  /** Increments by one on every save; the newest complete generation wins. */
  generation: number;
  /** ISO-8601 time of the save. */
  savedAt: string;
  data: T;
}

/** Why a file could not be used. */
export type FileProblem =
  | 'missing'
  | 'empty'
  | 'truncated'
  | 'checksum-mismatch'
  | 'malformed'
  | 'wrong-kind'
  | 'unsupported-version'
  | 'invalid-data'
  | 'unreadable';

export type Decoded<T> = { ok: true; envelope: Envelope<T> } | { ok: false; problem: FileProblem; detail: string };

const HEAD = /^\{"checksum":"sha256:([0-9a-f]{64})",$/;

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Serialises an envelope (pretty-printed data, 2 spaces) with its checksum line. */
export function encodeEnvelope<T>(env: Envelope<T>, options: { pretty?: boolean } = {}): Buffer {
  if (!Number.isSafeInteger(env.version) || env.version < 1) throw new RangeError(`bad version ${env.version}`);
  if (!Number.isSafeInteger(env.generation) || env.generation < 1) throw new RangeError(`bad generation ${env.generation}`);
  const data = JSON.stringify(env.data, null, options.pretty === false ? undefined : 2);
  if (data === undefined) throw new TypeError('data is not JSON-serialisable');
  const body =
    `"kind":${JSON.stringify(env.kind)},"version":${env.version},"generation":${env.generation},` +
    `"savedAt":${JSON.stringify(env.savedAt)},"data":${data}}\n`;
  return Buffer.from(`{"checksum":"sha256:${sha256Hex(body)}",\n${body}`, 'utf8');
}

/** Parses and verifies a file's bytes. Never throws: every defect is reported as a FileProblem. */
export function decodeEnvelope(bytes: Uint8Array | undefined, kind: string): Decoded<unknown> {
  if (bytes === undefined) return { ok: false, problem: 'missing', detail: 'file does not exist' };
  if (bytes.length === 0) return { ok: false, problem: 'empty', detail: 'file is empty (0 bytes)' };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.every((b) => b === 0)) return { ok: false, problem: 'empty', detail: `file holds ${buf.length} zero bytes` };
  const nl = buf.indexOf(0x0a);
  if (nl < 0) return { ok: false, problem: 'truncated', detail: `no complete header line in ${buf.length} bytes` };
  const head = HEAD.exec(buf.subarray(0, nl).toString('latin1'));
  if (!head) return { ok: false, problem: 'malformed', detail: 'first line is not a checksum header' };
  const body = buf.subarray(nl + 1);
  if (body.length === 0 || body[body.length - 1] !== 0x0a || body[body.length - 2] !== 0x7d /* } */) {
    return { ok: false, problem: 'truncated', detail: `body of ${body.length} bytes does not end with "}\\n"` };
  }
  const actual = sha256Hex(body);
  if (actual !== head[1]) return { ok: false, problem: 'checksum-mismatch', detail: `sha256 ${actual} != recorded ${head[1]}` };
  let doc: unknown;
  try {
    doc = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    return { ok: false, problem: 'malformed', detail: `JSON: ${(err as Error).message}` };
  }
  const d = doc as Partial<Envelope> & Record<string, unknown>;
  if (typeof d !== 'object' || d === null) return { ok: false, problem: 'malformed', detail: 'not an object' };
  if (d.kind !== kind) return { ok: false, problem: 'wrong-kind', detail: `kind ${JSON.stringify(d.kind)}, expected ${JSON.stringify(kind)}` };
  if (!Number.isSafeInteger(d.version) || (d.version as number) < 1) return { ok: false, problem: 'malformed', detail: 'bad version field' };
  if (!Number.isSafeInteger(d.generation) || (d.generation as number) < 1) return { ok: false, problem: 'malformed', detail: 'bad generation field' };
  if (typeof d.savedAt !== 'string') return { ok: false, problem: 'malformed', detail: 'bad savedAt field' };
  if (!('data' in d)) return { ok: false, problem: 'malformed', detail: 'no data field' };
  return { ok: true, envelope: { kind: d.kind, version: d.version!, generation: d.generation!, savedAt: d.savedAt, data: d.data } };
}
