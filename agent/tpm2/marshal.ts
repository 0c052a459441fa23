// Big-endian TPM marshalling: integers are canonical big-endian; a TPM2B is a u16 size then that many bytes (Part 2 §10.4).
import { Tpm2FormatError } from './errors.js';

/** Growable big-endian writer. */
export class TpmWriter {
  private buf = Buffer.alloc(64);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): this {
    checkUint(v, 0xff, 'u8');
    this.ensure(1);
    this.buf.writeUInt8(v, this.len);
    this.len += 1;
    return this;
  }

  u16(v: number): this {
    checkUint(v, 0xffff, 'u16');
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
    return this;
  }

  u32(v: number): this {
    checkUint(v, 0xffffffff, 'u32');
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.len);
    this.len += 4;
    return this;
  }

  u64(v: bigint): this {
    if (v < 0n || v > 0xffffffffffffffffn) throw new Tpm2FormatError(`u64 out of range: ${v}`);
    this.ensure(8);
    this.buf.writeBigUInt64BE(v, this.len);
    this.len += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.byteLength);
    this.buf.set(b, this.len);
    this.len += b.byteLength;
    return this;
  }

  /** TPM2B: u16 size then the bytes. */
  tpm2b(b: Uint8Array): this {
    if (b.byteLength > 0xffff) throw new Tpm2FormatError(`TPM2B too long: ${b.byteLength} bytes`);
    return this.u16(b.byteLength).bytes(b);
  }

  finish(): Uint8Array {
    return new Uint8Array(this.buf.subarray(0, this.len));
  }
}

function checkUint(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new Tpm2FormatError(`${what} out of range: ${v}`);
}

/** Bounds-checked big-endian reader; every read past the end raises Tpm2FormatError naming `what`. */
export class TpmReader {
  private off = 0;
  private readonly view: Buffer;

  constructor(data: Uint8Array, readonly what: string) {
    this.view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }

  get offset(): number {
    return this.off;
  }

  get remaining(): number {
    return this.view.length - this.off;
  }

  private need(n: number, field: string): void {
    if (this.off + n > this.view.length) {
      throw new Tpm2FormatError(
        `${this.what}: truncated reading ${field} at offset ${this.off} (need ${n} bytes, ${this.remaining} left)`,
      );
    }
  }

  u8(field = 'u8'): number {
    this.need(1, field);
    const v = this.view.readUInt8(this.off);
    this.off += 1;
    return v;
  }

  u16(field = 'u16'): number {
    this.need(2, field);
    const v = this.view.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }

  u32(field = 'u32'): number {
    this.need(4, field);
    const v = this.view.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }

  u64(field = 'u64'): bigint {
    this.need(8, field);
    const v = this.view.readBigUInt64BE(this.off);
    this.off += 8;
    return v;
  }

  bytes(n: number, field = 'bytes'): Uint8Array {
    this.need(n, field);
    const v = new Uint8Array(this.view.subarray(this.off, this.off + n));
    this.off += n;
    return v;
  }

  /** TPM2B: u16 size then that many bytes; `max` bounds the size (the C array size of the TPM2B). */
  tpm2b(field = 'TPM2B', max = 0xffff): Uint8Array {
    const n = this.u16(`${field}.size`);
    if (n > max) throw new Tpm2FormatError(`${this.what}: ${field}.size ${n} exceeds ${max}`);
    return this.bytes(n, field);
  }

  /** Asserts that the whole input was consumed. */
  end(): void {
    if (this.remaining !== 0) throw new Tpm2FormatError(`${this.what}: ${this.remaining} trailing bytes`);
  }
}

/** Copies a Uint8Array into a fresh Uint8Array (never a Buffer pool slice). */
export function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}
