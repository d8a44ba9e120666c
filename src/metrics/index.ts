/**
 * Prometheus metrics for a long classification run (`tunnelscope/metrics`; the CLI's `--metrics HOST:PORT`).
 * Owns a private prom-client registry and, when asked, one HTTP server that answers `GET /metrics` in the
 * Prometheus text format. prom-client is an optional peer dependency: nothing else in the package imports this
 * folder statically, so the library and the CLI without `--metrics` never load it.
 *
 * Cost: per-packet figures are never pushed here; the run keeps plain numbers and hands a poll function
 * ({@link RunMetrics.watch}) that is read at scrape time. Per-flow calls (`verdict`, `record`) cost one label
 * lookup each. Label values come from fixed sets (labels, protocol ids, skip reasons), never from packet bytes.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { builtin } from '../builtins.js';
import { checkKnownOptions, checkOptions, numberOption } from '../errors.js';
import { formatIPv4, formatIPv6Words } from '../ip/format.js';
import { isV4MappedWords, parseIPv6 } from '../ip/parse.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the run can report at any moment (read at each scrape). Absent fields are not exported. */
export interface RunCounters {
  /** Frames read from the capture input. */
  packets: number;
  /** Bytes of those frames (original length on the wire). */
  bytes?: number;
  /** Frames counted and skipped, by reason (the run's diagnostics). */
  skipped?: Readonly<Record<string, number>>;
  /** Packets counted as their tunnel's carrier flow because the tunnel inside could not be opened, by reason. */
  tunnelFallback?: Readonly<Record<string, number>>;
  /** Flows live in the flow table(s). */
  liveFlows?: number;
  /** Flows ended by eviction at the live-flow cap. */
  evicted?: number;
  /** Payload packets not inspected as copies of the one before them (a mirror port's duplicates). */
  duplicates?: number;
}

/** The fields of a verdict or flow record the metrics read. */
export interface LabelledFlow {
  label: string;
  protocol: string | null;
  decidedAtPacket: number;
  /** Inspected payload packets the capture cut (FlowRecord.payloadCut). */
  payloadCut?: number;
  /** A flow-table cap stopped the flow's recording early (FlowRecord.captureCapped). */
  captureCapped?: boolean;
}

export interface MetricsOptions {
  /** Prefix of every tunnelscope metric name (default `tunnelscope_`). */
  prefix?: string;
  /** Also export prom-client's default process metrics (CPU, memory, event-loop delay, GC; default true). */
  processMetrics?: boolean;
}

/**
 * Bounds of the metrics server. Its port is reachable from the network, and it shares its thread with the run:
 * a peer must not grow the run's memory with connections, take its CPU with scrapes, or lock other scrapers out.
 */
export interface ServeOptions {
  /** Connections open at once, from all peers (default 32); more are closed as they arrive. */
  maxConnections?: number;
  /** Connections open at once from one peer: an IPv4 address, or an IPv6 /64 (one host's usual share) (default 4). */
  maxConnectionsPerPeer?: number;
  /**
   * A request must have sent its headers within this (default 5000 ms), or its connection is closed; so is a
   * connection on which nothing moves (no byte read or written) for as long: one that never sends a request, or
   * whose peer stops reading the answers.
   */
  headersTimeoutMs?: number;
  /**
   * Scrapes that get a freshly built exposition, per second (default 4, in bursts of as many); scrapes past that
   * get the last one built. Building it takes ~0.5 ms with process metrics, so a scraper in a loop would otherwise
   * take the run's CPU; a scraper at any usual interval, or a person after a reload, always gets fresh figures.
   */
  scrapeBuildsPerSecond?: number;
}

export interface MetricsServer {
  /** The address actually bound (port 0 picks a free one). */
  readonly host: string;
  readonly port: number;
  /** `http://host:port/metrics` (IPv6 hosts in brackets). */
  readonly url: string;
  close(): Promise<void>;
}

