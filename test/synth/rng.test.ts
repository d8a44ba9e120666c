import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng, seedFromText } from '../../src/synth/rng.js';

describe('Rng (sfc32)', () => {
  it('is deterministic per (seed, stream) and differs across seeds and streams', () => {
    const seq = (s: number, st: number): number[] => { const r = new Rng(s, st); return Array.from({ length: 8 }, () => r.u32()); };
    expect(seq(1, 0)).toEqual(seq(1, 0));
    expect(seq(1, 0)).not.toEqual(seq(2, 0));
    expect(seq(1, 0)).not.toEqual(seq(1, 1));
  });

  it('int/range/float stay in bounds (property)', () => {
    fc.assert(fc.property(fc.nat(), fc.integer({ min: 1, max: 1 << 30 }), fc.integer({ min: -1000, max: 1000 }), (seed, n, lo) => {
      const r = new Rng(seed);
      for (let i = 0; i < 50; i++) {
        const x = r.int(n);
        expect(Number.isInteger(x) && x >= 0 && x < n).toBe(true);
        const y = r.range(lo, lo + 10);
        expect(y >= lo && y <= lo + 10).toBe(true);
        const f = r.float();
        expect(f >= 0 && f < 1).toBe(true);
      }
    }), { numRuns: 100 });
  });

  it('is roughly uniform (chi-square over 16 buckets)', () => {
    const r = new Rng(42);
    const b = new Array(16).fill(0) as number[];
    const N = 160000;
    for (let i = 0; i < N; i++) b[r.int(16)]!++;
    const e = N / 16;
    const chi = b.reduce((s, x) => s + ((x - e) ** 2) / e, 0);
    expect(chi).toBeLessThan(40); // 15 dof: p ≈ 0.0005
  });

  it('seedFromText: decimal text is the number, other text hashes stably', () => {
    expect(seedFromText('42')).toBe(42);
    expect(seedFromText('abc')).toBe(seedFromText('abc'));
    expect(seedFromText('abc')).not.toBe(seedFromText('abd'));
  });
});
