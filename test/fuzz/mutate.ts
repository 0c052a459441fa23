// A small seeded mutation engine for property-based fuzzing of the parsers that read network input: byte-level
// mutations (bit flips, random bytes, truncation, insertion, deletion, duplication, splicing two samples) and
// DER-aware ones (length octets edited, tags swapped, lengths made indefinite). Deterministic for a seed, so a
// failure is reproduced by its (seed, iteration) pair.

/** xorshift128+ — fast, seedable, good enough to drive mutations. */
export class Rng {
  private s0: bigint;
  private s1: bigint;
  constructor(seed: number) {
    this.s0 = BigInt(seed >>> 0) | 1n;
    this.s1 = (BigInt(Math.imul(seed, 2654435761) >>> 0) << 17n) | 3n;
    for (let i = 0; i < 20; i++) this.next();
  }
  next(): number {
    let x = this.s0;
    const y = this.s1;
    this.s0 = y;
    x ^= (x << 23n) & 0xffffffffffffffffn;
    this.s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return Number((this.s1 + y) & 0xffffffffn) / 0x100000000;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
}

type Mutator = (b: Uint8Array, r: Rng, other: Uint8Array) => Uint8Array;

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0xff, 0x30, 0x31, 0x02, 0x04, 0x05, 0x06, 0xa0, 0x3c, 0x22, 0x7b, 0x5b];

const MUTATORS: Mutator[] = [
  // bit flip
  (b, r) => {
    if (b.length === 0) return b;
    const c = b.slice();
    const i = r.int(c.length);
    c[i] = c[i]! ^ (1 << r.int(8));
    return c;
  },
  // interesting byte
  (b, r) => {
    if (b.length === 0) return new Uint8Array([r.pick(INTERESTING)]);
    const c = b.slice();
    c[r.int(c.length)] = r.pick(INTERESTING);
    return c;
  },
  // truncate
  (b, r) => b.slice(0, r.int(b.length + 1)),
  // insert random bytes
  (b, r) => {
    const at = r.int(b.length + 1);
    const ins = Uint8Array.from({ length: 1 + r.int(16) }, () => r.int(256));
    return new Uint8Array([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
  },
  // delete a range
  (b, r) => {
    if (b.length < 2) return b;
    const at = r.int(b.length);
    const n = 1 + r.int(Math.min(32, b.length - at));
    return new Uint8Array([...b.subarray(0, at), ...b.subarray(at + n)]);
  },
  // duplicate a range
  (b, r) => {
    if (b.length === 0) return b;
    const at = r.int(b.length);
    const n = 1 + r.int(Math.min(64, b.length - at));
    return new Uint8Array([...b.subarray(0, at + n), ...b.subarray(at, at + n), ...b.subarray(at + n)]);
  },
  // splice with another sample
  (b, r, o) => new Uint8Array([...b.subarray(0, r.int(b.length + 1)), ...o.subarray(r.int(o.length + 1))]),
  // DER: edit a length octet that follows a constructed/primitive tag
  (b, r) => {
    const idx: number[] = [];
    for (let i = 0; i + 1 < b.length; i++) if ([0x30, 0x31, 0x02, 0x03, 0x04, 0x06, 0xa0, 0xa1, 0x80].includes(b[i]!)) idx.push(i + 1);
    if (idx.length === 0) return b;
    const c = b.slice();
    const i = r.pick(idx);
    c[i] = r.pick([0x00, 0x7f, 0x80, 0x81, 0x82, 0x84, 0x88, 0xff, (c[i]! + 1) & 0xff, (c[i]! - 1) & 0xff]);
    return c;
  },
  // DER: swap a tag for another
  (b, r) => {
    const idx: number[] = [];
    for (let i = 0; i < b.length; i++) if ([0x30, 0x31, 0x02, 0x04, 0x06, 0x0c, 0x13, 0x17, 0xa0].includes(b[i]!)) idx.push(i);
    if (idx.length === 0) return b;
    const c = b.slice();
    c[r.pick(idx)] = r.pick([0x30, 0x31, 0x02, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x17, 0x18, 0xa0, 0xa3, 0x1f, 0x3f]);
    return c;
  },
];

/** 1–4 stacked mutations of `sample` (other: a second sample for splicing). */
export function mutate(sample: Uint8Array, r: Rng, other: Uint8Array): Uint8Array {
  let b = sample;
  const n = 1 + r.int(4);
  for (let i = 0; i < n; i++) b = r.pick(MUTATORS)(b, r, other);
  return b.length > 1 << 20 ? b.subarray(0, 1 << 20) : b;
}
