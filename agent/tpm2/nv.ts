// TPMS_NV_PUBLIC (Part 2 §13.5) inside TPM2B_NV_PUBLIC (Part 2 §13.6).
import { TpmReader } from './marshal.js';

export interface NvPublic {
  nvIndex: number;
  nameAlg: number;
  /** TPMA_NV (Part 2 §13.4). */
  attributes: number;
  authPolicy: Uint8Array;
  dataSize: number;
}

/** Parses TPM2B_NV_PUBLIC bytes. */
export function unmarshalNvPublic2B(bytes: Uint8Array): NvPublic {
  const outer = new TpmReader(bytes, 'TPM2B_NV_PUBLIC');
  const inner = outer.tpm2b('nvPublic');
  outer.end();
  const r = new TpmReader(inner, 'TPMS_NV_PUBLIC');
  const nv: NvPublic = {
    nvIndex: r.u32('nvIndex'),
    nameAlg: r.u16('nameAlg'),
    attributes: r.u32('attributes'),
    authPolicy: r.tpm2b('authPolicy', 64),
    dataSize: r.u16('dataSize'),
  };
  r.end();
  return nv;
}
