// TPM key-attestation evidence for a CSR (draft-ietf-lamps-csr-attestation-28): TPM2_Certify of the new key by the
// attestation key (AK) with the freshness nonce as qualifyingData → TcgAttestCertify {tpmSAttest, signature,
// tpmTPublic} → AttestationStatement (tcg-attest-tpm-certify) → AttestationBundle with the AK certificate chain in
// `certs` → the id-aa-attestation CSR attribute. The nonce comes from the RA/CA (freshness-08) right before use.
// With PCRs configured, a TPM2_Quote by the same AK over the same nonce is a second statement (TcgAttestQuote, type
// OID configurable — see constants.ts), after the certify statement.
import { crashpoint } from '../util/crashpoint.js';
import type * as pkijs from 'pkijs';
import type { KeyRecord } from '../keystore/keystore.js';
import type { TpmCertifyResult, TpmQuoteResult } from '../keystore/tpm.js';
import { certificateFromDer } from '../pki/cert.js';
import { AttestationBundle } from '../pki/asn1/evidence-bundle.js';
import { buildAttestationAttribute } from '../pki/asn1/evidence-attribute.js';
import { TcgAttestCertify } from '../pki/asn1/tcg-attest-certify.js';
import { TcgAttestQuote } from '../pki/asn1/tcg-attest-quote.js';
import { publicArea } from '../tpm2/public.js';
import { EnrolldError } from '../util/errors.js';
import { OID_TCG_ATTEST_TPM_CERTIFY, PCR_BANK_ALG, type PcrBank } from './constants.js';
import { isUsable, type NonceRequestParams, type ReceivedNonce } from './nonce.js';

