// The TPM commands enrolld runs, one typed entry per command (go-tpm tpm2/ style): its TPM 2.0 Part 3 name (section
// in the comment above it), typed input and output with Part 3's parameter names, and the native addon binding that
// runs it (native/commands.cc, registered under the same name with the same field names). Structures cross the addon
// marshalled; handles are EsysTr / TpmHandle / NvIndex. Adding a command = one Command in native/commands.cc + one
// entry here; TpmClient.execute(entry, input) runs it.
import type { EsysTr, NvIndex, TpmHandle } from './handles.js';

/** Bytes of the named TPM structure, marshalled as Part 2 specifies (input side). */
export type Marshalled<_Structure extends string> = Uint8Array;
/** Bytes of the named TPM structure as the addon returns them. */
export type MarshalledOut<_Structure extends string> = Buffer;

/** One TPM command: what TpmClient.execute needs to run it and type its input and output. */
export interface TpmCommand<I, O> {
  /** TPM 2.0 Part 3 command name (or the ESAPI function for connection-only entries); errors carry it. */
  readonly name: string;
  /** The method of the native `Tpm` object that runs it; also the key of its timings in stats(). */
  readonly binding: string;
  /** Type carrier only (never set). */
  readonly io?: (input: I) => O;
}

function command<I, O>(name: string, binding: string): TpmCommand<I, O> {
  return { name, binding };
}

// Part 3 §16.1 — repeated by the addon until bytesRequested are returned (≤ 65536).
export const GetRandom = command<{ bytesRequested: number }, { randomBytes: Buffer }>('TPM2_GetRandom', 'getRandom');

// Part 3 §24.1 — empty inSensitive, outsideInfo and creationPCR; the creation data is not returned.
export const CreatePrimary = command<
  { /** TPMI_RH_HIERARCHY: TPM_RH_OWNER / ENDORSEMENT / PLATFORM / NULL. */ primaryHandle: TpmHandle; inPublic: Marshalled<'TPM2B_PUBLIC'> },
  { objectHandle: EsysTr; outPublic: MarshalledOut<'TPM2B_PUBLIC'> }
>('TPM2_CreatePrimary', 'createPrimary');

// Part 3 §12.1 — empty outsideInfo and creationPCR; inSensitive.data = sensitiveData (a sealed data object or
// caller-supplied key bits; the addon wipes its copies), empty userAuth.
export const Create = command<
  { parentHandle: EsysTr; inPublic: Marshalled<'TPM2B_PUBLIC'>; sensitiveData?: Uint8Array },
  { outPublic: MarshalledOut<'TPM2B_PUBLIC'>; outPrivate: MarshalledOut<'TPM2B_PRIVATE'> }
>('TPM2_Create', 'create');

// Part 3 §12.2
export const Load = command<
  { parentHandle: EsysTr; inPrivate: Marshalled<'TPM2B_PRIVATE'>; inPublic: Marshalled<'TPM2B_PUBLIC'> },
  { objectHandle: EsysTr }
>('TPM2_Load', 'load');

// Part 3 §12.4 — names are the raw TPMU_NAME bytes.
export const ReadPublic = command<
  { objectHandle: EsysTr },
  { outPublic: MarshalledOut<'TPM2B_PUBLIC'>; name: Buffer; qualifiedName: Buffer }
>('TPM2_ReadPublic', 'readPublic');

// Part 3 §12.7 — the caller wipes outData.
export const Unseal = command<{ itemHandle: EsysTr }, { outData: Buffer }>('TPM2_Unseal', 'unseal');

// Part 3 §13.3 — `duplicate` may hold a plaintext TPM2B_SENSITIVE (an unwrapped duplicate); the addon wipes its copies.
export const Import = command<
  {
    parentHandle: EsysTr;
    encryptionKey: Uint8Array;
    objectPublic: Marshalled<'TPM2B_PUBLIC'>;
    duplicate: Marshalled<'TPM2B_PRIVATE'>;
    inSymSeed: Uint8Array;
    symmetricAlg: Marshalled<'TPMT_SYM_DEF_OBJECT'>;
  },
  { outPrivate: MarshalledOut<'TPM2B_PRIVATE'> }
>('TPM2_Import', 'import');

// Part 3 §14.3
export const RsaDecrypt = command<
  { keyHandle: EsysTr; cipherText: Uint8Array; inScheme: Marshalled<'TPMT_RSA_DECRYPT'>; label: Uint8Array },
  { message: Buffer }
