// Incremental reading of a CMS ContentInfo/SignedData (RFC 5652 §3, §5.1) that lives in a FILE, for encapsulated
// content far larger than memory (firmware images). Only headers are read while walking the outer structure; the
// eContent OCTET STRING is recorded as a list of byte ranges (one for the DER primitive form, several for the BER
// constructed form RFC 4108 allows: "the eContent octet string need not be DER encoded"), and everything after it
// (certificates, crls, signerInfos — small) is read into memory under a cap and parsed by asn1js/pkijs.
// Indefinite lengths are accepted for the containers (BER streaming encoders such as OpenSSL's produce them);
// the signed attributes themselves are checked by pkijs/our verifier, not here. Also: CompressedData (RFC 3274)
// layout over a file, and the DER header encoder the lab's streaming package writer uses.
import { open, type FileHandle } from 'node:fs/promises';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { EnrolldError } from '../../util/errors.js';
import { OID_CMS_SIGNED_DATA } from './firmware-oids.js';

/** Where in the structure reading stopped; the firmware loader maps these to RFC 4108 error codes. */
export type CmsStreamStage =
  | 'decode' // not BER at all, truncated, trailing bytes
  | 'content-info' // ContentInfo syntax or content type
  | 'signed-data' // SignedData syntax (version, digestAlgorithms)
  | 'encap-content' // EncapsulatedContentInfo syntax
  | 'missing-content' // no eContent
  | 'certificate' // certificate set syntax
  | 'signer-info' // signerInfos syntax
  | 'compressed-data' // CompressedData syntax
  | 'encrypted-data'; // EncryptedData syntax

export class CmsStreamError extends EnrolldError {
  constructor(
    readonly stage: CmsStreamStage,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`pki.cms_stream.${stage}`, message, options);
  }
}

export interface DerHeader {
  offset: number;
  tagClass: number; // 1 universal, 2 application, 3 context, 4 private (asn1js numbering)
  constructed: boolean;
  tagNumber: number;
  headerLength: number;
  /** null = indefinite length. */
  length: number | null;
}

export interface ByteRange {
  offset: number;
  length: number;
}

/** Reads DER/BER pieces of a file by position. Never reads more than it is asked for. */
export class DerFileReader {
  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<DerFileReader> {
    const fh = await open(path, 'r');
    const st = await fh.stat();
    return new DerFileReader(fh, st.size);
  }

  close(): Promise<void> {
    return this.fh.close();
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || offset + length > this.size) throw new CmsStreamError('decode', `truncated: need bytes ${offset}..${offset + length}, file has ${this.size}`);
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) throw new CmsStreamError('decode', 'unexpected end of file');
      done += bytesRead;
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  async header(offset: number): Promise<DerHeader> {
    const avail = Math.min(16, this.size - offset);
    if (avail < 2) throw new CmsStreamError('decode', `truncated: no ASN.1 header at offset ${offset}`);
    const b = await this.read(offset, avail);
    let i = 0;
    const first = b[i++]!;
    const tagClass = (first >> 6) + 1;
    const constructed = (first & 0x20) !== 0;
    let tagNumber = first & 0x1f;
    if (tagNumber === 0x1f) {
      tagNumber = 0;
      for (;;) {
        if (i >= b.length || i > 5) throw new CmsStreamError('decode', `bad tag at offset ${offset}`);
        const c = b[i++]!;
        tagNumber = tagNumber * 128 + (c & 0x7f);
        if ((c & 0x80) === 0) break;
      }
    }
    if (i >= b.length) throw new CmsStreamError('decode', `truncated header at offset ${offset}`);
    const l0 = b[i++]!;
    let length: number | null;
    if (l0 < 0x80) length = l0;
    else if (l0 === 0x80) {
      if (!constructed) throw new CmsStreamError('decode', `indefinite length on a primitive element at offset ${offset}`);
      length = null;
    } else {
      const n = l0 & 0x7f;
      if (n > 6) throw new CmsStreamError('decode', `length of ${n} octets at offset ${offset} is beyond this reader's 2^48 limit`);
      if (i + n > b.length) throw new CmsStreamError('decode', `truncated length at offset ${offset}`);
      length = 0;
      for (let k = 0; k < n; k++) length = length * 256 + b[i++]!;
    }
    const h: DerHeader = { offset, tagClass, constructed, tagNumber, headerLength: i, length };
    if (length !== null && offset + i + length > this.size) {
      throw new CmsStreamError('decode', `truncated: element at offset ${offset} declares ${length} bytes, ${this.size - offset - i} remain`);
    }
    return h;
  }

  /** True when the two bytes at `offset` are an end-of-contents marker. */
  async isEoc(offset: number): Promise<boolean> {
    if (offset + 2 > this.size) return false;
    const b = await this.read(offset, 2);
    return b[0] === 0 && b[1] === 0;
  }

  /** Reads and parses one complete (small) element at `offset`, refusing anything larger than `cap` bytes. */
  async element(offset: number, cap: number, stage: CmsStreamStage, what: string): Promise<{ node: asn1js.AsnType; length: number; bytes: Uint8Array }> {
    const h = await this.header(offset);
    const total = h.length === null ? Math.min(cap, this.size - offset) : h.headerLength + h.length;
    if (total > cap) throw new CmsStreamError(stage, `${what} is ${total} bytes, over the ${cap}-byte limit`);
    const bytes = await this.read(offset, total);
    let parsed: ReturnType<typeof asn1js.fromBER>;
    try {
      parsed = asn1js.fromBER(bytes);
    } catch (cause) {
      throw new CmsStreamError(stage, `${what}: malformed (${(cause as Error).message})`, { cause });
    }
    if (parsed.offset === -1 || parsed.result.error) throw new CmsStreamError(stage, `${what}: malformed (${parsed.result.error || 'decode failed'})`);
    return { node: parsed.result, length: parsed.offset, bytes: bytes.subarray(0, parsed.offset) };
  }
}

