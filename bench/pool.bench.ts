/**
 * Classifier pool benchmark (run after `npx tsup`; standalone: `npx tsx bench/pool.bench.ts [--quick]`).
 *
 * 1. Throughput: `classifyFile` with 1 and 2 workers on the ../shared/perf synthetic trace (2M packets, 50k
 *    flows, vpn-share 0.24, registered-share 0.5, seed 1): packets/s, flows/s, ratio w2/w1, peak RSS, and the
 *    CPU time of each busy thread (from /proc/self/task/<tid>/schedstat) — on a shared machine wall-clock ratios
 *    depend on the load, the per-thread CPU split shows the ratio the design allows on idle cores.
 * 2. Memory at gateway scale: a purpose-built trace keeping 1M flows open (distinct UDP/TCP tuples, 1–2 packets
 *    each, all within the idle timeout) with 1M registered IPv4 prefixes loaded → peak RSS; then 2M flows
 *    through a 1M-flow cap (eviction) to show RSS stays flat beyond the cap.
 * Every case runs in its own child process so peak RSS belongs to that case alone.
 * The pool runs from the built package (dist/index.js and dist/worker.js), as an embedder runs it: under tsx's
 * loader the main thread's share (reading, merging records) would carry the loader's cost (see RESULTS.md, the
 * flood's method). The throughput case warms every worker with one pass first: its ratio is the warm pool's.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CidrMapBuilder, type CidrMap } from '../src/trie/cidr-map.js';
import { synthTrace } from './classify.bench.js';

const ROOT = resolve(import.meta.dirname, '..');
type Api = typeof import('../src/index.js');
/** The built package (npm run bench builds first). */
const dist = (): Promise<Api> => import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href) as Promise<Api>;
const WORKER = join(ROOT, 'dist', 'worker.js');
const CACHE = join(ROOT, '.cache');

export interface ThroughputRow {
  kind: 'throughput';
  workers: number;
  packets: number;
  flows: number;
  /** Best and median of the timed runs (after one warm-up run). */
  bestMs: number;
  medianMs: number;
  pps: number;
  flowsPerSec: number;
  /** CPU ms per run of the busiest threads (workers first), averaged over the timed runs. */
  threadCpuMs: number[];
  claimed: number[];
  maxRssMB: number;
}

export interface MemoryRow {
  kind: 'memory';
  workers: number;
  flowsInTrace: number;
  maxFlows: number;
  /** maxCapturingFlows (payload-snippet pool cap); default = maxFlows. */
  capturing: number;
  prefixes: number;
  packets: number;
  records: number;
  /** RSS after lists are built and workers started, before the run. */
  baseRssMB: number;
  peakRssMB: number;
  seconds: number;
}

export type PoolBenchRow = ThroughputRow | MemoryRow;

function perfTrace(packets: number, flows: number, seed: number): string {
  return synthTrace(packets, flows, seed, true);
}

/**
 * A trace that keeps `nFlows` flows open: all first packets (client → server), then the second packet of every
 * other flow (server → client), spread over 60 s of capture time (under the 120 s UDP idle timeout). Even
 * flows are UDP with a 16-byte payload, odd flows TCP SYN / SYN-ACK. Half the clients lie in the registered
 * prefix range (16.0.0.0/4, see `registeredPrefixes`).
 */
