// Lab TAMP service (RFC 5934 over RFC 8295 §7): its own apex trust anchor (a CA whose root is the apex TA and whose
// issuing CA signs routine TAMP messages), message builders with increasing sequence numbers, GET
// /.well-known/est/tamp/:id (binary, the message's media type) and POST /.well-known/est/tamp/return (records the
// answer: media type, inner content type, decoded message, signature check). Bad variants for the tests: a signer
// outside the TAMP trust (rogue CA), a replayed sequence number, a wrong target, truncated DER, an unknown content
// type.
import { KeyObject, randomBytes } from 'node:crypto';
import * as pkijs from 'pkijs';
import { SoftwareSigner } from '../../agent/keystore/software.js';
import { createSignedData } from '../../agent/pki/asn1/cms-signed-data-create.js';
import { certificateFromDer } from '../../agent/pki/cert.js';
import { decodeAsn1 } from '../../agent/pki/der.js';
import { TAMP_MEDIA_TYPES, OID_CT_TAMP_ERROR } from '../../agent/pki/asn1/tamp-oids.js';
import type { TampMsgRef, TargetIdentifier } from '../../agent/pki/asn1/tamp-msg-ref.js';
import { TampStatusQuery } from '../../agent/pki/asn1/tamp-status-query.js';
import { TampUpdate, type TrustAnchorUpdate } from '../../agent/pki/asn1/tamp-update.js';
import { TampApexUpdate } from '../../agent/pki/asn1/tamp-apex-update.js';
import { TampCommunityUpdate } from '../../agent/pki/asn1/tamp-community-update.js';
import { SequenceNumberAdjust } from '../../agent/pki/asn1/tamp-sequence-number-adjust.js';
import { EST_WELL_KNOWN_PATH } from '../../agent/protocols/est/constants.js';
import { LabCa, type CaEntity } from './ca.js';
import { text, type Router } from './router.js';

export type TampSigner = 'management' | 'apex' | 'rogue';

export interface LabTampMessage {
  id: string;
  url: string;
  contentType: string;
  seqNum: bigint;
}

export interface TampReturnRecord {
  mediaType: string | undefined;
  /** eContentType of the returned SignedData. */
  contentType: string;
  content: Uint8Array;
  signatureValid: boolean;
  signerCertificate?: pkijs.Certificate;
  /** The ContentInfo as POSTed. */
  der: Uint8Array;
}

async function signerOf(e: CaEntity): Promise<SoftwareSigner> {
  return new SoftwareSigner(KeyObject.from(e.privateKey));
}

export class LabTamp {
  readonly returns: TampReturnRecord[] = [];
  private readonly messages = new Map<string, { contentType: string; body: Uint8Array }>();
  private seq = 0n;

  private constructor(
    private readonly baseUrl: string,
    /** Root = the apex TA; issuing = a management signer chaining to it. */
    readonly apexCa: LabCa,
    /** A CA the device does not trust for TAMP (wrong-signer variant). */
    readonly rogueCa: LabCa,
  ) {}

  static async create(router: Router, o: { baseUrl: string }): Promise<LabTamp> {
    const t = new LabTamp(o.baseUrl, await LabCa.create({ now: new Date() }), await LabCa.create({ now: new Date() }));
    router.register('GET', `${EST_WELL_KNOWN_PATH}/tamp/:id`, (req) => {
      const m = t.messages.get(req.params.id ?? '');
      if (!m) return text(404, 'no such TAMP message');
      return { status: 200, headers: { 'content-type': TAMP_MEDIA_TYPES[m.contentType] ?? 'application/octet-stream' }, body: m.body };
    });
    router.register('POST', `${EST_WELL_KNOWN_PATH}/tamp/return`, async (req) => {
      t.returns.push(await t.verifyReturn(req.body, typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : undefined));
      return { status: 204 };
    });
    return t;
  }

  /** PEM of the apex TA (what the device is provisioned with). */
  get apexTrustAnchorPem(): string {
    return this.apexCa.root.pem;
  }

  /** The next sequence number (strictly increasing). */
  nextSeq(): bigint {
    return ++this.seq;
  }