/** Child-walking helper for a constructed element (definite or indefinite). */
class Container {
  next: number;
  constructor(
    private readonly r: DerFileReader,
    readonly h: DerHeader,
  ) {
    this.next = h.offset + h.headerLength;
  }
  get end(): number | null {
    return this.h.length === null ? null : this.h.offset + this.h.headerLength + this.h.length;
  }
  async atEnd(): Promise<boolean> {
    if (this.end !== null) return this.next >= this.end;
    return this.r.isEoc(this.next);
  }
  /** Offset just past the container (after its EOC for indefinite lengths); only valid once atEnd(). */
  async finish(stage: CmsStreamStage, what: string): Promise<number> {
    if (this.end !== null) {
      if (this.next !== this.end) throw new CmsStreamError(stage, `${what}: ${this.end - this.next} unexpected byte(s) at its end`);
      return this.end;
    }
    if (!(await this.r.isEoc(this.next))) throw new CmsStreamError(stage, `${what}: missing end-of-contents`);
    return this.next + 2;
  }
}

/** The children of a constructed element; a primitive one where a SET/[n] of elements belongs is refused (test/fuzz). */
function constructedChildren(node: asn1js.AsnType, stage: CmsStreamStage, what: string): asn1js.AsnType[] {
  const v = (node as asn1js.Constructed).valueBlock?.value as unknown;
  if (!Array.isArray(v)) throw new CmsStreamError(stage, `${what}: expected a constructed element`);
  return v as asn1js.AsnType[];
}

function expectTag(h: DerHeader, tagClass: number, tagNumber: number, constructed: boolean | undefined, stage: CmsStreamStage, what: string): void {
  if (h.tagClass !== tagClass || h.tagNumber !== tagNumber || (constructed !== undefined && h.constructed !== constructed)) {
    throw new CmsStreamError(stage, `${what}: unexpected tag (class ${h.tagClass}, number ${h.tagNumber}${h.constructed ? ', constructed' : ''}) at offset ${h.offset}`);
  }
}

async function readOidAt(r: DerFileReader, offset: number, stage: CmsStreamStage, what: string): Promise<{ oid: string; length: number }> {
  const { node, length } = await r.element(offset, 256, stage, what);
  if (!(node instanceof asn1js.ObjectIdentifier)) throw new CmsStreamError(stage, `${what}: expected OBJECT IDENTIFIER`);
  return { oid: node.valueBlock.toString(), length };
}

/**
 * Collects the data ranges of an OCTET STRING (primitive, or constructed of OCTET STRINGs, recursively). `outer`
 * names an IMPLICIT tag that replaces the outermost OCTET STRING tag (EncryptedContentInfo.encryptedContent [0]).
 */
