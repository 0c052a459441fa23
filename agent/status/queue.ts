// Bounded buffers for the time the broker is unreachable: a ring that drops its oldest entry (and counts the
// drops) for events, and a latest-wins slot for state/status (only the newest retained value matters).

export class Ring<T> {
  private readonly buf: Array<T | undefined>;
  private head = 0;
  private count = 0;
  /** Entries dropped since construction because the ring was full. */
  dropped = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('ring capacity must be a positive integer');
    this.buf = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Appends; when full, overwrites the oldest entry and returns it (counted in `dropped`). */
  push(item: T): T | undefined {
    if (this.count < this.capacity) {
      this.buf[(this.head + this.count) % this.capacity] = item;
      this.count++;
      return undefined;
    }
    const old = this.buf[this.head];
    this.buf[this.head] = item;
    this.head = (this.head + 1) % this.capacity;
    this.dropped++;
    return old;
  }

  /** Removes and returns the oldest entry. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return item;
  }

  /** Puts an entry back at the front (a send that could not start). Drops it if the ring filled up meanwhile. */
  unshift(item: T): boolean {
    if (this.count >= this.capacity) {
      this.dropped++;
      return false;
    }
    this.head = (this.head - 1 + this.capacity) % this.capacity;
    this.buf[this.head] = item;
    this.count++;
    return true;
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.buf[this.head];
  }

  toArray(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.buf[(this.head + i) % this.capacity] as T);
    return out;
  }

  clear(): void {
    this.buf.fill(undefined);
    this.head = 0;
    this.count = 0;
  }
}

/**
 * Latest-wins: keeps the newest value and whether it still has to be sent. `replaced` counts values that were
 * superseded before being sent (they are not lost information for retained topics: the newer value replaces them).
 */
export class LatestSlot<T> {
  private value: T | undefined;
  private pending = false;
  replaced = 0;

  set(value: T): void {
    if (this.pending) this.replaced++;
    this.value = value;
    this.pending = true;
  }

  /** The newest value, sent or not. */
  get latest(): T | undefined {
    return this.value;
  }

  get isPending(): boolean {
    return this.pending;
  }

  /** Takes the value for sending (it stays available as `latest`). */
  take(): T | undefined {
    if (!this.pending) return undefined;
    this.pending = false;
    return this.value;
  }

  /** Marks the latest value as to be sent again (after a reconnect). No-op when there is none. */
  resend(): void {
    if (this.value !== undefined) this.pending = true;
  }
}