  private async publish(contentType: string, content: Uint8Array, seqNum: bigint, o: { signer?: TampSigner; variant?: 'truncated' | 'unknown-content-type' } = {}): Promise<LabTampMessage> {
    const who = o.signer ?? 'management';
    const entity = who === 'apex' ? this.apexCa.root : who === 'rogue' ? this.rogueCa.issuing : this.apexCa.issuing;
    const chain = who === 'management' ? [] : who === 'rogue' ? [this.rogueCa.root.der] : [];
    let der = await createSignedData({
      eContentType: o.variant === 'unknown-content-type' ? '1.2.840.113549.1.7.1' : contentType,
      eContent: content,
      signer: await signerOf(entity),
      certificate: entity.der,
      extraCertificates: chain,
      signingTime: new Date(),
    });
    if (o.variant === 'truncated') der = der.subarray(0, der.length - 40);
    const id = randomBytes(8).toString('hex');
    this.messages.set(id, { contentType, body: der });
    return { id, url: `${this.baseUrl}${EST_WELL_KNOWN_PATH}/tamp/${id}`, contentType, seqNum };
  }

  private ref(target: TargetIdentifier | undefined, seqNum: bigint | undefined): TampMsgRef {
    return { target: target ?? { kind: 'allModules' }, seqNum: seqNum ?? this.nextSeq() };
  }

  statusQuery(o: { target?: TargetIdentifier; seqNum?: bigint; terse?: boolean; signer?: TampSigner; variant?: 'truncated' | 'unknown-content-type' } = {}): Promise<LabTampMessage> {
    const r = this.ref(o.target, o.seqNum);
    return this.publish(TampStatusQuery.CONTENT_TYPE, new TampStatusQuery(r, o.terse).toDer(), r.seqNum, o);
  }

  update(updates: TrustAnchorUpdate[], o: { target?: TargetIdentifier; seqNum?: bigint; signer?: TampSigner } = {}): Promise<LabTampMessage> {
    const r = this.ref(o.target, o.seqNum);
    return this.publish(TampUpdate.CONTENT_TYPE, new TampUpdate(r, updates).toDer(), r.seqNum, o);
  }

  apexUpdate(apex: pkijs.Certificate, o: { clearTrustAnchors?: boolean; seqNumber?: bigint; signer?: TampSigner } = {}): Promise<LabTampMessage> {
    const r = this.ref(undefined, undefined);
    return this.publish(TampApexUpdate.CONTENT_TYPE, new TampApexUpdate(r, apex, o.clearTrustAnchors ?? false, false, o.seqNumber).toDer(), r.seqNum, { signer: o.signer ?? 'apex' });
  }

  communityUpdate(remove: string[], add: string[], o: { target?: TargetIdentifier } = {}): Promise<LabTampMessage> {
    const r = this.ref(o.target, undefined);
    return this.publish(TampCommunityUpdate.CONTENT_TYPE, new TampCommunityUpdate(r, remove, add).toDer(), r.seqNum);
  }

  sequenceAdjust(seqNum: bigint): Promise<LabTampMessage> {
    if (seqNum > this.seq) this.seq = seqNum;
    return this.publish(SequenceNumberAdjust.CONTENT_TYPE, new SequenceNumberAdjust({ target: { kind: 'allModules' }, seqNum }).toDer(), seqNum);
  }

  private async verifyReturn(body: Uint8Array, mediaType: string | undefined): Promise<TampReturnRecord> {
    const sd = new pkijs.SignedData({ schema: new pkijs.ContentInfo({ schema: decodeAsn1(body, 'TAMP return') }).content });
    let signatureValid = false;
    let signerCertificate: pkijs.Certificate | undefined;
    try {
      const r = (await sd.verify({ signer: 0, checkChain: false, extendedMode: true })) as unknown as { signatureVerified: boolean; signerCertificate: pkijs.Certificate };
      signatureValid = r.signatureVerified === true;
      signerCertificate = r.signerCertificate;
    } catch {
      signatureValid = false;
    }
    return { der: new Uint8Array(body), mediaType, contentType: sd.encapContentInfo.eContentType, content: new Uint8Array(sd.encapContentInfo.eContent!.getValue()), signatureValid, ...(signerCertificate ? { signerCertificate } : {}) };
  }

  /** Is the last return a TAMPError? */
  static isError(r: TampReturnRecord | undefined): boolean {
    return r?.contentType === OID_CT_TAMP_ERROR;
  }

  /** A fresh CA root to add as a TA (tests). */
  static async newTrustAnchor(): Promise<pkijs.Certificate> {
    return certificateFromDer((await LabCa.create({ now: new Date() })).root.der);
  }
}
