// The CMS SignedData wrapping of CMC bodies (RFC 5272 §3.2.1 for PKIData, §4.2 for PKIResponse): creation through a
// `Signer` (TPM key) with agent/pki/asn1/cms-signed-data-create.ts, and opening with signature verification (pkijs).
// Chain validation of the signer certificate is the caller's (it knows which trust anchors apply).
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { createSignedData } from '../../pki/asn1/cms-signed-data-create.js';
import { OID_SIGNED_DATA } from '../../pki/certs-only.js';
import type { Signer } from '../../pki/signer.js';
import { CmcProtocolError } from './errors.js';

export interface SignCmcOptions {
  eContentType: string;
  eContent: Uint8Array;
  signer: Signer;
  /** DER certificate of the signer (included; its SKI names the signer). */
  certificate?: Uint8Array;
  extraCertificates?: Uint8Array[];
  signingTime?: Date;
}

export function signCmc(o: SignCmcOptions): Promise<Uint8Array> {
  return createSignedData({
    eContentType: o.eContentType,
    eContent: o.eContent,
    signer: o.signer,
    ...(o.certificate ? { certificate: o.certificate } : {}),
    ...(o.extraCertificates ? { extraCertificates: o.extraCertificates } : {}),
    ...(o.signingTime ? { signingTime: o.signingTime } : {}),
  });
}

export interface OpenedCmc {
  eContent: Uint8Array;
  signerCertificate: pkijs.Certificate;
  /** All certificates of the SignedData, as DER, in message order. */
  certificatesDer: Uint8Array[];
}

/** Decodes a ContentInfo{SignedData} of `eContentType`, verifies its one signature with the included signer cert. */
export async function openSignedCmc(der: Uint8Array, eContentType: string): Promise<OpenedCmc> {
  let sd: pkijs.SignedData;
  try {
    const parsed = asn1js.fromBER(der);
    if (parsed.offset !== der.byteLength || parsed.result.error) throw new Error('not one BER element');
    const ci = new pkijs.ContentInfo({ schema: parsed.result });
    if (ci.contentType !== OID_SIGNED_DATA) throw new CmcProtocolError('content-type', `expected SignedData, got ContentInfo ${ci.contentType}`);
    sd = new pkijs.SignedData({ schema: ci.content });
  } catch (e) {
    if (e instanceof CmcProtocolError) throw e;
    throw new CmcProtocolError('malformed', `malformed CMC message: ${(e as Error).message}`, { cause: e });
  }
  if (sd.encapContentInfo.eContentType !== eContentType) {
    throw new CmcProtocolError('content-type', `expected encapsulated ${eContentType}, got ${sd.encapContentInfo.eContentType}`);
  }
  const eContent = sd.encapContentInfo.eContent;
  if (!eContent) throw new CmcProtocolError('malformed', 'SignedData has no encapsulated content');
  if (sd.signerInfos.length !== 1) throw new CmcProtocolError('signature', `${sd.signerInfos.length} SignerInfos, exactly one expected`);
  let result: pkijs.SignedDataVerifyResult;
  try {
    result = await sd.verify({ signer: 0, checkChain: false, extendedMode: true });
  } catch (e) {
    const r = e as { message?: string; signatureVerified?: boolean | null; code?: number };
    throw new CmcProtocolError('signature', `CMC signature does not verify: ${r.message ?? String(e)}`, { cause: e });
  }
  if (!result.signatureVerified || !result.signerCertificate) throw new CmcProtocolError('signature', 'CMC signature does not verify');
  const certificatesDer = (sd.certificates ?? [])
    .filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate)
    .map((c) => new Uint8Array(c.toSchema().toBER(false)));
  return { eContent: new Uint8Array(eContent.getValue()), signerCertificate: result.signerCertificate, certificatesDer };
}
