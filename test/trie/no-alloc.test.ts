/**
 * "Lookups allocate nothing" as a testable claim (probe: ../helpers/gc-probe.ts). A control that does allocate
 * proves the probe can fail.
 */
import { describe, expect, it } from 'vitest';
import { CidrMap } from '../../src/trie/cidr-map.js';
import { expectAllocationSeen, youngAllocation } from '../helpers/gc-probe.js';

const N = 1_000_000;

describe('hot paths allocate nothing', () => {
  const entries: [string, number][] = [];
  for (let i = 0; i < 2000; i++) {
    const a = (0x0a000000 + i * 4096) >>> 0;
    entries.push([`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.0/${20 + (i % 13)}`.replace(/\.0\/(2[5-9]|3[0-2])$/, '.0/24'), i]);
    entries.push([`2001:db8:${i.toString(16)}::/48`, i]);
    entries.push([`2001:db8:${i.toString(16)}:8000::/49`, -i]);
  }
  const m = CidrMap.from(entries, { normalize: true });
  const u32 = new Uint32Array(4096);
  const bytes = new Uint8Array(16 * 4096);
  const s4: string[] = [];
  const s6: string[] = [];
  const s6c: string[] = [];
  for (let i = 0; i < 4096; i++) {
    u32[i] = (0x0a000000 + i * 7919 * 13) >>> 0;
    s4.push(`10.${(i * 7) & 255}.${(i * 13) & 255}.${i & 255}`);
    s6.push(`2001:db8:${(i % 2100).toString(16)}:${((i * 31) & 0xffff).toString(16)}:0:0:0:${i.toString(16)}`);
    s6c.push(`2001:db8:${(i % 2100).toString(16)}::${i.toString(16)}`);
    bytes.set([0x20, 0x01, 0x0d, 0xb8, (i >> 8) & 255, i & 255, (i * 31) & 255], 16 * i);
    if (i % 3 === 0) bytes.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, i & 255], 16 * i);
  }
  const run = (f: (i: number) => boolean): (() => number) => () => {
    let hits = 0;
    for (let i = 0; i < N; i++) if (f(i & 4095)) hits++;
    return hits;
  };

  /** No scavenge and no more than the probe's own reading: a 16-byte object per call would be 16 MB. */
  const none = async (f: () => number): Promise<void> => {
    const r = await youngAllocation(f);
    expect(r.scavenges).toBe(0);
    expect(r.bytes).toBeLessThanOrEqual(16 * 1024);
  };

  it('control: match() allocates and the probe notices', async () => {
    // A result per call (1M; ~13 bytes each measured): asserted on bytes, which the probe always counts (a scavenge may not happen).
    expectAllocationSeen(await youngAllocation(run((i) => m.match(s4[i]!) !== undefined)), N * 4);
  });
  it('lookup4 / contains4 / matchIndex4', async () => {
    await none(run((i) => m.lookup4(u32[i]!) !== undefined && m.matchIndex4(u32[i]!) >= 0));
  });
  it('lookup6 / contains6 (including IPv4-mapped bytes)', async () => {
    await none(run((i) => m.lookup6(bytes, 16 * i) !== undefined || m.contains6(bytes, 16 * i)));
  });
  it('lookup(string) for IPv4 and IPv6 text (full and compressed)', async () => {
    await none(run((i) => m.lookup(s4[i]!) !== undefined));
    await none(run((i) => m.contains(s6[i]!)));
    await none(run((i) => m.lookup(s6c[i]!) !== undefined));
  });
});
