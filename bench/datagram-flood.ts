/**
 * UDP flood on loopback: does `DatagramClassifier.attach` keep up with what the socket delivers, and does its
 * memory stay under its bound? Issue 17: 200k datagrams from 20k source ports.
 *
 *   node --expose-gc --import tsx bench/datagram-flood.ts [--datagrams 200000] [--ports 20000] [--rounds 2]
 *        [--host 127.0.0.1|::1] [--max-bytes N] [--warm N] [--warm-ports N] [--warm-from ADDR] [--impl module] [--pin]
 *        [--rates 40000,60000,0] [--old-space MB] [--pool WORKERS] [--quick]
 *
 * Each round runs two receivers one after the other, each in a fresh child process (bench/flood-receiver.mjs: plain
 * node on the built package, as an embedder runs it — build first, `npm run bench` does), against the same sender
 * (a child process too, so sender and receiver use separate cores): `plain` — a dgram socket whose 'message'
 * handler counts datagrams — and `adapter` — the same socket with a DatagramClassifier attached. Per receiver:
 * datagrams received (what the kernel delivered before its buffer overflowed), datagrams/s over the receive span,
 * receiver CPU µs per datagram (process.cpuUsage), and for the adapter the tuples, verdicts, and memory after a
 * full GC (Δ heapUsed + arrayBuffers from before the classifier existed) next to its bound (maxBytes) and peak RSS.
 * The senders (one child process per 10000 ports, all bound before any sends, then started together) bind ports
 * `base … base+ports-1` (below Linux's ephemeral range, so they never collide with port-0 sockets), and every port
 * sends datagrams/ports datagrams, interleaved: one WireGuard
 * handshake initiation (mac2 zero) then padded transport data on one port in five, random payloads (64–512 bytes) on
 * the others. Before the measured flood each receiver gets a warm-up of the same shape from other tuples (not
 * counted: a gateway runs warm; JIT and table growth are not what is measured): on IPv4, `--warm` (default: as
 * many as the flood) datagrams from `--warm-ports` (default: as many as the flood) ports of `--warm-from` (default
 * 127.0.0.2, so the flood's own port numbers serve); on IPv6, 20k datagrams from 2k ports above the flood's. The
 * warm tuples stay live through the flood, so the adapter's table holds twice the flood's tuples. `--impl` takes DatagramClassifier from
 * another built module (a path) (e.g. a copy of the pre-issue-17 adapter, for before/after). Only ratios within one run mean
 * anything on a shared machine. Per receiver the table also gives the longest gap between two datagrams read and its
 * collector pauses during the flood. Environment: FLOOD_PROF=DIR writes a CPU profile of every child to DIR;
 * FLOOD_ECHO=1 copies the children's other output lines (e.g. --trace-gc) to stderr;
 * FLOOD_NODE_FLAGS='--perf-basic-prof …' adds node flags to every child (to read a system-wide `perf record`).
 * `--pool N` adds a receiver whose adapter classifies on a ClassifierPool of N workers (`adapter-pool`); with
 * `--pin` its workers run on CPU 1, beside the senders (on a 2-CPU host there is no other), so its row is read
 * at a paced rate the senders still reach. `loop µs` is the receiving thread's busy time per datagram (event loop
 * utilisation): process CPU counts a pool's workers too.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
/** The receiver runs the built package under plain node (see flood-receiver.mjs); `npm run bench` builds first. */
const RECEIVER = fileURLToPath(new URL('./flood-receiver.mjs', import.meta.url));

