// The CRL decoding and admission checks of the CRL store (what is checked and why: crl-store.ts), over pkijs:
// loaded by the store's first query that needs a decoded CRL (a revocation check, an offer), never by opening it, so
// a device starts without the ASN.1 stack whether or not it holds CRLs.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { certificateFingerprint, certificateFromDer, certificateToDer, describeName, findExtension, nameDer } from '../pki/cert.js';
import { validateChain } from '../pki/chain.js';
import { decodeAsn1 } from '../pki/der.js';
import { CRL_FUTURE_SKEW_MS, CrlRejectedError, CrlStoreError, type CrlRecord, type CrlScope, type StoredCrl } from './crl-store.js';
import type { TaUse, TrustAnchor } from './ta-store.js';

const OID_CRL_NUMBER = '2.5.29.20';
const OID_DELTA_CRL_INDICATOR = '2.5.29.27';
const OID_ISSUING_DISTRIBUTION_POINT = '2.5.29.28';
const OID_AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';
const OID_KEY_USAGE = '2.5.29.15';
/** CRL extensions whose criticality we can honour (IDP: only its scope flags are used; see scopeOf). */
const KNOWN_CRITICAL = new Set([OID_CRL_NUMBER, OID_ISSUING_DISTRIBUTION_POINT, OID_AUTHORITY_KEY_IDENTIFIER]);

function parseCrl(input: Uint8Array | pkijs.CertificateRevocationList): { crl: pkijs.CertificateRevocationList; der: Uint8Array } {
  if (input instanceof pkijs.CertificateRevocationList) return { crl: input, der: new Uint8Array(input.toSchema(false).toBER(false)) };
  try {
    const crl = new pkijs.CertificateRevocationList({ schema: decodeAsn1(input, 'CertificateList') });
    return { crl, der: input };
  } catch (e) {
    throw new CrlRejectedError('malformed', `not a CRL: ${(e as Error).message}`, { cause: e });
  }
}

function crlNumberOf(crl: pkijs.CertificateRevocationList): bigint | undefined {
  const ext = findExtension(crl.crlExtensions?.extensions, OID_CRL_NUMBER);
  if (!ext) return undefined;
  try {
    const v = decodeAsn1(ext.extnValue.valueBlock.valueHexView, 'CRLNumber');
    if (!(v instanceof asn1js.Integer)) throw new Error('not an INTEGER');
    const hex = Buffer.from(v.valueBlock.valueHexView).toString('hex');
    const n = BigInt(`0x${hex || '0'}`);
    if (hex.length > 0 && parseInt(hex[0]!, 16) >= 8) throw new Error('negative');
    return n;
  } catch (e) {
    throw new CrlRejectedError('malformed', `bad cRLNumber: ${(e as Error).message}`, { cause: e });
  }
}

function scopeOf(crl: pkijs.CertificateRevocationList): CrlScope {
  const ext = findExtension(crl.crlExtensions?.extensions, OID_ISSUING_DISTRIBUTION_POINT);
  const idp = ext?.parsedValue;
  return idp instanceof pkijs.IssuingDistributionPoint && idp.onlyContainsCACerts === true ? 'arl' : 'crl';
}

function describe(crl: pkijs.CertificateRevocationList, der: Uint8Array, signer: string, storedAt: string): StoredCrl {
  const scope = scopeOf(crl);
  return {
    key: `${Buffer.from(nameDer(crl.issuer)).toString('hex')}:${scope}`,
    issuer: describeName(crl.issuer),
    scope,
    crlNumber: crlNumberOf(crl),
    thisUpdate: crl.thisUpdate.value,
    nextUpdate: crl.nextUpdate?.value,
    revokedCount: crl.revokedCertificates?.length ?? 0,
    der,
    crl,
    signer,
    storedAt,
  };
}

/** keyUsage cRLSign (bit 6), when the certificate has a keyUsage extension at all. */
function permitsCrlSign(cert: pkijs.Certificate): boolean {
  const ext = findExtension(cert.extensions, OID_KEY_USAGE);
  if (!ext) return true;
  const bits = ext.parsedValue instanceof asn1js.BitString ? ext.parsedValue.valueBlock.valueHexView : undefined;
  if (!bits) return false;
  return bits.length > 0 && (bits[0]! & 0x02) !== 0;
}

/** The CRLs of the records crl-store.ts read (their shape checked at open); throws CrlStoreError corrupt naming `file`. */
export function decodeEntries(records: readonly CrlRecord[], file: string): StoredCrl[] {
  return records.map((r, i) => {
    try {
      const { crl, der } = parseCrl(r.der);
      return describe(crl, der, r.signer, r.storedAt);
    } catch (e) {
      throw new CrlStoreError('corrupt', `${file}: crls[${i}]: ${(e as Error).message}`, { cause: e });
    }
  });
}

