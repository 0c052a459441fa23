// Lab side of TAMP (RFC 5934) over RFC 8295 §7: builds and signs TAMP messages (status query, TA update, apex
// update, community update, sequence number adjust) with the lab's own apex TA or management TA (each a LabCa: the
// root is the TA a device holds, the issuing CA signs with its certificate included), serves them at
// /.well-known/est[/label]/tamp/<id> with their media type, returns the PAL entry (0028/0030/0032/0034/0036) for the
// tests to list, and accepts POSTs to /tamp/return: the body must be a SignedData whose signature verifies and whose
// content type matches the media type; the decoded response is recorded and answered 204. Bad variants: wrong
// signer (a rogue CA), replayed/lower sequence number (seqNum given explicitly), wrong target, truncated DER, an
// unknown content type, an oversized body.
import { KeyObject, createCipheriv, generateKeyPairSync, randomBytes } from 'node:crypto';
import { openSignedData, withUnsignedAttribute } from './asn1/cms.js';
import { implicitPrimitive, parse, seq, der as derOf, Fields, octets } from './asn1/der.js';
import { OID } from './pki/oids.js';
import { signSignedData } from './pki/signed-data.js';
import {
  OID_AA_TAMP_CONTINGENCY_PUBLIC_KEY_DECRYPT_KEY,
  OID_TAMP,
  TAMP_MEDIA_TYPES,
  TAMP_RESPONSE_DECODERS,
  TAMPApexUpdateConfirm,
  TAMPCommunityUpdateConfirm,
  TAMPError,
  TAMPUpdateConfirm,
  SequenceNumberAdjustConfirm,
  apexContingencyKeyExtension,
  sequenceNumberAdjust,
  tampApexUpdate,
  tampCommunityUpdate,
  tampStatusQuery,
  tampUpdate,
  type CommunityUpdates,
  type StatusCode,
  type TAMPMsgRef,
  type TAMPResponse,
  type TargetIdentifier,
  type TerseOrVerbose,
  type TrustAnchorChoice,
  type TrustAnchorUpdate,
} from './asn1/tamp.js';
import { LabCa } from './ca.js';
import { EST_PATH, type LabPalEntry } from './pal-entry.js';
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
  entry: LabPalEntry;
}

export interface TampReturnRecord {
  at: Date;
  mediaType: string;
  contentType: string;
  signatureValid: boolean;
  der: Uint8Array;
  /** The response, decoded by the lab (asn1/tamp.ts). */
  message: TAMPResponse;
  /** TAMPError status, or the (first) status of a confirm. */
  status?: StatusCode;
}

export interface TampLabOptions {
  /** EST base URL of the lab server (server.url). */
  baseUrl: string;
  log?: (line: string) => void;
  now?: () => Date;
}

