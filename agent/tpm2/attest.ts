// TPMS_ATTEST (Part 2 §10.12.12) — the structure TPM2_Certify / TPM2_Quote sign — and its certify/quote payloads.
import { TPM_ST } from './constants.js';
import { TpmReader } from './marshal.js';
import { type PcrSelection, readPcrSelectionList } from './pcr.js';

/** TPMS_CLOCK_INFO — Part 2 §10.11.1. */
export interface ClockInfo {
  clock: bigint;
  resetCount: number;
  restartCount: number;
  safe: boolean;
}

/** TPMS_CERTIFY_INFO — Part 2 §10.12.3. */
export interface CertifyInfo {
  name: Uint8Array;
  qualifiedName: Uint8Array;
}

/** TPMS_QUOTE_INFO — Part 2 §10.12.4. */
export interface QuoteInfo {
  pcrSelect: PcrSelection[];
  pcrDigest: Uint8Array;
}

/** TPMS_ATTEST; `attested` is decoded for certify and quote, kept raw (TPMU_ATTEST bytes) for other types. */
export interface TpmsAttest {
  magic: number;
  type: number;
  qualifiedSigner: Uint8Array;
  extraData: Uint8Array;
  clockInfo: ClockInfo;
  firmwareVersion: bigint;
  certify?: CertifyInfo;
  quote?: QuoteInfo;
  /** TPMU_ATTEST bytes for types other than certify/quote. */
  attestedRaw?: Uint8Array;
}

/** Parses TPMS_ATTEST bytes (the contents of TPM2B_ATTEST, §10.12.13). Does not judge magic/type: verifiers do. */
export function unmarshalAttest(bytes: Uint8Array): TpmsAttest {
  const r = new TpmReader(bytes, 'TPMS_ATTEST');
  const magic = r.u32('magic');
  const type = r.u16('type');
  const qualifiedSigner = r.tpm2b('qualifiedSigner', 68);
  const extraData = r.tpm2b('extraData', 66);
  const clockInfo: ClockInfo = {
    clock: r.u64('clockInfo.clock'),
    resetCount: r.u32('clockInfo.resetCount'),
    restartCount: r.u32('clockInfo.restartCount'),
    safe: r.u8('clockInfo.safe') !== 0,
  };
  const firmwareVersion = r.u64('firmwareVersion');
  const out: TpmsAttest = { magic, type, qualifiedSigner, extraData, clockInfo, firmwareVersion };
  if (type === TPM_ST.ATTEST_CERTIFY) {
    out.certify = { name: r.tpm2b('certify.name', 68), qualifiedName: r.tpm2b('certify.qualifiedName', 68) };
  } else if (type === TPM_ST.ATTEST_QUOTE) {
    out.quote = { pcrSelect: readPcrSelectionList(r), pcrDigest: r.tpm2b('quote.pcrDigest', 64) };
  } else {
    out.attestedRaw = r.bytes(r.remaining, 'attested');
  }
  r.end();
  return out;
}
