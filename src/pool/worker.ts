/**
 * Worker-thread entry of the classifier pool (built to dist/worker.js). One Classifier per worker over the
 * pool's shared list tables; a live session fed by batches from the main thread; file jobs that read the
 * capture themselves and keep only the packets whose shard hash names this worker.
 * Never: posts a message per packet or per record; blocks on the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createClassifier, type Classifier } from '../classify/classifier.js';
import type { FlowRecord } from '../classify/record.js';
import type { ClassifierSession, VerdictEvent } from '../classify/session.js';
import { DETECTORS } from '../detect/registry.js';
import { TraceFormatError, TunnelscopeError } from '../errors.js';
import { addReaderProblems } from '../trace/container.js';
import { CaptureReader } from '../trace/reader.js';
import { DOUBLE, type RawPacket } from '../trace/types.js';
import { frameShard } from './shard.js';
import { transportName } from '../trace/flow-format.js';
import {
  FRAME_FOREIGN,
  FRAME_HEADER_BYTES,
  RECORD_BATCHES_IN_FLIGHT,
  fromWireCidr,
  type FromWorker,
  type LiveConfig,
  type LiveCounters,
  type LiveVerdict,
  type ToWorker,
  type WireLists,
  type WorkerInit,
  type WorkerSessionStats,
} from './protocol.js';

/** Records per message: big enough to amortise structured cloning, small enough to bound worker memory. */
const RECORD_BATCH = 2048;

const port = parentPort;
if (!port) throw new Error('tunnelscope pool worker: not started as a worker thread');
const init = workerData as WorkerInit;

function post(m: FromWorker, transfer?: ArrayBuffer[]): void {
  port!.postMessage(m, transfer ?? []);
}

function listsInput(w: WireLists) {
  return {
    // The pool sends only lists its own classifier accepted (values checked there).
    registered: fromWireCidr(w.registered, { snapshot: true }),
    vpnEndpoints: fromWireCidr(w.vpnEndpoints, { snapshot: true }),
    vpnDomains: w.vpnDomains,
    names: w.names,
    version: w.version,
  };
}

const detectors = init.detectorIds === null ? undefined : init.detectorIds.map((id) => DETECTORS.find((d) => d.id === id)!);
const classifier: Classifier = createClassifier({
  ...(detectors ? { detectors } : {}),
  ...(init.companionWindowS !== undefined ? { companionWindowS: init.companionWindowS } : {}),
  ...(init.sslVpnEspPorts !== undefined ? { sslVpnEspPorts: init.sslVpnEspPorts } : {}),
  ...listsInput(init.lists),
});
if (classifier.listVersion !== init.lists.version) {
  // The pool starts every worker at its own version; a mismatch would mislabel listVersion in verdicts.
  throw new Error(`pool worker ${init.index}: list version ${classifier.listVersion} != pool version ${init.lists.version}`);
}

function statsOf(s: ClassifierSession, packets: number, claimed: number): WorkerSessionStats {
  const st = s.stats;
  return {
    packets, claimed, decoded: st.decoded, flows: st.flows, verdicts: st.verdicts, malformed: st.malformed, fallback: st.fallback,
    duplicatesSkipped: st.duplicatesSkipped, certificates: st.certificates,
  };
}

function errorMessage(e: unknown, job: number | null): FromWorker {
  const message = e instanceof Error ? e.message : String(e);
  const code = e instanceof TunnelscopeError ? (e as TunnelscopeError & { code: string }).code : null;
  return { t: 'error', job, message, code };
}

// ---- file jobs ---------------------------------------------------------------------------------------------

/**
 * A file run. The main thread reads the capture once into a ring of SharedArrayBuffer chunks and hands every
 * chunk to every worker; each worker frames the whole byte stream with its own CaptureReader (headers only:
 * cheap) and decodes and tracks only the packets whose shard hash names it.
 * Every packet of the file (claimed or not) moves the session's capture clock, so its flow table keeps the
 * schedule a single session's would (an idle check at most once per second of capture time) and idle expiry
 * happens at the same packet index whatever the number of workers; records are tagged with that index (`idx`) for the pool's
 * deterministic merge. EOF records get index packets+1.
 */
class FileRun {
  readonly session: ClassifierSession;
  readonly reader: CaptureReader;
  private readonly views: Uint8Array[];
  private g = 0;
  private claimed = 0;
  private recs: FlowRecord[] = [];
  private idx: number[] = [];
  private sinceSend = 0;
  failed = false;
  private readonly onPacket: (raw: RawPacket) => void;

  private readonly stopped: Int32Array;

