// Lab firmware service (RFC 8295 §6 + RFC 4108): the lab's own firmware-signing trust anchor, a package builder
// that signs firmware with the RFC 4108 signed attributes, GET /.well-known/est/firmware/:id (with Range support for
// resumed downloads) and POST /.well-known/est/firmware/return (checks the receipt / load error structure and its
// signature when signed, records it, answers 204). Bad variants for the tests: wrong signer, stale version, wrong
// hardware, truncated DER, oversized (body larger than the advertised PAL size), unknown content type, corrupted
// signature, encrypted.
//
// Packages are written to disk by a streaming DER writer (headers by hand, small parts by asn1js/pkijs, the image
// copied through), so the lab can produce 256 MB packages without building them in memory. The HTTP layer of the lab
// router holds a response body in memory; that is the lab's (not the device's) cost.
import { createCipheriv, createHash, KeyObject, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createDeflate } from 'node:zlib';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OID_ENCRYPTED_DATA, openSignedData, signedAttributes, signerInfo } from './asn1/cms.js';
import { OID } from './pki/oids.js';
import { der, header as encodeDerHeader, int, oid, parse, seq } from './asn1/der.js';
import {
  FIRMWARE_COMPRESSED_MEDIA_TYPE,
  FIRMWARE_MEDIA_TYPE,
  OID_ALG_ZLIB_COMPRESS,
  OID_CT_COMPRESSED_DATA,
  OID_CT_FIRMWARE_LOAD_ERROR,
  OID_CT_FIRMWARE_LOAD_RECEIPT,
  OID_CT_FIRMWARE_PACKAGE,
  communityIdentifiersAttribute,
  decodeFirmwareLoadError,
  decodeFirmwareLoadReceipt,
  decryptKeyIdentifierAttribute,
  firmwarePackageIdentifierAttribute,
  firmwarePackageInfoAttribute,
  firmwarePackageMessageDigestAttribute,
  targetHardwareIdentifiersAttribute,
  type CommunityIdentifier,
  type FirmwareLoadErrorJson,
  type FirmwareLoadReceiptJson,
  type FirmwarePackageName,
  type FirmwareStaleVersion,
} from './asn1/firmware.js';
import { LabCa } from './ca.js';
import { EST_PATH } from './pal-entry.js';
import { text, type LabRequest, type LabResponse, type Router } from './router.js';

export type FirmwareVariant = 'good' | 'wrong-signer' | 'truncated' | 'oversized' | 'unknown-content-type' | 'bad-signature' | 'encrypted';

export interface FirmwarePackageSpec {
  /** URL path segment: GET /.well-known/est/firmware/<id>. */
  id: string;
  /** The firmware image: bytes, or a file path (large images). */
  image: Uint8Array | { path: string };
  name: FirmwarePackageName;
  stale?: FirmwareStaleVersion;
  targetHardware: string[];
  compress?: boolean;
  communities?: CommunityIdentifier[];
  packageInfo?: { fwPkgType?: number; dependencies?: FirmwarePackageName[] };
  variant?: FirmwareVariant;
  /** Serve base64 with Content-Transfer-Encoding: base64 instead of binary. */
  base64?: boolean;
  /** RFC 4108 §2.1.3: EncryptedData (AES-CBC) around the (compressed) content, key named by decrypt-key-identifier. */
  encrypt?: { keyId: Uint8Array; key: Uint8Array };
}

export interface LabFirmwarePackage {
  id: string;
  url: string;
  path: string;
  /** Actual size of the package file. */
  bytes: number;
  /** What the PAL entry should advertise (smaller than `bytes` for the oversized variant). */
  palSize: number;
  spec: FirmwarePackageSpec;
}

export interface ReturnRecord {
  at: Date;
  kind: 'receipt' | 'error';
  signed: boolean;
  /** Signature verified against the certificate the SignedData carries (undefined when unsigned or no cert). */
  signatureValid?: boolean;
  /** The receipt / load error, decoded by the lab (asn1/firmware.ts). */
  receipt?: FirmwareLoadReceiptJson;
  error?: FirmwareLoadErrorJson;
  contentType: string | undefined;
  der: Uint8Array;
}

export interface FirmwareLabOptions {
  /** Directory for package files (created). */
  dir: string;
  /** EST base URL of the lab server, e.g. server.url. */
  baseUrl: string;
  log?: (line: string) => void;
  now?: () => Date;
}

interface SigningIdentity {
  certDer: Uint8Array;
  /** Its subjectKeyIdentifier (the sid). */
  keyId: Uint8Array;
  key: KeyObject;
  chain: Uint8Array[];
}