/** Payload packets to verdict: the detectors' budget is 8, a handful of flows go to the recorded maximum. */
const VERDICT_BUCKETS = [0, 1, 2, 3, 4, 5, 6, 8, 12, 16];
/** Output lag in seconds: the streaming writer flushes within 0.2 s. */
const LAG_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

/**
 * The process metrics (CPU, memory, event-loop delay, GC), made once per process and registered in every run's
 * registry. collectDefaultMetrics starts a GC observer and an event-loop-delay monitor that are never stopped, so
 * one per run kept every dropped run's metrics alive (~27 KB each) and each GC called every run's observer.
 */
let shared: Registry | null = null;
function processMetrics(): Registry {
  if (shared === null) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared });
  }
  return shared;
}

/** Protocol label value of an ordinary flow (Prometheus has no null). */
const NO_PROTOCOL = 'none';

export class RunMetrics {
  /** The registry every metric of this run lives in (not prom-client's global one). */
  readonly registry = new Registry();
  private poll: (() => RunCounters) | null = null;
  private readonly verdicts: Counter<'label' | 'protocol'>;
  private readonly flows: Counter<'label' | 'protocol'>;
  private readonly flowsCut: Counter<'label'>;
  private readonly flowsCapped: Counter<'label'>;
  private readonly verdictPackets: Histogram<'label'>;
  private readonly lag: Histogram;
  private readonly listVersion: Gauge;
  private readonly listLoad: Gauge;
  private readonly listLoadedAt: Gauge;
  private readonly reloads: Counter<'result'>;

  constructor(options: MetricsOptions = {}) {
    const p = options.prefix ?? 'tunnelscope_';
    const registers = [this.registry];
    const poll = (): RunCounters | null => (this.poll === null ? null : this.poll());
    // Counters fed by the poll: at each scrape, add what the run counted since the previous one.
    const polled = (name: string, help: string, read: (c: RunCounters) => number | undefined): void => {
      let last = 0;
      new Counter({
        name: p + name, help, registers,
        collect(this: Counter) {
          const c = poll();
          const v = c === null ? undefined : read(c);
          if (v !== undefined && v > last) {
            this.inc(v - last);
            last = v;
          }
        },
      });
    };
    polled('packets_total', 'Frames read from the capture input.', (c) => c.packets);
    polled('bytes_total', 'Bytes of the frames read (original length on the wire).', (c) => c.bytes);
    polled('flows_evicted_total', 'Flows ended by eviction at the live-flow cap.', (c) => c.evicted);
    polled('duplicate_packets_total', "Payload packets counted in their flow but not inspected: a copy of the flow's packet before, within 10 ms (a mirror port's duplicates).", (c) => c.duplicates);
    const byReason = (name: string, help: string, read: (c: RunCounters) => Readonly<Record<string, number>> | undefined): void => {
      const last = new Map<string, number>();
      new Counter({
        name: `${p}${name}`, help, labelNames: ['reason'], registers,
        collect(this: Counter<'reason'>) {
          const c = poll();
          const s = c === null ? undefined : read(c);
          if (!s) return;
          for (const [reason, n] of Object.entries(s)) {
            const was = last.get(reason) ?? 0;
            if (n > was) {
              this.inc({ reason }, n - was);
              last.set(reason, n);
            }
          }
        },
      });
    };
    byReason('skipped_packets_total', 'Frames counted and skipped, by reason.', (c) => c.skipped);
    byReason(
      'tunnel_fallback_packets_total',
      "Packets counted as their tunnel's carrier flow (UDP 4789, GTP-U, protocol 41, ...) because the tunnel inside could not be opened, by reason: <encap>-inner = the inner packet cut by the capture or malformed, too-deep = nested past the depth limit.",
      (c) => c.tunnelFallback,
    );
    new Gauge({
      name: `${p}live_flows`, help: 'Flows live in the flow table(s).', registers,
      collect(this: Gauge) {
        const n = poll()?.liveFlows;
        if (n !== undefined) this.set(n);
      },
    });
    this.verdicts = new Counter({ name: `${p}verdicts_total`, help: 'Verdicts emitted (once per flow, as soon as its label is final), by label and protocol.', labelNames: ['label', 'protocol'], registers });
    this.flows = new Counter({ name: `${p}flows_total`, help: 'Flows ended (records written), by label and protocol.', labelNames: ['label', 'protocol'], registers });
    this.flowsCut = new Counter({ name: `${p}flows_payload_cut_total`, help: 'Flows ended whose inspected payload the capture cut short (snap length, slicing), by label: an ordinary verdict on them has confidence 0.6.', labelNames: ['label'], registers });
    this.flowsCapped = new Counter({ name: `${p}flows_capture_capped_total`, help: 'Flows ended whose inspection a flow-table cap cut short (maxLongCapturingFlows, maxCapturingFlows), by label: an ordinary verdict on them has confidence 0.6.', labelNames: ['label'], registers });
    this.verdictPackets = new Histogram({ name: `${p}verdict_payload_packets`, help: "Payload packets seen when a flow's label became final (time to verdict), by label.", labelNames: ['label'], buckets: VERDICT_BUCKETS, registers });
    this.lag = new Histogram({ name: `${p}output_lag_seconds`, help: 'Output lag: age of the oldest line in each write to the output, seconds.', buckets: LAG_BUCKETS, registers });
    this.listVersion = new Gauge({ name: `${p}list_version`, help: 'Version of the list snapshot in force (named by every verdict).', registers });
    this.listLoad = new Gauge({ name: `${p}list_load_seconds`, help: 'Time the last successful list load took, seconds.', registers });
    this.listLoadedAt = new Gauge({ name: `${p}list_loaded_timestamp_seconds`, help: 'Unix time of the last successful list load.', registers });
    this.reloads = new Counter({ name: `${p}list_loads_total`, help: 'List loads and reloads, by result (ok, error: the previous lists stayed in force).', labelNames: ['result'], registers });
    if (options.processMetrics !== false) {
      const proc = processMetrics();
      for (const { name } of proc.getMetricsAsArray()) this.registry.registerMetric(proc.getSingleMetric(name)!);
    }
  }

