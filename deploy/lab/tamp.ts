// Lab side of TAMP (RFC 5934) over RFC 8295 §7: builds and signs TAMP messages (status query, TA update, apex
// update, community update, sequence number adjust) with the lab's own apex TA or management TA (each a LabCa: the
// root is the TA a device holds, the issuing CA signs with its certificate included), serves them at
// /.well-known/est[/label]/tamp/<id> with their media type, returns the PAL entry (0028/0030/0032/0034/0036) for the
// tests to list, and accepts POSTs to /tamp/return: the body must be a SignedData whose signature verifies and whose
// content type matches the media type; the decoded response is recorded and answered 204. Bad variants: wrong
// signer (a rogue CA), replayed/lower sequence number (seqNum given explicitly), wrong target, truncated DER, an
// unknown content type, an oversized body.
import { KeyObject, createCipheriv, generateKeyPairSync, randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { SoftwareSigner } from '../../agent/keystore/software.js';
import { createSignedData } from '../../agent/pki/asn1/cms-signed-data-create.js';
import { OID_CMS_SIGNED_DATA } from '../../agent/pki/asn1/firmware-oids.js';
import { TAMPApexUpdate } from '../../agent/pki/asn1/tamp-apex-update.js';
import { TAMPApexUpdateConfirm } from '../../agent/pki/asn1/tamp-apex-update-confirm.js';
import { TAMPCommunityUpdate, type CommunityUpdates } from '../../agent/pki/asn1/tamp-community-update.js';
import { TAMPCommunityUpdateConfirm } from '../../agent/pki/asn1/tamp-community-update-confirm.js';
import { TAMPError } from '../../agent/pki/asn1/tamp-error.js';
import { TAMPMsgRef } from '../../agent/pki/asn1/tamp-msg-ref.js';
import { OID_AA_TAMP_CONTINGENCY_PUBLIC_KEY_DECRYPT_KEY, TAMP_MEDIA_TYPES, type TampStatusCodeName } from '../../agent/pki/asn1/tamp-oids.js';
import { ApexContingencyKey } from '../../agent/pki/asn1/tamp-apex-contingency-key.js';
import { TrustAnchorInfo } from '../../agent/pki/asn1/trust-anchor-info.js';
import { SequenceNumberAdjust } from '../../agent/pki/asn1/tamp-sequence-number-adjust.js';
import { SequenceNumberAdjustConfirm } from '../../agent/pki/asn1/tamp-sequence-number-adjust-confirm.js';
import { TAMPStatusQuery } from '../../agent/pki/asn1/tamp-status-query.js';
import { TAMPStatusResponse } from '../../agent/pki/asn1/tamp-status-response.js';
import type { TargetIdentifier } from '../../agent/pki/asn1/tamp-target-identifier.js';
import { TAMPUpdate, type TrustAnchorUpdate } from '../../agent/pki/asn1/tamp-update.js';
import { TAMPUpdateConfirm } from '../../agent/pki/asn1/tamp-update-confirm.js';
import type { TrustAnchorChoice } from '../../agent/pki/asn1/trust-anchor-choice.js';
import type { TerseOrVerbose } from '../../agent/pki/asn1/tamp-fields.js';
import type { PalEntry } from '../../agent/pal/model.js';
import { EST_WELL_KNOWN_PATH } from '../../agent/protocols/est/constants.js';
import { LabCa } from './ca.js';
import { text, type LabRequest, type LabResponse, type Router } from './router.js';

export type TampVariant =
  | 'good'
  | 'truncated' // DER cut short
  | 'unknown-content-type' // SignedData(id-data) instead of a TAMP content type
  | 'oversized' // 200 KB of trailing zeros (over the agent's cap)
  | 'bad-signature' // one signature byte flipped
  | 'v1'; // the content carries version [0] v1 (this is TAMP v2: versionNumberMismatch)

export type TampSignerName = 'apex' | 'manager' | 'rogue';

export type TampMessageSpec = { id?: string; signer?: TampSignerName; seqNum?: bigint; target?: TargetIdentifier; variant?: TampVariant; terse?: TerseOrVerbose } & (
  | { kind: 'statusQuery' }
  | { kind: 'update'; updates: TrustAnchorUpdate[] }
  | {
      kind: 'apexUpdate';
      apexTA: TrustAnchorChoice;
      clearTrustAnchors?: boolean;
      clearCommunities?: boolean;
      newApexSeq?: bigint;
      /** Sign with this contingency key (no certificate) and publish `decryptKey` in the unsigned attribute (§4.5). */
      contingency?: { key: KeyObject; decryptKey: Uint8Array };
    }
  | { kind: 'communityUpdate'; updates: CommunityUpdates }
  | { kind: 'seqAdjust' }
);

export interface LabTampMessage {
  id: string;
  url: string;
  seqNum: bigint;
  der: Uint8Array;
  entry: PalEntry;
}

export interface TampReturnRecord {
  at: Date;
  mediaType: string;
  contentType: string;
  signatureValid: boolean;
  der: Uint8Array;
  /** The decoded response. */
  message: TAMPStatusResponse | TAMPUpdateConfirm | TAMPApexUpdateConfirm | TAMPCommunityUpdateConfirm | SequenceNumberAdjustConfirm | TAMPError;
  /** TAMPError status, or the (first) status of a confirm. */
  status?: TampStatusCodeName;
}

export interface TampLabOptions {
  /** EST base URL of the lab server (server.url). */
  baseUrl: string;
  log?: (line: string) => void;
  now?: () => Date;
}

const KINDS = {
  statusQuery: { type: '0028', ct: TAMPStatusQuery.CONTENT_TYPE },
  update: { type: '0030', ct: TAMPUpdate.CONTENT_TYPE },
  apexUpdate: { type: '0032', ct: TAMPApexUpdate.CONTENT_TYPE },
  communityUpdate: { type: '0034', ct: TAMPCommunityUpdate.CONTENT_TYPE },
  seqAdjust: { type: '0036', ct: SequenceNumberAdjust.CONTENT_TYPE },
} as const;
const OID_DATA = '1.2.840.113549.1.7.1';

export class LabTamp {
  readonly messages = new Map<string, { der: Uint8Array; mediaType: string }>();
  readonly returns: TampReturnRecord[] = [];
  /** Last sequence number used per signer (the next good message uses +1). */
  readonly lastSeq: Record<TampSignerName, bigint> = { apex: 0n, manager: 0n, rogue: 0n };

  private constructor(
    readonly opts: TampLabOptions,
    /** The apex TA (root) and its signing CA; replaced by rotateApex(). */
    public apex: LabCa,
    /** A management TA the device holds with use 'tamp'. */
    readonly manager: LabCa,
    /** A CA the device does not hold for TAMP. */
    readonly rogue: LabCa,
  ) {}

  static async create(router: Router, opts: TampLabOptions): Promise<LabTamp> {
    const now = (opts.now ?? (() => new Date()))();
    const lab = new LabTamp(
      opts,
      await LabCa.create({ name: 'enrolld lab TAMP apex', now }),
      await LabCa.create({ name: 'enrolld lab TAMP manager', now }),
      await LabCa.create({ name: 'rogue TAMP signer', now }),
    );
    router.register('GET', `${EST_WELL_KNOWN_PATH}/tamp/:id`, (req) => lab.serve(req));
    router.register('GET', `${EST_WELL_KNOWN_PATH}/:label/tamp/:id`, (req) => lab.serve(req));
    router.register('POST', `${EST_WELL_KNOWN_PATH}/tamp/return`, (req) => lab.acceptReturn(req));
    router.register('POST', `${EST_WELL_KNOWN_PATH}/:label/tamp/return`, (req) => lab.acceptReturn(req));
    return lab;
  }

  /** Makes `ca` the apex (after the device confirmed an apex update to its root); its sequence restarts at `seq`. */
  rotateApex(ca: LabCa, seq = 0n): void {
    this.apex = ca;
    this.lastSeq.apex = seq;
  }

  private ca(name: TampSignerName): LabCa {
    return name === 'apex' ? this.apex : name === 'manager' ? this.manager : this.rogue;
  }

  /** Builds, signs and publishes one TAMP message; returns its PAL entry. */
  async publish(spec: TampMessageSpec): Promise<LabTampMessage> {
    const signer = spec.signer ?? (spec.kind === 'apexUpdate' ? 'apex' : 'manager');
    const seqNum = spec.seqNum ?? this.lastSeq[signer] + 1n;
    if (seqNum > this.lastSeq[signer]) this.lastSeq[signer] = seqNum;
    const msgRef = new TAMPMsgRef({ target: spec.target ?? { kind: 'allModules' }, seqNum });
    const terse = spec.terse ?? 'verbose';
    let content: Uint8Array;
    switch (spec.kind) {
      case 'statusQuery':
        content = new TAMPStatusQuery({ terse, query: msgRef }).toDer();
        break;
      case 'update':
        content = new TAMPUpdate({ terse, msgRef, updates: spec.updates }).toDer();
        break;
      case 'apexUpdate':
        content = new TAMPApexUpdate({
          terse,
          msgRef,
          clearTrustAnchors: spec.clearTrustAnchors ?? false,
          clearCommunities: spec.clearCommunities ?? false,
          ...(spec.newApexSeq !== undefined ? { seqNumber: spec.newApexSeq } : {}),
          apexTA: spec.apexTA,
        }).toDer();
        break;
      case 'communityUpdate':
        content = new TAMPCommunityUpdate({ terse, msgRef, updates: spec.updates }).toDer();
        break;
      case 'seqAdjust':
        content = new SequenceNumberAdjust({ msgRef }).toDer();
        break;
    }
    const kind = KINDS[spec.kind];
    const variant = spec.variant ?? 'good';
    if (variant === 'v1') {
      const seq = asn1js.fromBER(content).result as asn1js.Sequence;
      const v1 = new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: new Uint8Array([1]) });
      content = new Uint8Array(new asn1js.Sequence({ value: [v1, ...(seq.valueBlock.value as asn1js.BaseBlock[])] }).toBER(false));
    }
    const ca = this.ca(signer);
    const contingency = spec.kind === 'apexUpdate' ? spec.contingency : undefined;
    let der = await createSignedData({
      eContentType: variant === 'unknown-content-type' ? OID_DATA : kind.ct,
      eContent: content,
      signer: new SoftwareSigner(contingency ? contingency.key : KeyObject.from(ca.issuing.privateKey)),
      ...(contingency ? {} : { certificate: ca.issuing.der }),
      signingTime: (this.opts.now ?? (() => new Date()))(),
    });
    if (contingency) der = withUnsignedAttribute(der, OID_AA_TAMP_CONTINGENCY_PUBLIC_KEY_DECRYPT_KEY, new asn1js.OctetString({ valueHex: contingency.decryptKey }));
    if (variant === 'bad-signature') {
      der = new Uint8Array(der);
      der[der.length - 4]! ^= 0x55;
    }
    if (variant === 'truncated') der = der.subarray(0, der.length - 40);
    let size = der.length;
    if (variant === 'oversized') {
      der = new Uint8Array([...der, ...new Uint8Array(200_000)]);
      size = 100;
    }
    const id = spec.id ?? randomBytes(6).toString('hex');
    this.messages.set(id, { der, mediaType: TAMP_MEDIA_TYPES[kind.ct]! });
    const url = `${this.opts.baseUrl}${EST_WELL_KNOWN_PATH}/tamp/${id}`;
    return { id, url, seqNum, der, entry: { type: kind.type, size, info: { kind: 'uri', uri: url } } };
  }

  /** The odd "confirm or error" entry that asks the device to return what it still holds (e.g. 0031). */
  returnEntry(type: '0029' | '0031' | '0033' | '0035' | '0037' = '0031'): PalEntry {
    return { type, size: 0, info: { kind: 'uri', uri: `${this.opts.baseUrl}${EST_WELL_KNOWN_PATH}/tamp/return` } };
  }

  private serve(req: LabRequest): LabResponse {
    const m = this.messages.get(req.params.id ?? '');
    if (!m) return text(404, 'no such TAMP message');
    return { status: 200, headers: { 'content-type': m.mediaType }, body: m.der };
  }

  /** Verifies and records a TAMP response; 204, or 400/415. */
  async acceptReturn(req: LabRequest): Promise<LabResponse> {
    const mediaType = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const ct = Object.keys(TAMP_MEDIA_TYPES).find((k) => TAMP_MEDIA_TYPES[k] === mediaType);
    if (!ct) return text(415, `not a TAMP media type: ${mediaType}`);
    const body = new Uint8Array(req.body);
    try {
      const parsed = asn1js.fromBER(body);
      if (parsed.offset !== body.byteLength || parsed.result.error) throw new Error('not one BER element');
      const ci = new pkijs.ContentInfo({ schema: parsed.result });
      if (ci.contentType !== OID_CMS_SIGNED_DATA) throw new Error(`content type ${ci.contentType}: TAMP responses must be signed`);
      const sd = new pkijs.SignedData({ schema: ci.content });
      if (sd.signerInfos.length !== 1) throw new Error(`${sd.signerInfos.length} SignerInfos`);
      const e = sd.encapContentInfo;
      if (!e.eContent) throw new Error('no eContent');
      if (e.eContentType !== ct) throw new Error(`eContentType ${e.eContentType} does not match ${mediaType}`);
      const v = (await sd.verify({ signer: 0, checkChain: false, extendedMode: true }).catch((x: unknown) => x)) as { signatureVerified?: boolean };
      if (v.signatureVerified !== true) return text(400, 'signature on the TAMP response does not verify');
      const inner = new Uint8Array(e.eContent.getValue());
      const decoders: Record<string, (d: Uint8Array) => TampReturnRecord['message']> = {
        [TAMPStatusResponse.CONTENT_TYPE]: (d) => TAMPStatusResponse.fromDer(d),
        [TAMPUpdateConfirm.CONTENT_TYPE]: (d) => TAMPUpdateConfirm.fromDer(d),
        [TAMPApexUpdateConfirm.CONTENT_TYPE]: (d) => TAMPApexUpdateConfirm.fromDer(d),
        [TAMPCommunityUpdateConfirm.CONTENT_TYPE]: (d) => TAMPCommunityUpdateConfirm.fromDer(d),
        [SequenceNumberAdjustConfirm.CONTENT_TYPE]: (d) => SequenceNumberAdjustConfirm.fromDer(d),
        [TAMPError.CONTENT_TYPE]: (d) => TAMPError.fromDer(d),
      };
      const dec = decoders[ct];
      if (!dec) throw new Error(`${mediaType} is not a response type`);
      const message = dec(inner);
      const status =
        message instanceof TAMPError ? message.status
        : message instanceof TAMPUpdateConfirm ? message.confirm.status[0]
        : message instanceof TAMPApexUpdateConfirm ? message.apexConfirm.status
        : message instanceof TAMPCommunityUpdateConfirm ? message.commConfirm.status
        : message instanceof SequenceNumberAdjustConfirm ? message.status
        : 'success';
      this.returns.push({ at: new Date(), mediaType, contentType: ct, signatureValid: true, der: body, message, ...(status ? { status } : {}) });
      this.opts.log?.(`lab tamp: ${mediaType} ${status ?? ''}`);
      return { status: 204 };
    } catch (err) {
      return text(400, `malformed TAMP response: ${(err as Error).message}`);
    }
  }
}

