/**
 * The receiver of bench/datagram-flood.ts, in plain JavaScript and run by plain `node` on the built package
 * (dist/), as an embedder runs it: under tsx's loader every module, dist/ included, is re-transformed with
 * export getters and inline source maps, which cost the adapter ~1 µs per datagram that users never pay.
 *
 *   node --expose-gc bench/flood-receiver.mjs --mode plain|adapter --host H [--max-bytes N] [--impl MODULE]
 *        [--pool WORKERS [--worker-cpu CPU]]
 *
 * `--pool`: the adapter classifies on a ClassifierPool of that many workers (off the receiving thread); with
 * `--worker-cpu` the workers' threads are moved to that CPU (taskset -p), away from the receiver's.
 * Prints `port N`, counts datagrams from `mark` on stdin (warm-up before it), and on `done` prints one JSON row.
 */
import dgram from 'node:dgram';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

const argv = process.argv.slice(2);
const arg = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const mode = arg('--mode');
const host = arg('--host');
const maxBytes = arg('--max-bytes');
const impl = arg('--impl');
const poolWorkers = arg('--pool') === undefined ? 0 : Number(arg('--pool'));
const workerCpu = arg('--worker-cpu');
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const mem = () => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
// Load everything first so the baseline holds the modules and lists, not the tuples.
const { createClassifier, createClassifierPool } = await import(new URL('../dist/index.js', import.meta.url).href);
const { DatagramClassifier } = await import(impl ? pathToFileURL(impl).href : new URL('../dist/node.js', import.meta.url).href);
const classifier = createClassifier({ registered: [['10.0.0.0/8', 'corp']] });
const sock = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 * 1024 * 1024 });
sock.bind(0, host);
await once(sock, 'listening');
const base = mem();
let received = 0;
let first = 0;
let last = 0;
let cpu0 = process.cpuUsage();
// The receiving thread's own busy time (the event loop outside its wait for I/O): with a pool, process CPU counts
// the workers' threads too.
let elu0 = performance.eventLoopUtilization();
// The longest gap between two datagrams read: a stall (a GC pause, a long JIT job) that the receive buffer must
// absorb, or overflows.
let maxGap = 0;
sock.on('message', () => {
  const t = performance.now();
  if (received === 0) {
    first = t;
    cpu0 = process.cpuUsage();
    elu0 = performance.eventLoopUtilization();
  } else if (t - last > maxGap) maxGap = t - last;
  received++;
  last = t;
});
// Collector pauses during the measured flood: young-generation (scavenges) and the rest (mark-compact and its
// incremental steps), count, sum and longest, in ms.
const gcs = { minor: [0, 0, 0], major: [0, 0, 0] };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const g = e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR ? gcs.minor : gcs.major;
    g[0]++;
    g[1] += e.duration;
    g[2] = Math.max(g[2], e.duration);
  }
}).observe({ entryTypes: ['gc'] });
let verdicts = 0;
let vpn = 0;
let pool = null;
if (mode === 'adapter' && poolWorkers > 0) {
  const tids = () => new Set(readdirSync('/proc/self/task'));
  const before = tids();
  pool = createClassifierPool({ workers: poolWorkers, registered: [['10.0.0.0/8', 'corp']] });
  await new Promise((r) => setTimeout(r, 300));
  if (workerCpu !== undefined) for (const t of tids()) if (!before.has(t)) execFileSync('taskset', ['-p', '-c', workerCpu, t], { stdio: 'ignore' });
}
const dc = mode === 'adapter' ? new DatagramClassifier(pool ?? classifier, maxBytes ? { maxBytes: Number(maxBytes) } : {}) : null;
// FLOOD_MAIN_ALONE=CPU: every thread but the receiving one (V8's helper threads, the pool's workers) moves to that
// CPU, so the receiving thread has its CPU to itself whatever else the process runs.
if (process.env.FLOOD_MAIN_ALONE !== undefined) {
  for (const t of readdirSync('/proc/self/task')) if (Number(t) !== process.pid) execFileSync('taskset', ['-p', '-c', process.env.FLOOD_MAIN_ALONE, t], { stdio: 'ignore' });
}
if (dc) {
  dc.attach(sock, (v) => {
    verdicts++;
    if (v.label !== 'ordinary') vpn++;
  });
}
// Host check: a fixed piece of CPU and memory work (random reads and writes over 8 MiB), its CPU time measured in
// this process on this CPU right before the flood and right after it. A round whose receiver was slow because the
// host was (a neighbour on the core or its cache) shows here too; a round slow for our own reasons does not.
const CHECK = new Int32Array(1 << 21);
let checkSeed = 1;
let checkSink = 0; // keeps the loop's reads live
const hostCheck = () => {
  const one = () => {
    const c0 = process.cpuUsage();
    let x = 0;
    for (let i = 0; i < 1_000_000; i++) {
      checkSeed = (Math.imul(checkSeed, 1103515245) + 12345) >>> 0;
      x += CHECK[checkSeed >>> 11]++;
    }
    const c = process.cpuUsage(c0);
    checkSink += x;
    return (c.user + c.system) / 1000;
  };
  const t = [one(), one(), one()].sort((a, b) => a - b);
  return t[1];
};
hostCheck(); // compiled and the table touched before anything is measured
let hostBefore = 0;
console.log(`port ${sock.address().port}`);
process.stdin.setEncoding('utf8');
// Until the socket has been quiet for 300 ms: what it still holds is read first.
const drain = async () => {
  for (let quiet = 0; quiet < 3; ) {
    const n = received;
    await new Promise((r) => setTimeout(r, 100));
    quiet = received === n ? quiet + 1 : 0;
  }
};
let inspectedBefore = 0;
for (;;) {
  const [line] = await once(process.stdin, 'data');
  if (!line.startsWith('mark')) break;
  // Warm-up over: the warm datagrams a slower receiver still holds are read before counting starts, so none is
  // counted with the measured flood and the receive span starts at its first datagram.
  await drain();
  inspectedBefore = dc?.stats?.datagrams ?? 0; // (absent in the pre-issue-17 adapter, --impl)
  hostBefore = hostCheck();
  received = 0;
  maxGap = 0;
  for (const g of [gcs.minor, gcs.major]) g.fill(0);
  console.log('marked');
}
await drain();
const cpu = process.cpuUsage(cpu0);
const elu = performance.eventLoopUtilization(elu0);
const gcSeen = { minor: [...gcs.minor], major: [...gcs.major] };
const hostAfter = hostCheck();
const span = (last - first) / 1000;
const row = {
  received,
  perSecond: span > 0 ? received / span : 0,
  cpuUsPerDatagram: received ? (cpu.user + cpu.system) / received : 0,
  sysUsPerDatagram: received ? cpu.system / received : 0,
  loopUsPerDatagram: received ? (elu.active * 1000) / received : 0,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  hostCheckMs: [hostBefore, hostAfter],
  maxGapMs: maxGap,
  gc: gcSeen,
};
if (dc) {
  const st = dc.stats;
  Object.assign(row, {
    tuples: st?.tuples,
    lost: st?.lost,
    maxTuples: dc.maxTuples,
    verdicts,
    vpnVerdicts: vpn,
    memoryBytes: mem() - base,
    boundBytes: dc.maxTuples === undefined ? undefined : maxBytes ? Number(maxBytes) : 256 * 1024 * 1024,
  });
  if (st && st.datagrams - inspectedBefore !== received) throw new Error(`adapter inspected ${st.datagrams - inspectedBefore} of ${received} datagrams`);
  await dc.close?.();
}
await pool?.close();
sock.close();
console.log(JSON.stringify(row));
process.exit(0);
