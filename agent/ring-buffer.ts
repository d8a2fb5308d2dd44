/**
 * A fixed-size byte ring: keeps the last `capacity` bytes written to it. A terminal session keeps
 * its recent output here so a viewer that re-attaches sees the screen it left, without the agent
 * ever holding more than `capacity` bytes per session.
 */
export class RingBuffer {
  private readonly buf: Uint8Array;
  /** index the next byte goes to */
  private head = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive whole number');
    this.buf = new Uint8Array(capacity);
  }

  /** bytes held (at most capacity) */
  get length(): number {
    return this.size;
  }

  push(bytes: Uint8Array): void {
    // only the tail can survive a write at least as long as the ring
    const src = bytes.length > this.capacity ? bytes.subarray(bytes.length - this.capacity) : bytes;
    const first = Math.min(src.length, this.capacity - this.head);
    this.buf.set(src.subarray(0, first), this.head);
    if (first < src.length) this.buf.set(src.subarray(first), 0);
    this.head = (this.head + src.length) % this.capacity;
    this.size = Math.min(this.capacity, this.size + src.length);
  }

  /** the held bytes, oldest first, as a copy */
  snapshot(): Uint8Array {
    const out = new Uint8Array(this.size);
    const start = (this.head - this.size + this.capacity) % this.capacity;
    const first = Math.min(this.size, this.capacity - start);
    out.set(this.buf.subarray(start, start + first), 0);
    if (first < this.size) out.set(this.buf.subarray(0, this.size - first), first);
    return out;
  }

  clear(): void {
    this.head = 0;
    this.size = 0;
  }
}
