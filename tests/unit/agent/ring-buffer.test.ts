import { RingBuffer } from '../../../agent/ring-buffer';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('RingBuffer', () => {
  it('holds everything while under capacity', () => {
    const r = new RingBuffer(8);
    r.push(bytes('abc'));
    r.push(bytes('de'));
    expect(r.length).toBe(5);
    expect(text(r.snapshot())).toBe('abcde');
  });

  it('keeps the newest bytes when writes wrap around', () => {
    const r = new RingBuffer(8);
    r.push(bytes('abcdef'));
    r.push(bytes('ghij'));
    expect(r.length).toBe(8);
    expect(text(r.snapshot())).toBe('cdefghij');
    r.push(bytes('k'));
    expect(text(r.snapshot())).toBe('defghijk');
  });

  it('keeps the tail of a write longer than the ring', () => {
    const r = new RingBuffer(4);
    r.push(bytes('xy'));
    r.push(bytes('0123456789'));
    expect(text(r.snapshot())).toBe('6789');
  });

  it('handles a write of exactly the capacity and empty writes', () => {
    const r = new RingBuffer(4);
    r.push(bytes('ab'));
    r.push(bytes('cdef'));
    r.push(new Uint8Array(0));
    expect(text(r.snapshot())).toBe('cdef');
  });

  it('returns a copy, and clears', () => {
    const r = new RingBuffer(4);
    r.push(bytes('ab'));
    const s = r.snapshot();
    r.push(bytes('cd'));
    expect(text(s)).toBe('ab');
    r.clear();
    expect(r.length).toBe(0);
    expect(r.snapshot()).toHaveLength(0);
  });

  it('matches a naive model over many random writes', () => {
    const r = new RingBuffer(64);
    let model = '';
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 500; i++) {
      const chunk = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(4).slice(0, Math.floor(rand() * 100));
      r.push(bytes(chunk));
      model = (model + chunk).slice(-64);
      expect(text(r.snapshot())).toBe(model);
    }
  });

  it('refuses a capacity below 1', () => {
    expect(() => new RingBuffer(0)).toThrow(RangeError);
  });
});