  /** The run's counters, read at each scrape (replaces an earlier source: a new session, a pool). */
  watch(poll: () => RunCounters): void {
    this.poll = poll;
  }

  /** A verdict was emitted. */
  verdict(v: LabelledFlow): void {
    this.verdicts.inc({ label: v.label, protocol: v.protocol ?? NO_PROTOCOL });
    this.verdictPackets.observe({ label: v.label }, v.decidedAtPacket);
  }

  /** A flow ended (its record was written). */
  record(r: LabelledFlow): void {
    this.flows.inc({ label: r.label, protocol: r.protocol ?? NO_PROTOCOL });
    if (r.payloadCut) this.flowsCut.inc({ label: r.label });
    if (r.captureCapped) this.flowsCapped.inc({ label: r.label });
  }

  /** A write to the output carried lines produced up to `seconds` earlier. */
  outputLag(seconds: number): void {
    this.lag.observe(seconds);
  }

  /** A list load or reload finished: `ok` with the new version and how long it took, or failed (old lists stay). */
  lists(result: { ok: true; version: number; seconds: number } | { ok: false }): void {
    this.reloads.inc({ result: result.ok ? 'ok' : 'error' });
    if (!result.ok) return;
    this.listVersion.set(result.version);
    this.listLoad.set(result.seconds);
    this.listLoadedAt.set(Date.now() / 1000);
  }