/**
 * The CRL `input` as it would be stored, when it may be used (crl-store.ts: complete, no unknown critical extension,
 * current at `at`, signed by a certificate that permits cRLSign and is or validates to one of `anchors`); throws
 * CrlRejectedError otherwise.
 */
export async function admitCrl(
  input: Uint8Array | pkijs.CertificateRevocationList,
  o: { intermediates: Array<Uint8Array | pkijs.Certificate>; anchors: readonly TrustAnchor[]; use: TaUse; at: Date },
): Promise<StoredCrl> {
  const at = o.at;
  const { crl, der } = parseCrl(input);
  const exts = crl.crlExtensions?.extensions ?? [];
  if (findExtension(exts, OID_DELTA_CRL_INDICATOR)) throw new CrlRejectedError('delta', 'delta CRLs are not supported (complete CRLs only)');
  const unknownCritical = exts.find((e) => e.critical && !KNOWN_CRITICAL.has(e.extnID));
  if (unknownCritical) throw new CrlRejectedError('critical_extension', `unsupported critical CRL extension ${unknownCritical.extnID}`);
  if (crl.thisUpdate.value.getTime() > at.getTime() + CRL_FUTURE_SKEW_MS) {
    throw new CrlRejectedError('not_yet_valid', `CRL thisUpdate ${crl.thisUpdate.value.toISOString()} is in the future`);
  }
  if (crl.nextUpdate && crl.nextUpdate.value.getTime() < at.getTime()) {
    throw new CrlRejectedError('expired', `CRL nextUpdate ${crl.nextUpdate.value.toISOString()} has passed`);
  }
  const signer = await findSigner(crl, o.intermediates, o.anchors, o.use, at);
  return describe(crl, der, signer, at.toISOString());
}

/** Finds the certificate whose key signed `crl` and that chains to an authorized TA; returns its fingerprint. */
async function findSigner(crl: pkijs.CertificateRevocationList, intermediatesIn: Array<Uint8Array | pkijs.Certificate>, anchors: readonly TrustAnchor[], use: TaUse, at: Date): Promise<string> {
  const intermediates = intermediatesIn.map((c) => (c instanceof Uint8Array ? certificateFromDer(c) : c));
  const candidates: Array<{ cert: pkijs.Certificate; anchor: boolean }> = [
    ...anchors.map((a) => ({ cert: a.certificate, anchor: true })),
    ...intermediates.map((cert) => ({ cert, anchor: false })),
  ].filter((c) => c.cert.subject.isEqual(crl.issuer));
  if (candidates.length === 0) {
    throw new CrlRejectedError('no_issuer', `no certificate for CRL issuer "${describeName(crl.issuer)}" among the TAs authorized for ${use} and the supplied CA certificates`);
  }
  let sawSignature = false;
  const errors: string[] = [];
  for (const c of candidates) {
    let ok = false;
    try {
      ok = await crl.verify({ issuerCertificate: c.cert });
    } catch {
      ok = false;
    }
    if (!ok) continue;
    sawSignature = true;
    if (!permitsCrlSign(c.cert)) {
      errors.push(`${describeName(c.cert.subject)}: keyUsage lacks cRLSign`);
      continue;
    }
    if (c.anchor) return certificateFingerprint(certificateToDer(c.cert));
    try {
      await validateChain({ leaf: c.cert, intermediates: intermediates.filter((i) => i !== c.cert), trustAnchors: anchors.map((a) => a.der), at });
      return certificateFingerprint(certificateToDer(c.cert));
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (!sawSignature) throw new CrlRejectedError('signature', `CRL signature of "${describeName(crl.issuer)}" does not verify with any known issuer certificate`);
  if (errors.every((e) => e.includes('cRLSign'))) throw new CrlRejectedError('key_usage', `CRL signer not allowed to sign CRLs: ${errors.join('; ')}`);
  throw new CrlRejectedError('untrusted', `CRL signer does not validate to a TA authorized for ${use}: ${errors.join('; ')}`);
}

/** The store key prefix of CRLs issued by `issuer` (a certificate: its subject; or a name): its name DER in hex. */
export function issuerKeyPrefix(issuer: pkijs.Certificate | pkijs.RelativeDistinguishedNames): string {
  const name = issuer instanceof pkijs.Certificate ? issuer.subject : issuer;
  return `${Buffer.from(nameDer(name)).toString('hex')}:`;
}
