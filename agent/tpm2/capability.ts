// TPMS_CAPABILITY_DATA (Part 2 §10.10.2): handles (TPML_HANDLE §10.9.4), TPM properties (TPML_TAGGED_TPM_PROPERTY
// §10.9.9) and PCR banks (TPML_PCR_SELECTION §10.9.7). Other capabilities are kept raw.
import { TPM_CAP } from './constants.js';
import { Tpm2FormatError } from './errors.js';
import { TpmReader } from './marshal.js';
import { type PcrSelection, readPcrSelectionList } from './pcr.js';

export interface CapabilityData {
  capability: number;
  handles?: number[];
  properties?: { property: number; value: number }[];
  pcrs?: PcrSelection[];
  raw?: Uint8Array;
}

const MAX_LIST = 1024;

export function unmarshalCapabilityData(bytes: Uint8Array): CapabilityData {
  const r = new TpmReader(bytes, 'TPMS_CAPABILITY_DATA');
  const capability = r.u32('capability');
  const out: CapabilityData = { capability };
  if (capability === TPM_CAP.HANDLES) {
    const count = r.u32('TPML_HANDLE.count');
    if (count > MAX_LIST) throw new Tpm2FormatError(`TPML_HANDLE.count ${count} too large`);
    out.handles = [];
    for (let i = 0; i < count; i++) out.handles.push(r.u32('handle'));
  } else if (capability === TPM_CAP.TPM_PROPERTIES) {
    const count = r.u32('TPML_TAGGED_TPM_PROPERTY.count');
    if (count > MAX_LIST) throw new Tpm2FormatError(`TPML_TAGGED_TPM_PROPERTY.count ${count} too large`);
    out.properties = [];
    for (let i = 0; i < count; i++) out.properties.push({ property: r.u32('property'), value: r.u32('value') });
  } else if (capability === TPM_CAP.PCRS) {
    out.pcrs = readPcrSelectionList(r);
  } else {
    out.raw = r.bytes(r.remaining, 'data');
  }
  r.end();
  return out;
}