export interface FloodOptions {
  datagrams: number;
  ports: number;
  rounds: number;
  host: string;
  /** DatagramClassifier maxBytes (default: its own default). */
  maxBytes?: number;
  basePort: number;
  /** Datagrams (from `warmPorts` other ports) sent before the measured flood, not counted: a gateway runs warm. */
  warmDatagrams: number;
  warmPorts: number;
  /**
   * Address the warm-up is sent from. Another loopback address (127.0.0.2 for 127.0.0.1) lets the warm-up use the
   * flood's own ports, so it has the flood's shape (as many new tuples, 10 datagrams each) without reaching into
   * the ephemeral port range; from `host` itself its ports follow the flood's.
   */
  warmFrom: string;
  /** Module the receiver takes DatagramClassifier from (default ../src/node.js). */
  impl?: string;
  /**
   * Receiver on CPU 0, senders on CPU 1 (taskset): the sender's work does not come out of the receiver's core, as
   * at a gateway where the traffic comes from other machines. Unpinned, both share every core, so each µs a
   * receiver spends per datagram also hands the senders time to overflow its buffer.
   */
  pin?: boolean;
  /**
   * Send rates (datagrams/s, all senders together) to run each round at; 0 = as fast as the senders go (the
   * blast). A paced rate shows where each receiver stops keeping up, which a blast alone cannot tell apart from
   * the senders' own speed on the day.
   */
  rates: number[];
  /**
   * Also run the adapter in a receiver started with `--initial-old-space-size=oldSpaceMb` (a third receiver per
   * rate). V8 starts a full marking whenever its old generation's room to its limit is smaller than the young
   * generation; in a receiver whose heap is small that is several times per flood, on the receiving core, and the
   * flag gives the old generation that room from the start (README, sizing the UDP adapter).
   */
  oldSpaceMb?: number;
  /** Also run the adapter on a ClassifierPool of this many workers (`adapter-pool`). */
  poolWorkers?: number;
}

export interface FloodRow {
  round: number;
  /** Paced send rate (datagrams/s), 0 for the blast. */
  rate: number;
  mode: 'plain' | 'adapter' | 'adapter-old-space' | 'adapter-pool';
  sent: number;
  ports: number;
  received: number;
  perSecond: number;
  cpuUsPerDatagram: number;
  /** Of which in the kernel (receive system calls, and softirq work the kernel bills to the receiver). */
  sysUsPerDatagram: number;
  /** The receiving thread's busy time per datagram (its event loop's utilisation over the flood). */
  loopUsPerDatagram?: number;
  tuples?: number;
  /** adapter-pool: datagrams not classified because the workers were behind. */
  lost?: number;
  maxTuples?: number;
  verdicts?: number;
  vpnVerdicts?: number;
  memoryBytes?: number;
  boundBytes?: number;
  peakRssBytes: number;
  /**
   * CPU ms of a fixed piece of work (random reads and writes over 8 MiB) in the receiver on its CPU, right before
   * and right after the flood: higher than the run's usual when the host slowed that CPU (flood-receiver.mjs).
   */
  hostCheckMs?: [number, number];
  /** Longest gap between two datagrams read during the flood (ms): the stall the receive buffer had to absorb. */
  maxGapMs?: number;
  /** Collector pauses during the flood: [count, total ms, longest ms], scavenges and the rest. */
  gc?: { minor: [number, number, number]; major: [number, number, number] };
}

function argValue(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** Child process helper: run this file in a role, collect its last JSON line. */
function child(args: string[], onLine?: (line: string) => void, script?: string, cpu?: number, nodeFlags: string[] = []): { done: Promise<Record<string, unknown>>; send: (msg: string) => void } {
  const prof = process.env['FLOOD_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['FLOOD_PROF']}`, ...nodeFlags] : [...nodeFlags];
  // Extra node flags for every child (e.g. --perf-basic-prof, to read a `perf record` of the receivers).
  if (process.env['FLOOD_NODE_FLAGS']) prof.push(...process.env['FLOOD_NODE_FLAGS'].split(/\s+/).filter(Boolean));
  const argv = script ? [...prof, '--expose-gc', script, ...args] : [...prof, '--expose-gc', '--import', 'tsx', SELF, ...args];
  const p = cpu === undefined ? spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'] }) : spawn('taskset', ['-c', String(cpu), process.execPath, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] });
  let last = '';
  let buf = '';
  p.stdout.setEncoding('utf8');
  p.stdout.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      onLine?.(line);
      if (line.startsWith('{')) last = line;
      else if (process.env['FLOOD_ECHO']) process.stderr.write(`[${args.join(' ')}] ${line}\n`);
    }
  });
  const done = new Promise<Record<string, unknown>>((resolve, reject) => {
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(last || '{}') as Record<string, unknown>) : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
  return { done, send: (msg) => p.stdin.write(`${msg}\n`) };
}

