/**
 * ClassifierPool: the classifier on N worker threads.
 *
 * - `classifyFile`: the main thread reads the capture once into shared chunks; every worker frames every chunk
 *   and keeps only the packets whose shard hash (outermost IP pair, unordered — see shard.ts) names it (cheap:
 *   framing touches record headers only); records come back in batches and are merged
 *   in a deterministic order (see `PoolOrder`), so any worker count gives the same output.
 * - live `push`/`end`: the main thread shards frames into per-worker batch buffers (ArrayBuffers transferred to
 *   the worker and back, never one message per packet); `push` returns false while too many batches are in
 *   flight and the pool emits 'drain' later, like a writable stream.
 * - `update`: lists are validated and built once here; CIDR tables go to workers as SharedArrayBuffers (zero
 *   copy); the switch is sequenced between batches so every worker changes version at the same stream point.
 */
import { EventEmitter } from 'node:events';
import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { builtin } from '../builtins.js';
import { Classifier, CLASSIFIER_OPTIONS, type ClassifierOptions } from '../classify/classifier.js';
import type { ListsInput } from '../classify/lists.js';
import type { FlowRecord } from '../classify/record.js';
import { DETECTORS } from '../detect/registry.js';
import { checkKnownOptions, checkOptions, describeValue, InvalidArgumentError, PoolError, TraceFormatError, TunnelscopeError, type ErrorCode } from '../errors.js';
import type { FlowTableOptions } from '../trace/flow-table.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW, type RawPacket } from '../trace/types.js';
import { frameShard } from './shard.js';
import { isDnsServerFrame } from '../trace/peek.js';
import { addReaderProblems, checkFrame, isCaptureTime, usFromNs } from '../trace/container.js';
import { CaptureReader, MAX_CHUNK_SIZE } from '../trace/reader.js';
import type { CertStreamStats } from '../detect/names/cert-stream.js';
import { FRAME_FOREIGN, FRAME_HEADER_BYTES, sharedLists, toWire, type FromWorker, type LiveConfig, type LiveCounters, type ToWorker, type WorkerSessionStats } from './protocol.js';

/**
 * Output order of `classifyFile`:
 * - `'sorted'` (default): records ordered by (end point in the packet stream, firstSeen, transport, src, dst,
 *   vlan, lastSeen). The end point is the index of the packet at which the flow ended (idle check, FIN/RST,
 *   eviction) or end of file. Identical for any worker count as long as no flow is evicted at the cap (caps are
 *   per worker). Memory: records are held until every worker has passed their end point, i.e. one read chunk
 *   of records in flight, except the end-of-file group (flows still live at EOF, ≤ maxFlows) which is held and
 *   sorted whole before it is delivered.
 * - `'arrival'`: records delivered as worker batches arrive; bounded memory, order varies between runs.
 */
export type PoolOrder = 'sorted' | 'arrival';

export interface ClassifierPoolOptions extends ClassifierOptions {
  /** Worker threads (default: `os.availableParallelism()`). */
  workers?: number;
  /** classifyFile output order (default 'sorted'). */
  order?: PoolOrder;
  /** Live path: batches in flight per worker before `push` returns false (default 4). */
  maxBatchesPerWorker?: number;
  /** Live path: batch buffer size in bytes (default 256 KiB; a larger frame gets its own buffer). */
  batchBytes?: number;
  /** Worker entry (default: worker.js next to this module in dist/). */
  workerUrl?: URL | string;
}

export interface ClassifyFileOptions {
  /**
   * Flow-table options. `maxFlows` and `maxCapturingFlows` are the pool's totals: each worker gets
   * ceil(total / workers) (the shard hash spreads flows evenly, not exactly).
   */
  flow?: FlowTableOptions;
  /** Read chunk size in bytes (default 2 MiB; 8 chunks in flight). */
  chunkSize?: number;
  /**
   * Called (on the main thread) as the slowest worker advances: packets and capture-file bytes that every
   * worker has read. Roughly every 4 MiB of input.
   */
  onProgress?: (p: { packets: number; bytes: number }) => void;
  /**
   * Stop the run early (a signal at a live gateway): reading stops at the next chunk, every live flow ends with
   * reason `stop`, and the promise resolves as usual once every record has been delivered.
   */
  signal?: AbortSignal;
}

export interface PoolStats {
  /** Packets in the file (live: pushed). */
  packets: number;
  /** Packets each worker claimed. */
  claimed: number[];
  decoded: number;
  flows: number;
  verdicts: number;
  malformed: Record<string, number>;
  /** Packets counted as their tunnel's carrier flow, by reason (SessionStats.fallback), all workers. */
  fallback: Record<string, number>;
  /** Payload packets not inspected as copies of the one before (SessionStats.duplicatesSkipped), all workers. */
  duplicatesSkipped: number;
  /** Server certificates joined across segments, and why not (SessionStats.certificates), all workers. */
  certificates: CertStreamStats;
  /** List version in force in the workers when the run ended (records name the version each used). */
  listVersion: number;
  elapsedMs: number;
}

interface Slot {
  w: Worker;
  /** Record batches consumed (see RECORD_BATCHES_IN_FLIGHT). */
  acked: Int32Array;
  /** Live batch being filled. */
  buf: ArrayBuffer | null;
  dv: DataView | null;
  u8: Uint8Array | null;
  used: number;
  nFrames: number;
  inFlight: number;
  free: ArrayBuffer[];
  /** What the worker's live session last reported (with the batch it handed back). */
  counters: LiveCounters | null;
}