/** RFC 8295 §2.1.1 PAL package types of the TAMP requests. */
const KINDS = {
  statusQuery: { type: '0028', ct: OID_TAMP.statusQuery },
  update: { type: '0030', ct: OID_TAMP.update },
  apexUpdate: { type: '0032', ct: OID_TAMP.apexUpdate },
  communityUpdate: { type: '0034', ct: OID_TAMP.communityUpdate },
  seqAdjust: { type: '0036', ct: OID_TAMP.seqNumAdjust },
} as const;

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
    router.register('GET', `${EST_PATH}/tamp/:id`, (req) => lab.serve(req));
    router.register('GET', `${EST_PATH}/:label/tamp/:id`, (req) => lab.serve(req));
    router.register('POST', `${EST_PATH}/tamp/return`, (req) => lab.acceptReturn(req));
    router.register('POST', `${EST_PATH}/:label/tamp/return`, (req) => lab.acceptReturn(req));
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
    const msgRef: TAMPMsgRef = { target: spec.target ?? { kind: 'allModules' }, seqNum };
    const terse = spec.terse ?? 'verbose';
    let content: Uint8Array;
    switch (spec.kind) {
      case 'statusQuery':
        content = tampStatusQuery({ terse, query: msgRef });
        break;
      case 'update':
        content = tampUpdate({ terse, msgRef, updates: spec.updates });
        break;
      case 'apexUpdate':
        content = tampApexUpdate({
          terse,
          msgRef,
          clearTrustAnchors: spec.clearTrustAnchors ?? false,
          clearCommunities: spec.clearCommunities ?? false,
          ...(spec.newApexSeq !== undefined ? { seqNumber: spec.newApexSeq } : {}),
          apexTA: spec.apexTA,
        });
        break;
      case 'communityUpdate':
        content = tampCommunityUpdate({ terse, msgRef, updates: spec.updates });
        break;
      case 'seqAdjust':
        content = sequenceNumberAdjust({ msgRef });
        break;
    }
    const kind = KINDS[spec.kind];
    const variant = spec.variant ?? 'good';
    // version [0] TAMPVersion v1 in front of the content's components (§4: this is v2).
    if (variant === 'v1') content = derOf(seq(implicitPrimitive(0, new Uint8Array([1])), ...Fields.rawChildren(parse(content, 'content'))));
    const ca = this.ca(signer);
    const contingency = spec.kind === 'apexUpdate' ? spec.contingency : undefined;
    // §4.5: a contingency-signed apex update carries the key's decrypt key as an unsigned attribute, no certificate.
    let der = signSignedData({
      eContentType: variant === 'unknown-content-type' ? OID.data : kind.ct,
      eContent: content,
      signingKey: contingency ? contingency.key : ca.issuing.privateKey,
      ...(contingency ? {} : { certificate: ca.issuing.der }),
      signingTime: (this.opts.now ?? (() => new Date()))(),
    });
    if (contingency) der = withUnsignedAttribute(der, OID_AA_TAMP_CONTINGENCY_PUBLIC_KEY_DECRYPT_KEY, octets(contingency.decryptKey));
    if (variant === 'bad-signature') {
      der = new Uint8Array(der);
      der[der.length - 4]! ^= 0x55; // the signature is the last value in the DER
    }
    if (variant === 'truncated') der = der.subarray(0, der.length - 40);
    let size = der.length;
    if (variant === 'oversized') {
      der = new Uint8Array([...der, ...new Uint8Array(200_000)]);
      size = 100;
    }
    const id = spec.id ?? randomBytes(6).toString('hex');
    this.messages.set(id, { der, mediaType: TAMP_MEDIA_TYPES[kind.ct]! });
    const url = `${this.opts.baseUrl}${EST_PATH}/tamp/${id}`;
    return { id, url, seqNum, der, entry: { type: kind.type, size, info: { kind: 'uri', uri: url } } };
  }

  /** The odd "confirm or error" entry that asks the device to return what it still holds (e.g. 0031). */
  returnEntry(type: '0029' | '0031' | '0033' | '0035' | '0037' = '0031'): LabPalEntry {
    return { type, size: 0, info: { kind: 'uri', uri: `${this.opts.baseUrl}${EST_PATH}/tamp/return` } };
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
      // RFC 5934 §4: every response is a SignedData whose eContentType names the response type.
      const sd = await openSignedData(body);
      if (!sd.hasCertificates) throw new Error('no certificates to verify the signature with');
      if (sd.eContentType !== ct) throw new Error(`eContentType ${sd.eContentType} does not match ${mediaType}`);
      if (!sd.signatureValid) return text(400, 'signature on the TAMP response does not verify');
      const decode = TAMP_RESPONSE_DECODERS[ct];
      if (!decode) throw new Error(`${mediaType} is not a response type`);
      const message = decode(sd.eContent);
      const status: StatusCode | undefined =
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
  // id-aes256-wrap-pad (RFC 5649 §6: 2.16.840.1.101.3.4.1.48)
  const exts = derOf(seq(apexContingencyKeyExtension('2.16.840.1.101.3.4.1.48', wrapped)));
  const info = {
    pubKey: derOf(ca.root.certificate.subjectPublicKeyInfo.toSchema()),
    keyId: ca.root.keyId,
    taTitle: 'lab apex (contingency)',
    certPath: { taName: derOf(ca.root.certificate.subject.toSchema()), certificate: ca.root.der },
    exts,
  };
  return { apexTA: { kind: 'taInfo', info }, contingency: { key: privateKey, decryptKey } };
}

/** Registers the TAMP endpoints on the lab router (tests call this on lab.router). */
export function registerTampHandlers(router: Router, opts: TampLabOptions): Promise<LabTamp> {
  return LabTamp.create(router, opts);
}