async function identityOf(ca: LabCa): Promise<SigningIdentity> {
  // The issuing CA of a LabCa has digitalSignature in its keyUsage: it signs packages, its root is the TA.
  return { certDer: ca.issuing.der, keyId: ca.issuing.keyId, key: KeyObject.from(ca.issuing.privateKey), chain: [] };
}

async function hashFile(file: string): Promise<Uint8Array> {
  const h = createHash('sha256');
  for await (const c of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return new Uint8Array(h.digest());
}

/** Writes `parts` (bytes or a file to copy) to `out` in order. */
async function writeParts(out: string, parts: Array<Uint8Array | { file: string }>): Promise<void> {
  async function* gen(): AsyncGenerator<Uint8Array> {
    for (const p of parts) {
      if (p instanceof Uint8Array) yield p;
      else for await (const c of createReadStream(p.file, { highWaterMark: 1 << 20 })) yield c as Buffer;
    }
  }
  await pipeline(gen(), createWriteStream(out, { mode: 0o600 }));
}

/** EncapsulatedContentInfo { eContentType, [0] { OCTET STRING <file> } } as header parts around the file (RFC 4108
 * §2.1.5: for id-ct-firmwarePackage that OCTET STRING is the FirmwarePkgData, its octets the image). */
function encapParts(eContentType: string, contentFile: string, contentLength: number): { parts: Array<Uint8Array | { file: string }>; length: number } {
  const typeOid = der(oid(eContentType));
  const octetHdr = encodeDerHeader(0x04, contentLength);
  const e0Hdr = encodeDerHeader(0xa0, octetHdr.length + contentLength);
  const bodyLen = typeOid.length + e0Hdr.length + octetHdr.length + contentLength;
  const seqHdr = encodeDerHeader(0x30, bodyLen);
  return { parts: [seqHdr, typeOid, e0Hdr, octetHdr, { file: contentFile }], length: seqHdr.length + bodyLen };
}

export class FirmwareLab {
  readonly packages = new Map<string, LabFirmwarePackage>();
  readonly returns: ReturnRecord[] = [];
  private constructor(
    readonly opts: FirmwareLabOptions,
    /** The firmware-signing TA (root) and its issuing CA (the package signer). */
    readonly ca: LabCa,
    private readonly signerId: SigningIdentity,
    /** An unrelated signer for the wrong-signer variant. */
    private readonly rogueId: SigningIdentity,
    /** Root of the unrelated signer (tests may install it as a TA that is NOT authorized for firmware). */
    readonly rogueCa: LabCa,
  ) {}

  static async create(router: Router, opts: FirmwareLabOptions): Promise<FirmwareLab> {
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    const now = (opts.now ?? (() => new Date()))();
    const ca = await LabCa.create({ name: 'enrolld lab firmware', now });
    const rogue = await LabCa.create({ name: 'rogue firmware', now });
    const lab = new FirmwareLab(opts, ca, await identityOf(ca), await identityOf(rogue), rogue);
    const base = `${EST_PATH}/:label?`;
    router.register('POST', `${EST_PATH}/firmware/return`, (req) => lab.acceptReturn(req));
    router.register('POST', `${EST_PATH}/:label/firmware/return`, (req) => lab.acceptReturn(req));
    router.register('GET', `${base}/firmware/:id`, (req) => lab.serve(req));
    return lab;
  }

  /** The firmware trust anchor (what a device provisions as its firmware TA). */
  get trustAnchorDer(): Uint8Array {
    return this.ca.root.der;
  }
  get trustAnchorPem(): string {
    return this.ca.root.pem;
  }
  /** The rogue signer's root (tests install it as a non-firmware TA to get notAuthorized). */
  get rogueTrustAnchorDer(): Uint8Array {
    return this.rogueCa.root.der;
  }

  /** Builds, signs and publishes a package. */
  async addPackage(spec: FirmwarePackageSpec): Promise<LabFirmwarePackage> {
    const dir = path.join(this.opts.dir, spec.id);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const imagePath = spec.image instanceof Uint8Array ? path.join(dir, 'image.bin') : spec.image.path;
    if (spec.image instanceof Uint8Array) await writeFile(imagePath, spec.image, { mode: 0o600 });
    const out = path.join(dir, 'package.der');
    const variant = spec.variant ?? 'good';
    const id = variant === 'wrong-signer' ? this.rogueId : this.signerId;

    // Content: the image, or CompressedData(zlib(image)).
    let contentFile = imagePath;
    let eContentType = OID_CT_FIRMWARE_PACKAGE;
    if (spec.compress) {
      const z = path.join(dir, 'image.z');
      await pipeline(createReadStream(imagePath), createDeflate(), createWriteStream(z, { mode: 0o600 }));
      const zLen = (await stat(z)).size;
      const inner = encapParts(OID_CT_FIRMWARE_PACKAGE, z, zLen);
      // RFC 3274 §1.1 CompressedData ::= SEQUENCE { version CMSVersion (0), compressionAlgorithm, encapContentInfo }
      const version = der(int(0));
      const alg = der(seq(oid(OID_ALG_ZLIB_COMPRESS)));
      const body = version.length + alg.length + inner.length;
      contentFile = path.join(dir, 'compressed.der');
      await writeParts(contentFile, [encodeDerHeader(0x30, body), version, alg, ...inner.parts]);
      await rm(z, { force: true });
      eContentType = OID_CT_COMPRESSED_DATA;
    }
    if (spec.encrypt) {
      // EncryptedData { version 0, EncryptedContentInfo { contentType, aes-CBC(iv), [0] IMPLICIT ciphertext } }.
      const bits = spec.encrypt.key.byteLength * 8;
      const algOid = ({ 128: '2.16.840.1.101.3.4.1.2', 192: '2.16.840.1.101.3.4.1.22', 256: '2.16.840.1.101.3.4.1.42' } as Record<number, string>)[bits];
      if (!algOid) throw new Error(`lab: no AES-CBC for a ${bits}-bit key`);
      const iv = randomBytes(16);
      const ct = path.join(dir, 'content.enc');
      await pipeline(createReadStream(contentFile), createCipheriv(`aes-${bits}-cbc`, spec.encrypt.key, iv), createWriteStream(ct, { mode: 0o600 }));
      const ctLen = (await stat(ct)).size;
      const version = der(int(0));
      const typeOid = der(oid(eContentType));
      const alg = der(new pkijs.AlgorithmIdentifier({ algorithmId: algOid, algorithmParams: new asn1js.OctetString({ valueHex: iv }) }));
      const ctHdr = encodeDerHeader(0x80, ctLen);
      const eciLen = typeOid.length + alg.length + ctHdr.length + ctLen;
      const eciHdr = encodeDerHeader(0x30, eciLen);
      const edLen = version.length + eciHdr.length + eciLen;
      const encrypted = path.join(dir, 'encrypted.der');
      await writeParts(encrypted, [encodeDerHeader(0x30, edLen), version, eciHdr, typeOid, alg, ctHdr, { file: ct }]);
      await rm(ct, { force: true });
      if (contentFile !== imagePath) await rm(contentFile, { force: true });
      contentFile = encrypted;
      eContentType = OID_ENCRYPTED_DATA;
    }
    if (variant === 'unknown-content-type') eContentType = OID.data; // id-data: not an RFC 4108 content
    if (variant === 'encrypted') eContentType = OID_ENCRYPTED_DATA; // (content not really encrypted: refused before use)
    const contentLength = (await stat(contentFile)).size;
    const digest = await hashFile(contentFile);
    const imageDigest = spec.compress || spec.encrypt ? await hashFile(imagePath) : digest;

    // RFC 4108 §2.2 signed attributes; §3.1.2.1: the sid is the signer's subjectKeyIdentifier.
    const attrs = signedAttributes({
      eContentType,
      digest,
      signingTime: (this.opts.now ?? (() => new Date()))(),
      more: [
        firmwarePackageIdentifierAttribute(spec.name, spec.stale),
        targetHardwareIdentifiersAttribute(spec.targetHardware),
        firmwarePackageMessageDigestAttribute(OID.sha256, imageDigest),
        ...(spec.encrypt ? [decryptKeyIdentifierAttribute(spec.encrypt.keyId)] : []),
        ...(spec.communities ? [communityIdentifiersAttribute(spec.communities)] : []),
        ...(spec.packageInfo ? [firmwarePackageInfoAttribute(spec.packageInfo)] : []),
      ],
    });
    const si = signerInfo({ key: id.key, keyId: id.keyId, attrs, corrupt: variant === 'bad-signature' });

    // SignedData, streamed: headers by hand, small members by asn1js.
    const version = der(int(3));
    const digestAlgs = der(new asn1js.Set({ value: [seq(oid(OID.sha256))] }));
    const encap = encapParts(eContentType, contentFile, contentLength);
    const certs = der(new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [id.certDer, ...id.chain].map((d) => parse(d, 'certificate')) }));
    const signerInfos = der(new asn1js.Set({ value: [si.toSchema()] }));
    const sdBody = version.length + digestAlgs.length + encap.length + certs.length + signerInfos.length;
    const sdHdr = encodeDerHeader(0x30, sdBody);
    const ctOid = der(oid(OID.signedData));
    const ci0 = encodeDerHeader(0xa0, sdHdr.length + sdBody);
    const ciHdr = encodeDerHeader(0x30, ctOid.length + ci0.length + sdHdr.length + sdBody);
    await writeParts(out, [ciHdr, ctOid, ci0, sdHdr, version, digestAlgs, ...encap.parts, certs, signerInfos]);
    if (contentFile !== imagePath) await rm(contentFile, { force: true });
    if (spec.image instanceof Uint8Array) await rm(imagePath, { force: true });

    let bytes = (await stat(out)).size;
    if (variant === 'truncated') {
      bytes = Math.floor(bytes * 0.6);
      await truncate(out, bytes);
    }
    const palSize = variant === 'oversized' ? Math.max(1, bytes - 1024) : bytes;
    const pkg: LabFirmwarePackage = { id: spec.id, url: `${this.opts.baseUrl}${EST_PATH}/firmware/${encodeURIComponent(spec.id)}`, path: out, bytes, palSize, spec };
    this.packages.set(spec.id, pkg);
    this.opts.log?.(`lab firmware: package ${spec.id} (${variant}) ${bytes} bytes`);
    return pkg;
  }

  async removePackage(id: string): Promise<void> {
    const p = this.packages.get(id);
    this.packages.delete(id);
    if (p) await rm(path.dirname(p.path), { recursive: true, force: true });
  }

  private async serve(req: LabRequest): Promise<LabResponse> {
    const pkg = this.packages.get(req.params.id ?? '');
    if (!pkg) return text(404, `no firmware package ${req.params.id}`);
    const ct = pkg.spec.compress ? FIRMWARE_COMPRESSED_MEDIA_TYPE : FIRMWARE_MEDIA_TYPE;
    const st = await stat(pkg.path);
    const etag = `"${pkg.id}-${st.size}-${Math.floor(st.mtimeMs)}"`;
    if (pkg.spec.base64) {
      const b64 = (await readFile(pkg.path)).toString('base64').replace(/.{64}/g, '$&\r\n');
      return { status: 200, headers: { 'content-type': ct, 'content-transfer-encoding': 'base64' }, body: b64 };
    }
    const range = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
    const ifRange = req.headers['if-range'];
    if (range && (ifRange === undefined || ifRange === etag)) {
      const start = Number(range[1]);
      if (start >= st.size) return { status: 416, headers: { 'content-range': `bytes */${st.size}` } };
      const fh = await open(pkg.path, 'r');
      try {
        const buf = Buffer.alloc(st.size - start);
        await fh.read(buf, 0, buf.length, start);
        return { status: 206, headers: { 'content-type': ct, etag, 'accept-ranges': 'bytes', 'content-range': `bytes ${start}-${st.size - 1}/${st.size}` }, body: buf };
      } finally {
        await fh.close();
      }
    }
    return { status: 200, headers: { 'content-type': ct, etag, 'accept-ranges': 'bytes' }, body: await readFile(pkg.path) };
  }

  private async acceptReturn(req: LabRequest): Promise<LabResponse> {
    let body = new Uint8Array(req.body);
    if (String(req.headers['content-transfer-encoding'] ?? '').toLowerCase() === 'base64' || (body.length > 1 && body[0] === 0x4d)) {
      body = new Uint8Array(Buffer.from(Buffer.from(body).toString('latin1'), 'base64'));
    }
    const ct = typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : undefined;
    if (!ct || !/^application\/cms\b/i.test(ct)) return text(415, 'expected application/cms');
    try {
      // RFC 4108 §3.1.3/§4.1.3: a receipt/error, signed (SignedData) or bare (ContentInfo).
      const ci = new pkijs.ContentInfo({ schema: parse(body, 'ContentInfo') });
      let inner: { type: string; der: Uint8Array };
      let signed = false;
      let signatureValid: boolean | undefined;
      if (ci.contentType === OID.signedData) {
        signed = true;
        const sd = await openSignedData(body);
        inner = { type: sd.eContentType, der: sd.eContent };
        if (sd.hasCertificates) signatureValid = sd.signatureValid;
      } else inner = { type: ci.contentType, der: der(ci.content as asn1js.BaseBlock) };
      const rec: ReturnRecord = { at: new Date(), kind: 'receipt', signed, contentType: ct, der: body, ...(signatureValid !== undefined ? { signatureValid } : {}) };
      if (inner.type === OID_CT_FIRMWARE_LOAD_RECEIPT) rec.receipt = decodeFirmwareLoadReceipt(inner.der);
      else if (inner.type === OID_CT_FIRMWARE_LOAD_ERROR) {
        rec.kind = 'error';
        rec.error = decodeFirmwareLoadError(inner.der);
      } else throw new Error(`content type ${inner.type} is neither a load receipt nor a load error`);
      if (signatureValid === false) return text(400, 'signature on the report does not verify');
      this.returns.push(rec);
      this.opts.log?.(`lab firmware: ${rec.kind} ${JSON.stringify(rec.receipt ?? rec.error)}`);
      return { status: 204 };
    } catch (e) {
      return text(400, `malformed firmware receipt/error: ${(e as Error).message}`);
    }
  }
}