interface FileJob {
  onRecord: (r: FlowRecord) => void;
  onProgress: ((p: { packets: number; bytes: number }) => void) | undefined;
  bytes: number[];
  queues: { r: FlowRecord; i: number }[][];
  wm: number[];
  done: (WorkerSessionStats | null)[];
  listVersion: number;
  start: number;
  /** Read ring: free chunk slots, per-slot count of workers still reading it, the reader waiting for a slot. */
  free: number[];
  refs: Int32Array;
  waiter: (() => void) | null;
  resolve: (s: PoolStats) => void;
  reject: (e: Error) => void;
  failed: boolean;
  /** The capture is corrupt here (a worker's 'done' said so): the run rejects with it once every record is out. */
  formatError: TraceFormatError | null;
}

/** Read ring of a file run: chunks of this size, this many in flight. */
const DEFAULT_CHUNK_BYTES = 2 << 20;
/** The flow table's idle-check period (flow-table.ts EXPIRY_CHECK_US; worker.ts keeps the same for file runs). */
const EXPIRY_CHECK_US = 1_000_000;
const RING_CHUNKS = 8;
/** Smallest chunk a ring sized to its file gets. */
const MIN_SIZED_CHUNK_BYTES = 64 << 10;

/** Size of `path` when it is a regular file (null otherwise, or when it cannot be examined: the read reports that). */
function regularFileSize(path: string): number | null {
  try {
    const st = statSync(path);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

function splitFlow(f: FlowTableOptions | undefined, n: number): FlowTableOptions | undefined {
  if (f === undefined || n === 1) return f;
  const out: FlowTableOptions = { ...f };
  if (f.maxFlows !== undefined) out.maxFlows = Math.max(1, Math.ceil(f.maxFlows / n));
  if (f.maxCapturingFlows !== undefined) out.maxCapturingFlows = Math.ceil(f.maxCapturingFlows / n);
  if (f.maxLongCapturingFlows !== undefined) out.maxLongCapturingFlows = Math.ceil(f.maxLongCapturingFlows / n);
  return out;
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Canonical order of records within one end point (see PoolOrder). */
export function compareRecords(a: FlowRecord, b: FlowRecord): number {
  return (
    cmpStr(a.firstSeen, b.firstSeen) || cmpStr(a.transport, b.transport) || cmpStr(a.src, b.src) ||
    cmpStr(a.dst, b.dst) || (a.vlan ?? -1) - (b.vlan ?? -1) || cmpStr(a.encap ?? '', b.encap ?? '') ||
    cmpStr(a.lastSeen, b.lastSeen) || a.packets - b.packets || a.bytes - b.bytes
  );
}

function addInto<T extends object>(dst: T, src: T): void {
  const d = dst as Record<string, number>;
  for (const [k, v] of Object.entries(src) as [string, number][]) d[k] = (d[k] ?? 0) + v;
}

/** The run's stats: the workers' counters summed. */
function poolStats(packets: number, stats: readonly WorkerSessionStats[], listVersion: number, elapsedMs: number): PoolStats {
  const s: PoolStats = {
    packets, claimed: stats.map((x) => x.claimed), decoded: 0, flows: 0, verdicts: 0, malformed: {}, fallback: {},
    duplicatesSkipped: 0, certificates: { started: 0, completed: 0, tooLong: 0, noSlot: 0, abandoned: 0 },
    listVersion, elapsedMs,
  };
  for (const x of stats) {
    s.decoded += x.decoded;
    s.flows += x.flows;
    s.verdicts += x.verdicts;
    s.duplicatesSkipped += x.duplicatesSkipped;
    addInto(s.malformed, x.malformed);
    addInto(s.fallback, x.fallback);
    addInto(s.certificates, x.certificates);
  }
  return s;
}

/**
 * What a file run had counted when its capture turned out corrupt, kept with the error it rejects with: the promise
 * carries the error alone, yet a caller counting many captures (classifyCaptures) reports the packets read and
 * skipped before the damage, as one session does.
 */
const statsAtError = new WeakMap<Error, PoolStats>();

/** The stats of a `classifyFile` run up to the corruption point `e` rejected it with (undefined for other errors). */
export function statsBeforeError(e: unknown): PoolStats | undefined {
  return e instanceof Error ? statsAtError.get(e) : undefined;
}

function workerError(i: number, m: Extract<FromWorker, { t: 'error' }>): Error {
  return m.code ? new TunnelscopeError(m.code as ErrorCode, m.message) : new PoolError('worker-error', `pool worker ${i} failed: ${m.message}`, i);
}

/**
 * Events: 'verdict' (VerdictEvent) and 'flow' (FlowRecord) from the live path, 'drain' when `push` may
 * continue, 'end' after `end()` delivered everything, 'error' (Error) when a worker fails.
 */
export class ClassifierPool extends EventEmitter {
  readonly workers: number;
  private readonly classifier: Classifier;
  private readonly slots: Slot[] = [];
  private readonly order: PoolOrder;
  private readonly maxInFlight: number;
  private readonly batchBytes: number;
  private readonly flowDefaults: FlowTableOptions | undefined;
  private readonly jobs = new Map<number, FileJob>();
  private nextJob = 1;
  private pings = new Map<number, { left: number; versions: number[]; resolve: (v: number[]) => void; reject: (e: Error) => void }>();
  private nextPing = 1;
  private clockUs = 0;
  /** Live path: the idle-check schedule of one session over the whole stream (see pushFrame). */
  private checkUs = 0;
  private nextCheckUs = 0;
  private livePackets = 0;
  private needDrain = false;
  private drainWaiters: (() => void)[] = [];
  private flushScheduled = false;
  /**
   * An adapter owns the live input (see ownLive): its frames go out on a timer instead of once the caller yields,
   * and a batch that would exceed the in-flight bound is not made (the frame is refused, for the adapter to count).
   */
  private liveOwner: { flushMs: number; dns: boolean; maxInFlight: number } | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private ending: { left: number; stats: WorkerSessionStats[]; resolve: () => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(options: ClassifierPoolOptions = {}) {
    super();
    const n = options.workers ?? availableParallelism();
    if (!Number.isInteger(n) || n < 1 || n > 256) throw new InvalidArgumentError(`pool: workers must be an integer 1..256, got ${n}`);
    let detectorIds: string[] | null = null;
    if (options.detectors) {
      detectorIds = options.detectors.map((d) => {
        if (!DETECTORS.includes(d)) throw new InvalidArgumentError(`pool: detector '${d.id}' is not built in; custom detectors cannot cross threads`);
        return d.id;
      });
    }
    this.workers = n;
    this.order = options.order ?? 'sorted';
    this.maxInFlight = options.maxBatchesPerWorker ?? 4;
    this.batchBytes = options.batchBytes ?? 256 * 1024;
    this.flowDefaults = options.flow;
    // Validates and builds every list once, here; workers get views of the same tables.
    this.classifier = new Classifier(sharedLists(options));
    const lists = toWire(this.classifier.lists);
    const url = options.workerUrl ?? new URL('./worker.js', import.meta.url);
    for (let i = 0; i < n; i++) {
      const acked = new Int32Array(new SharedArrayBuffer(4));
      const w = new (builtin('node:worker_threads').Worker)(url, { workerData: { index: i, acked: acked.buffer, detectorIds, lists, flow: splitFlow(options.flow, n), companionWindowS: options.companionWindowS, sslVpnEspPorts: options.sslVpnEspPorts } });
      const slot: Slot = { w, acked, buf: null, dv: null, u8: null, used: 0, nFrames: 0, inFlight: 0, free: [], counters: null };
      w.on('message', (m: FromWorker) => this.onMessage(i, m));
      w.on('error', (e: Error) => this.fail(new PoolError('worker-error', `pool worker ${i} failed: ${e.message}`, i, { cause: e })));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(new PoolError('worker-exit', `pool worker ${i} exited with code ${code}`, i));
      });
      this.slots.push(slot);
    }
  }

  /**
   * The live run's counters over all workers, as each last reported them with a batch it handed back (at most one
   * batch behind): flows live, flows evicted, payload copies skipped, frames skipped by reason,
   * packets counted as their tunnel's carrier by reason. Zero before the
   * first batch; file runs (`classifyFile`) report theirs at the end, in their PoolStats.
   */
  liveCounters(): LiveCounters {
    const sum: LiveCounters = { liveFlows: 0, flows: 0, verdicts: 0, idle: 0, evicted: 0, duplicatesSkipped: 0, malformed: {}, fallback: {} };
    for (const s of this.slots) {
      const c = s.counters;
      if (c === null) continue;
      sum.liveFlows += c.liveFlows;
      sum.flows += c.flows;
      sum.verdicts += c.verdicts;
      sum.idle += c.idle;
      sum.evicted += c.evicted;
      sum.duplicatesSkipped += c.duplicatesSkipped;
      for (const [k, n] of Object.entries(c.malformed)) sum.malformed[k] = (sum.malformed[k] ?? 0) + n;
      for (const [k, n] of Object.entries(c.fallback)) sum.fallback[k] = (sum.fallback[k] ?? 0) + n;
    }
    return sum;
  }

  /** Version of the lists in force (every verdict names the version it used). */
  get listVersion(): number {
    return this.classifier.listVersion;
  }

  /**
   * Classify one capture file on all workers. The file is read once (main thread, async, into a ring of
   * RING_CHUNKS shared chunks); every worker frames every chunk and keeps its shard. An `update()` during the
   * run reaches every worker between the same two chunks (messages reach all workers in one order), so all
   * workers switch at the same point of the file; each record names the version it used. Resolves when every
   * record has been delivered to `onRecord`.
   * @throws {TraceFormatError} (rejection) malformed capture; file system errors as messages
   */
  classifyFile(path: string, onRecord: (r: FlowRecord) => void, opts: ClassifyFileOptions = {}): Promise<PoolStats> {
    const refused = this.refusal(false);
    if (refused) return Promise.reject(refused);
    const n = this.workers;
    const job = this.nextJob++;
    const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_BYTES;
    // A ring of RING_CHUNKS shared buffers of this size: bounded as the readers' read size is.
    if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) return Promise.reject(new InvalidArgumentError(`chunkSize must be an integer in [1, ${MAX_CHUNK_SIZE}], got ${describeValue(chunkSize)}`));
    const flow = splitFlow(opts.flow ?? this.flowDefaults, n);
    // A capture smaller than a chunk gets chunks its size: a run over thousands of small captures allocated 16 MiB of
    // shared memory for each, which the collector does not see as heap pressure (RSS grew with the file count).
    // A file that grows past its size is still read whole, in more chunks.
    const size = regularFileSize(path);
    const chunk = size === null ? chunkSize : Math.min(chunkSize, Math.max(MIN_SIZED_CHUNK_BYTES, size + 1));
    const ring = Array.from({ length: RING_CHUNKS }, () => new SharedArrayBuffer(chunk));
    const promise = new Promise<PoolStats>((resolve, reject) => {
      this.jobs.set(job, {
        onRecord,
        onProgress: opts.onProgress,
        bytes: new Array<number>(n).fill(0),
        queues: Array.from({ length: n }, () => []),
        wm: new Array<number>(n).fill(0),
        done: new Array<WorkerSessionStats | null>(n).fill(null),
        listVersion: this.listVersion,
        start: performance.now(),
        free: ring.map((_, i) => i),
        refs: new Int32Array(RING_CHUNKS),
        waiter: null,
        resolve,
        reject,
        failed: false,
        formatError: null,
      });
    });
    const stop = new SharedArrayBuffer(4);
    const msg: ToWorker = { t: 'file', job, path, flow, nShards: n, ring, sendEvery: 4 * chunk, stop };
    for (const s of this.slots) s.w.postMessage(msg);
    // Workers skip chunks still queued once the run is stopped.
    const signal = opts.signal;
    if (signal) {
      const onAbort = (): void => void Atomics.store(new Int32Array(stop), 0, 1);
      signal.addEventListener('abort', onAbort, { once: true });
      // A signal outlives its runs (one per batch of captures): each run takes its listener off when it settles.
      const off = (): void => signal.removeEventListener('abort', onAbort);
      promise.then(off, off);
    }
    this.pump(job, path, ring, signal).catch((e: unknown) => this.jobFail(job, e as Error));
    return promise;
  }

  /**
   * Read the file once into the ring and hand each chunk to every worker; a slot is reused when every worker
   * has framed it. The slowest worker sets the pace (bounded memory: RING_CHUNKS × chunkSize).
   */
  private async pump(job: number, path: string, ring: SharedArrayBuffer[], signal?: AbortSignal): Promise<void> {
    const j = this.jobs.get(job)!;
    const views = ring.map((b) => new Uint8Array(b));
    const fh = await open(path, 'r');
    // An abort wakes a pump waiting for a free slot.
    const onAbort = (): void => {
      const w = j.waiter;
      j.waiter = null;
      w?.();
    };
    signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        if (j.failed || this.closed) return;
        if (signal?.aborted) break;
        if (j.free.length === 0) await new Promise<void>((res) => (j.waiter = res));
        if (signal?.aborted) break;
        const slot = j.free.pop();
        if (slot === undefined || j.failed || this.closed) return;
        const v = views[slot]!;
        const { bytesRead } = await fh.read(v, 0, v.length, null);
        if (j.failed || this.closed) return;
        if (bytesRead === 0) break;
        j.refs[slot] = this.workers;
        const m: ToWorker = { t: 'chunk', job, slot, len: bytesRead };
        for (const s of this.slots) s.w.postMessage(m);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await fh.close();
    }
    const eof: ToWorker = { t: 'eof', job, reason: signal?.aborted ? 'stop' : 'eof' };
    for (const s of this.slots) s.w.postMessage(eof);
  }

  /**
   * Classify a capture read from a stream (`process.stdin`, a socket, any async iterable of byte chunks) on the live
   * path, honouring back-pressure (reading pauses while workers are behind). `onRecord` gets every record, including
   * those of flows still live at the end. Should the capture turn out corrupt, the flows read before the corruption
   * point end as at end of input, their records are delivered, and then the promise rejects with the
   * TraceFormatError: the same records and error as one session gives.
   * @throws {TraceFormatError} (rejection) malformed capture
   * @throws {InvalidArgumentError} (rejection) the stream yields strings
   */
  async classifyStream(
    stream: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
    source: string,
    onRecord: (r: FlowRecord) => void,
  ): Promise<PoolStats> {
    const reader = new CaptureReader(source);
    // onRecord runs inside the workers' message handler: a throw there would be an uncaught exception and the run
    // would resolve as if whole. It is kept, ends the run as classifyFile's does (no record after it), and rejects it.
    let consumerError: { e: unknown } | null = null;
    const onFlow = (r: FlowRecord): void => {
      if (consumerError !== null) return;
      try {
        onRecord(r);
      } catch (e) {
        consumerError = { e };
      }
    };
    this.on('flow', onFlow);
    let busy = false;
    const onPacket = (raw: RawPacket): void => {
      if (!this.pushRaw(raw)) busy = true;
    };
    try {
      let bad: TraceFormatError | null = null;
      try {
        for await (const chunk of stream as AsyncIterable<Uint8Array | string>) {
          if (typeof chunk === 'string') throw new InvalidArgumentError(`${source}: stream yields text; read captures without an encoding`);
          reader.push(chunk, onPacket);
          if (busy) {
            busy = false;
            await this.drained();
          }
          if (consumerError !== null) break;
        }
        if (consumerError === null) reader.end(onPacket);
      } catch (e) {
        if (!(e instanceof TraceFormatError)) {
          // The stream failed (or yields text): the flows read so far still end and are delivered, so the next live
          // run of this pool starts from empty sessions instead of inheriting them.
          if (!this.failure && !this.closed && !this.ending) await this.end().catch(() => {});
          throw e;
        }
        bad = e;
      }
      // End of input, or the corruption point: every flow read so far ends and is delivered.
      const stats = await this.end();
      if (consumerError !== null) throw (consumerError as { e: unknown }).e;
      if (bad !== null) throw bad;
      addReaderProblems(stats.malformed, reader.stats);
      return stats;
    } finally {
      this.off('flow', onFlow);
    }
  }

  /** Resolves on the next 'drain' (or at once when the pool failed or nothing is waiting). */
  private drained(): Promise<void> {
    if (this.failure || this.closed || !this.needDrain) return Promise.resolve();
    return new Promise((res) => this.drainWaiters.push(res));
  }

  /**
   * Feed one live frame (copied into a batch; the caller may reuse `bytes`). Returns false when the workers
   * are behind: keep the frame count bounded by waiting for 'drain'.
   */
  push(bytes: Uint8Array, timestampNs: number | bigint, linkType: number = LINKTYPE_ETHERNET): boolean {
    checkFrame('pool.push', bytes, linkType);
    this.checkNotOwned('push');
    const tsUs = usFromNs(timestampNs);
    return this.pushFrame(bytes, 0, bytes.length, bytes.length, tsUs, linkType);
  }

  /**
   * Advance capture time without a frame (a live input that went quiet): every worker ends the flows idle at
   * `tsUs` (and closed connections past their linger), as `session.advance` does; their records follow as events.
   * A time at or before the stream's clock changes nothing.
   */
  advance(tsUs: number): void {
    const refused = this.refusal(true);
    if (refused) throw refused;
    if (!isCaptureTime(tsUs) || tsUs <= this.clockUs) return;
    this.clockUs = this.checkUs = tsUs;
    this.nextCheckUs = tsUs + EXPIRY_CHECK_US;
    // Frames already queued go first; then each worker gets the check in a batch (empty when nothing was queued).
    for (const s of this.slots) {
      if (s.buf === null) this.openBatch(s, 0);
      this.sendBatch(s);
    }
  }

  /**
   * Feed a frame straight from a capture reader (`readCaptureStream(process.stdin, '-', (raw) => pool.pushRaw(raw))`):
   * copied, so the reader may reuse its buffer; microsecond timestamps pass through exactly.
   */
  pushRaw(raw: RawPacket): boolean {
    checkFrame('pool.pushRaw', raw.data, raw.linkType, raw.offset, raw.capLen);
    this.checkNotOwned('pushRaw');
    return this.pushFrame(raw.data, raw.offset, raw.capLen, raw.wireLen, raw.tsUs, raw.linkType);
  }

  private pushFrame(data: Uint8Array, off: number, len: number, wireLen: number, tsUs: number, linkType: number): boolean {
    const refused = this.refusal(true);
    if (refused) throw refused;
    this.clock(tsUs);
    this.livePackets++;
    const own = frameShard(data, off, len, linkType, this.workers);
    this.append(this.slots[own]!, data, off, len, wireLen, tsUs, linkType);
    // DNS answers bind addresses for flows in any shard: every other worker gets a copy to read (not to track).
    if (this.workers > 1 && isDnsServerFrame(data, off, len, linkType)) {
      for (let w = 0; w < this.workers; w++) if (w !== own) this.append(this.slots[w]!, data, off, len, wireLen, tsUs, (linkType | FRAME_FOREIGN) >>> 0);
    }
    this.scheduleFlush();
    let busy = false;
    for (const s of this.slots) if (s.inFlight >= this.maxInFlight) busy = true;
    if (busy) this.needDrain = true;
    return !busy;
  }

  /**
   * Idle expiry runs on one schedule for the whole stream, the one a single session keeps (a check when capture
   * time has moved a second past the last one); each frame carries the latest check and its worker applies it
   * before the frame, so flows end at the same stream points whatever the worker count — also when time jumps
   * (merged or clock-stepped captures). A frame with an impossible time (the worker counts it) moves nothing.
   */
  private clock(tsUs: number): void {
    if (isCaptureTime(tsUs)) {
      if (tsUs > this.clockUs) this.clockUs = tsUs;
      if (this.clockUs >= this.nextCheckUs) {
        this.nextCheckUs = this.clockUs + EXPIRY_CHECK_US;
        this.checkUs = this.clockUs;
      }
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    const o = this.liveOwner;
    if (o !== null) {
      // A datagram per 'message' event: flushed per turn, a batch would carry a few frames and cost a message
      // each; on a timer it carries every frame of the interval (the adapter's verdicts wait at most that long).
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.flushScheduled = false;
        this.flushBatches();
      }, o.flushMs);
      this.flushTimer.unref();
      return;
    }
    // Partial batches go out once the caller yields: bounded latency without per-packet messages.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushBatches();
    });
  }

  /**
   * @internal The UDP adapter's live input (see DatagramClassifier): the workers' next live session is made with
   * `config`, batches go out every `flushMs`, at most `queueBytes` of batches wait for each worker (a datagram
   * beyond is refused), and only {@link pushDatagram} feeds it (`push`/`pushRaw` throw) until `end()` resolves.
   * `dns`: DNS answers are copied to every worker (false when the sessions read none).
   * @throws {InvalidArgumentError} when the live input is owned already or a live run has begun
   */
  ownLive(config: LiveConfig, flushMs: number, queueBytes: number, dns: boolean): void {
    const refused = this.refusal(true);
    if (refused) throw refused;
    if (this.liveOwner !== null) throw new InvalidArgumentError('pool: its live input is used by another adapter already');
    if (this.livePackets > 0) throw new InvalidArgumentError('pool: a live run has begun (end() it first)');
    this.liveOwner = { flushMs, dns, maxInFlight: Math.max(1, Math.floor(queueBytes / this.batchBytes)) };
    const msg: ToWorker = { t: 'live-config', config: { ...config, flow: splitFlow(config.flow, this.workers) } };
    for (const s of this.slots) s.w.postMessage(msg);
  }

  private checkNotOwned(call: string): void {
    if (this.liveOwner !== null) throw new InvalidArgumentError(`pool.${call}: the live input belongs to a DatagramClassifier until its close()`);
  }

  /**
   * @internal One datagram as a raw IP frame: its IP and UDP headers `hdr[0, hdrLen)` (built by the adapter) and
   * `payload[0, n)`. Returns false, copying nothing, when the datagram's worker has as many batches in flight as
   * the pool allows and the open batch has no room: a live input that cannot wait is bounded by dropping (the
   * caller counts it), not by queueing without end.
   */
  pushDatagram(hdr: Uint8Array, hdrLen: number, payload: Uint8Array, n: number, tsUs: number): boolean {
    const refused = this.refusal(true);
    if (refused) throw refused;
    const owner = this.liveOwner;
    if (owner === null) throw new InvalidArgumentError('pool.pushDatagram: the live input is not owned (ownLive)');
    const own = frameShard(hdr, 0, hdrLen, LINKTYPE_RAW, this.workers);
    const slot = this.slots[own]!;
    const need = FRAME_HEADER_BYTES + ((hdrLen + n + 7) & ~7);
    if (!hasRoom(slot, need, owner.maxInFlight)) return false;
    this.clock(tsUs);
    this.livePackets++;
    this.appendParts(slot, hdr, hdrLen, payload, n, tsUs, LINKTYPE_RAW);
    if (this.workers > 1 && owner.dns && isDnsServerFrame(hdr, 0, hdrLen, LINKTYPE_RAW)) {
      for (let w = 0; w < this.workers; w++) {
        const o = this.slots[w]!;
        if (w === own || !hasRoom(o, need, owner.maxInFlight)) continue;
        this.appendParts(o, hdr, hdrLen, payload, n, tsUs, (LINKTYPE_RAW | FRAME_FOREIGN) >>> 0);
      }
    }
    this.scheduleFlush();
    return true;
  }

  private appendParts(slot: Slot, hdr: Uint8Array, hdrLen: number, payload: Uint8Array, n: number, tsUs: number, linkType: number): void {
    const len = hdrLen + n;
    const need = FRAME_HEADER_BYTES + ((len + 7) & ~7);
    if (slot.buf !== null && slot.used + need > slot.buf.byteLength) this.sendBatch(slot);
    if (slot.buf === null) this.openBatch(slot, need);
    const o = this.frameHeader(slot, len, len, tsUs, linkType);
    const u8 = slot.u8!;
    for (let i = 0; i < hdrLen; i++) u8[o + i] = hdr[i]!;
    u8.set(n === payload.length ? payload : payload.subarray(0, n), o + hdrLen);
    slot.used = o - FRAME_HEADER_BYTES + need;
    slot.nFrames++;
  }

  /** Write a frame's header at the batch's end; returns where its bytes go. */
  private frameHeader(slot: Slot, len: number, wireLen: number, tsUs: number, linkType: number): number {
    const o = slot.used;
    const dv = slot.dv!;
    dv.setFloat64(o, tsUs, true);
    dv.setUint32(o + 8, len, true);
    dv.setUint32(o + 12, linkType, true);
    dv.setUint32(o + 16, wireLen >>> 0, true);
    dv.setFloat64(o + 24, this.checkUs, true);
    dv.setFloat64(o + 32, this.clockUs, true);
    return o + FRAME_HEADER_BYTES;
  }

  private append(slot: Slot, data: Uint8Array, off: number, len: number, wireLen: number, tsUs: number, linkType: number): void {
    const need = FRAME_HEADER_BYTES + ((len + 7) & ~7);
    if (slot.buf !== null && slot.used + need > slot.buf.byteLength) this.sendBatch(slot);
    if (slot.buf === null) this.openBatch(slot, need);
    const o = this.frameHeader(slot, len, wireLen, tsUs, linkType);
    slot.u8!.set(off === 0 && len === data.length ? data : data.subarray(off, off + len), o);
    slot.used = o - FRAME_HEADER_BYTES + need;
    slot.nFrames++;
  }

  /**
   * Switch lists (fields not given keep their content). Built and validated here first: a bad list throws and
   * nothing changes. Live frames pushed before the call are classified with the old version, frames pushed
   * after with the new one, in every worker. A running classifyFile switches between two of its chunks, in every worker
   * at the same one (its records name the version each used).
   * @returns the new pool list version
   */
  update(input: ListsInput): number {
    const refused = this.refusal(false);
    if (refused) throw refused;
    const v = this.classifier.update(sharedLists(input));
    this.flushBatches();
    const msg: ToWorker = { t: 'lists', lists: toWire(this.classifier.lists) };
    for (const s of this.slots) s.w.postMessage(msg);
    return v;
  }

  /** List version each worker has in force once it has processed everything sent so far. */
  workerVersions(): Promise<number[]> {
    const refused = this.refusal(false);
    if (refused) return Promise.reject(refused);
    this.flushBatches();
    const id = this.nextPing++;
    return new Promise((resolve, reject) => {
      this.pings.set(id, { left: this.workers, versions: new Array<number>(this.workers).fill(0), resolve, reject });
      for (const s of this.slots) s.w.postMessage({ t: 'ping', id } satisfies ToWorker);
    });
  }

  /**
   * End of live input: every live flow ends (reason `eof`, or `stop` for a stopped run) and is emitted; resolves
   * after the last 'flow' event.
   */
  end(options: { reason?: 'eof' | 'stop' } = {}): Promise<PoolStats> {
    const refused = this.refusal(true);
    if (refused) return Promise.reject(refused);
    this.flushBatches();
    const start = performance.now();
    return new Promise<PoolStats>((resolve, reject) => {
      const stats: WorkerSessionStats[] = [];
      this.ending = {
        left: this.workers,
        stats,
        resolve: () => {
          const s = poolStats(this.livePackets, stats, this.listVersion, performance.now() - start);
          this.ending = null;
          this.livePackets = 0;
          // The next live run starts new sessions in the workers: its clock and check schedule start afresh too.
          this.clockUs = this.checkUs = this.nextCheckUs = 0;
          this.liveOwner = null;
          this.emit('end');
          resolve(s);
        },
        reject,
      };
      const reason = options.reason ?? 'eof';
      for (const s of this.slots) s.w.postMessage({ t: 'end', reason } satisfies ToWorker);
    });
  }

  /** Terminate the workers. Pending calls reject (PoolError `closed`); a second call resolves with the first. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.abandon(new PoolError('closed', 'pool closed'));
    this.closing = Promise.all(this.slots.map((s) => s.w.terminate())).then(() => undefined);
    return this.closing;
  }

  /** Why a call cannot start now (`live`: a call of the live run, which end() closes until it resolves), or null. */
  private refusal(live: boolean): Error | null {
    if (this.failure) return this.failure;
    if (this.closed) return new PoolError('closed', 'pool closed');
    if (live && this.ending) return new PoolError('ended', 'pool: live input after end() (wait for it to resolve)');
    return null;
  }

  /** Settle every call waiting on the workers with `e`: none of them can be answered any more. */
  private abandon(e: Error): void {
    for (const j of this.jobs.values()) {
      j.failed = true;
      j.reject(e);
      j.waiter?.();
    }
    this.jobs.clear();
    this.ending?.reject(e);
    this.ending = null;
    for (const p of this.pings.values()) p.reject(e);
    this.pings.clear();
    this.wakeDrainWaiters();
    // A writer waiting for 'drain' would wait for ever: woken, its next push throws `e`.
    if (this.needDrain) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  // ---- internals ---------------------------------------------------------------------------------------

  private flushBatches(): void {
    for (const s of this.slots) if (s.buf !== null && s.nFrames > 0) this.sendBatch(s);
  }

  /** Give `slot` an empty batch of at least `need` bytes: a returned buffer when one is large enough. */
  private openBatch(slot: Slot, need: number): void {
    let b = slot.free.pop();
    if (b === undefined || b.byteLength < need) b = new ArrayBuffer(Math.max(this.batchBytes, need));
    slot.buf = b;
    slot.dv = new DataView(b);
    slot.u8 = new Uint8Array(b);
    slot.used = 0;
    slot.nFrames = 0;
  }

  private sendBatch(slot: Slot): void {
    const buf = slot.buf!;
    const msg: ToWorker = { t: 'batch', buf, used: slot.used, nFrames: slot.nFrames, checkUs: this.checkUs };
    slot.buf = slot.dv = slot.u8 = null;
    slot.used = slot.nFrames = 0;
    slot.inFlight++;
    slot.w.postMessage(msg, [buf]);
  }

  private onMessage(i: number, m: FromWorker): void {
    switch (m.t) {
      case 'recs': {
        const a = this.slots[i]!.acked;
        try {
          this.onRecs(i, m);
        } finally {
          Atomics.add(a, 0, 1);
          Atomics.notify(a, 0);
        }
        return;
      }
      case 'free': {
        const j = this.jobs.get(m.job);
        if (!j) return;
        if (--j.refs[m.slot]! === 0) {
          j.free.push(m.slot);
          const w = j.waiter;
          j.waiter = null;
          w?.();
        }
        return;
      }
      case 'done': {
        const j = this.jobs.get(m.job);
        if (!j) return;
        j.done[i] = m.stats;
        j.wm[i] = Infinity;
        if (m.listVersion > j.listVersion) j.listVersion = m.listVersion;
        if (m.formatError !== null && j.formatError === null) {
          const f = m.formatError;
          j.formatError = new TraceFormatError(f.source, f.offset, f.detail);
        }
        this.release(m.job, j);
        return;
      }
      case 'live': {
        const slot = this.slots[i]!;
        if (m.counters !== null) slot.counters = m.counters;
        if (m.buf !== null) {
          slot.inFlight--;
          if (slot.free.length < (this.liveOwner?.maxInFlight ?? this.maxInFlight)) slot.free.push(m.buf);
        }
        for (const v of m.verdicts) this.emit('verdict', v);
        for (const r of m.recs) this.emit('flow', r);
        if (this.needDrain && this.slots.every((s) => s.inFlight < this.maxInFlight)) {
          this.needDrain = false;
          this.wakeDrainWaiters();
          this.emit('drain');
        }
        return;
      }
      case 'ended': {
        const e = this.ending;
        if (!e) return;
        e.stats[i] = m.stats;
        if (--e.left === 0) e.resolve();
        return;
      }
      case 'pong': {
        const p = this.pings.get(m.id);
        if (!p) return;
        p.versions[i] = m.version;
        if (--p.left === 0) {
          this.pings.delete(m.id);
          p.resolve(p.versions);
        }
        return;
      }
      case 'error':
        if (m.job !== null) this.jobFail(m.job, workerError(i, m));
        else this.fail(workerError(i, m));
        return;
      case 'ready':
        return;
    }
  }

  private onRecs(i: number, m: Extract<FromWorker, { t: 'recs' }>): void {
    const j = this.jobs.get(m.job);
    if (!j || j.failed) return;
    j.bytes[i] = m.bytes;
    if (j.onProgress) {
      let packets = Infinity, bytes = Infinity;
      for (let w = 0; w < this.workers; w++) {
        const p = w === i ? m.wm : j.wm[w]!;
        if (p < packets) packets = p;
        if (j.bytes[w]! < bytes) bytes = j.bytes[w]!;
      }
      try {
        j.onProgress({ packets: Number.isFinite(packets) ? packets : m.wm, bytes });
      } catch (e) {
        this.jobFail(m.job, e as Error);
        return;
      }
    }
    if (this.order === 'arrival') {
      j.wm[i] = m.wm;
      try {
        for (const r of m.recs) j.onRecord(r);
      } catch (e) {
        this.jobFail(m.job, e as Error);
      }
      return;
    }
    const q = j.queues[i]!;
    for (let k = 0; k < m.recs.length; k++) q.push({ r: m.recs[k]!, i: m.idx[k]! });
    j.wm[i] = m.wm;
    this.release(m.job, j);
  }

  /** Deliver every queued record whose end point every worker has passed, in canonical order. */
  private release(job: number, j: FileJob): void {
    let wm = Infinity;
    for (const w of j.wm) if (w < wm) wm = w;
    const out: { r: FlowRecord; i: number }[] = [];
    for (let w = 0; w < j.queues.length; w++) {
      const q = j.queues[w]!;
      let k = 0;
      while (k < q.length && q[k]!.i <= wm) k++;
      if (k === 0) continue;
      for (let x = 0; x < k; x++) out.push(q[x]!);
      j.queues[w] = k === q.length ? [] : q.slice(k);
    }
    if (out.length > 0) {
      if (this.workers > 1 || this.order === 'sorted') out.sort((a, b) => a.i - b.i || compareRecords(a.r, b.r));
      try {
        for (const x of out) j.onRecord(x.r);
      } catch (e) {
        this.jobFail(job, e as Error);
        return;
      }
    }
    if (j.done.every((d) => d !== null)) {
      if (j.formatError !== null) {
        // Every record before the corruption point is out (above): now the error, as one session reports it.
        this.stopJob(job, j);
        const stats = j.done as WorkerSessionStats[];
        statsAtError.set(j.formatError, poolStats(stats[0]!.packets, stats, j.listVersion, performance.now() - j.start));
        j.reject(j.formatError);
        return;
      }
      this.jobs.delete(job);
      const stats = j.done as WorkerSessionStats[];
      j.resolve(poolStats(stats[0]!.packets, stats, j.listVersion, performance.now() - j.start));
    }
  }

  private jobFail(job: number, e: Error): void {
    const j = this.jobs.get(job);
    if (!j || j.failed) return;
    this.stopJob(job, j);
    j.reject(e);
  }

  /** Forget a run that will not finish normally: wake the reader so it stops; workers drop the run's state. */
  private stopJob(job: number, j: FileJob): void {
    j.failed = true;
    this.jobs.delete(job);
    const w = j.waiter;
    j.waiter = null;
    w?.();
    if (!this.closed) for (const s of this.slots) s.w.postMessage({ t: 'cancel', job } satisfies ToWorker);
  }

  private wakeDrainWaiters(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  private fail(e: Error): void {
    if (this.failure || this.closed) return;
    this.failure = e;
    this.abandon(e);
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }
}

/**
 * Whether a frame of `need` bytes can go to `slot` without a batch beyond `maxInFlight`: the open batch has room,
 * or another batch may be sent.
 */
function hasRoom(slot: Slot, need: number, maxInFlight: number): boolean {
  return (slot.buf !== null && slot.used + need <= slot.buf.byteLength) || slot.inFlight < maxInFlight;
}

/** Start a pool of classifier workers. Call `close()` when done (workers keep the process alive). */
export function createClassifierPool(options: ClassifierPoolOptions = {}): ClassifierPool {
  checkOptions('createClassifierPool', options);
  checkKnownOptions('createClassifierPool', options, [...CLASSIFIER_OPTIONS, 'workers', 'order', 'maxBatchesPerWorker', 'batchBytes', 'workerUrl']);
  return new ClassifierPool(options);
}