export function liveFlowsTrace(nFlows: number): string {
  mkdirSync(CACHE, { recursive: true });
  const out = join(CACHE, `liveflows-${nFlows}.pcap`);
  if (existsSync(out)) return out;
  const fd = openSync(out, 'w');
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(65535, 16);
  hdr.writeUInt32LE(1, 20);
  writeSync(fd, hdr);
  const buf = Buffer.alloc(1 << 22);
  let used = 0;
  const total = nFlows + Math.ceil(nFlows / 2);
  const t0 = 1_700_000_000_000_000;
  const stepUs = 60_000_000 / total;
  let k = 0;
  const emit = (i: number, reply: boolean): void => {
    const udp = (i & 1) === 0;
    const l4 = udp ? 8 + 16 : 20;
    const len = 14 + 20 + l4;
    if (used + 16 + len > buf.length) {
      writeSync(fd, buf, 0, used);
      used = 0;
    }
    const ts = t0 + Math.floor(k++ * stepUs);
    buf.writeUInt32LE(Math.floor(ts / 1e6), used);
    buf.writeUInt32LE(ts % 1e6, used + 4);
    buf.writeUInt32LE(len, used + 8);
    buf.writeUInt32LE(len, used + 12);
    const f = used + 16;
    buf.fill(0, f, f + len);
    buf.writeUInt16BE(0x0800, f + 12);
    const ip = f + 14;
    buf[ip] = 0x45;
    buf.writeUInt16BE(20 + l4, ip + 2);
    buf[ip + 8] = 64;
    buf[ip + 9] = udp ? 17 : 6;
    // Client: 16.0.0.0 + i (registered range) for i%4 < 2, else 10.0.0.0 + i; server: 198.18.x.y.
    const client = ((i & 3) < 2 ? 0x10000000 + i : 0x0a000000 + i) >>> 0;
    const server = (0xc6120000 + (i % 65536)) >>> 0;
    buf.writeUInt32BE(reply ? server : client, ip + 12);
    buf.writeUInt32BE(reply ? client : server, ip + 16);
    const cport = 1024 + (i % 60000), sport = udp ? 4500 : 443;
    const t = ip + 20;
    buf.writeUInt16BE(reply ? sport : cport, t);
    buf.writeUInt16BE(reply ? cport : sport, t + 2);
    if (udp) {
      buf.writeUInt16BE(l4, t + 4);
      for (let b = 0; b < 16; b++) buf[t + 8 + b] = (i * 31 + b * 7) & 0xff;
    } else {
      buf[t + 12] = 5 << 4;
      buf[t + 13] = reply ? 0x12 : 0x02;
      buf.writeUInt16BE(65535, t + 14);
    }
    used = f + len;
  };
  for (let i = 0; i < nFlows; i++) emit(i, false);
  for (let i = 0; i < nFlows; i += 2) emit(i, true);
  writeSync(fd, buf, 0, used);
  closeSync(fd);
  return out;
}

/**
 * `n` distinct IPv4 /24 prefixes from 16.0.0.0 upward (n ≤ 2^20 stays inside 16.0.0.0/4), 5,000 registrants.
 * Built through the numeric door (`add4`) with shared value strings, as a gateway loading a big list would:
 * 1M text entries would cost ~200 MB of transient strings that V8 keeps as RSS (measured separately).
 */
export function registeredPrefixes(n: number, Builder: typeof CidrMapBuilder = CidrMapBuilder): CidrMap<string> {
  const names = Array.from({ length: 5000 }, (_, k) => `org-${k}`);
  const b = new Builder<string>();
  for (let k = 0; k < n; k++) b.add4((0x10000000 + k * 256) >>> 0, 24, names[k % 5000]!);
  return b.build();
}

function readList(path: string): [string, string][] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => {
    const i = l.indexOf(',');
    return [l.slice(0, i), l.slice(i + 1)] as [string, string];
  });
}

function threadCpuMs(): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      m.set(t, Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]) / 1e6);
    } catch {
      // thread ended
    }
  }
  return m;
}

const rssMB = () => process.memoryUsage.rss() / 2 ** 20;
const maxRssMB = () => process.resourceUsage().maxRSS / 1024;