  /** The exposition text (what a scrape gets). */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * Serve `GET /metrics` on host:port (port 0: any free port). Other paths answer 404, other methods 405. Bounded
   * in connections, header time and scrape work ({@link ServeOptions}).
   * @throws InvalidArgumentError on bad options; the listen error (address in use, not permitted) through the
   * returned promise
   */
  serve(host: string, port: number, options: ServeOptions = {}): Promise<MetricsServer> {
    checkOptions('serve', options);
    checkKnownOptions('serve', options, ['maxConnections', 'maxConnectionsPerPeer', 'headersTimeoutMs', 'scrapeBuildsPerSecond']);
    const maxConnections = numberOption('maxConnections', options.maxConnections, 32, 1, 1 << 20, true);
    const maxPerPeer = numberOption('maxConnectionsPerPeer', options.maxConnectionsPerPeer, 4, 1, 1 << 20, true);
    const headersTimeout = numberOption('headersTimeoutMs', options.headersTimeoutMs, 5000, 1, 3_600_000);
    const rate = numberOption('scrapeBuildsPerSecond', options.scrapeBuildsPerSecond, 4, 0.01, 1e6);
    // A token bucket: `rate` builds a second, up to `burst` at once.
    const burst = Math.max(1, rate);
    let tokens = burst;
    let refilled = performance.now();
    let last: Promise<string> | null = null;
    const exposition = (): Promise<string> => {
      const now = performance.now();
      tokens = Math.min(burst, tokens + ((now - refilled) / 1000) * rate);
      refilled = now;
      if (last === null || tokens >= 1) {
        tokens -= 1;
        last = this.registry.metrics();
      }
      return last;
    };
    const server: Server = builtin('node:http').createServer({
      headersTimeout,
      requestTimeout: 2 * headersTimeout,
      // How often Node looks for connections past those timeouts (its default, 30 s, would let them overstay).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, headersTimeout / 4)),
    }, (req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
        return;
      }
      exposition().then(
        (body) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(req.method === 'HEAD' ? undefined : body),
        (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${e instanceof Error ? e.message : String(e)}\n`),
      );
    });
    // A scraper that keeps its connection open must not keep a finished run alive.
    server.keepAliveTimeout = 5000;
    // Node's header timeout starts with a request's first byte, and nothing bounds a response nobody reads: a peer
    // that connects and stays silent, or pipelines requests and never reads, would hold its slots for good. A
    // socket on which nothing moves (no byte read or written) for headersTimeout is destroyed.
    server.setTimeout(headersTimeout);
    server.maxConnections = maxConnections;
    const perPeer = new Map<string, number>();
    server.on('connection', (socket) => {
      const peer = peerKey(socket.remoteAddress ?? '');
      const n = (perPeer.get(peer) ?? 0) + 1;
      if (n > maxPerPeer) {
        socket.destroy();
        return;
      }
      perPeer.set(peer, n);
      socket.once('close', () => {
        const k = perPeer.get(peer)! - 1;
        if (k === 0) perPeer.delete(peer);
        else perPeer.set(peer, k);
      });
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        server.unref();
        const a = server.address();
        const bound = typeof a === 'object' && a !== null ? a : { address: host, port };
        const h = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
        resolve({
          host: bound.address,
          port: bound.port,
          url: `http://${h}:${bound.port}/metrics`,
          close: () => new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
        });
      });
    });
  }
}

const peerWords = new Uint32Array(4);

/**
 * @internal What the per-peer connection cap counts by: an IPv4 address (also written IPv4-mapped), or the /64 of
 * an IPv6 one, since a single IPv6 host commonly holds a whole /64 and could open the cap from each address.
 */
export function peerKey(address: string): string {
  if (!address.includes(':') || !parseIPv6(address, peerWords)) return address;
  const w = peerWords;
  if (isV4MappedWords(w[0]!, w[1]!, w[2]!)) return formatIPv4(w[3]!);
  return `${formatIPv6Words(w[0]!, w[1]!, 0, 0)}/64`;
}

/** Create the metrics of one run. */
export function createRunMetrics(options: MetricsOptions = {}): RunMetrics {
  return new RunMetrics(options);
}
