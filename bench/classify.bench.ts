/**
 * End-to-end classification benchmark: `tunnelscope classify --format ndjson` on a synthetic trace (written by
 * `tunnelscope synth` with the ../shared/perf recipe) and on the corpus, through the built CLI (dist/), output
 * to /dev/null. Reports packets/s, flows/s, peak RSS, time-to-verdict (payload packets until the label was
 * final: median and p99) and recall / false-positive rate against the synthetic truth.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cpus } from 'node:os';

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const CACHE = join(ROOT, '.cache');

export interface ClassifyRow {
  trace: string;
  workers: number;
  packets: number;
  flows: number;
  seconds: number;
  pps: number;
  flowsPerSec: number;
  maxRssMB: number;
  /** packets/s the CLI reports for its own processing (after start-up and list loading), like ndpiReader's. */
  ownPps?: number;
  /**
   * CPU seconds of the CLI process, all threads (user + system, /usr/bin/time): V8 compiles and collects garbage
   * on helper threads, so on one core the run takes about this long, not the wall time of a multi-core host.
   */
  cpuSeconds?: number;
}

/** Hash of the generator's sources: a cached trace is reused only while the generator is unchanged. */
function synthVersion(): string {
  const h = createHash('sha1');
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory()) walk(join(d, e.name));
      else h.update(e.name).update(readFileSync(join(d, e.name)));
    }
  };
  walk(join(ROOT, 'src', 'synth'));
  return h.digest('hex').slice(0, 8);
}

/**
 * Write (once, cached) a synthetic trace with the perf recipe; returns its path. The cache name carries the
 * generator's source hash; traces (and truth/list files) of other generator versions are deleted.
 */
export function synthTrace(packets: number, flows: number, seed = 1, quiet = false): string {
  mkdirSync(CACHE, { recursive: true });
  const stem = `synth-${packets}-${flows}-${seed}-`;
  const version = synthVersion();
  const out = join(CACHE, `${stem}${version}.pcap`);
  if (!existsSync(out)) {
    for (const f of readdirSync(CACHE)) if (f.startsWith(stem) || /^synth-\d+-\d+-\d+\./.test(f)) rmSync(join(CACHE, f));
    const args = [CLI, 'synth', '--packets', String(packets), '--flows', String(flows), '--vpn-share', '0.24', '--registered-share', '0.5', '--seed', String(seed), '--out', out];
    execFileSync(process.execPath, quiet ? [...args, '-q'] : args, { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return out;
}

/** Run the CLI once; parse its stderr summary line; measure wall time, peak RSS and CPU time (/usr/bin/time if present). */
export function runClassify(trace: string, workers = 1, extra: string[] = []): ClassifyRow {
  const args = [CLI, 'classify', trace, '--format', 'ndjson', '--workers', String(workers), ...extra];
  const t0 = process.hrtime.bigint();
  const useTime = existsSync('/usr/bin/time');
  const r = useTime
    ? spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M CPU %U %S', process.execPath, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 })
    : spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`classify failed (${r.status}): ${r.stderr}`);
  const m = /(\d+) packets, (\d+) flows/.exec(r.stderr ?? '');
  const rss = /MAXRSS (\d+)/.exec(r.stderr ?? '');
  const own = /\((\d+) packets\/s\)/.exec(r.stderr ?? '');
  const cpu = /CPU ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '');
  const packets = m ? Number(m[1]) : 0;
  const flows = m ? Number(m[2]) : 0;
  return {
    trace: trace.split('/').pop()!,
    workers,
    packets,
    flows,
    seconds,
    pps: packets / seconds,
    flowsPerSec: flows / seconds,
    maxRssMB: rss ? Number(rss[1]) / 1024 : NaN,
    ...(own ? { ownPps: Number(own[1]) } : {}),
    ...(cpu ? { cpuSeconds: Number(cpu[1]) + Number(cpu[2]) } : {}),
  };
}

/**
 * The machine's parallel ceiling for this program (issue 22): two independent `classify --workers 1` processes on
 * the same file started together; wall seconds until both have finished. 2 × (one process alone) / this is the
 * most any 2-way split of one file can gain here (each process pays its own start-up and JIT, as each pool worker
 * does, and V8's compiler and GC threads compete for the same cores).
 */
export async function pairWall(trace: string): Promise<number> {
  const one = (): Promise<void> =>
    new Promise((res, rej) => {
      const c = spawn(process.execPath, [CLI, 'classify', trace, '--format', 'ndjson', '-q', '--workers', '1'], { stdio: 'ignore' });
      c.on('error', rej);
      c.on('exit', (code) => (code === 0 ? res() : rej(new Error(`classify exited ${code}`))));
    });
  const t0 = process.hrtime.bigint();
  await Promise.all([one(), one()]);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export interface NativeRow {
  /** The engine's version as it prints it, e.g. `nDPI 4.2.0`. */
  version: string;
  packets: number;
  /** Its own packet-processing time (what ndpiReader reports, excluding set-up), seconds. */
  ownSeconds: number;
  ownPps: number;
  /** Wall time of the whole process, seconds. */
  seconds: number;
  maxRssMB: number;
  cpuSeconds?: number;
}

/** Where ndpiReader is, or null: it is a system package (Debian `libndpi-bin`), not a project dependency. */
export function findNative(): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'ndpiReader'))) return join(dir, 'ndpiReader');
  }
  return null;
}

