// The CMS SignedData wrapping of CMC bodies (RFC 5272 §3.2.1 for PKIData, §4.2 for PKIResponse): creation through a
// `Signer` (TPM key) with agent/pki/asn1/cms-signed-data-create.ts, and opening with agent/pki/cms/open-signed.ts
// (signature, signed attributes and, for a response, the signer's path to the CA trust anchors).
import type * as pkijs from 'pkijs';
import { createSignedData, type CreateSignedDataOptions } from '../../pki/asn1/cms-signed-data-create.js';
import { CmsOpenError, openSigned, openSignedSignature, type CmsOpenReason, type OpenedSigned } from '../../pki/cms/open-signed.js';
import { CmcProtocolError, type CmcProtocolReason } from './errors.js';

/** A CMC body, its signer (its SKI names the signer), the signer's certificate and chain, the signing time. */
export type SignCmcOptions = Pick<CreateSignedDataOptions, 'eContentType' | 'eContent' | 'signer' | 'certificate' | 'extraCertificates' | 'signingTime'>;

export function signCmc(o: SignCmcOptions): Promise<Uint8Array> {
  return createSignedData(o);
}

export interface OpenedCmc {
  eContent: Uint8Array;
  signerCertificate: pkijs.Certificate;
  /** All certificates of the SignedData, as DER, in message order. */
  certificatesDer: Uint8Array[];
}

/** The CmcProtocolReason of each reason a SignedData is refused (the agent reads responses; CMCFailInfo is what a
 * server answers, RFC 5272 §6.1.4, and the agent sends none). */
const REASON: Record<CmsOpenReason, CmcProtocolReason> = {
  malformed: 'malformed',
  'not-signed-data': 'content-type',
  'bad-signed-data': 'malformed',
  'no-signer': 'signature',
  'too-many-signers': 'signature',
  'unexpected-content': 'content-type',
  'missing-content': 'malformed',
  'bad-signer-info': 'signature',
  'unsupported-digest': 'signature',
  'missing-signed-attrs': 'signature',
  'bad-signed-attrs': 'signature',
  'content-type-mismatch': 'signature',
  'digest-mismatch': 'signature',
  'bad-certificate': 'malformed',
  'unknown-signer': 'signature',
  'no-trust-anchor': 'untrusted-signer',
  'not-authorized': 'untrusted-signer',
  'unsupported-signature-algorithm': 'signature',
  'bad-public-key': 'signature',
  'unsupported-key': 'signature',
  'bad-signature': 'signature',
};

function cmcError(e: unknown): never {
  if (!(e instanceof CmsOpenError)) throw e;
  const reason = REASON[e.reason];
  const what = reason === 'signature' ? 'CMC signature does not verify' : reason === 'untrusted-signer' ? 'CMC response signer not trusted' : 'malformed CMC message';
  throw new CmcProtocolError(reason, `${what}: ${e.message}`, { cause: e });
}

function opened(o: OpenedSigned): OpenedCmc {
  return { eContent: o.eContent, signerCertificate: o.signer, certificatesDer: o.certificates.map((c) => new Uint8Array(c.toSchema().toBER(false))) };
}

/** Decodes a ContentInfo{SignedData} of `eContentType`, verifies its one signature with the included signer cert;
 * the signer's trust is the caller's (a CMC server authenticates the requester by its own policy). */
export async function openSignedCmc(der: Uint8Array, eContentType: string): Promise<OpenedCmc> {
  try {
    return opened(openSignedSignature(der, { eContentType }));
  } catch (e) {
    return cmcError(e);
  }
}

/** As openSignedCmc, and the signer validated to `trustAnchors` (the CA or RA that must have signed a response). */
export async function openTrustedCmc(der: Uint8Array, eContentType: string, trustAnchors: ReadonlyArray<pkijs.Certificate | Uint8Array>, at: Date): Promise<OpenedCmc> {
  try {
    return opened(await openSigned(der, { eContentType, trust: { authorized: [{ use: 'cmc', anchors: trustAnchors }], at } }));
  } catch (e) {
    return cmcError(e);
  }
}