  constructor(private readonly m: Extract<ToWorker, { t: 'file' }>) {
    this.stopped = new Int32Array(m.stop);
    this.session = classifier.session(m.flow === undefined ? {} : { flow: m.flow });
    this.reader = new CaptureReader(m.path);
    this.views = m.ring.map((b) => new Uint8Array(b));
    this.session.on('flow', (r: FlowRecord) => {
      this.recs.push(r);
      this.idx.push(this.g);
      // Bounded batches, also during the end-of-file flush (up to maxFlows records at once). Records of the
      // current packet index may still follow, so the watermark is the index before it.
      if (this.recs.length >= RECORD_BATCH) this.flush(this.g - 1);
    });
    const me = init.index, n = m.nShards, session = this.session;
    this.onPacket = (raw: RawPacket): void => {
      this.g++;
      // Claimed or not, the frame moves the session's capture clock (pushRaw and observeForeign both tick it).
      if (n === 1 || frameShard(raw.data, raw.offset, raw.capLen, raw.linkType, n) === me) {
        this.claimed++;
        session.pushRaw(raw);
      } else session.observeForeign(raw);
    };
  }

  private flush(wm: number): void {
    // Flow control: a flood of records (evictions, the end-of-file flush of up to maxFlows flows) waits for
    // the main thread instead of piling up as serialized messages in its queue.
    sentBatches++;
    while (sentBatches - Atomics.load(acked, 0) > RECORD_BATCHES_IN_FLIGHT) Atomics.wait(acked, 0, Atomics.load(acked, 0), 50);
    post({ t: 'recs', job: this.m.job, recs: this.recs, idx: this.idx, wm, bytes: this.reader.stats.bytes });
    this.recs = [];
    this.idx = [];
  }

  chunk(slot: number, len: number): void {
    // A stopped run skips what was read ahead of the stop: the flows seen so far end with `stop` at eof.
    if (Atomics.load(this.stopped, 0) !== 0) return;
    // The chunk is not retained past push (the reader copies a straddling record into its own scratch).
    this.reader.push(this.views[slot]!.subarray(0, len), this.onPacket);
    this.sinceSend += len;
    if (this.sinceSend >= this.m.sendEvery) {
      this.flush(this.g);
      this.sinceSend = 0;
    }
  }

  eof(reason: 'eof' | 'stop'): void {
    // A stopped run ends at a chunk boundary: a record cut there is not an error, just where reading stopped.
    if (reason === 'eof') this.reader.end(this.onPacket);
    this.finish(null, reason);
  }

  /**
   * End the run: at end of file (or a stop), or where the capture turned out corrupt (`e`). Every packet before that
   * point has been tracked, so the flows still live end as at end of file and their records go out before the error
   * does: any worker count delivers what one session would (the records before the corruption point) and the same
   * error.
   */
  finish(e: TraceFormatError | null, reason: 'eof' | 'stop' = 'eof'): void {
    this.flush(this.g);
    this.g++; // EOF records sort after every packet index
    this.session.end(reason);
    this.flush(this.g);
    const st = statsOf(this.session, this.g - 1, this.claimed);
    // Records with impossible times are the reader's to count; every worker reads every record, so one reports them.
    if (init.index === 0) addReaderProblems(st.malformed, this.reader.stats);
    const formatError = e === null ? null : { source: e.source, offset: e.offset, detail: e.detail };
    post({ t: 'done', job: this.m.job, stats: st, listVersion: classifier.listVersion, formatError });
  }
}

const runs = new Map<number, FileRun>();
const acked = new Int32Array(init.acked);
let sentBatches = 0;

// ---- live path ---------------------------------------------------------------------------------------------

let live: ClassifierSession | null = null;
let liveRecs: FlowRecord[] = [];
let liveVerdicts: LiveVerdict[] = [];
/** The next live session's make, when an adapter owns the live input (one live run). */
let liveConfig: LiveConfig | null = null;
let livePackets = 0;
/** The latest stream-wide idle check applied to the live session (see ClassifierPool#pushFrame). */
let liveCheckUs = 0;
const NO_BYTES = new Uint8Array(0);
const liveRaw: RawPacket = { data: new Uint8Array(0), offset: 0, capLen: 0, wireLen: DOUBLE, tsUs: DOUBLE, linkType: 1 };

function liveSession(): ClassifierSession {
  if (live) return live;
  const c = liveConfig;
  const s = c === null
    ? classifier.session(init.flow === undefined ? {} : { flow: init.flow })
    : classifier.session({ flow: c.flow, records: c.records, maxDnsBindings: c.maxDnsBindings, ...(c.maxTunnelDepth === undefined ? {} : { decoder: { maxTunnelDepth: c.maxTunnelDepth } }) });
  s.on('flow', (r: FlowRecord) => liveRecs.push(r));
  // Without records the embedder wants the verdict alone: the record so far would cost building (times formatted)
  // and a clone per flow.
  if (c !== null && !c.records) {
    s.setVerdictHook((f, verdict) => liveVerdicts.push({ flow: { transport: transportName(f.transport), src: f.srcText(), dst: f.dstText() }, verdict }));
  } else s.on('verdict', (v: VerdictEvent) => liveVerdicts.push(v));
  live = s;
  livePackets = 0;
  liveCheckUs = 0;
  return s;
}