/**
 * Run the native DPI engine once on the same file, one thread, no per-flow output (`-v 0`), the way
 * ../shared/perf measured it; parse its own processing time and packet count.
 */
export function runNative(bin: string, trace: string): NativeRow {
  const useTime = existsSync('/usr/bin/time');
  const t0 = process.hrtime.bigint();
  const r = useTime
    ? spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M CPU %U %S', bin, '-i', trace, '-v', '0'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 })
    : spawnSync(bin, ['-i', trace, '-v', '0'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  if (r.status !== 0) throw new Error(`${bin} failed (${r.status}): ${out.slice(-500)}`);
  const ms = /Packet Processing Time:\s*([\d.]+)\s*msec/.exec(out);
  const n = /of\s+(\d+)\s+packets total/.exec(out);
  if (!ms || !n) throw new Error(`${bin}: no processing time or packet count in its output`);
  const ver = /Using nDPI \(([^)]+)\)/.exec(out);
  const rss = /MAXRSS (\d+)/.exec(r.stderr ?? '');
  const cpu = /CPU ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '');
  const ownSeconds = Number(ms[1]) / 1000;
  return {
    version: `nDPI ${ver ? ver[1] : '?'}`,
    packets: Number(n[1]),
    ownSeconds,
    ownPps: Number(n[1]) / ownSeconds,
    seconds,
    maxRssMB: rss ? Number(rss[1]) / 1024 : NaN,
    ...(cpu ? { cpuSeconds: Number(cpu[1]) + Number(cpu[2]) } : {}),
  };
}

export interface AccuracyRow {
  trace: string;
  vpnFlows: number;
  recall: number;
  ordinaryFlows: number;
  fpr: number;
  registeredCorrect: number;
  /** VPN-labelled flows whose evidence includes a DNS answer binding (dns-binding.list). */
  dnsBound: number;
  ttvMedian: number;
  ttvP99: number;
}

function key(t: string, a: string, b: string): string {
  return a < b ? `${t} ${a} ${b}` : `${t} ${b} ${a}`;
}