async function octetRanges(r: DerFileReader, h: DerHeader, stage: CmsStreamStage, out: ByteRange[], depth = 0, outer?: { tagClass: number; tagNumber: number; what: string }): Promise<number> {
  if (outer) expectTag(h, outer.tagClass, outer.tagNumber, undefined, stage, outer.what);
  else expectTag(h, 1, 4, undefined, stage, 'eContent');
  if (!h.constructed) {
    if (h.length! > 0) out.push({ offset: h.offset + h.headerLength, length: h.length! });
    return h.offset + h.headerLength + h.length!;
  }
  if (depth > 4) throw new CmsStreamError(stage, 'eContent: constructed OCTET STRING nested too deeply');
  const c = new Container(r, h);
  while (!(await c.atEnd())) {
    const child = await r.header(c.next);
    c.next = await octetRanges(r, child, stage, out, depth + 1);
  }
  return c.finish(stage, 'eContent');
}

export interface EncapsulatedContentLayout {
  eContentType: string;
  /** Byte ranges of the eContent value within the file; undefined when eContent is absent. */
  eContent?: ByteRange[];
  /** Sum of the range lengths. */
  eContentLength: number;
}

async function readEncap(r: DerFileReader, offset: number, stage: CmsStreamStage): Promise<{ layout: EncapsulatedContentLayout; next: number }> {
  const eci = new Container(r, await r.header(offset));
  expectTag(eci.h, 1, 16, true, stage, 'EncapsulatedContentInfo');
  const t = await readOidAt(r, eci.next, stage, 'eContentType');
  eci.next += t.length;
  const layout: EncapsulatedContentLayout = { eContentType: t.oid, eContentLength: 0 };
  if (!(await eci.atEnd())) {
    const wrap = new Container(r, await r.header(eci.next));
    expectTag(wrap.h, 3, 0, true, stage, 'eContent [0]');
    const ranges: ByteRange[] = [];
    wrap.next = await octetRanges(r, await r.header(wrap.next), stage, ranges);
    eci.next = await wrap.finish(stage, 'eContent [0]');
    layout.eContent = ranges;
    layout.eContentLength = ranges.reduce((n, x) => n + x.length, 0);
  }
  return { layout, next: await eci.finish(stage, 'EncapsulatedContentInfo') };
}

export interface SignedDataLayout extends EncapsulatedContentLayout {
  version: number;
  digestAlgorithms: pkijs.AlgorithmIdentifier[];
  /** DER of every certificate in the certificates field (other certificate choices are counted, not returned). */
  certificates: Uint8Array[];
  otherCertificateChoices: number;
  crlCount: number;
  signerInfos: pkijs.SignerInfo[];
  /** Size of the whole ContentInfo. */
  totalLength: number;
}

export interface ReadSignedDataOptions {
  /** Cap for each small element after eContent (certificates, crls, signerInfos). Default 1 MiB. */
  maxElementBytes?: number;
}