function runBatch(m: Extract<ToWorker, { t: 'batch' }>): void {
  const s = liveSession();
  const u8 = new Uint8Array(m.buf, 0, m.used);
  const dv = new DataView(m.buf, 0, m.used);
  const raw = liveRaw;
  raw.data = u8;
  let o = 0;
  for (let i = 0; i < m.nFrames; i++) {
    const len = dv.getUint32(o + 8, true);
    raw.tsUs = dv.getFloat64(o, true);
    const lt = dv.getUint32(o + 12, true);
    raw.linkType = (lt & ~FRAME_FOREIGN) >>> 0;
    raw.offset = o + FRAME_HEADER_BYTES;
    raw.capLen = len;
    raw.wireLen = dv.getUint32(o + 16, true);
    const check = dv.getFloat64(o + 24, true);
    if (check > liveCheckUs) {
      liveCheckUs = check;
      s.advance(check);
    }
    // The stream's clock at this frame (other shards' frames moved it too); never fires a check of its own, as
    // the latest check was applied just above.
    s.tick(dv.getFloat64(o + 32, true));
    if ((lt & FRAME_FOREIGN) !== 0) s.observeForeign(raw);
    else {
      s.pushRaw(raw);
      livePackets++;
    }
    o += FRAME_HEADER_BYTES + ((len + 7) & ~7);
  }
  // Checks made at other shards' frames reach this shard with the batch even when it is quiet.
  if (m.checkUs > liveCheckUs) {
    liveCheckUs = m.checkUs;
    s.advance(m.checkUs);
  }
  // The batch goes back to the pool for reuse: wipe the frames (only the bytes used) so no payload waits in it.
  u8.fill(0);
  raw.data = NO_BYTES;
  const recs = liveRecs, verdicts = liveVerdicts;
  liveRecs = [];
  liveVerdicts = [];
  post({ t: 'live', recs, verdicts, buf: m.buf, counters: liveCounters(s) }, [m.buf]);
}

function liveCounters(s: ClassifierSession): LiveCounters {
  const st = s.stats;
  return { liveFlows: s.liveFlows, flows: st.flows, verdicts: st.verdicts, idle: s.flowStats.idle, evicted: st.evicted, duplicatesSkipped: st.duplicatesSkipped, malformed: st.malformed, fallback: st.fallback };
}

function endLive(reason: 'eof' | 'stop'): void {
  const s = liveSession();
  s.end(reason);
  const st = statsOf(s, livePackets, livePackets);
  const recs = liveRecs, verdicts = liveVerdicts;
  liveRecs = [];
  liveVerdicts = [];
  live = null;
  liveConfig = null;
  // The counters as the run ended: what an adapter's stats show after its close().
  post({ t: 'live', recs, verdicts, buf: null, counters: liveCounters(s) });
  post({ t: 'ended', stats: st });
}

port.on('message', (m: ToWorker) => {
  try {
    switch (m.t) {
      case 'file':
        runs.set(m.job, new FileRun(m));
        return;
      case 'chunk':
      case 'eof': {
        const r = runs.get(m.job);
        if (r && !r.failed) {
          try {
            if (m.t === 'chunk') r.chunk(m.slot, m.len);
            else r.eof(m.reason);
          } catch (e) {
            r.failed = true;
            if (e instanceof TraceFormatError) {
              try {
                r.finish(e);
              } catch (e2) {
                post(errorMessage(e2, m.job));
              }
            } else post(errorMessage(e, m.job));
          }
        }
        if (m.t === 'chunk') post({ t: 'free', job: m.job, slot: m.slot });
        else runs.delete(m.job);
        return;
      }
      case 'cancel':
        runs.delete(m.job);
        return;
      case 'batch':
        runBatch(m);
        return;
      case 'lists': {
        const v = classifier.update(listsInput(m.lists));
        if (v !== m.lists.version) throw new Error(`pool worker ${init.index}: list version ${v} != pool version ${m.lists.version}`);
        return;
      }
      case 'end':
        endLive(m.reason);
        return;
      case 'live-config':
        liveConfig = m.config;
        return;
      case 'ping':
        post({ t: 'pong', id: m.id, version: classifier.listVersion });
        return;
    }
  } catch (e) {
    post(errorMessage(e, null));
  }
});
post({ t: 'ready' });