/** Adds one unsigned attribute to the (single) SignerInfo of a ContentInfo(SignedData). */
function withUnsignedAttribute(der: Uint8Array, type: string, value: asn1js.BaseBlock): Uint8Array {
  const ci = new pkijs.ContentInfo({ schema: asn1js.fromBER(der).result });
  const sd = new pkijs.SignedData({ schema: ci.content });
  sd.signerInfos[0]!.unsignedAttrs = new pkijs.SignedAndUnsignedAttributes({ type: 1, attributes: [new pkijs.Attribute({ type, values: [value] })] });
  return new Uint8Array(new pkijs.ContentInfo({ contentType: OID_CMS_SIGNED_DATA, content: sd.toSchema(true) }).toSchema().toBER(false));
}

/**
 * An apex TA with a contingency key (RFC 5934 §2.2.4.1): a TrustAnchorInfo for `ca.root` whose exts carry
 * id-pe-wrappedApexContinKey — a fresh P-256 public key wrapped with AES-256 key wrap with padding (RFC 5649) under
 * a fresh key. Returns the TA and what a contingency-signed apex update needs.
 */
export function contingencyApex(ca: LabCa): { apexTA: TrustAnchorChoice; contingency: { key: KeyObject; decryptKey: Uint8Array } } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const decryptKey = new Uint8Array(randomBytes(32));
  const c = createCipheriv('id-aes256-wrap-pad', decryptKey, Buffer.from('a65959a6', 'hex'));
  const wrapped = new Uint8Array(Buffer.concat([c.update(publicKey.export({ type: 'spki', format: 'der' })), c.final()]));
  const ext = new ApexContingencyKey({ wrapAlgorithm: '2.16.840.1.101.3.4.1.48', wrappedContinPubKey: wrapped }).toExtension();
  const exts = new Uint8Array(new asn1js.Sequence({ value: [ext.toSchema()] }).toBER(false));
  const info = new TrustAnchorInfo({
    pubKey: new Uint8Array(ca.root.certificate.subjectPublicKeyInfo.toSchema().toBER(false)),
    keyId: ca.root.keyId,
    taTitle: 'lab apex (contingency)',
    certPath: { taName: new Uint8Array(ca.root.certificate.subject.toSchema().toBER(false)), certificate: ca.root.der },
    exts,
  });
  return { apexTA: { kind: 'taInfo', info }, contingency: { key: privateKey, decryptKey } };
}

/** Registers the TAMP endpoints on the lab router (tests call this on lab.router). */
export function registerTampHandlers(router: Router, opts: TampLabOptions): Promise<LabTamp> {
  return LabTamp.create(router, opts);
}
