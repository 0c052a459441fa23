// Handles as distinct types. A TPM_HANDLE (Part 2 §7) is the TPM's own 32-bit handle, valid across connections and
// reboots for persistent objects and NV indices (its top byte is the TPM_HT); an ESYS_TR is ESAPI's reference to a
// resource, meaningful only on the connection that returned it. Both are numbers at run time; the brands keep one
// from being passed where the other is meant.
import { Tpm2FormatError } from './errors.js';

declare const handleKind: unique symbol;

/** An ESYS_TR returned by a command on this connection (TPM2_Load, TPM2_CreatePrimary, Esys_TR_FromTPMPublic, …). */
export type EsysTr = number & { readonly [handleKind]: 'ESYS_TR' };

/** A TPM_HANDLE (Part 2 §7.1): transient 0x80xxxxxx, persistent 0x81xxxxxx, permanent 0x40xxxxxx, NV index 0x01xxxxxx. */
export type TpmHandle = number & { readonly [handleKind]: 'TPM_HANDLE' | 'TPM_HANDLE.NV' };

/** A TPM_HANDLE of type TPM_HT_NV_INDEX (Part 2 §7.2), e.g. an EK certificate index 0x01c00002. */
export type NvIndex = TpmHandle & { readonly [handleKind]: 'TPM_HANDLE.NV' };

const HT_NV_INDEX = 0x01;

function u32(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Tpm2FormatError(`${what} ${n} is not a 32-bit handle`);
  return n;
}

/** A TPM_HANDLE from a number (configuration, TPM2_GetCapability(TPM_CAP_HANDLES)). */
export function tpmHandle(n: number): TpmHandle {
  return u32(n, 'TPM handle') as TpmHandle;
}

/** An NV index handle; Tpm2FormatError unless its TPM_HT is TPM_HT_NV_INDEX. */
export function nvIndex(n: number): NvIndex {
  if (u32(n, 'NV index') >>> 24 !== HT_NV_INDEX) throw new Tpm2FormatError(`0x${n.toString(16)} is not an NV index handle`);
  return n as NvIndex;
}

/** The TPM_HT of a handle (its top byte). */
export function handleType(h: TpmHandle): number {
  return h >>> 24;
}