/** Walks ContentInfo → SignedData of the file at `path` without loading eContent. Throws CmsStreamError. */
export async function readSignedDataLayout(path: string, opts: ReadSignedDataOptions = {}): Promise<SignedDataLayout> {
  const cap = opts.maxElementBytes ?? 1024 * 1024;
  const r = await DerFileReader.open(path);
  try {
    if (r.size === 0) throw new CmsStreamError('decode', 'empty file');
    const ci = new Container(r, await r.header(0));
    if (ci.h.tagClass !== 1 || ci.h.tagNumber !== 16 || !ci.h.constructed) throw new CmsStreamError('decode', 'not a DER/BER SEQUENCE (ContentInfo)');
    const ct = await readOidAt(r, ci.next, 'content-info', 'contentType');
    if (ct.oid !== OID_CMS_SIGNED_DATA) throw new CmsStreamError('content-info', `ContentInfo contentType is ${ct.oid}, not id-signedData`);
    ci.next += ct.length;
    const explicit = new Container(r, await r.header(ci.next));
    expectTag(explicit.h, 3, 0, true, 'content-info', 'ContentInfo content [0]');
    const sd = new Container(r, await r.header(explicit.next));
    expectTag(sd.h, 1, 16, true, 'signed-data', 'SignedData');
    const v = await r.element(sd.next, 16, 'signed-data', 'SignedData.version');
    if (!(v.node instanceof asn1js.Integer)) throw new CmsStreamError('signed-data', 'SignedData.version: expected INTEGER');
    const version = Number(v.node.toBigInt());
    sd.next += v.length;
    const da = await r.element(sd.next, 64 * 1024, 'signed-data', 'SignedData.digestAlgorithms');
    if (!(da.node instanceof asn1js.Set)) throw new CmsStreamError('signed-data', 'SignedData.digestAlgorithms: expected SET');
    let digestAlgorithms: pkijs.AlgorithmIdentifier[];
    try {
      digestAlgorithms = da.node.valueBlock.value.map((n) => new pkijs.AlgorithmIdentifier({ schema: n }));
    } catch (e) {
      throw new CmsStreamError('signed-data', `SignedData.digestAlgorithms: ${(e as Error).message}`, { cause: e });
    }
    sd.next += da.length;
    const encap = await readEncap(r, sd.next, 'encap-content');
    sd.next = encap.next;

    const certificates: Uint8Array[] = [];
    let otherCertificateChoices = 0;
    let crlCount = 0;
    let signerInfos: pkijs.SignerInfo[] | undefined;
    while (!(await sd.atEnd())) {
      const h = await r.header(sd.next);
      if (h.tagClass === 3 && h.tagNumber === 0 && signerInfos === undefined) {
        const el = await r.element(sd.next, cap, 'certificate', 'SignedData.certificates');
        for (const c of constructedChildren(el.node, 'certificate', 'SignedData.certificates')) {
          if (c instanceof asn1js.Sequence) certificates.push(new Uint8Array(c.valueBeforeDecodeView));
          else otherCertificateChoices++;
        }
        sd.next += el.length;
      } else if (h.tagClass === 3 && h.tagNumber === 1 && signerInfos === undefined) {
        const el = await r.element(sd.next, cap, 'signed-data', 'SignedData.crls');
        crlCount += constructedChildren(el.node, 'signed-data', 'SignedData.crls').length;
        sd.next += el.length;
      } else if (h.tagClass === 1 && h.tagNumber === 17 && signerInfos === undefined) {
        const el = await r.element(sd.next, cap, 'signer-info', 'SignedData.signerInfos');
        try {
          signerInfos = constructedChildren(el.node, 'signer-info', 'SignedData.signerInfos').map((n) => new pkijs.SignerInfo({ schema: n }));
        } catch (e) {
          throw new CmsStreamError('signer-info', `SignerInfo: ${(e as Error).message}`, { cause: e });
        }
        sd.next += el.length;
      } else throw new CmsStreamError('signed-data', `unexpected element (class ${h.tagClass}, number ${h.tagNumber}) in SignedData at offset ${h.offset}`);
    }
    if (signerInfos === undefined) throw new CmsStreamError('signed-data', 'SignedData has no signerInfos');
    explicit.next = await sd.finish('signed-data', 'SignedData');
    ci.next = await explicit.finish('content-info', 'ContentInfo content [0]');
    const total = await ci.finish('content-info', 'ContentInfo');
    if (total !== r.size) throw new CmsStreamError('decode', `${r.size - total} trailing byte(s) after the ContentInfo`);
    return { ...encap.layout, version, digestAlgorithms, certificates, otherCertificateChoices, crlCount, signerInfos, totalLength: total };
  } finally {
    await r.close();
  }
}

export interface CompressedDataLayout extends EncapsulatedContentLayout {
  version: number;
  compressionAlgorithm: pkijs.AlgorithmIdentifier;
}

/** Walks a CompressedData (RFC 3274) that is the whole of the file at `path`. Throws CmsStreamError('compressed-data' | 'decode'). */
export async function readCompressedDataLayout(path: string): Promise<CompressedDataLayout> {
  const r = await DerFileReader.open(path);
  try {
    const cd = new Container(r, await r.header(0));
    expectTag(cd.h, 1, 16, true, 'compressed-data', 'CompressedData');
    const v = await r.element(cd.next, 16, 'compressed-data', 'CompressedData.version');
    if (!(v.node instanceof asn1js.Integer)) throw new CmsStreamError('compressed-data', 'CompressedData.version: expected INTEGER');
    cd.next += v.length;
    const alg = await r.element(cd.next, 4096, 'compressed-data', 'CompressedData.compressionAlgorithm');
    let compressionAlgorithm: pkijs.AlgorithmIdentifier;
    try {
      compressionAlgorithm = new pkijs.AlgorithmIdentifier({ schema: alg.node });
    } catch (e) {
      throw new CmsStreamError('compressed-data', `compressionAlgorithm: ${(e as Error).message}`, { cause: e });
    }
    cd.next += alg.length;
    const encap = await readEncap(r, cd.next, 'compressed-data');
    cd.next = encap.next;
    const total = await cd.finish('compressed-data', 'CompressedData');
    if (total !== r.size) throw new CmsStreamError('decode', `${r.size - total} trailing byte(s) after the CompressedData`);
    return { ...encap.layout, version: Number(v.node.toBigInt()), compressionAlgorithm };
  } finally {
    await r.close();
  }
}