export async function runDatagramFlood(o: FloodOptions): Promise<FloodRow[]> {
  const rows: FloodRow[] = [];
  for (let round = 1; round <= o.rounds; round++) {
    for (const rate of o.rates) {
      const modes: FloodRow['mode'][] = ['plain', 'adapter'];
      if (o.oldSpaceMb) modes.push('adapter-old-space');
      if (o.poolWorkers) modes.push('adapter-pool');
      for (const mode of modes) {
        let ready: (port: number) => void = () => {};
        const portP = new Promise<number>((r) => (ready = r));
        let marked: () => void = () => {};
        const rx = child(
          [
            '--mode', mode === 'plain' ? 'plain' : 'adapter', '--host', o.host, ...(o.maxBytes ? ['--max-bytes', String(o.maxBytes)] : []), ...(o.impl ? ['--impl', o.impl] : []),
            ...(mode === 'adapter-pool' ? ['--pool', String(o.poolWorkers), ...(o.pin ? ['--worker-cpu', '1'] : [])] : []),
          ],
          (line) => {
            if (line.startsWith('port ')) ready(Number(line.slice(5)));
            else if (line === 'marked') marked();
          },
          RECEIVER,
          o.pin ? 0 : undefined,
          mode === 'adapter-old-space' ? [`--initial-old-space-size=${o.oldSpaceMb}`] : [],
        );
        const port = await portP;
        const flood = async (datagrams: number, ports: number, basePort: number, from: string): Promise<{ sent: number; ports: number }> => {
          // Senders of at most 10000 ports each (one process holds 10000 sockets within the usual fd limit), all
          // bound before any sends, then started together.
          const per = Math.ceil(ports / Math.ceil(ports / 10_000));
          const senders: Array<ReturnType<typeof child>> = [];
          const readies: Promise<void>[] = [];
          for (let s = 0; s * per < ports; s++) {
            const n = Math.min(per, ports - s * per);
            let ok: () => void = () => {};
            readies.push(new Promise<void>((r) => (ok = r)));
            const args = ['--role', 'sender', '--host', o.host, '--port', String(port), '--datagrams', String(Math.round((datagrams * n) / ports)), '--ports', String(n), '--base', String(basePort + s * per), '--rate', String((rate * n) / ports), '--from', from];
            senders.push(child(args, (line) => line === 'ready' && ok(), undefined, o.pin ? 1 : undefined));
          }
          await Promise.all(readies);
          for (const t of senders) t.send('go');
          const results = await Promise.all(senders.map((t) => t.done));
          return { sent: results.reduce((a, r) => a + (r.sent as number), 0), ports: results.reduce((a, r) => a + (r.ports as number), 0) };
        };
        if (o.warmDatagrams > 0) {
          await flood(o.warmDatagrams, o.warmPorts, o.warmFrom === o.host ? o.basePort + o.ports : o.basePort, o.warmFrom);
          // The receiver reads what the warm-up left in its socket before it says it counts from here.
          const isMarked = new Promise<void>((r) => (marked = r));
          rx.send('mark');
          await isMarked;
        }
        const tx = await flood(o.datagrams, o.ports, o.basePort, o.host);
        rx.send('done');
        const r = await rx.done;
        rows.push({ round, rate, mode, sent: tx.sent as number, ports: tx.ports as number, ...(r as object) } as FloodRow);
      }
    }
  }
  return rows;
}

