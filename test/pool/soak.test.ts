/**
 * Soak: a long synthetic stream through one session with a small flow cap. Memory (heap after GC) must stay
 * flat after warm-up, and eviction must neither lose nor duplicate anything: every packet is in exactly one
 * record, no (tuple, firstSeen) is emitted twice, and per unordered tuple the packet sums equal the truth's.
 * Bounded: 12 passes over a 100k-packet trace (1.2M packets), a few seconds (≤ 30 s on a loaded 2-core machine).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, expect, it } from 'vitest';
import { createClassifier } from '../../src/classify/classifier.js';
import type { FlowRecord } from '../../src/classify/record.js';
import { readCaptureFile } from '../../src/trace/reader.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const PASSES = 12;
const MAX_FLOWS = 2000;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let dir = '';
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const tupleKey = (transport: string, a: string, b: string) => `${transport} ${a < b ? a : b} ${a < b ? b : a}`;

it('memory stays flat and no flow is lost or emitted twice under eviction', async () => {
  if (!existsSync(CLI)) throw new Error('dist/ is not built: run `npx tsup --silent` first');
  dir = mkdtempSync(join(tmpdir(), 'ts-soak-'));
  const trace = join(dir, 's.pcap');
  execFileSync(process.execPath, [CLI, 'synth', '--packets', '100000', '--flows', '3000', '--seed', '5', '--out', trace, '-q']);
  const truth = readFileSync(join(dir, 's.truth.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { transport: string; src: string; dst: string; packets: number });
  const truthPackets = new Map<string, number>();
  for (const t of truth) truthPackets.set(tupleKey(t.transport, t.src, t.dst), (truthPackets.get(tupleKey(t.transport, t.src, t.dst)) ?? 0) + t.packets);
  const truthTotal = truth.reduce((s, t) => s + t.packets, 0);

  const session = createClassifier().session({ flow: { maxFlows: MAX_FLOWS } });
  // Per pass: every pass shifts capture time, so a (tuple, firstSeen) repeat can only occur within a pass.
  let seen = new Set<string>();
  let nRecords = 0;
  let passRecords: FlowRecord[] = [];
  let duplicates = 0;
  session.on('flow', (r: FlowRecord) => {
    const k = `${r.transport} ${r.src} ${r.dst} ${r.vlan ?? ''} ${r.encap ?? ''} ${r.firstSeen}`;
    if (seen.has(k)) duplicates++;
    seen.add(k);
    nRecords++;
    passRecords.push(r);
  });
  /** heap[pass][j]: heapUsed after GC at the j-th sample point of the pass (same packet positions each pass). */
  const heap: number[][] = [];
  let maxLive = 0;
  let packetsInPass = 0;
  let span = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    // Each pass replays the trace later in capture time, so its flows are new flows (the previous pass's
    // leftovers end by idle timeout or eviction).
    const shiftUs = pass * (span + 3_600_000_000);
    let first = -1, last = 0;
    packetsInPass = 0;
    const samples: number[] = [];
    heap.push(samples);
    await readCaptureFile(trace, (raw) => {
      if (first < 0) first = raw.tsUs;
      last = raw.tsUs;
      raw.tsUs += shiftUs;
      session.pushRaw(raw);
      packetsInPass++;
      if ((packetsInPass & 0x3fff) === 0) {
        if (session.liveFlows > maxLive) maxLive = session.liveFlows;
        if (packetsInPass % 49152 === 0) {
          gc();
          samples.push(process.memoryUsage().heapUsed);
        }
      }
    });
    span = last - first;
    // Close the pass: advance the clock past every idle timeout so all of its flows are emitted.
    session.advance(last + shiftUs + 3_600_000_000);
    expect(session.liveFlows).toBe(0);
    expect(packetsInPass).toBe(truthTotal);
    // Every packet is in exactly one record, and per tuple the split records add up to the truth flow(s).
    expect(passRecords.reduce((s, r) => s + r.packets, 0)).toBe(truthTotal);
    const got = new Map<string, number>();
    for (const r of passRecords) got.set(tupleKey(r.transport, r.src, r.dst), (got.get(tupleKey(r.transport, r.src, r.dst)) ?? 0) + r.packets);
    expect(got).toEqual(truthPackets);
    expect(passRecords.length).toBeGreaterThanOrEqual(truth.length);
    passRecords = [];
    seen = new Set();
  }
  session.end();
  expect(duplicates).toBe(0);
  expect(maxLive).toBeLessThanOrEqual(MAX_FLOWS);
  expect(session.stats.flows).toBe(nRecords);
  // Heap after GC at the same stream positions: passes after the first two (warm-up) grow by < 4 MiB.
  const base = heap[1]!;
  expect(base.length).toBeGreaterThan(0);
  let growth = 0;
  for (let p = 2; p < PASSES; p++) {
    expect(heap[p]!.length).toBe(base.length);
    for (let j = 0; j < base.length; j++) growth = Math.max(growth, heap[p]![j]! - base[j]!);
  }
  expect(growth).toBeLessThan(4 * 1024 * 1024);
}, 120_000);