export class EvidenceError extends EnrolldError {
  constructor(code: 'attest.evidence' | 'attest.nonce-stale' | 'attest.no-certify', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** What evidence needs from a keystore: TPM2_Certify (TpmKeyStore implements it). */
export interface CertifyingKeyStore {
  certify(key: KeyRecord, ak: KeyRecord, qualifyingData: Uint8Array): Promise<TpmCertifyResult>;
  /** TPM2_Quote by `ak` of `pcrs` in bank `hashAlg` plus their values (TpmKeyStore implements it). */
  quote?(ak: KeyRecord, qualifyingData: Uint8Array, pcrs: number[], hashAlg: number): Promise<TpmQuoteResult>;
}

/** The platform quote to add beside the certify statement (config attestation.pcrs / pcrBank / quoteOid). */
export interface QuoteRequest {
  pcrs: number[];
  bank: PcrBank;
  /** AttestationStatement type of the quote statement. */
  type: string;
}

/** Where nonces come from (EstEnrollment.nonce, or a CMP/CMC equivalent). */
export interface NonceSource {
  nonce(req: NonceRequestParams): Promise<ReceivedNonce>;
}

export function isCertifyingKeyStore(ks: unknown): ks is CertifyingKeyStore {
  return typeof (ks as { certify?: unknown } | null)?.certify === 'function';
}

/** The nonce request used for TPM2_Certify evidence: 32 bytes, type tcg-attest-tpm-certify. */
export const CERTIFY_NONCE_REQUEST: NonceRequestParams = { len: 32, type: OID_TCG_ATTEST_TPM_CERTIFY };

/** Default time kept in hand between building the evidence and the CA checking it. */
export const DEFAULT_NONCE_MARGIN_MS = 30_000;

export interface CertifyEvidenceInput {
  keystore: CertifyingKeyStore;
  /** The new key the CSR is for (TPM key record: location.public is its TPM2B_PUBLIC). */
  key: KeyRecord;
  /** The attestation key record. */
  ak: KeyRecord;
  /** AK certificate first, then its chain (DER), as provisioned. */
  akChain: Uint8Array[];
  /** qualifyingData: the nonce bytes (empty when the CA needs no freshness proof). */
  nonce: Uint8Array;
  /** Also quote these PCRs (none or an empty list: certify only). */
  quote?: QuoteRequest;
}

export interface CertifyEvidence {
  certify: TpmCertifyResult;
  statement: TcgAttestCertify;
  /** The quote and its statement, when PCRs were asked for. */
  quote?: { result: TpmQuoteResult; statement: TcgAttestQuote };
  bundle: AttestationBundle;
  attribute: pkijs.Attribute;
}

/** The TPMT_PUBLIC bytes of a TPM key record (its stored TPM2B_PUBLIC without the size prefix). */
export function tpmtPublicOf(record: KeyRecord): Uint8Array {
  const pub = record.location.public;
  if (typeof pub !== 'string') throw new EvidenceError('attest.evidence', `key "${record.id}" has no TPM public area (not a TPM key record)`);
  return publicArea(new Uint8Array(Buffer.from(pub, 'base64')));
}

/** Builds the statement, bundle and CSR attribute from one TPM2_Certify with `nonce` as qualifyingData. */
export async function buildCertifyEvidence(input: CertifyEvidenceInput): Promise<CertifyEvidence> {
  if (input.akChain.length === 0) throw new EvidenceError('attest.evidence', 'the AK certificate chain is empty');
  const tpmTPublic = tpmtPublicOf(input.key);
  const certs = input.akChain.map((der, i) => {
    try {
      return certificateFromDer(der);
    } catch (cause) {
      throw new EvidenceError('attest.evidence', `AK chain entry ${i} is not an X.509 certificate`, { cause });
    }
  });
  const certify = await input.keystore.certify(input.key, input.ak, input.nonce);
  const statement = new TcgAttestCertify({ tpmSAttest: certify.attest, signature: certify.signature, tpmTPublic });
  const quote = input.quote && input.quote.pcrs.length > 0 ? await quoteStatement(input.keystore, input.ak, input.nonce, input.quote) : undefined;
  const attestations = [statement.toAttestationStatement(), ...(quote ? [quote.statement.toAttestationStatement(input.quote!.type)] : [])];
  const bundle = new AttestationBundle({ attestations, certs });
  return { certify, statement, ...(quote ? { quote } : {}), bundle, attribute: buildAttestationAttribute(bundle) };
}

/** TPM2_Quote of the asked PCRs with the same nonce; pcrValues = the values in pcrSelect order (one bank, ascending). */
async function quoteStatement(ks: CertifyingKeyStore, ak: KeyRecord, nonce: Uint8Array, q: QuoteRequest): Promise<{ result: TpmQuoteResult; statement: TcgAttestQuote }> {
  if (typeof ks.quote !== 'function') throw new EvidenceError('attest.evidence', 'attestation.pcrs is set but the keystore cannot quote (TPM2_Quote needs the TPM keystore)');
  let result: TpmQuoteResult;
  try {
    result = await ks.quote(ak, nonce, q.pcrs, PCR_BANK_ALG[q.bank]);
  } catch (cause) {
    throw new EvidenceError('attest.evidence', `TPM2_Quote of attestation.pcrs ${q.pcrs.join(',')} in bank ${q.bank} failed: ${(cause as Error).message}`, { cause });
  }
  const pcrValues = Buffer.concat(result.pcrDigests.map((p) => p.digest));
  return { result, statement: new TcgAttestQuote({ tpmSAttest: result.quoted, signature: result.signature, pcrValues: new Uint8Array(pcrValues) }) };
}

export interface AttestedAttributeInput extends Omit<CertifyEvidenceInput, 'nonce'> {
  nonces: NonceSource;
  now: () => Date;
  /** Time the nonce must still be valid for after the evidence is built (default 30 s). */
  marginMs?: number;
  /** Nonce fetches before giving up (default 3). */
  maxAttempts?: number;
}

/**
 * Fetches a nonce right before building, refetching when it would expire before use (also when TPM2_Certify took
 * long enough to make it stale), and returns the evidence together with the nonce it carries.
 */
export async function buildAttestedEvidence(input: AttestedAttributeInput): Promise<CertifyEvidence & { nonce: ReceivedNonce }> {
  const margin = input.marginMs ?? DEFAULT_NONCE_MARGIN_MS;
  const attempts = input.maxAttempts ?? 3;
  let lastReason = '';
  for (let i = 0; i < attempts; i++) {
    const n = await input.nonces.nonce(CERTIFY_NONCE_REQUEST);
    crashpoint('enroll.after-nonce');
    if (!isUsable(n, input.now(), margin)) {
      lastReason = `nonce valid for ${n.expirySeconds ?? '?'} s, less than the ${margin} ms margin`;
      continue;
    }
    const ev = await buildCertifyEvidence({ keystore: input.keystore, key: input.key, ak: input.ak, akChain: input.akChain, nonce: n.nonce, ...(input.quote ? { quote: input.quote } : {}) });
    if (!isUsable(n, input.now(), margin)) {
      lastReason = 'nonce went stale while TPM2_Certify ran';
      continue;
    }
    return { ...ev, nonce: n };
  }
  throw new EvidenceError('attest.nonce-stale', `no usable freshness nonce after ${attempts} attempt(s): ${lastReason}`);
}

/** Convenience: just the id-aa-attestation attribute for BuildCsrOptions.attributes. */
export async function attestationAttribute(input: AttestedAttributeInput): Promise<pkijs.Attribute> {
  return (await buildAttestedEvidence(input)).attribute;
}
