// Opening a CMS SignedData the agent must trust (RFC 5652 §5): ContentInfo → SignedData with one SignerInfo and an
// encapsulated content; the SignerInfo's version and sid form (§5.3), its digest algorithm (RFC 5754, listed in
// SignedData.digestAlgorithms), its signed attributes (present, §5.3; each single-valued and not repeated; content-type
// = eContentType, §11.1; message-digest = the digest of the eContent, §11.2); the signer certificate the sid names
// (from the SignedData certificates, or a trust anchor itself, §5.1); its certification path (RFC 5280) to the trust
// anchors the caller authorizes for its purpose; the signature over the DER signed attributes (§5.4) with
// node:crypto (ECDSA P-256/384/521, RSA ≥ 2048 PKCS#1 v1.5 or PSS, Ed25519).
// One implementation for TAMP (RFC 5934), key packages (RFC 6031/7191) and CMC (RFC 5272); the firmware verifier
// (RFC 4108), which digests its eContent from a file, uses the same steps one by one. A failure is a CmsOpenError
// whose `reason` each caller maps to its RFC's error code.
import { constants as cryptoConstants, createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { EnrolldError } from '../../util/errors.js';
import { EC_CURVES, OID_MGF1, RSA_MIN_BITS, digestByOid, signatureByOid, type DigestAlgorithm } from '../algorithms.js';
import { singleValuedAttributes } from '../asn1/cms-attributes.js';
import { certificateFingerprint, certificateFromDer, certificateSpki, certificateSubjectKeyId, keyIdentifierFromSpki } from '../cert.js';
import { validateChain } from '../chain.js';
import { bytesEqual } from '../der.js';
import { ChainValidationError } from '../errors.js';
import { OID_ATTR_CONTENT_TYPE, OID_ATTR_MESSAGE_DIGEST, OID_SIGNED_DATA } from './oids.js';

/** Why a SignedData was refused. */
export type CmsOpenReason =
  | 'malformed' // not one BER ContentInfo
  | 'not-signed-data' // the ContentInfo is not id-signedData (`contentType` says what it is)
  | 'bad-signed-data' // the SignedData does not parse
  | 'no-signer' // no SignerInfo
  | 'too-many-signers' // more than one SignerInfo
  | 'unexpected-content' // eContentType is not one the caller accepts
  | 'missing-content' // no eContent (detached content is not accepted)
  | 'bad-signer-info' // SignerInfo version does not match its sid form
  | 'unsupported-digest' // digest algorithm not SHA-256/384/512, or not listed in SignedData.digestAlgorithms
  | 'missing-signed-attrs' // no signed attributes
  | 'bad-signed-attrs' // an attribute repeated or multi-valued; content-type or message-digest missing or malformed
  | 'content-type-mismatch' // content-type attribute ≠ eContentType
  | 'digest-mismatch' // message-digest attribute ≠ digest of the eContent
  | 'bad-certificate' // the certificate set does not parse
  | 'unknown-signer' // no included certificate or trust anchor matches the sid
  | 'no-trust-anchor' // the signer does not chain to any trust anchor
  | 'not-authorized' // the signer chains only to a trust anchor not authorized for the purpose
  | 'unsupported-signature-algorithm' // signature algorithm (or its parameters) not supported, or not for this key
  | 'bad-public-key' // the signer's public key does not load
  | 'unsupported-key' // curve or RSA modulus size not accepted
  | 'bad-signature'; // the signature does not verify

/** The RFC 5934 §5 StatusCode name of each reason; RFC 4108 §2.3.2 and RFC 7191 §4 reuse these names, so a caller
 * maps with this table plus its own differences. */
export const RFC5934_STATUS_NAMES = {
  malformed: 'decodeFailure',
  'not-signed-data': 'badContentInfo',
  'bad-signed-data': 'badSignedData',
  'no-signer': 'missingSignature',
  'too-many-signers': 'badSignedData',
  'unexpected-content': 'badEncapContent',
  'missing-content': 'missingContent',
  'bad-signer-info': 'badSignerInfo',
  'unsupported-digest': 'badDigestAlgorithm',
  'missing-signed-attrs': 'badSignedAttrs',
  'bad-signed-attrs': 'badSignedAttrs',
  'content-type-mismatch': 'badSignedAttrs',
  'digest-mismatch': 'signatureFailure',
  'bad-certificate': 'badCertificate',
  'unknown-signer': 'noTrustAnchor',
  'no-trust-anchor': 'noTrustAnchor',
  'not-authorized': 'notAuthorized',
  'unsupported-signature-algorithm': 'badSignatureAlgorithm',
  'bad-public-key': 'unsupportedParameters',
  'unsupported-key': 'unsupportedKeySize',
  'bad-signature': 'signatureFailure',
} as const satisfies Record<CmsOpenReason, string>;

export class CmsOpenError extends EnrolldError {
  constructor(
    readonly reason: CmsOpenReason,
    message: string,
    options?: { cause?: unknown; contentType?: string; attributeType?: string },
  ) {
    super(`pki.cms_open.${reason}`, message, options);
    this.contentType = options?.contentType;
    this.attributeType = options?.attributeType;
  }
  /** With 'not-signed-data': the ContentInfo contentType received. */
  readonly contentType: string | undefined;
  /** With 'bad-signed-attrs': the attribute at fault, when one is. */
  readonly attributeType: string | undefined;
}

const fail = (reason: CmsOpenReason, message: string, options?: { cause?: unknown; contentType?: string; attributeType?: string }): never => {
  throw new CmsOpenError(reason, message, options);
};

type CertInput = pkijs.Certificate | Uint8Array;
const asCert = (c: CertInput): pkijs.Certificate => (c instanceof Uint8Array ? certificateFromDer(c) : c);

// ---- steps ------------------------------------------------------------------------------------------------------

/** ContentInfo → SignedData (RFC 5652 §3, §5.1). `copyInput: false`: the tree views `der` (callers that wipe it). */
export function decodeSignedData(der: Uint8Array, opts: { copyInput?: boolean } = {}): pkijs.SignedData {
  let ci: pkijs.ContentInfo;
  try {
    const parsed = opts.copyInput === false ? asn1js.fromBER(der, { copyInput: false } as never) : asn1js.fromBER(der);
    if (parsed.offset !== der.byteLength || parsed.result.error) throw new Error(parsed.result.error || 'trailing bytes');
    ci = new pkijs.ContentInfo({ schema: parsed.result });
  } catch (e) {
    return fail('malformed', `not a CMS ContentInfo: ${(e as Error).message}`, { cause: e });
  }
  if (ci.contentType !== OID_SIGNED_DATA) fail('not-signed-data', `content type ${ci.contentType} is not signedData`, { contentType: ci.contentType });
  try {
    return new pkijs.SignedData({ schema: ci.content });
  } catch (e) {
    return fail('bad-signed-data', `SignedData does not parse: ${(e as Error).message}`, { cause: e });
  }
}

/** Exactly one SignerInfo; eContentType one the caller accepts (any when undefined); eContent present. */
export function checkSignedDataShape(sd: pkijs.SignedData, eContentType?: string | readonly string[]): { signerInfo: pkijs.SignerInfo; eContentType: string; eContent: Uint8Array } {
  if (sd.signerInfos.length === 0) fail('no-signer', 'no SignerInfo (the content is not signed)');
  if (sd.signerInfos.length > 1) fail('too-many-signers', `${sd.signerInfos.length} SignerInfos, exactly one is required`);
  const e = sd.encapContentInfo;
  const accepted = eContentType === undefined ? undefined : typeof eContentType === 'string' ? [eContentType] : eContentType;
  if (accepted && !accepted.includes(e.eContentType)) fail('unexpected-content', `expected encapsulated ${accepted.join(' or ')}, got ${e.eContentType}`);
  if (!e.eContent) fail('missing-content', 'no encapsulated content');
  return { signerInfo: sd.signerInfos[0]!, eContentType: e.eContentType, eContent: new Uint8Array(e.eContent!.getValue()) };
}

export interface CheckedSignerInfo {
  digest: DigestAlgorithm;
  /** Signed attribute values by type (each single-valued). */
  attributes: Map<string, asn1js.AsnType>;
  /** The message-digest attribute value. */
  messageDigest: Uint8Array;
}

/** The SignerInfo checks that need no content or key (RFC 5652 §5.3, §11.1, §11.2). */
export function checkSignerInfo(si: pkijs.SignerInfo, eContentType: string, digestAlgorithms: readonly pkijs.AlgorithmIdentifier[]): CheckedSignerInfo {
  const sidIsIasn = si.sid instanceof pkijs.IssuerAndSerialNumber;
  if (!((si.version === 3 && !sidIsIasn) || (si.version === 1 && sidIsIasn))) fail('bad-signer-info', `SignerInfo version ${si.version} does not match its sid form`);
  const oid = si.digestAlgorithm.algorithmId;
  const digest = digestByOid(oid);
  if (!digest?.cmsVerify || !digestAlgorithms.some((a) => a.algorithmId === oid)) fail('unsupported-digest', `digest algorithm ${oid} is unsupported or not listed in SignedData.digestAlgorithms`);
  if (!si.signedAttrs || si.signedAttrs.attributes.length === 0) fail('missing-signed-attrs', 'signed attributes are required');
  const attrs = singleValuedAttributes(si.signedAttrs!.attributes);
  if (!attrs.ok) return fail('bad-signed-attrs', attrs.reason, { attributeType: attrs.type });
  const ct = attrs.byType.get(OID_ATTR_CONTENT_TYPE);
  if (!(ct instanceof asn1js.ObjectIdentifier)) return fail('bad-signed-attrs', 'content-type signed attribute missing or not an OID');
  if (ct.valueBlock.toString() !== eContentType) fail('content-type-mismatch', `content-type attribute ${ct.valueBlock.toString()} ≠ eContentType ${eContentType}`);
  const md = attrs.byType.get(OID_ATTR_MESSAGE_DIGEST);
  if (!(md instanceof asn1js.OctetString)) return fail('bad-signed-attrs', 'message-digest signed attribute missing or not an OCTET STRING');
  return { digest: digest!, attributes: attrs.byType, messageDigest: new Uint8Array(md.valueBlock.valueHexView) };
}

/** message-digest = the digest of the eContent (computed by the caller, e.g. while streaming it). */
export function checkMessageDigest(checked: CheckedSignerInfo, digest: Uint8Array): void {
  if (!bytesEqual(checked.messageDigest, digest)) fail('digest-mismatch', 'message-digest attribute does not match the eContent');
}

/** Does the sid name this certificate (issuerAndSerialNumber, or subjectKeyIdentifier: the extension or method 1)? */
export function sidMatches(si: pkijs.SignerInfo, cert: pkijs.Certificate): boolean {
  if (si.sid instanceof pkijs.IssuerAndSerialNumber) return cert.issuer.isEqual(si.sid.issuer) && cert.serialNumber.isEqual(si.sid.serialNumber);
  return bytesEqualOpt(sidKeyId(si), certificateSubjectKeyId(cert)) || bytesEqualOpt(sidKeyId(si), keyIdentifierFromSpki(certificateSpki(cert)));
}

/** The subjectKeyIdentifier a sid names, undefined for issuerAndSerialNumber. */
export function sidKeyId(si: pkijs.SignerInfo): Uint8Array | undefined {
  if (si.sid instanceof pkijs.IssuerAndSerialNumber) return undefined;
  const sid = si.sid as asn1js.BaseBlock & { valueBlock: { value?: asn1js.OctetString[]; valueHexView?: Uint8Array } };
  const keyId = sid.idBlock?.isConstructed ? sid.valueBlock.value?.[0]?.valueBlock.valueHexView : sid.valueBlock?.valueHexView;
  return keyId ? new Uint8Array(keyId) : undefined;
}

const bytesEqualOpt = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean => a !== undefined && b !== undefined && bytesEqual(a, b);

/** The certificate the sid names: among the SignedData certificates, else among the trust anchors. */
export function findSigner(si: pkijs.SignerInfo, certificates: readonly pkijs.Certificate[], anchors: readonly pkijs.Certificate[] = []): pkijs.Certificate {
  const signer = certificates.find((c) => sidMatches(si, c)) ?? anchors.find((c) => sidMatches(si, c));
  if (!signer) fail('unknown-signer', 'no included certificate or trust anchor matches the SignerInfo sid');
  return signer!;
}

/** The trust anchors a caller accepts for its purpose (its TA use). */
export interface SignerTrust<U extends string = string> {
  /** Anchors authorized for the purpose, grouped by use and tried in order: the first group the signer chains to wins. */
  authorized: ReadonlyArray<{ use: U; anchors: ReadonlyArray<CertInput> }>;
  /** Every installed anchor: a signer that chains only to these is 'not-authorized', else 'no-trust-anchor'. */
  installed?: ReadonlyArray<CertInput> | (() => Promise<ReadonlyArray<CertInput>>);
  /** Validation time. */
  at: Date;
}

export interface ValidatedSigner<U extends string = string> {
  use: U;
  /** The trust anchor the path ends at (as the caller gave it). */
  anchor: pkijs.Certificate;
  /** Signer … anchor. */
  path: pkijs.Certificate[];
}

/** The signer's certification path (RFC 5280 §6) to an authorized trust anchor. */
export async function validateSigner<U extends string>(signer: pkijs.Certificate, certificates: readonly pkijs.Certificate[], trust: SignerTrust<U>): Promise<ValidatedSigner<U>> {
  const intermediates = certificates.filter((c) => c !== signer);
  const tryAnchors = async (anchors: pkijs.Certificate[]): Promise<{ path: pkijs.Certificate[]; anchor: pkijs.Certificate } | ChainValidationError> => {
    try {
      const { path } = await validateChain({ leaf: signer, intermediates, trustAnchors: anchors, at: trust.at });
      const fp = certificateFingerprint(path[path.length - 1]!);
      return { path, anchor: anchors.find((a) => certificateFingerprint(a) === fp) ?? path[path.length - 1]! };
    } catch (e) {
      if (e instanceof ChainValidationError) return e;
      throw e;
    }
  };
  let last: ChainValidationError | undefined;
  for (const g of trust.authorized) {
    if (g.anchors.length === 0) continue;
    const r = await tryAnchors(g.anchors.map(asCert));
    if (!(r instanceof ChainValidationError)) return { use: g.use, ...r };
    last = r;
  }
  const installed = typeof trust.installed === 'function' ? await trust.installed() : trust.installed;
  if (installed?.length && !((await tryAnchors(installed.map(asCert))) instanceof ChainValidationError)) {
    return fail('not-authorized', 'the signer chains to a trust anchor that is not authorized for this purpose');
  }
  return fail('no-trust-anchor', `the signer does not chain to an authorized trust anchor${last ? `: ${last.message}` : ''}`, { cause: last });
}

/** The SignerInfo signature over the DER signed attributes (RFC 5652 §5.4), with the signer's public key. */
export function verifySignerSignature(si: pkijs.SignerInfo, signerSpki: Uint8Array, digest: DigestAlgorithm): void {
  const alg = signatureByOid(si.signatureAlgorithm.algorithmId);
  if (!alg) return fail('unsupported-signature-algorithm', `signature algorithm ${si.signatureAlgorithm.algorithmId} is not supported`);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(signerSpki), format: 'der', type: 'spki' });
  } catch (e) {
    return fail('bad-public-key', `signer public key: ${(e as Error).message}`, { cause: e });
  }
  const kd = key.asymmetricKeyDetails ?? {};
  const isRsa = key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss';
  if (alg.key === 'ec' && (key.asymmetricKeyType !== 'ec' || !(EC_CURVES as readonly string[]).includes(kd.namedCurve ?? ''))) fail('unsupported-key', `EC key on ${kd.namedCurve ?? key.asymmetricKeyType}`);
  if ((alg.key === 'rsa' && key.asymmetricKeyType !== 'rsa') || (alg.key === 'rsa-pss' && !isRsa) || (isRsa && (kd.modulusLength ?? 0) < RSA_MIN_BITS)) fail('unsupported-key', `RSA key of ${kd.modulusLength ?? '?'} bits (${key.asymmetricKeyType})`);
  if (alg.key === 'ed25519' && key.asymmetricKeyType !== 'ed25519') fail('unsupported-signature-algorithm', 'Ed25519 signature with a non-Ed25519 key');
  let hash: string | null = alg.key === 'ed25519' ? null : (alg.hash ?? digest.node);
  let verifyKey: Parameters<typeof cryptoVerify>[2] = alg.key === 'ec' ? { key, dsaEncoding: 'der' } : key;
  if (alg.key === 'rsa-pss') {
    const pss = pssParameters(si.signatureAlgorithm);
    hash = pss.hash;
    verifyKey = { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: pss.saltLength };
  }
  const tbs = new Uint8Array(si.signedAttrs!.encodedValue); // pkijs re-tags the received [0] bytes as SET (0x31)
  let ok = false;
  try {
    ok = cryptoVerify(hash, tbs, verifyKey, si.signature.valueBlock.valueHexView);
  } catch {
    ok = false;
  }
  if (!ok) fail('bad-signature', 'the SignerInfo signature does not verify');
}