async function throughputCase(trace: string, workers: number, runs: number): Promise<ThroughputRow> {
  const { createClassifierPool } = await dist();
  const registered = readList(trace.replace(/\.pcap$/, '.registered.txt'));
  const pool = createClassifierPool({ workers, registered, workerUrl: pathToFileURL(WORKER) });
  try {
    await pool.classifyFile(trace, () => {}); // warm-up: JIT in every worker
    const times: number[] = [];
    let stats = null as Awaited<ReturnType<typeof pool.classifyFile>> | null;
    const c0 = threadCpuMs();
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      let n = 0;
      stats = await pool.classifyFile(trace, () => void n++);
      times.push(performance.now() - t0);
    }
    const c1 = threadCpuMs();
    const cpu = [...c1].map(([t, v]) => (v - (c0.get(t) ?? 0)) / runs).filter((x) => x > 1).sort((a, b) => b - a).slice(0, workers + 1);
    times.sort((a, b) => a - b);
    const best = times[0]!, median = times[Math.floor(times.length / 2)]!;
    return {
      kind: 'throughput', workers, packets: stats!.packets, flows: stats!.flows, bestMs: Math.round(best), medianMs: Math.round(median),
      pps: Math.round(stats!.packets / (best / 1000)), flowsPerSec: Math.round(stats!.flows / (best / 1000)),
      threadCpuMs: cpu.map(Math.round), claimed: stats!.claimed, maxRssMB: Math.round(maxRssMB()),
    };
  } finally {
    await pool.close();
  }
}

async function memoryCase(flows: number, maxFlows: number, prefixes: number, workers: number, capturing = maxFlows): Promise<MemoryRow> {
  const { createClassifierPool, CidrMapBuilder: Builder } = await dist();
  const trace = liveFlowsTrace(flows);
  const pool = createClassifierPool({ workers, registered: registeredPrefixes(prefixes, Builder), workerUrl: pathToFileURL(WORKER), order: 'arrival', flow: { maxFlows, maxCapturingFlows: capturing } });
  try {
    await new Promise((r) => setTimeout(r, 300)); // workers up
    globalThis.gc?.();
    const base = rssMB();
    let peak = base;
    const timer = setInterval(() => {
      const r = rssMB();
      if (r > peak) peak = r;
    }, 20);
    let records = 0;
    const t0 = performance.now();
    const st = await pool.classifyFile(trace, () => void records++);
    clearInterval(timer);
    return {
      kind: 'memory', workers, flowsInTrace: flows, maxFlows, capturing, prefixes, packets: st.packets, records, baseRssMB: Math.round(base),
      peakRssMB: Math.round(Math.max(peak, maxRssMB())), seconds: +((performance.now() - t0) / 1000).toFixed(2),
    };
  } finally {
    await pool.close();
  }
}

type CaseSpec =
  | { kind: 'throughput'; trace: string; workers: number; runs: number }
  | { kind: 'memory'; flows: number; maxFlows: number; prefixes: number; workers: number; capturing?: number };

function runChild(spec: CaseSpec): PoolBenchRow {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(ROOT, 'bench', 'pool.bench.ts'), '--case', JSON.stringify(spec)], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench case ${JSON.stringify(spec)} failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as PoolBenchRow;
}

export interface PoolBenchOptions {
  /** Smaller traces (200k packets; 100k / 200k live flows) for a quick look. */
  quick?: boolean;
  /** Timed runs per throughput case (default 3). */
  runs?: number;
}