>('TPM2_RSA_Decrypt', 'rsaDecrypt');

// Part 3 §14.5 — outPoint is the shared point; Z is its x coordinate.
export const EcdhZGen = command<
  { keyHandle: EsysTr; inPoint: Marshalled<'TPM2B_ECC_POINT'> },
  { outPoint: MarshalledOut<'TPM2B_ECC_POINT'> }
>('TPM2_ECDH_ZGen', 'ecdhZGen');

// Part 3 §18.2 — certifyInfo is the TPMS_ATTEST (the signed bytes).
export const Certify = command<
  { objectHandle: EsysTr; signHandle: EsysTr; qualifyingData: Uint8Array; inScheme: Marshalled<'TPMT_SIG_SCHEME'> },
  { certifyInfo: Buffer; signature: MarshalledOut<'TPMT_SIGNATURE'> }
>('TPM2_Certify', 'certify');

// Part 3 §18.4 — quoted is the TPMS_ATTEST (the signed bytes).
export const Quote = command<
  {
    signHandle: EsysTr;
    qualifyingData: Uint8Array;
    inScheme: Marshalled<'TPMT_SIG_SCHEME'>;
    pcrSelect: Marshalled<'TPML_PCR_SELECTION'>;
  },
  { quoted: Buffer; signature: MarshalledOut<'TPMT_SIGNATURE'> }
>('TPM2_Quote', 'quote');

// Part 3 §20.2 — with a NULL hashcheck ticket (unrestricted keys).
export const Sign = command<
  { keyHandle: EsysTr; digest: Uint8Array; inScheme: Marshalled<'TPMT_SIG_SCHEME'> },
  { signature: MarshalledOut<'TPMT_SIGNATURE'> }
>('TPM2_Sign', 'sign');

// Part 3 §22.4 — at most 8 digests per response; pcrValues[i] belongs to the i-th PCR of pcrSelectionOut.
export const PcrRead = command<
  { pcrSelectionIn: Marshalled<'TPML_PCR_SELECTION'> },
  { pcrUpdateCounter: number; pcrSelectionOut: MarshalledOut<'TPML_PCR_SELECTION'>; pcrValues: Buffer[] }
>('TPM2_PCR_Read', 'pcrRead');

// Part 3 §28.4 — releases the ESYS_TR too.
export const FlushContext = command<{ flushHandle: EsysTr }, Record<string, never>>('TPM2_FlushContext', 'flushContext');

// Part 3 §28.5 — auth TPM_RH_OWNER; newObjectHandle is the persistent object's ESYS_TR.
export const EvictControl = command<
  { objectHandle: EsysTr; persistentHandle: TpmHandle },
  { newObjectHandle: EsysTr }
>('TPM2_EvictControl', 'evictControl');

// Part 3 §30.2
export const GetCapability = command<
  { capability: number; property: number; propertyCount: number },
  { moreData: boolean; capabilityData: MarshalledOut<'TPMS_CAPABILITY_DATA'> }
>('TPM2_GetCapability', 'getCapability');

// Part 3 §31.6
export const NvReadPublic = command<
  { nvIndex: NvIndex },
  { nvPublic: MarshalledOut<'TPM2B_NV_PUBLIC'>; nvName: Buffer }
>('TPM2_NV_ReadPublic', 'nvReadPublic');

// Part 3 §31.13 — in chunks of TPM_PT_NV_BUFFER_MAX; authHandle defaults to the index itself (TPMA_NV_AUTHREAD).
export const NvRead = command<
  { nvIndex: NvIndex; size: number; offset: number; /** TPM_RH_OWNER / TPM_RH_PLATFORM or the index. */ authHandle?: TpmHandle },
  { data: Buffer }
>('TPM2_NV_Read', 'nvRead');

// ESAPI Esys_TR_FromTPMPublic — the ESYS_TR of a TPM handle (reads its public area from the TPM).
export const TrFromTpmPublic = command<{ tpmHandle: TpmHandle }, { object: EsysTr }>('Esys_TR_FromTPMPublic', 'trFromTpmPublic');

// ESAPI Esys_TR_Close — forgets an ESYS_TR without touching the TPM object (persistent and NV handles).
export const TrClose = command<{ object: EsysTr }, Record<string, never>>('Esys_TR_Close', 'trClose');

// ESAPI Esys_Finalize — closes the connection; idempotent, later commands reject ("the TPM context is closed").
export const Close = command<Record<string, never>, Record<string, never>>('close', 'close');
