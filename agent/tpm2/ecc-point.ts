// TPMS_ECC_POINT / TPM2B_ECC_POINT (Part 2 §11.2.5.2–3): the point TPM2_ECDH_ZGen takes and returns.
import { TpmReader, TpmWriter } from './marshal.js';

export interface EccPoint {
  x: Uint8Array;
  y: Uint8Array;
}

/** TPM2B_ECC_POINT bytes: size, then TPMS_ECC_POINT (x and y as TPM2B_ECC_PARAMETER). */
export function marshalEccPoint2B(p: EccPoint): Uint8Array {
  const inner = new TpmWriter().tpm2b(p.x).tpm2b(p.y).finish();
  return new TpmWriter().tpm2b(inner).finish();
}

/** Parses TPM2B_ECC_POINT bytes (Tpm2FormatError when truncated or followed by trailing bytes). */
export function unmarshalEccPoint2B(b: Uint8Array): EccPoint {
  const outer = new TpmReader(b, 'TPM2B_ECC_POINT');
  const r = new TpmReader(outer.tpm2b('TPM2B_ECC_POINT'), 'TPMS_ECC_POINT');
  outer.end();
  const x = r.tpm2b('x');
  const y = r.tpm2b('y');
  r.end();
  return { x, y };
}