// ---- sender ----
async function sender(argv: string[]): Promise<void> {
  const host = argValue(argv, '--host')!;
  const port = Number(argValue(argv, '--port'));
  const datagrams = Number(argValue(argv, '--datagrams'));
  const ports = Number(argValue(argv, '--ports'));
  const basePort = Number(argValue(argv, '--base'));
  const rate = Number(argValue(argv, '--rate') ?? 0);
  const from = argValue(argv, '--from') ?? host;
  const perPort = Math.max(1, Math.round(datagrams / ports));
  const type = host.includes(':') ? 'udp6' : 'udp4';
  let seed = 0x9e3779b9;
  const rnd = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const payload = (p: number, k: number): Buffer => {
    if (p % 5 === 0) {
      if (k === 0) {
        const b = Buffer.alloc(148);
        b[0] = 1;
        b.writeUInt32LE(p, 4);
        // mac2 (bytes 132-147) stays zero: an initiator not under load sends it so (whitepaper §5.4.4), and the
        // detector's lone-initiation rule asks for that.
        for (let i = 8; i < 132; i++) b[i] = rnd() & 255;
        return b;
      }
      // Transport data is padded: 16 header bytes + a multiple of 16 (wireguard.ts's rule), 32 to 1,216 bytes.
      const b = Buffer.alloc(32 + 16 * (rnd() % 75));
      b[0] = 4;
      b.writeUInt32LE(p, 4);
      b.writeUInt32LE(k, 8);
      for (let i = 16; i < b.length; i++) b[i] = rnd() & 255;
      return b;
    }
    const b = Buffer.alloc(64 + (rnd() % 448));
    for (let i = 0; i < b.length; i++) b[i] = rnd() & 255;
    return b;
  };
  let sent = 0;
  const socks: dgram.Socket[] = [];
  for (let p = 0; p < ports; p++) {
    const s = dgram.createSocket(type);
    const ok = await new Promise<boolean>((resolve) => {
      s.once('error', () => resolve(false));
      s.bind(basePort + p, from, () => resolve(true));
    });
    if (ok) socks.push(s);
    else s.close();
  }
  // Every payload is built and every socket connected before the start: a sender that fills random bytes and
  // passes an address per send spends ~2x the CPU per datagram, and a slow sender cannot saturate the receiver.
  const payloads: Buffer[] = [];
  for (let k = 0; k < perPort; k++) for (let i = 0; i < socks.length; i++) payloads.push(payload(basePort + i, k));
  await Promise.all(socks.map((s) => new Promise<void>((resolve) => s.connect(port, host, resolve))));
  console.log('ready');
  process.stdin.setEncoding('utf8');
  await once(process.stdin, 'data');
  // Interleaved: datagram k of every port, then k+1; at most 4096 sends in flight. Paced (rate > 0): every 64
  // sends, wait until the clock allows them (timers run at ~1 ms, so a sender bursts at most ~rate/1000 ahead).
  let pending = 0;
  const t0 = performance.now();
  const done = (): void => void pending--;
  for (let k = 0; k < perPort; k++) {
    for (let i = 0; i < socks.length; i++) {
      pending++;
      socks[i]!.send(payloads[sent]!, done);
      sent++;
      if (pending >= 4096) while (pending > 1024) await new Promise((r) => setImmediate(r));
      if (rate > 0 && (sent & 63) === 0) while (sent > ((performance.now() - t0) * rate) / 1000) await new Promise((r) => setTimeout(r, 1));
    }
  }
  while (pending > 0) await new Promise((r) => setImmediate(r));
  const bound = socks.length;
  for (const s of socks) s.close();
  console.log(JSON.stringify({ sent, ports: bound }));
  process.exit(0);
}