/** RFC 4055 §3.1 RSASSA-PSS-params: hash and MGF1 hash the same RFC 5754 digest, trailerField 1. */
function pssParameters(alg: pkijs.AlgorithmIdentifier): { hash: string; saltLength: number } {
  let p: pkijs.RSASSAPSSParams;
  try {
    p = new pkijs.RSASSAPSSParams({ schema: alg.algorithmParams });
  } catch (e) {
    return fail('unsupported-signature-algorithm', `RSASSA-PSS parameters: ${(e as Error).message}`, { cause: e });
  }
  const hash = digestByOid(p.hashAlgorithm.algorithmId);
  const mgfHash = p.maskGenAlgorithm.algorithmId === OID_MGF1 ? new pkijs.AlgorithmIdentifier({ schema: p.maskGenAlgorithm.algorithmParams }).algorithmId : undefined;
  if (!hash?.cmsVerify || mgfHash !== hash.oid || p.trailerField !== 1) fail('unsupported-signature-algorithm', 'RSASSA-PSS with other than MGF1 over the same SHA-2 hash');
  return { hash: hash!.node, saltLength: p.saltLength };
}

// ---- the whole: an in-memory SignedData -------------------------------------------------------------------------

export interface OpenSignedOptions<U extends string> {
  /** eContentType(s) accepted; any when undefined (the caller dispatches on it). */
  eContentType?: string | readonly string[];
  trust: SignerTrust<U>;
  /** asn1js copyInput: false (the caller wipes `der`, e.g. a key package). */
  copyInput?: boolean;
}

