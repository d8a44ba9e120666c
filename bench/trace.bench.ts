/**
 * Trace-layer benchmark: packets/s for read, read+decode, and read+decode+flow tracking on a synthetic
 * 1M-packet / ~50k-flow trace (built in memory with PcapWriter + buildFrame, fixed seed) and on the dev corpus
 * concatenated; peak RSS; bytes of flow state per tracked flow at 1M live flows (with and without payload
 * snippets); and the LRU touch cost of the typed-array intrusive list vs lru-cache.
 *
 * Run: `node --expose-gc --import tsx bench/trace.bench.ts` (or `npx tsx bench/trace.bench.ts`; without
 * --expose-gc the memory figures are noisier). Env: TRACE_BENCH_PACKETS, TRACE_BENCH_FLOWS, TRACE_BENCH_SEED.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LRUCache } from 'lru-cache';
import { Bench } from 'tinybench';
import { Decoder, newPacketView } from '../src/trace/decode.js';
import { FlowTable, type FlowTableOptions } from '../src/trace/flow-table.js';
import { buildFrame, TCP_ACK, TCP_SYN } from '../src/trace/frame-builder.js';
import { PcapWriter } from '../src/trace/pcap-writer.js';
import { CaptureReader } from '../src/trace/reader.js';
import type { PacketView, RawPacket } from '../src/trace/types.js';

export interface TraceBenchRow {
  name: string;
  packets: number;
  flows: number;
  seconds: number;
  /** Packets per second (best of the runs). */
  pps: number;
  note?: string;
}

/** Small seeded PRNG for reproducible bench workloads. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Synthetic capture as pcap chunks: `flows` flows (70 % TCP, 25 % UDP, 5 % IPv6 UDP), packets spread over
 * flows with a skew (some heavy flows), both directions, payload 0-160 bytes, 1 ms apart on average.
 */
