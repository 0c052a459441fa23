// RFC 5934 §2.2.4.1 / §4.5: an apex update signed with the apex's contingency key. The apex TA carries the
// contingency public key wrapped (extension id-pe-wrappedApexContinKey, in the certificate's extensions or the
// TrustAnchorInfo exts); the apex update carries the unwrapping key in the unsigned attribute
// id-aa-TAMP-contingencyPublicKeyDecryptKey. The key is unwrapped (AES key wrap with padding, RFC 5649, or AES key
// wrap, RFC 3394), parsed as a SubjectPublicKeyInfo, and the SignerInfo (whose sid must name that key) verified with
// it: content-type and message-digest signed attributes, then the signature over the DER signed attributes
// (agent/pki/cms/open-signed.ts steps, with the unwrapped key as the signer).
// Failures: no extension / unwrap or parse failure → contingencyPublicKeyDecrypt; unknown wrap algorithm →
// unsupportedContinPubKeyDecryptAlg; sid mismatch → notAuthorized; digest or signature mismatch → signatureFailure.
// (enrolld's reading: the contingency signer is the bare key — no certificate — and the sequence number slot stays
// the apex TA's.)
import { createDecipheriv, createHash, createPublicKey } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { ApexContingencyKey } from '../../pki/asn1/tamp-apex-contingency-key.js';
import { OID_AA_TAMP_CONTINGENCY_PUBLIC_KEY_DECRYPT_KEY, OID_CT_TAMP_APEX_UPDATE, OID_PE_WRAPPED_APEX_CONTIN_KEY, type TampStatusCodeName } from '../../pki/asn1/tamp-oids.js';
import type { TrustAnchorChoice } from '../../pki/asn1/trust-anchor-choice.js';
import { certificateFromDer, keyIdentifierFromSpki } from '../../pki/cert.js';
import { CmsOpenError, RFC5934_STATUS_NAMES, checkMessageDigest, checkSignerInfo, sidKeyId, verifySignerSignature, type CmsOpenReason } from '../../pki/cms/open-signed.js';
import { AES_KEY_WRAP } from '../../pki/algorithms.js';
import { bytesEqual } from '../../pki/der.js';
import { TampFailure } from './verify.js';

/** §5 StatusCode of the SignerInfo refusals; an unloadable unwrapped key: contingencyPublicKeyDecrypt. */
const CONTINGENCY_STATUS: Record<CmsOpenReason, TampStatusCodeName> = { ...RFC5934_STATUS_NAMES, 'bad-public-key': 'contingencyPublicKeyDecrypt' };

/** The SignedData of `der` when it carries the contingency-key attribute (i.e. it asks for this path). */
export function contingencyRequest(der: Uint8Array): { sd: pkijs.SignedData; decryptKey: Uint8Array } | undefined {
  try {
    const ci = new pkijs.ContentInfo({ schema: asn1js.fromBER(der).result });
    const sd = new pkijs.SignedData({ schema: ci.content });
    const attr = sd.signerInfos[0]?.unsignedAttrs?.attributes.find((a) => a.type === OID_AA_TAMP_CONTINGENCY_PUBLIC_KEY_DECRYPT_KEY);
    if (!attr) return undefined;
    const v = attr.values[0];
    if (attr.values.length !== 1 || !(v instanceof asn1js.OctetString)) throw new TampFailure('badUnsignedAttrs', 'contingency-public-key-decrypt-key must be one OCTET STRING');
    return { sd, decryptKey: new Uint8Array(v.valueBlock.valueHexView) };
  } catch (e) {
    if (e instanceof TampFailure) throw e;
    return undefined;
  }
}

function contingencyExtension(apex: TrustAnchorChoice): ApexContingencyKey | undefined {
  let exts: pkijs.Extension[] | undefined;
  const a = apex.value;
  if (a.kind === 'taInfo' && a.info.exts) exts = new pkijs.Extensions({ schema: asn1js.fromBER(a.info.exts).result }).extensions;
  else {
    const der = apex.certificateDer();
    exts = der ? certificateFromDer(der).extensions : undefined;
  }
  const ext = exts?.find((e) => e.extnID === OID_PE_WRAPPED_APEX_CONTIN_KEY);
  return ext ? ApexContingencyKey.fromDer(ext.extnValue.valueBlock.valueHexView) : undefined;
}

export function verifyContingencySigned(req: { sd: pkijs.SignedData; decryptKey: Uint8Array }, apex: TrustAnchorChoice | undefined): { contentType: string; content: Uint8Array } {
  const { sd, decryptKey } = req;
  try {
    if (sd.signerInfos.length !== 1) throw new TampFailure('badSignedData', 'exactly one SignerInfo is required');
    const e = sd.encapContentInfo;
    if (!e.eContent) throw new TampFailure('missingContent', 'no encapsulated content');
    if (e.eContentType !== OID_CT_TAMP_APEX_UPDATE) throw new TampFailure('notAuthorized', 'only an apex update may be signed with the contingency key');
    const ck = apex ? contingencyExtension(apex) : undefined;
    if (!ck || ck.empty) throw new TampFailure('contingencyPublicKeyDecrypt', 'the apex trust anchor has no contingency key');
    const w = AES_KEY_WRAP[ck.wrapAlgorithm!];
    if (!w) throw new TampFailure('unsupportedContinPubKeyDecryptAlg', `wrap algorithm ${ck.wrapAlgorithm} is not AES key wrap`);
    let spki: Uint8Array;
    try {
      const d = createDecipheriv(w.node, decryptKey, Buffer.from(w.iv, 'hex'));
      spki = new Uint8Array(Buffer.concat([d.update(ck.wrappedContinPubKey!), d.final()]));
      createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }); // it must be a public key
    } catch (err) {
      throw new TampFailure('contingencyPublicKeyDecrypt', `the contingency public key does not unwrap: ${(err as Error).message}`);
    }
    const si = sd.signerInfos[0]!;
    const sid = sidKeyId(si);
    if (!sid || !bytesEqual(sid, keyIdentifierFromSpki(spki))) {
      throw new TampFailure('notAuthorized', 'the SignerInfo does not name the contingency key');
    }
    // RFC 5652 §5.3/§5.4 checks shared with every SignedData the agent trusts, with the contingency key as the signer
    const content = new Uint8Array(e.eContent.getValue());
    try {
      const checked = checkSignerInfo(si, e.eContentType, sd.digestAlgorithms);
      checkMessageDigest(checked, new Uint8Array(createHash(checked.digest.node).update(content).digest()));
      verifySignerSignature(si, spki, checked.digest);
    } catch (err) {
      if (err instanceof CmsOpenError) throw new TampFailure(CONTINGENCY_STATUS[err.reason], err.message, undefined, { cause: err });
      throw err;
    }
    return { contentType: e.eContentType, content };
  } finally {
    decryptKey.fill(0);
  }
}