export interface EncryptedDataLayout {
  version: number;
  /** EncryptedContentInfo.contentType: what the decrypted bytes are. */
  contentType: string;
  contentEncryptionAlgorithm: pkijs.AlgorithmIdentifier;
  /** Byte ranges of encryptedContent within the file. */
  encryptedContent: ByteRange[];
  encryptedContentLength: number;
  /** unprotectedAttrs [1] present. */
  hasUnprotectedAttrs: boolean;
}

/** Walks an EncryptedData (RFC 5652 §8) that is the whole of the file at `path`. Throws CmsStreamError('encrypted-data' | 'decode'). */
export async function readEncryptedDataLayout(path: string): Promise<EncryptedDataLayout> {
  const stage: CmsStreamStage = 'encrypted-data';
  const r = await DerFileReader.open(path);
  try {
    if (r.size === 0) throw new CmsStreamError('decode', 'empty EncryptedData');
    const ed = new Container(r, await r.header(0));
    expectTag(ed.h, 1, 16, true, stage, 'EncryptedData');
    const v = await r.element(ed.next, 16, stage, 'EncryptedData.version');
    if (!(v.node instanceof asn1js.Integer)) throw new CmsStreamError(stage, 'EncryptedData.version: expected INTEGER');
    ed.next += v.length;
    const eci = new Container(r, await r.header(ed.next));
    expectTag(eci.h, 1, 16, true, stage, 'EncryptedContentInfo');
    const ct = await readOidAt(r, eci.next, stage, 'EncryptedContentInfo.contentType');
    eci.next += ct.length;
    const alg = await r.element(eci.next, 4096, stage, 'contentEncryptionAlgorithm');
    let contentEncryptionAlgorithm: pkijs.AlgorithmIdentifier;
    try {
      contentEncryptionAlgorithm = new pkijs.AlgorithmIdentifier({ schema: alg.node });
    } catch (e) {
      throw new CmsStreamError(stage, `contentEncryptionAlgorithm: ${(e as Error).message}`, { cause: e });
    }
    eci.next += alg.length;
    if (await eci.atEnd()) throw new CmsStreamError(stage, 'EncryptedContentInfo carries no encryptedContent');
    const encryptedContent: ByteRange[] = [];
    eci.next = await octetRanges(r, await r.header(eci.next), stage, encryptedContent, 0, { tagClass: 3, tagNumber: 0, what: 'encryptedContent [0]' });
    ed.next = await eci.finish(stage, 'EncryptedContentInfo');
    let hasUnprotectedAttrs = false;
    if (!(await ed.atEnd())) {
      const h = await r.header(ed.next);
      if (h.tagClass !== 3 || h.tagNumber !== 1) throw new CmsStreamError(stage, 'EncryptedData: unexpected element after EncryptedContentInfo');
      ed.next += (await r.element(ed.next, 64 * 1024, stage, 'unprotectedAttrs')).length;
      hasUnprotectedAttrs = true;
    }
    const total = await ed.finish(stage, 'EncryptedData');
    if (total !== r.size) throw new CmsStreamError('decode', `${r.size - total} trailing byte(s) after the EncryptedData`);
    return {
      version: Number(v.node.toBigInt()),
      contentType: ct.oid,
      contentEncryptionAlgorithm,
      encryptedContent,
      encryptedContentLength: encryptedContent.reduce((n, x) => n + x.length, 0),
      hasUnprotectedAttrs,
    };
  } finally {
    await r.close();
  }
}

/** DER identifier + definite length octets for an element of `length` content bytes (single-byte tags only). */
export function encodeDerHeader(identifier: number, length: number): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`bad DER length ${length}`);
  if (length < 0x80) return new Uint8Array([identifier, length]);
  const bytes: number[] = [];
  for (let l = length; l > 0; l = Math.floor(l / 256)) bytes.unshift(l % 256);
  return new Uint8Array([identifier, 0x80 | bytes.length, ...bytes]);
}
