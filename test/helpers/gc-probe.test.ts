/**
 * The allocation probe itself (issue 18, defect 9: a control read 0 under load because its allocation fitted in the
 * young generation without a scavenge, and the controls asserted on scavenges). The probe now counts young-generation
 * bytes across collections: an allocation is seen whether it fits without a collection or spans many.
 */
import { describe, expect, it } from 'vitest';
import { expectAllocationSeen, youngAllocation } from './gc-probe.js';

describe('gc-probe', () => {
  const keep: unknown[] = new Array(64);
  const allocate = (n: number) => (): number => {
    for (let i = 0; i < n; i++) keep[i & 63] = [i, i];
    return n;
  };

  it('a small allocation that fits in the young generation (no scavenge needed) is seen', async () => {
    const r = await youngAllocation(allocate(2_000)); // ~64 KB
    expectAllocationSeen(r, 2_000 * 16);
    expect(r.bytes).toBeLessThan(2_000 * 200);
  });

  it('an allocation far larger than the young generation is counted across its scavenges', async () => {
    const r = await youngAllocation(allocate(4_000_000)); // ≥ 64 MB
    expect(r.scavenges).toBeGreaterThan(0);
    expectAllocationSeen(r, 4_000_000 * 16);
  });

  it('a loop that allocates nothing reads (almost) nothing', async () => {
    let x = 0;
    const r = await youngAllocation(() => {
      for (let i = 0; i < 1_000_000; i++) x = (x + i) | 0;
      return x & 1;
    });
    expect(r.scavenges).toBe(0);
    expect(r.bytes).toBeLessThan(16 * 1024);
  });
});
