/**
 * "Allocates nothing" as a testable claim (netipx tests AllocsPerRun). The probe measures one call of a loop that
 * makes millions of calls: the young-generation collections (scavenges) that run during it, and the bytes allocated
 * in the young generation during it — counted across collections, from the heap statistics V8's GC profiler records
 * before and after each one (v8.GCProfiler: synchronous, nothing is lost or late). Allocation between two
 * collections is the young generation's growth over that interval; a collection empties it; the sum is what was
 * allocated, however many collections ran.
 *
 * Each test keeps a control that does allocate, so the probe is shown able to fail. A control must assert on
 * `bytes`, never on `scavenges` alone: a control's allocation can fit in the young generation without a scavenge
 * (under load the young generation grows; issue 18 saw a control read 0 scavenges), while its bytes are always
 * counted. For the same reason a claim of "no allocation" must bound `bytes`, not only `scavenges`.
 */
import { GCProfiler, getHeapSpaceStatistics } from 'node:v8';
import { expect } from 'vitest';

const YOUNG = new Set(['new_space', 'new_large_object_space']);

const youngUsed = (): number => {
  let used = 0;
  for (const s of getHeapSpaceStatistics()) if (YOUNG.has(s.space_name)) used += s.space_used_size;
  return used;
};

interface SpaceStats {
  spaceName: string;
  spaceUsedSize: number;
}
interface GcEntry {
  gcType: string;
  beforeGC: { heapSpaceStatistics: SpaceStats[] };
  afterGC: { heapSpaceStatistics: SpaceStats[] };
}

const youngOf = (spaces: SpaceStats[]): number => {
  let used = 0;
  for (const s of spaces) if (YOUNG.has(s.spaceName)) used += s.spaceUsedSize;
  return used;
};

/**
 * Scavenges during one call of `fn`, and the bytes allocated in the young generation during that call. The best
 * of `attempts` calls (after two warm-up calls, so optimisation and feedback are settled): a real per-call
 * allocation shows in every one, while the JIT can leave one call running less optimised code (a deoptimisation, a
 * tier-up in progress) that boxes numbers as it goes — seen once on Node 22 as one heap number per packet for a
 * whole pass.
 */
export async function youngAllocation(fn: () => number, attempts = 3): Promise<{ scavenges: number; bytes: number }> {
  fn();
  fn();
  let best = { scavenges: Infinity, bytes: Infinity };
  for (let a = 0; a < attempts && (best.bytes > 0 || best.scavenges > 0); a++) {
    const r = await once(fn);
    if (r.bytes < best.bytes || (r.bytes === best.bytes && r.scavenges < best.scavenges)) best = r;
  }
  return best;
}

/** Scavenges that run during one call of `fn` (see youngAllocation; a "none" claim should also bound the bytes). */
export async function gcsDuring(fn: () => number): Promise<number> {
  return (await youngAllocation(fn)).scavenges;
}

/** The control's assertion: the probe saw at least `minBytes` allocated (certain, unlike a scavenge count). */
export function expectAllocationSeen(r: { bytes: number }, minBytes: number): void {
  expect(r.bytes).toBeGreaterThanOrEqual(minBytes);
}

async function once(fn: () => number): Promise<{ scavenges: number; bytes: number }> {
  await new Promise((r) => setTimeout(r, 20));
  const profiler = new GCProfiler();
  const u0 = youngUsed();
  profiler.start();
  const sink = fn();
  // Read before stop(): stop() parses the profile into JS objects, which would count as fn's allocation.
  const u1 = youngUsed();
  const { statistics } = profiler.stop() as { statistics: GcEntry[] };
  expect(sink).toBeGreaterThanOrEqual(0);
  let bytes = 0;
  let last = u0;
  let scavenges = 0;
  for (const g of statistics) {
    bytes += Math.max(0, youngOf(g.beforeGC.heapSpaceStatistics) - last);
    last = youngOf(g.afterGC.heapSpaceStatistics);
    // Only scavenges count as "collections the call caused": a major GC can finish incremental marking started by
    // earlier tests at any time (its bytes are still counted above).
    if (g.gcType === 'Scavenge' || g.gcType === 'MinorMarkSweep' || g.gcType === 'MinorMarkCompact') scavenges++;
  }
  bytes += Math.max(0, u1 - last);
  return { scavenges, bytes };
}