/** Recall/FPR vs the synth truth and time-to-verdict percentiles (from decidedAtPacket). */
export function accuracy(trace: string): AccuracyRow {
  const base = trace.replace(/\.pcap$/, '');
  const out = execFileSync(process.execPath, [CLI, 'classify', trace, '--format', 'ndjson', '--quiet', '--registered', `${base}.registered.txt`], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const got = new Map<string, { label: string; registrant: string | null; at: number }>();
  const ttv: number[] = [];
  let dnsBound = 0;
  for (const line of out.split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line) as { transport: string; src: string; dst: string; label: string; registrant: string | null; decidedAtPacket: number; evidence: { rule: string }[] };
    got.set(key(r.transport, r.src, r.dst), { label: r.label, registrant: r.registrant, at: r.decidedAtPacket });
    if (r.label !== 'ordinary') {
      ttv.push(r.decidedAtPacket);
      if (r.evidence.some((e) => e.rule === 'dns-binding.list')) dnsBound++;
    }
  }
  let vpn = 0, hit = 0, ord = 0, fp = 0, reg = 0, regOk = 0;
  for (const line of readFileSync(`${base}.truth.ndjson`, 'utf8').split('\n')) {
    if (!line) continue;
    const t = JSON.parse(line) as { transport: string; src: string; dst: string; expect: string; registered: boolean; registrant: string | null };
    const g = got.get(key(t.transport, t.src, t.dst));
    if (t.expect === 'vpn') {
      vpn++;
      if (g && g.label !== 'ordinary') hit++;
      if (t.registered) {
        reg++;
        if (g?.label === 'registered_vpn' && g.registrant === t.registrant) regOk++;
      }
    } else if (t.expect === 'ordinary') {
      ord++;
      if (g && g.label !== 'ordinary') fp++;
    }
  }
  ttv.sort((a, b) => a - b);
  const pct = (p: number): number => (ttv.length ? ttv[Math.min(ttv.length - 1, Math.floor(p * ttv.length))]! : NaN);
  return { trace: trace.split('/').pop()!, vpnFlows: vpn, recall: vpn ? hit / vpn : NaN, ordinaryFlows: ord, fpr: ord ? fp / ord : NaN, registeredCorrect: reg ? regOk / reg : NaN, dnsBound, ttvMedian: pct(0.5), ttvP99: pct(0.99) };
}

/**
 * The corpus (134 small captures) in one process through the built package: one classifier session per capture,
 * timed together (process start-up excluded), packets/s and flows/s summed.
 */
export async function corpusThroughput(dir = join(ROOT, '..', 'shared', 'corpus', 'pcap')): Promise<ClassifyRow> {
  const api = (await import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href)) as typeof import('../src/index.js');
  const classifier = api.createClassifier();
  const files = readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile()).sort();
  // Captures are loaded first: 134 small files would otherwise measure file open/close latency.
  const bufs = files.map((f) => new Uint8Array(readFileSync(join(dir, f))));
  let packets = 0, flows = 0;
  const t0 = process.hrtime.bigint();
  for (let rep = 0; rep < 5; rep++) {
    for (let i = 0; i < files.length; i++) {
      const s = classifier.session();
      s.on('flow', () => flows++);
      try {
        api.readCaptureBuffer(bufs[i]!, files[i]!, (p) => {
          packets++;
          s.pushRaw(p);
        });
      } catch {
        // a truncated capture still delivered its complete packets
      }
      s.end();
    }
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { trace: `corpus, ${files.length} captures × 5`, workers: 1, packets, flows, seconds, pps: packets / seconds, flowsPerSec: flows / seconds, maxRssMB: process.memoryUsage().rss / 2 ** 20 };
}

export function machine(): string {
  return `node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`;
}

export interface DetectionCost {
  packets: number;
  flows: number;
  /** read + decode + flow tracking with the default snippet budget (the trace layer as classify uses it). */
  tracePps: number;
  /** the same plus detectors, names, list matching and verdicts (a classifier session, records not printed). */
  classifyPps: number;
  /** 1 - classifyPps / tracePps */
  slowdown: number;
  /** The trace layer that also builds each flow's record fields (endpoints, counters, ISO times), as `flows` does. */
  traceRecordsPps: number;
  /** 1 - classifyPps / traceRecordsPps: what detection adds over a trace layer that reports its flows. */
  slowdownVsRecords: number;
  /** The same session with the bundled VPN-provider domain list loaded (what the CLI runs by default). */
  classifyDomainsPps: number;
  slowdownDomains: number;
  usPerFlow: number;
  nsPerPacket: number;
}