function table(rows: FloodRow[]): string {
  const M = (n: number | undefined): string => (n === undefined ? '' : n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(Math.round(n)));
  const MiB = (n: number | undefined): string => (n === undefined ? '' : `${(n / 1048576).toFixed(1)} MiB`);
  const lines = ['| round | send rate | receiver | sent | received | datagrams/s | CPU µs/datagram (sys) | loop µs | tuples (cap), lost | verdicts (VPN) | memory Δ (bound) | peak RSS | host check ms, before / after | longest gap ms | GC pauses: scavenges; others (n, total ms, longest) |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(
      `| ${r.round} | ${r.rate > 0 ? `${M(r.rate)}/s` : 'blast'} | ${r.mode} | ${M(r.sent)} from ${M(r.ports)} ports | ${M(r.received)} (${((100 * r.received) / r.sent).toFixed(1)} %) | ${M(r.perSecond)} | ${r.cpuUsPerDatagram.toFixed(2)} (${r.sysUsPerDatagram.toFixed(2)}) | ${r.loopUsPerDatagram === undefined ? '' : r.loopUsPerDatagram.toFixed(2)} | ` +
        `${r.tuples === undefined ? '' : `${M(r.tuples)} (${M(r.maxTuples)})${r.lost ? `, ${M(r.lost)} lost` : ''}`} | ${r.verdicts === undefined ? '' : `${M(r.verdicts)} (${M(r.vpnVerdicts)})`} | ` +
        `${r.memoryBytes === undefined ? '' : `${MiB(r.memoryBytes)} (${MiB(r.boundBytes)})`} | ${MiB(r.peakRssBytes)} | ` +
        `${r.hostCheckMs ? `${r.hostCheckMs[0].toFixed(1)} / ${r.hostCheckMs[1].toFixed(1)}` : ''} | ${r.maxGapMs === undefined ? '' : r.maxGapMs.toFixed(1)} | ` +
        `${r.gc ? [r.gc.minor, r.gc.major].map(([n, t, m]) => `${n}, ${t.toFixed(1)}, ${m.toFixed(1)}`).join('; ') : ''} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const role = argValue(argv, '--role');
  if (role === 'sender') return sender(argv);
  const quick = argv.includes('--quick');
  const host = argValue(argv, '--host') ?? '127.0.0.1';
  const o: FloodOptions = {
    datagrams: Number(argValue(argv, '--datagrams') ?? (quick ? 20_000 : 200_000)),
    ports: Number(argValue(argv, '--ports') ?? (quick ? 2_000 : 20_000)),
    rounds: Number(argValue(argv, '--rounds') ?? 2),
    host,
    basePort: Number(argValue(argv, '--base') ?? 12_000),
    // Warm-up: the flood's own shape where a second loopback address allows it (IPv4), else 20k datagrams from
    // 2k ports. A fresh receiver's JIT is still tiering after 20k datagrams: replayed in process, the flood's
    // datagrams cost the adapter 5.5 µs each on a cold classifier, 2.5 on a second pass and 1.7 on a third.
    warmDatagrams: 0,
    warmPorts: 0,
    warmFrom: argValue(argv, '--warm-from') ?? (host === '127.0.0.1' ? '127.0.0.2' : host),
    ...(argValue(argv, '--impl') ? { impl: argValue(argv, '--impl')! } : {}),
    pin: argv.includes('--pin'),
    rates: (argValue(argv, '--rates') ?? '0').split(',').map(Number),
    ...(argValue(argv, '--max-bytes') ? { maxBytes: Number(argValue(argv, '--max-bytes')) } : {}),
    ...(argValue(argv, '--old-space') ? { oldSpaceMb: Number(argValue(argv, '--old-space')) } : {}),
    ...(argValue(argv, '--pool') ? { poolWorkers: Number(argValue(argv, '--pool')) } : {}),
  };
  const shaped = o.warmFrom !== o.host;
  o.warmDatagrams = Number(argValue(argv, '--warm') ?? (shaped ? o.datagrams : quick ? 5_000 : 20_000));
  o.warmPorts = Number(argValue(argv, '--warm-ports') ?? (shaped ? o.ports : quick ? 500 : 2_000));
  console.log(`# datagram flood — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
  console.log(`# ${o.datagrams} datagrams from ${o.ports} ports to ${o.host}, ${o.rounds} round(s), send rates ${o.rates.map((r) => (r > 0 ? `${r}/s` : 'blast')).join(', ')}, receivers alternate plain / adapter${o.oldSpaceMb ? ` / adapter-old-space (node --initial-old-space-size=${o.oldSpaceMb})` : ''}${o.poolWorkers ? ` / adapter-pool (${o.poolWorkers} worker(s)${o.pin ? ' on CPU 1' : ''})` : ''}${o.pin ? ', receiver on CPU 0 and senders on CPU 1' : ''}, after a warm-up of ${o.warmDatagrams} datagrams from ${o.warmPorts} ports of ${o.warmFrom}\n`);
  const rows = await runDatagramFlood(o);
  console.log(table(rows));
  // One port in five sends a WireGuard initiation and padded transport data: nearly every such tuple must come out
  // VPN, or the flood no longer measures the verdict path of a VPN tuple (a detector rule moved under the sender).
  const wgTuples = Math.floor((o.ports + o.warmPorts) / 5);
  for (const r of rows) {
    if (r.mode === 'plain' || r.vpnVerdicts === undefined) continue;
    if (r.vpnVerdicts < 0.5 * wgTuples * Math.min(1, r.received / r.sent)) {
      console.log(`# WARNING: round ${r.round}: ${r.vpnVerdicts} VPN verdicts for ~${wgTuples} WireGuard-shaped tuples: the sender's traffic no longer matches the detectors`);
    }
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) await main();