export function synthChunks(packets: number, flows: number, seed: number): Uint8Array[] {
  const rnd = mulberry32(seed);
  const tmpl: { c2s: Uint8Array; s2c: Uint8Array; syn: Uint8Array }[] = [];
  const payloads = [0, 0, 16, 48, 100, 160].map((n) => new Uint8Array(n).fill(0x42));
  for (let i = 0; i < flows; i++) {
    const r = rnd();
    const v6 = r > 0.95, tcp = r < 0.7;
    const cli = v6 ? `2001:db8:${(i >>> 16).toString(16)}::${(i & 0xffff).toString(16)}` : `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
    const srv = v6 ? `2001:db8:ffff::${(i % 97).toString(16)}` : `198.51.100.${i % 251}`;
    const sp = 1024 + (i % 60000), dp = tcp ? 443 : 53 + (i % 3) * 100;
    const proto = tcp ? 6 : 17;
    const pl = payloads[Math.floor(rnd() * payloads.length)]!;
    tmpl.push({
      c2s: buildFrame({ src: cli, dst: srv, proto, srcPort: sp, dstPort: dp, payload: pl }),
      s2c: buildFrame({ src: srv, dst: cli, proto, srcPort: dp, dstPort: sp, payload: payloads[Math.floor(rnd() * payloads.length)]! }),
      syn: buildFrame({ src: cli, dst: srv, proto, srcPort: sp, dstPort: dp, tcpFlags: tcp ? TCP_SYN : TCP_ACK }),
    });
  }
  const w = new PcapWriter();
  const started = new Uint8Array(flows);
  let ts = 1_700_000_000_000_000;
  const chunks: Uint8Array[] = [];
  for (let k = 0; k < packets; k++) {
    // Skewed flow choice: square of a uniform number favours low indices (heavy hitters).
    const u = rnd();
    const f = Math.min(flows - 1, Math.floor(u * u * flows * 0.5 + rnd() * flows * 0.5));
    const t = tmpl[f]!;
    ts += Math.floor(rnd() * 2000);
    if (started[f] === 0) {
      started[f] = 1;
      w.packet(ts, t.syn);
    } else w.packet(ts, rnd() < 0.5 ? t.c2s : t.s2c);
    if ((k & 0xffff) === 0xffff) chunks.push(...w.drain());
  }
  chunks.push(...w.drain());
  return chunks;
}

type Stage = 'read' | 'decode' | 'track';

/** One pass over chunks; returns [packets, flows]. */
function pass(chunks: readonly Uint8Array[], stage: Stage, opts: FlowTableOptions): [number, number] {
  const reader = new CaptureReader('bench');
  const dec = new Decoder();
  const view: PacketView = newPacketView();
  let n = 0, ended = 0;
  const table = new FlowTable(opts, { onEnd() { ended++; } });
  const cb =
    stage === 'read'
      ? (_r: RawPacket) => { n++; }
      : stage === 'decode'
        ? (r: RawPacket) => { n++; dec.decode(r, view); }
        : (r: RawPacket) => { n++; if (dec.decode(r, view)) table.add(view); };
  for (const c of chunks) reader.push(c, cb);
  reader.end(cb);
  table.flush();
  return [n, ended];
}

function timeBest(name: string, runs: number, fn: () => [number, number], note?: string): TraceBenchRow {
  let best = Infinity, packets = 0, flows = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    [packets, flows] = fn();
    const dt = (performance.now() - t0) / 1000;
    if (dt < best) best = dt;
  }
  return { name, packets, flows, seconds: best, pps: packets / best, ...(note !== undefined ? { note } : {}) };
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function memNow(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Bytes of state per live flow: fill a table with `n` distinct UDP flows (no eviction) and divide the memory
 * delta (heapUsed + arrayBuffers, after GC) by n. `withPayload`: each flow records one payload packet, so every
 * flow holds a snippet-pool slot (the worst case: nothing called stopCapture()).
 */
export function bytesPerFlow(n: number, withPayload: boolean, opts: FlowTableOptions = {}): { measured: number; accounted: number } {
  const data = new Uint8Array(64);
  const v: PacketView = {
    ...newPacketView(), data, ipVersion: 4, proto: 17, wireLen: 60, payloadOff: 28,
    payloadLen: withPayload ? 32 : 0, payloadWireLen: withPayload ? 32 : 0,
  };
  const before = memNow();
  const table = new FlowTable({ maxFlows: n, ...opts }, { onEnd() {} });
  for (let i = 0; i < n; i++) {
    v.src4 = (0x0a000000 + i) >>> 0;
    v.dst4 = 0xc6336401;
    v.srcPort = 1024 + (i & 0x7fff);
    v.dstPort = 53;
    v.tsUs = 1_700_000_000_000_000 + i;
    table.add(v);
  }
  const after = memNow();
  if (table.size !== n) throw new Error(`expected ${n} live flows, got ${table.size}`);
  const accounted = table.memoryBytes() / n;
  table.flush();
  return { measured: (after - before) / n, accounted };
}

/**
 * LRU touch cost, the part where lru-cache could replace our list: given a flow's slot (the flow table has it
 * from its hash probe anyway), move it to the most-recent end. Intrusive Int32Array prev/next list (what
 * FlowTable does) vs lru-cache `get(slot)` (Map lookup + its own typed-array list move).
 */
async function lruCompare(keys: Uint32Array, nKeys: number): Promise<{ name: string; nsPerOp: number }[]> {
  const lru = new LRUCache<number, number>({ max: nKeys });
  for (let i = 0; i < nKeys; i++) lru.set(i, i);
  const prev = new Int32Array(nKeys), next = new Int32Array(nKeys);
  let head = 0, tail = nKeys - 1;
  for (let i = 0; i < nKeys; i++) { prev[i] = i - 1; next[i] = i + 1 < nKeys ? i + 1 : -1; }
  const touch = (s: number): void => {
    if (s === head) return;
    const p = prev[s]!, n = next[s]!;
    next[p] = n;
    if (n !== -1) prev[n] = p; else tail = p;
    prev[s] = -1; next[s] = head; prev[head] = s; head = s;
  };
  let sink = 0;
  const bench = new Bench({ time: 300, warmupTime: 50 });
  bench.add('intrusive Int32Array list touch', () => {
    for (let i = 0; i < keys.length; i++) touch(keys[i]!);
  });
  bench.add('lru-cache get (recency update)', () => {
    for (let i = 0; i < keys.length; i++) sink += lru.get(keys[i]!) ?? 0;
  });
  await bench.run();
  if (sink < 0 || tail < -1) console.log(sink);
  return bench.tasks.map((t) => ({ name: t.name, nsPerOp: ((t.result as { latency?: { mean: number } }).latency?.mean ?? NaN) * 1e6 / keys.length }));
}

export async function runTraceBench(): Promise<{ rows: TraceBenchRow[]; memory: Record<string, number>; lru: { name: string; nsPerOp: number }[]; env: Record<string, string | number> }> {
  const packets = Number(process.env['TRACE_BENCH_PACKETS'] ?? 1_000_000);
  const flows = Number(process.env['TRACE_BENCH_FLOWS'] ?? 50_000);
  const seed = Number(process.env['TRACE_BENCH_SEED'] ?? 42);
  const env = { node: process.version, cpu: cpus()[0]?.model ?? '?', cores: cpus().length, packets, flows, seed };
  const rows: TraceBenchRow[] = [];
  const memory: Record<string, number> = {};
  const t0 = performance.now();
  let chunks = synthChunks(packets, flows, seed);
  const bytes = chunks.reduce((a, c) => a + c.length, 0);
  const buildS = (performance.now() - t0) / 1000;
  const runs = Number(process.env["TRACE_BENCH_RUNS"] ?? 6); // best of N: the machine is shared, early runs include JIT warm-up
  rows.push(timeBest('synth: read', runs, () => pass(chunks, 'read', {}), `${(bytes / 1e6).toFixed(0)} MB, built in ${buildS.toFixed(1)} s`));
  rows.push(timeBest('synth: read+decode', runs, () => pass(chunks, 'decode', {})));
  rows.push(timeBest('synth: read+decode+track (defaults, 8×48 B snippets)', runs, () => pass(chunks, 'track', {})));
  rows.push(timeBest('synth: read+decode+track (no snippets)', runs, () => pass(chunks, 'track', { maxPayloadPackets: 0 })));
  memory['peakRssMB_synthPipeline'] = process.resourceUsage().maxRSS / 1024; // includes the in-memory trace
  chunks = [];

  const dir = '/work/shared/corpus/pcap';
  if (existsSync(dir)) {
    const files = readdirSync(dir).sort().map((f) => readFileSync(join(dir, f)));
    // Each capture has its own header, so one reader per capture; one decoder and one flow table across the
    // whole concatenation (as for one long trace), several rounds so timing is not all warm-up.
    const rounds = 20;
    const corpusPass = (stage: Stage): [number, number] => {
      const dec = new Decoder();
      const view = newPacketView();
      let p = 0, f = 0;
      const table = new FlowTable({}, { onEnd() { f++; } });
      const cb =
        stage === 'decode'
          ? (r: RawPacket) => { p++; dec.decode(r, view); }
          : (r: RawPacket) => { p++; if (dec.decode(r, view)) table.add(view); };
      for (let r = 0; r < rounds; r++) {
        for (const b of files) {
          const reader = new CaptureReader('corpus');
          reader.push(b, cb);
          reader.end(cb);
        }
        table.flush(); // next round replays the same tuples: start clean
      }
      return [p, f];
    };
    rows.push(timeBest(`corpus ×${rounds}: read+decode`, runs, () => corpusPass('decode'), `${files.length} captures`));
    rows.push(timeBest(`corpus ×${rounds}: read+decode+track`, runs, () => corpusPass('track')));
  }


  // State per flow last, after dropping the trace and GC (a live trace being collected would blur the deltas).
  const nFlows = Number(process.env['TRACE_BENCH_STATE_FLOWS'] ?? 1_000_000);
  bytesPerFlow(20_000, true); // warm-up: compile the paths, settle the heap
  const noPay = bytesPerFlow(nFlows, false);
  memory['bytesPerFlow_noSnippets_measured'] = noPay.measured;
  memory['bytesPerFlow_noSnippets_accounted'] = noPay.accounted;
  const withPay = bytesPerFlow(nFlows, true);
  memory['bytesPerFlow_allCapturing_8x48_measured'] = withPay.measured;
  memory['bytesPerFlow_allCapturing_8x48_accounted'] = withPay.accounted;
  memory['peakRssMB_all'] = process.resourceUsage().maxRSS / 1024;

  const rnd = mulberry32(seed);
  const keys = new Uint32Array(100_000);
  for (let i = 0; i < keys.length; i++) keys[i] = Math.floor(rnd() * 50_000);
  const lru = await lruCompare(keys, 50_000);
  return { rows, memory, lru, env };
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await runTraceBench();
  console.log(`trace bench — node ${r.env.node}, ${r.env.cpu} (${r.env.cores} cores), synth ${r.env.packets} packets / ${r.env.flows} flows, seed ${r.env.seed}`);
  console.table(r.rows.map((x) => ({ name: x.name, packets: x.packets, flows: x.flows, seconds: x.seconds.toFixed(3), 'packets/s': fmt(x.pps), note: x.note ?? '' })));
  console.table(Object.fromEntries(Object.entries(r.memory).map(([k, v]) => [k, Math.round(v * 10) / 10])));
  console.table(r.lru.map((x) => ({ name: x.name, 'ns/op': x.nsPerOp.toFixed(1) })));
}