/** Run every case (each in a child process) and return the rows. */
export function runPoolBench(opts: PoolBenchOptions = {}): PoolBenchRow[] {
  if (!existsSync(WORKER)) throw new Error('dist/worker.js missing: run `npx tsup` first');
  const q = opts.quick ?? false;
  const runs = opts.runs ?? 3;
  const trace = q ? perfTrace(200_000, 5000, 1) : perfTrace(2_000_000, 50_000, 1);
  const rows: PoolBenchRow[] = [];
  // Interleave 1 and 2 workers so a load change on the machine hits both.
  for (const w of [1, 2, 1, 2]) rows.push(runChild({ kind: 'throughput', trace, workers: w, runs }));
  const M = q ? 100_000 : 1_000_000;
  rows.push(runChild({ kind: 'memory', flows: M, maxFlows: M, prefixes: M, workers: 1 }));
  rows.push(runChild({ kind: 'memory', flows: 2 * M, maxFlows: M, prefixes: M, workers: 1 }));
  rows.push(runChild({ kind: 'memory', flows: 3 * M, maxFlows: M, prefixes: M, workers: 1 }));
  rows.push(runChild({ kind: 'memory', flows: M, maxFlows: M, prefixes: M, workers: 2 }));
  rows.push(runChild({ kind: 'memory', flows: 2 * M, maxFlows: M, prefixes: M, workers: 2 }));
  // The payload-snippet pool is most of the flow table's memory: a gateway can cap it below maxFlows.
  rows.push(runChild({ kind: 'memory', flows: M, maxFlows: M, prefixes: M, workers: 1, capturing: M / 5 }));
  rows.push(runChild({ kind: 'memory', flows: 2 * M, maxFlows: M, prefixes: M, workers: 1, capturing: M / 5 }));
  return rows;
}

export function renderPoolBench(rows: PoolBenchRow[]): string {
  const out: string[] = [];
  const tp = rows.filter((r): r is ThroughputRow => r.kind === 'throughput');
  out.push('workers  packets   flows   best ms  median ms   packets/s   flows/s  thread CPU ms/run        claimed            peak RSS MB');
  for (const r of tp) {
    out.push(`${String(r.workers).padStart(7)}  ${String(r.packets).padStart(8)} ${String(r.flows).padStart(7)} ${String(r.bestMs).padStart(9)} ${String(r.medianMs).padStart(10)} ${String(r.pps).padStart(11)} ${String(r.flowsPerSec).padStart(9)}  ${r.threadCpuMs.join('/').padEnd(24)} ${r.claimed.join('/').padEnd(18)} ${r.maxRssMB}`);
  }
  const best = (w: number) => Math.max(...tp.filter((r) => r.workers === w).map((r) => r.pps));
  if (tp.length) {
    const w1 = tp.filter((r) => r.workers === 1), w2 = tp.filter((r) => r.workers === 2);
    const cpu1 = Math.min(...w1.map((r) => r.threadCpuMs[0]!));
    const cpu2 = Math.min(...w2.map((r) => Math.max(r.threadCpuMs[0]!, r.threadCpuMs[1] ?? 0)));
    out.push(`ratio w2/w1 (best packets/s): ${(best(2) / best(1)).toFixed(2)}   CPU-bound ratio (w1 worker CPU / busiest w2 worker CPU): ${(cpu1 / cpu2).toFixed(2)}`);
  }
  out.push('');
  out.push('workers  flows in trace  maxFlows capturing  prefixes   packets   records  base RSS MB  peak RSS MB  seconds');
  for (const r of rows.filter((x): x is MemoryRow => x.kind === 'memory')) {
    out.push(`${String(r.workers).padStart(7)}  ${String(r.flowsInTrace).padStart(14)} ${String(r.maxFlows).padStart(9)} ${String(r.capturing).padStart(9)} ${String(r.prefixes).padStart(9)} ${String(r.packets).padStart(9)} ${String(r.records).padStart(9)} ${String(r.baseRssMB).padStart(12)} ${String(r.peakRssMB).padStart(12)} ${String(r.seconds).padStart(8)}`);
  }
  out.push(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}, node ${process.version}`);
  return out.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv.slice(2);
  const ci = argv.indexOf('--case');
  if (ci >= 0) {
    const spec = JSON.parse(argv[ci + 1]!) as CaseSpec;
    const row = spec.kind === 'throughput'
      ? await throughputCase(spec.trace, spec.workers, spec.runs)
      : await memoryCase(spec.flows, spec.maxFlows, spec.prefixes, spec.workers, spec.capturing);
    process.stdout.write(`${JSON.stringify(row)}\n`);
  } else {
    const rows = runPoolBench({ quick: argv.includes('--quick') });
    process.stdout.write(`${renderPoolBench(rows)}\n`);
  }
}
