// PKCS#10 certification requests (RFC 2986) built with pkijs and signed through a `Signer` (TPM or software).
// Attributes: extensionRequest (PKCS#9, RFC 2985 §5.4.2) carries SAN and caller extensions; challengePassword
// (RFC 2985 §5.4.1) optional; `attributes` lets other layers (CSR attestation evidence) add their own.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { HashAlgorithm, Signer } from './signer.js';
import { decodeAsn1, toArrayBuffer } from './der.js';
import { PkiDecodeError, PkiSignError } from './errors.js';
import { buildName, type NameInput } from './name.js';
import { pemEncode } from './pem.js';
import { signatureAlgorithmFor, signTbs } from './sign.js';
import { isIP } from '../util/net.js';
import { OID_CHALLENGE_PASSWORD, OID_EXTENSION_REQUEST, OID_SUBJECT_ALT_NAME } from './oids.js';

export { OID_CHALLENGE_PASSWORD, OID_EXTENSION_REQUEST, OID_SUBJECT_ALT_NAME };

export interface OtherNameInput {
  /** type-id OID, e.g. 1.3.6.1.5.5.7.8.4 (id-on-hardwareModuleName). */
  typeId: string;
  /** The value (wrapped in [0] EXPLICIT by this module). */
  value: asn1js.AsnType;
}

export interface SubjectAltNameInput {
  dns?: string[];
  uri?: string[];
  ip?: string[];
  email?: string[];
  otherName?: OtherNameInput[];
}

export interface BuildCsrOptions {
  /** A parsed Name is encoded as it was received (pkijs keeps the original DER): byte-faithful copies. */
  subject: NameInput | pkijs.RelativeDistinguishedNames;
  signer: Signer;
  /** Signature hash (default SHA-256); signatureAlgorithm follows it (ecdsa-with-SHAnnn / shaNNNWithRSAEncryption). */
  hash?: HashAlgorithm;
  san?: SubjectAltNameInput;
  /** Extra extensions requested through extensionRequest (after SAN). */
  extensions?: pkijs.Extension[];
  /** Extra CSR attributes appended as given (e.g. the CSR-attestation evidence attribute). */
  attributes?: pkijs.Attribute[];
  challengePassword?: string;
}

export interface BuiltCsr {
  der: Uint8Array;
  pem: string;
  csr: pkijs.CertificationRequest;
}

function ipBytes(ip: string): Uint8Array {
  const v = isIP(ip);
  if (v === 4) return new Uint8Array(ip.split('.').map((x) => Number(x)));
  if (v === 6) {
    const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail.length > 0 ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    if (groups.length !== 8 || groups.some((g) => g.includes('.'))) throw new PkiDecodeError('san', `unsupported IPv6 form "${ip}"`);
    const out = new Uint8Array(16);
    groups.forEach((g, i) => {
      const n = parseInt(g, 16);
      out[2 * i] = n >> 8;
      out[2 * i + 1] = n & 0xff;
    });
    return out;
  }
  throw new PkiDecodeError('san', `"${ip}" is not an IP address`);
}

/** subjectAltName extension (RFC 5280 §4.2.1.6) from simple inputs; non-critical (the subject is non-empty). */
export function subjectAltNameExtension(san: SubjectAltNameInput, critical = false): pkijs.Extension {
  const names: asn1js.BaseBlock[] = [];
  const gn = (type: number, value: unknown): asn1js.BaseBlock =>
    new pkijs.GeneralName({ type: type as 1, value: value as string }).toSchema() as unknown as asn1js.BaseBlock;
  for (const e of san.email ?? []) names.push(gn(1, e));
  for (const d of san.dns ?? []) names.push(gn(2, d));
  for (const u of san.uri ?? []) names.push(gn(6, u));
  for (const ip of san.ip ?? []) names.push(gn(7, new asn1js.OctetString({ valueHex: toArrayBuffer(ipBytes(ip)) })));
  // otherName ::= [0] IMPLICIT SEQUENCE { type-id OID, value [0] EXPLICIT ANY } — built directly because pkijs's
  // GeneralName type 0 wraps a single inner element.
  for (const on of san.otherName ?? []) {
    names.push(
      new asn1js.Constructed({
        idBlock: { tagClass: 3, tagNumber: 0 },
        value: [
          new asn1js.ObjectIdentifier({ value: on.typeId }),
          new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [on.value] }),
        ],
      }),
    );
  }
  if (names.length === 0) throw new PkiDecodeError('san', 'subjectAltName needs at least one name');
  const extnValue = new asn1js.Sequence({ value: names }).toBER(false);
  return new pkijs.Extension({ extnID: OID_SUBJECT_ALT_NAME, critical, extnValue });
}

