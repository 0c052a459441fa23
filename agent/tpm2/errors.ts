// Typed errors of the TPM 2.0 structure layer and of TPM commands.
import { EnrolldError } from '../util/errors.js';

/** A TPM structure could not be (un)marshalled: truncated, trailing bytes, unknown selector, out-of-range value. */
export class Tpm2FormatError extends EnrolldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('tpm2.malformed', message, options);
  }
}

/** A TPM structure is well-formed but not what the caller can use (unsupported algorithm/curve, wrong key type). */
export class Tpm2UnsupportedError extends EnrolldError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('tpm2.unsupported', message, options);
  }
}

/** A TPM command (or its TSS marshalling) failed. `rc` is the TSS2_RC, `rcText` its Tss2_RC_Decode text. */
export class TpmCommandError extends EnrolldError {
  readonly rc: number;
  readonly command: string;
  readonly rcText: string;
  constructor(command: string, rc: number, rcText: string, message: string, options?: { cause?: unknown }) {
    super('tpm.command', message, options);
    this.rc = rc;
    this.command = command;
    this.rcText = rcText;
  }

  /** The TPM response code without the TSS layer byte (0 for non-TPM layers' errors). */
  get tpmRc(): number {
    return (this.rc >>> 16) === 0 ? this.rc & 0xffff : 0;
  }

  /** TPM_RC_HANDLE (Part 2 §6.6.3, format-one 0x08B with any handle/parameter number): the handle does not exist. */
  get isHandleError(): boolean {
    const rc = this.tpmRc;
    return (rc & 0x80) !== 0 && (rc & 0x3f) === 0x0b;
  }
}
