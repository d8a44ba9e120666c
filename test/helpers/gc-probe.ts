/**
 * "Allocates nothing" as a testable claim (netipx tests AllocsPerRun). Two probes around one call of a loop that
 * makes millions of calls: the young-generation collections (scavenges) that start during it, and, when there was
 * none, how far the young generation's used size grew. Small per-call objects fill the young generation many
 * times over (scavenges); a rarer allocation — say a typed array for one call in a few hundred, whose bytes live
 * outside the JS heap — shows as growth. Each test keeps a control that does allocate, so the probe is shown
 * able to fail.
 */
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { expect } from 'vitest';

/** Scavenges that start while `fn` runs (after two warm-up calls, so optimisation and feedback are settled). */
export async function gcsDuring(fn: () => number): Promise<number> {
  return (await youngAllocation(fn)).scavenges;
}

const youngUsed = (): number => {
  let used = 0;
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'new_space') used += s.space_used_size;
  return used;
};

/**
 * Scavenges during one call of `fn`, and the young generation's growth in bytes over that call (Infinity when a
 * scavenge started). The best of `attempts` calls: a real per-call allocation shows in every one, while the JIT can
 * leave one call running less optimised code (a deoptimisation, a tier-up in progress) that boxes numbers as it
 * goes — seen once on Node 22 as one heap number per packet for a whole pass.
 */
export async function youngAllocation(fn: () => number, attempts = 3): Promise<{ scavenges: number; bytes: number }> {
  fn();
  fn();
  let best = { scavenges: Infinity, bytes: Infinity };
  for (let a = 0; a < attempts && best.bytes > 0; a++) {
    const r = await once(fn);
    if (r.bytes < best.bytes || (r.bytes === best.bytes && r.scavenges < best.scavenges)) best = r;
  }
  return best;
}

async function once(fn: () => number): Promise<{ scavenges: number; bytes: number }> {
  const seen: PerformanceEntry[] = [];
  const obs = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  obs.observe({ entryTypes: ['gc'] });
  await new Promise((r) => setTimeout(r, 20));
  const t0 = performance.now();
  const u0 = youngUsed();
  const sink = fn();
  const u1 = youngUsed();
  const t1 = performance.now();
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  expect(sink).toBeGreaterThanOrEqual(0);
  // Only scavenges count: they are what per-call allocation triggers, while a major GC can finish incremental
  // marking started by earlier tests at any time.
  const minor = (e: PerformanceEntry): boolean =>
    (e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR;
  const scavenges = seen.filter((e) => minor(e) && e.startTime >= t0 && e.startTime <= t1).length;
  return { scavenges, bytes: scavenges > 0 ? Infinity : u1 - u0 };
}