/** Builds and signs a CSR. The signature is produced by `signer.sign(CertificationRequestInfo, hash)`. */
export async function buildCsr(opts: BuildCsrOptions): Promise<BuiltCsr> {
  const csr = new pkijs.CertificationRequest();
  csr.version = 0;
  csr.subject = opts.subject instanceof pkijs.RelativeDistinguishedNames ? opts.subject : buildName(opts.subject);
  try {
    csr.subjectPublicKeyInfo = new pkijs.PublicKeyInfo({ schema: decodeAsn1(opts.signer.spki, 'SubjectPublicKeyInfo') });
  } catch (e) {
    throw new PkiSignError(`signer has an invalid SubjectPublicKeyInfo: ${(e as Error).message}`, { cause: e });
  }
  const attributes: pkijs.Attribute[] = [];
  if (opts.challengePassword !== undefined) {
    attributes.push(new pkijs.Attribute({ type: OID_CHALLENGE_PASSWORD, values: [new asn1js.Utf8String({ value: opts.challengePassword })] }));
  }
  const exts: pkijs.Extension[] = [];
  if (opts.san) exts.push(subjectAltNameExtension(opts.san));
  exts.push(...(opts.extensions ?? []));
  if (exts.length > 0) {
    attributes.push(new pkijs.Attribute({ type: OID_EXTENSION_REQUEST, values: [new pkijs.Extensions({ extensions: exts }).toSchema()] }));
  }
  attributes.push(...(opts.attributes ?? []));
  csr.attributes = attributes; // an empty SET is still encoded ([0] is mandatory in RFC 2986)

  const hash = opts.hash ?? 'sha256';
  const sigAlg = signatureAlgorithmFor(opts.signer.algorithm, hash);
  csr.signatureAlgorithm = sigAlg;
  // The CertificationRequestInfo is built from the fields once; the signed request wraps that same tree (pkijs's
  // toSchema() would decode the TBS bytes again to wrap them).
  const info = csr.toSchema(true).valueBlock.value[0] as asn1js.Sequence;
  const tbs = new Uint8Array(info.toBER(false));
  csr.tbsView = tbs;
  const sig = await signTbs(tbs, opts.signer, hash);
  csr.signatureValue = new asn1js.BitString({ valueHex: toArrayBuffer(sig) });
  const der = new Uint8Array(new asn1js.Sequence({ value: [info, sigAlg.toSchema(), csr.signatureValue] }).toBER(false));
  let parsed: pkijs.CertificationRequest | undefined;
  let pem: string | undefined;
  // PEM and the parse are made from the DER when first asked for (most callers only send the DER)
  return {
    der,
    get pem() {
      return (pem ??= pemEncode('CERTIFICATE REQUEST', der));
    },
    get csr() {
      return (parsed ??= parseCsr(der));
    },
  };
}

export function parseCsr(der: Uint8Array): pkijs.CertificationRequest {
  const asn1 = decodeAsn1(der, 'CertificationRequest');
  try {
    return new pkijs.CertificationRequest({ schema: asn1 });
  } catch (e) {
    throw new PkiDecodeError('csr', `not a PKCS#10 request: ${(e as Error).message}`, { cause: e });
  }
}

/** Parses and checks the self-signature (proof of possession). Throws PkiDecodeError('pki.csr.signature') if bad. */
export async function verifyCsr(der: Uint8Array): Promise<pkijs.CertificationRequest> {
  const csr = parseCsr(der);
  let ok = false;
  try {
    ok = await csr.verify();
  } catch (e) {
    throw new PkiDecodeError('pki.csr.signature', `CSR signature could not be verified: ${(e as Error).message}`, { cause: e });
  }
  if (!ok) throw new PkiDecodeError('pki.csr.signature', 'CSR signature does not verify');
  return csr;
}

/** Extensions requested via extensionRequest (empty if none). */
export function csrExtensions(csr: pkijs.CertificationRequest): pkijs.Extension[] {
  const attr = csr.attributes?.find((a) => a.type === OID_EXTENSION_REQUEST);
  if (!attr?.values?.length) return [];
  try {
    return new pkijs.Extensions({ schema: attr.values[0] }).extensions;
  } catch (e) {
    throw new PkiDecodeError('csr', `extensionRequest does not decode: ${(e as Error).message}`, { cause: e });
  }
}

/** DER SubjectPublicKeyInfo of the CSR key. */
export function csrSpki(csr: pkijs.CertificationRequest): Uint8Array {
  return new Uint8Array(csr.subjectPublicKeyInfo.toSchema().toBER(false));
}