export interface OpenedSigned {
  eContentType: string;
  eContent: Uint8Array;
  signedData: pkijs.SignedData;
  signerInfo: pkijs.SignerInfo;
  /** Signed attribute values by type. */
  attributes: Map<string, asn1js.AsnType>;
  signer: pkijs.Certificate;
  /** The SignedData certificates (pkijs objects; other certificate choices are left out), in message order. */
  certificates: pkijs.Certificate[];
}

/** Everything but the signer's path: for a caller whose trust in the signer comes from elsewhere (a CMC server
 * authenticating a requester by its own policy). */
export function openSignedSignature(der: Uint8Array, o: { eContentType?: string | readonly string[]; copyInput?: boolean; anchors?: readonly pkijs.Certificate[] } = {}): OpenedSigned {
  const sd = decodeSignedData(der, o.copyInput === undefined ? {} : { copyInput: o.copyInput });
  const { signerInfo, eContentType, eContent } = checkSignedDataShape(sd, o.eContentType);
  const checked = checkSignerInfo(signerInfo, eContentType, sd.digestAlgorithms);
  checkMessageDigest(checked, new Uint8Array(createHash(checked.digest.node).update(eContent).digest()));
  const certificates = (sd.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
  const signer = findSigner(signerInfo, certificates, o.anchors);
  verifySignerSignature(signerInfo, certificateSpki(signer), checked.digest);
  return { eContentType, eContent, signedData: sd, signerInfo, attributes: checked.attributes, signer, certificates };
}

/** Opens and verifies a ContentInfo(SignedData) whose signer must chain to an anchor authorized for the purpose. */
export async function openSigned<U extends string>(der: Uint8Array, o: OpenSignedOptions<U>): Promise<OpenedSigned & ValidatedSigner<U>> {
  const anchors = o.trust.authorized.flatMap((g) => g.anchors.map(asCert));
  const opened = openSignedSignature(der, { ...(o.eContentType !== undefined ? { eContentType: o.eContentType } : {}), ...(o.copyInput !== undefined ? { copyInput: o.copyInput } : {}), anchors });
  const v = await validateSigner(opened.signer, opened.certificates, o.trust);
  return { ...opened, ...v };
}
