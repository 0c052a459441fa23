// PCR selections: TPMS_PCR_SELECTION (Part 2 §10.6.2), TPML_PCR_SELECTION (Part 2 §10.9.7), and the quote PCR digest.
import { createHash } from 'node:crypto';
import { HASH_INFO, algName } from './constants.js';
import { Tpm2FormatError, Tpm2UnsupportedError } from './errors.js';
import { TpmReader, TpmWriter } from './marshal.js';

/** One bank's selection: PCR indices (ascending order is how the TPM processes them). */
export interface PcrSelection {
  hashAlg: number;
  pcrs: number[];
}

/** PCR_SELECT_MIN for a PC-client TPM (24 PCRs → 3 bytes). */
export const PCR_SELECT_MIN = 3;

export function writePcrSelectionList(w: TpmWriter, list: PcrSelection[]): void {
  w.u32(list.length);
  for (const sel of list) {
    const max = Math.max(-1, ...sel.pcrs);
    const size = Math.max(PCR_SELECT_MIN, Math.floor(max / 8) + 1);
    if (size > 255) throw new Tpm2FormatError(`PCR index ${max} out of range`);
    const bitmap = new Uint8Array(size);
    for (const pcr of sel.pcrs) {
      if (!Number.isInteger(pcr) || pcr < 0) throw new Tpm2FormatError(`invalid PCR index ${pcr}`);
      bitmap[pcr >> 3]! |= 1 << (pcr & 7);
    }
    w.u16(sel.hashAlg).u8(size).bytes(bitmap);
  }
}

export function readPcrSelectionList(r: TpmReader): PcrSelection[] {
  const count = r.u32('TPML_PCR_SELECTION.count');
  if (count > 16) throw new Tpm2FormatError(`${r.what}: TPML_PCR_SELECTION.count ${count} exceeds HASH_COUNT`);
  const out: PcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const hashAlg = r.u16('pcrSelections.hash');
    const size = r.u8('pcrSelections.sizeofSelect');
    const bitmap = r.bytes(size, 'pcrSelections.pcrSelect');
    const pcrs: number[] = [];
    for (let b = 0; b < size * 8; b++) if (bitmap[b >> 3]! & (1 << (b & 7))) pcrs.push(b);
    out.push({ hashAlg, pcrs });
  }
  return out;
}

/** TPML_PCR_SELECTION bytes. */
export function marshalPcrSelection(list: PcrSelection[]): Uint8Array {
  const w = new TpmWriter();
  writePcrSelectionList(w, list);
  return w.finish();
}

/** Parses TPML_PCR_SELECTION bytes (the whole buffer). */
export function unmarshalPcrSelection(bytes: Uint8Array): PcrSelection[] {
  const r = new TpmReader(bytes, 'TPML_PCR_SELECTION');
  const list = readPcrSelectionList(r);
  r.end();
  return list;
}

/**
 * The pcrDigest of TPMS_QUOTE_INFO (Part 3 TPM2_Quote): H_signScheme(PCR values concatenated in selection order —
 * banks as listed, PCR indices ascending). `values(hashAlg, pcr)` returns each PCR value.
 */
export function pcrCompositeDigest(
  hashAlg: number,
  list: PcrSelection[],
  values: (bank: number, pcr: number) => Uint8Array,
): Uint8Array {
  const info = HASH_INFO[hashAlg];
  if (!info) throw new Tpm2UnsupportedError(`hash ${algName(hashAlg)} not supported`);
  const h = createHash(info.name);
  for (const sel of list) for (const pcr of [...sel.pcrs].sort((a, b) => a - b)) h.update(values(sel.hashAlg, pcr));
  return new Uint8Array(h.digest());
}