/**
 * Detection cost in process on one in-memory capture: best of `runs` alternating passes of the trace layer alone
 * and of a classifier session over the same packets. The difference, divided by flows and by packets, is what
 * detection costs (the detectors issue asks for both figures).
 */
export async function detectionCost(trace: string, runs = 5): Promise<DetectionCost> {
  const api = (await import(pathToFileURL(join(ROOT, 'dist', 'index.js')).href)) as typeof import('../src/index.js');
  const { Decoder, newPacketView, FlowTable } = api; // both sides from the same built package
  const buf = new Uint8Array(readFileSync(trace));
  const classifier = api.createClassifier();
  const domains = api.DomainSet.from(api.parseDomainList(readFileSync(join(ROOT, 'data', 'vpn-domains.txt'), 'utf8')).entries);
  const withDomains = api.createClassifier({ vpnDomains: domains });
  let packets = 0, flows = 0;
  const traceOnly = (): void => {
    const dec = new Decoder();
    const view = newPacketView();
    const table = new FlowTable({}, { onEnd() { flows++; } });
    api.readCaptureBuffer(buf, trace, (p) => { packets++; if (dec.decode(p, view)) table.add(view); });
    table.flush();
  };
  const traceRecords = (): void => {
    const dec = new Decoder();
    const view = newPacketView();
    let chars = 0;
    const table = new FlowTable({}, {
      onEnd(f) {
        flows++;
        // The record a flow listing prints: transport, both endpoints, counters, first/last seen.
        const r = { transport: api.transportName(f.transport), src: f.srcText(), dst: f.dstText(), packets: f.packetsFwd + f.packetsRev, bytes: f.bytesFwd + f.bytesRev, firstSeen: api.isoMicros(f.firstSeenUs), lastSeen: api.isoMicros(f.lastSeenUs) };
        chars += r.src.length + r.firstSeen.length;
      },
    });
    api.readCaptureBuffer(buf, trace, (p) => { packets++; if (dec.decode(p, view)) table.add(view); });
    table.flush();
    if (chars < 0) throw new Error('unreachable');
  };
  const session = (c: typeof classifier) => (): void => {
    const s = c.session();
    s.on('flow', () => { flows++; });
    api.readCaptureBuffer(buf, trace, (p) => { packets++; s.pushRaw(p); });
    s.end();
  };
  const best = [Infinity, Infinity, Infinity, Infinity];
  let nPackets = 0, nFlows = 0;
  for (let r = 0; r < runs; r++) {
    for (const [k, fn] of [traceOnly, session(classifier), traceRecords, session(withDomains)].entries()) {
      packets = 0;
      flows = 0;
      const t0 = process.hrtime.bigint();
      fn();
      best[k] = Math.min(best[k]!, Number(process.hrtime.bigint() - t0) / 1e9);
      nPackets = packets;
      nFlows = flows;
    }
  }
  const extra = best[1]! - best[0]!;
  return {
    packets: nPackets,
    flows: nFlows,
    tracePps: nPackets / best[0]!,
    classifyPps: nPackets / best[1]!,
    slowdown: 1 - best[0]! / best[1]!,
    traceRecordsPps: nPackets / best[2]!,
    slowdownVsRecords: 1 - best[2]! / best[1]!,
    classifyDomainsPps: nPackets / best[3]!,
    slowdownDomains: 1 - best[0]! / best[3]!,
    usPerFlow: (extra / nFlows) * 1e6,
    nsPerPacket: (extra / nPackets) * 1e9,
  };
}
