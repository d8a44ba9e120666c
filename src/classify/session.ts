/**
 * Streaming classification for live gateways and recorded traces: raw frames in, `verdict` events as soon as a
 * flow's label is final, `flow` events when a flow ends. Memory is bounded by the flow table's cap; detection
 * state exists only for flows whose verdict is not final yet.
 */
import { EventEmitter } from 'node:events';
import { Transform, type TransformCallback } from 'node:stream';
import { Decoder, newPacketView } from '../trace/decode.js';
import { FlowTable, type FlowTableOptions } from '../trace/flow-table.js';
import type { EndReason, FlowHandle, PacketView, RawPacket } from '../trace/types.js';
import { LINKTYPE_ETHERNET } from '../trace/types.js';
import { isCaptureTime, usFromNs } from '../trace/container.js';
import { InvalidArgumentError } from '../errors.js';
import type { Classifier } from './classifier.js';
import { FlowDetection } from './engine.js';
import { CompanionIndex, type TlsFlow } from './companions.js';
import { DnsBindings } from './dns-bindings.js';
import { isDnsPort, parseDnsAnswers } from '../detect/names/dns.js';
import { IPPROTO_TCP } from '../detect/types.js';
import { isDnsServerFrame } from '../trace/peek.js';
import { formatEndpoint, isoMicros } from '../trace/flow-format.js';
import { snippetTraits, TRAIT_TLS_HELLO } from './traits.js';
import { flowRecord, transportName, type FlowRecord } from './record.js';
import type { Verdict } from './types.js';
import type { Evidence } from '../detect/types.js';
import type { DomainSet } from '../lists/domains.js';

const NO_BYTES = new Uint8Array(0);

export interface SessionOptions {
  /** Flow-table limits (idle timeout in capture time, live-flow cap, snippet budget). */
  flow?: FlowTableOptions | undefined;
}

export interface SessionStats {
  packets: number;
  decoded: number;
  malformed: Record<string, number>;
  flows: number;
  verdicts: number;
}

export interface VerdictEvent {
  /** Endpoints and transport of the flow (same formats as flow records). */
  flow: Pick<FlowRecord, 'transport' | 'src' | 'dst'>;
  verdict: Verdict;
}

/**
 * Events: `verdict` (VerdictEvent) once per flow as soon as its label is final; `flow` (FlowRecord) once per
 * flow when it ends (idle, eviction, FIN/RST, end()).
 */
export class ClassifierSession extends EventEmitter {
  private readonly classifier: Classifier;
  private readonly decoder = new Decoder();
  private readonly view: PacketView = newPacketView();
  private readonly table: FlowTable;
  private readonly raw: RawPacket = { data: new Uint8Array(0), offset: 0, capLen: 0, wireLen: 0, tsUs: 0, linkType: 1 };
  /** Per flow slot: detection state while undecided, the verdict once final. */
  private det: (FlowDetection | undefined)[] = [];
  private verdicts: (Verdict | undefined)[] = [];
  /** Per flow slot: 1 once the verdict is final (the per-packet fast path reads only this). */
  private decided: Uint8Array = new Uint8Array(1024);
  /** Per flow slot: companion-rule traits, kept from the verdict to the flow's end (snippets are gone by then). */
  private traits: Uint8Array = new Uint8Array(1024);
  /** Per flow slot: the companion index's entry of a TLS flow (its data channel may vouch for it later). */
  private tlsOf: (TlsFlow | undefined)[] = [];
  private pool: FlowDetection[] = [];
  private foreignDecoder: Decoder | undefined;
  private foreignView: PacketView | undefined;
  private scratch = new FlowDetection();
  private readonly companions: CompanionIndex;
  /** Addresses that DNS answers bound to listed names, per client. */
  private readonly dns = new DnsBindings();
  /** The domain list {@link listed} matches against: the one of the DNS answer being read. */
  private answerDomains: DomainSet<string> | null = null;
  private readonly listed = (name: string): boolean => this.answerDomains!.match(name) !== undefined;
  /** The flow table records this many payload packets per flow; detection cannot go further. */
  private readonly recorded: number;
  private packets = 0;
  /** Frames skipped because their time is not a capture time (see isCaptureTime). */
  private badTimestamps = 0;
  private nFlows = 0;
  private nVerdicts = 0;
  private ended = false;

  constructor(classifier: Classifier, options: SessionOptions = {}) {
    super();
    this.classifier = classifier;
    this.companions = new CompanionIndex(undefined, classifier.companionWindowUs, classifier.sslVpnEspPorts);
    this.table = new FlowTable(options.flow ?? {}, {
      onPacket: (f, isNew, payload) => this.onPacket(f, isNew, payload),
      onEnd: (f, reason) => this.onEnd(f, reason),
    });
    this.recorded = this.table.maxPayloadPackets;
  }

  get stats(): SessionStats {
    return {
      packets: this.packets,
      decoded: this.decoder.stats.decoded,
      malformed: this.badTimestamps > 0 ? { ...this.decoder.stats.malformed, 'bad-timestamp': this.badTimestamps } : { ...this.decoder.stats.malformed },
      flows: this.nFlows,
      verdicts: this.nVerdicts,
    };
  }

  /** Live flows in the table. */
  get liveFlows(): number {
    return this.table.size;
  }

  /**
   * Feed one frame. `timestampNs` is capture time (number or bigint, nanoseconds since the epoch); flow idle
   * timeouts follow it, not the wall clock. Malformed frames are counted in `stats.malformed`, never thrown; so is
   * a frame whose time is not a capture time (NaN, ±Infinity, negative, beyond 2255: `bad-timestamp`).
   */
  push(bytes: Uint8Array, timestampNs: number | bigint, linkType: number = LINKTYPE_ETHERNET): void {
    const r = this.raw;
    r.data = bytes;
    r.offset = 0;
    r.capLen = bytes.length;
    r.wireLen = bytes.length;
    r.tsUs = usFromNs(timestampNs);
    r.linkType = linkType;
    this.pushRaw(r);
    r.data = NO_BYTES;
  }

  /** Feed a frame from a capture reader (zero-copy). A time that is not a capture time is counted, as in push. */
  pushRaw(raw: RawPacket): void {
    if (this.ended) throw new Error('session ended');
    this.packets++;
    if (!isCaptureTime(raw.tsUs)) {
      // An impossible time would become a flow's firstSeen/lastSeen and steer idle expiry: the frame is dropped
      // here, where time enters, so nothing later has to cope with it.
      this.badTimestamps++;
      return;
    }
    // The capture's clock moves with every frame that has a time, whether it decodes or not, and before the frame
    // is looked at: a pool worker frames every record but decodes only its own shard's, so this is the one
    // schedule every worker count can keep (idle flows end at the same stream point).
    this.table.tick(raw.tsUs);
    if (this.decoder.decode(raw, this.view)) {
      // Answers bind before their own packet is tracked, in the same order in every pool worker (observeForeign).
      // Untunnelled, the decoded ports are the outermost ones: the peek (which foreign frames get) runs only when
      // it can say yes, so every path notes exactly the same answers.
      const v = this.view;
      if (v.encap !== 0 || isDnsPort(v.srcPort)) {
        const domains = this.classifier.lists.vpnDomains;
        if (domains !== null && isDnsServerFrame(raw.data, raw.offset, raw.capLen, raw.linkType)) this.noteDnsAnswer(v, domains);
      }
      this.table.add(this.view);
    }
    // The frame is the caller's: hold no reference to it once the call returns.
    this.view.data = NO_BYTES;
  }

  /**
   * Advance capture time without a packet (expires idle flows).
   * @throws {InvalidArgumentError} `timestampUs` is not a capture time (see isCaptureTime)
   */
  advance(timestampUs: number): void {
    if (!isCaptureTime(timestampUs)) throw new InvalidArgumentError(`advance: ${String(timestampUs)} is not a capture time (0 to 2^53-1 µs)`);
    this.table.advance(timestampUs);
  }

  /** End of input: every live flow ends (and is emitted). */
  end(): void {
    if (this.ended) return;
    this.table.flush();
    this.ended = true;
    this.emit('end');
  }

  private onPacket(f: FlowHandle, isNew: boolean, payload: boolean): void {
    const id = f.id;
    if (isNew) {
      this.nFlows++;
      if (id >= this.decided.length) this.growDecided(id);
      this.decided[id] = 0;
      this.verdicts[id] = undefined;
      const old = this.det[id];
      if (old) this.release(id, old);
    }
    if (!payload || this.decided[id] === 1) return;
    // Most flows never produce evidence or names: inspect them with one shared scratch state and give a flow
    // its own state only once it has something to keep (saves ~150 bytes per undecided flow).
    let d = this.det[id];
    const owned = d !== undefined;
    if (!owned) d = this.scratch;
    const final = d!.inspect(f.view, this.classifier.table, this.recorded);
    if (!owned) {
      if (d!.evidence.length > 0 || d!.names.length > 0 || d!.traits !== 0 || d!.opening !== 0) {
        this.det[id] = d;
        this.scratch = this.pool.pop() ?? new FlowDetection();
      } else d!.reset();
    }
    if (f.view.nPackets === 1 && (d!.traits & TRAIT_TLS_HELLO) !== 0) this.tlsOf[id] = this.companions.noteTlsStart(f);
    if (final) this.finalize(f, this.det[id], f.view.nPackets);
  }

  /**
   * A frame this session does not track (another pool worker's shard): only its DNS answers are read, so address
   * bindings are the same whichever worker owns the flows they apply to.
   */
  observeForeign(raw: RawPacket): void {
    const domains = this.classifier.lists.vpnDomains;
    if (domains === null || !isDnsServerFrame(raw.data, raw.offset, raw.capLen, raw.linkType)) return;
    this.foreignDecoder ??= new Decoder();
    this.foreignView ??= newPacketView();
    if (this.foreignDecoder.decode(raw, this.foreignView)) this.noteDnsAnswer(this.foreignView, domains);
    this.foreignView.data = NO_BYTES;
  }

  /** A DNS server's frame (by port): bind the addresses its answers give for listed names to the client. */
  private noteDnsAnswer(p: PacketView, domains: DomainSet<string>): void {
    if (p.payloadLen < 17) return;
    // Most answers name nothing listed: the parser asks before collecting addresses or building any text.
    this.answerDomains = domains;
    const ans = parseDnsAnswers(p.data, p.payloadOff, p.payloadOff + p.payloadLen, p.proto === IPPROTO_TCP, this.listed);
    if (ans === null) return;
    const v = p.ipVersion;
    const desc =
      `from ${formatEndpoint(v, p.src4, p.data, p.srcOff, p.srcPort, true)} to ${formatEndpoint(v, p.dst4, p.data, p.dstOff, p.dstPort, true)} ` +
      `at ${isoMicros(p.tsUs)}`;
    this.dns.note(v, p.dst4, p.data, p.dstOff, ans, p.tsUs, desc);
  }

  private growDecided(id: number): void {
    let n = this.decided.length;
    while (n <= id) n *= 2;
    const next = new Uint8Array(n);
    next.set(this.decided);
    this.decided = next;
    const tr = new Uint8Array(n);
    tr.set(this.traits);
    this.traits = tr;
  }

  private finalize(f: FlowHandle, d: FlowDetection | undefined, at: number): Verdict {
    // Traits are read now, while the flow's payload snippets still exist (stopCapture below frees them).
    const traits = (d ? d.traits : 0) | snippetTraits(f.view, this.classifier.espPorts);
    this.traits[f.id] = traits;
    const v = this.classifier.decideNow(d ?? null, f, at, this.companions.evidenceFor(f, traits), this.dns.lookup(f, f.firstSeenUs));
    this.companions.settleTie(v.protocol);
    if (v.label !== 'ordinary') this.companions.noteVerdict(f, v.protocol, v.evidence);
    if (v.protocol === 'ipsec' && v.evidence.some(isIkeMessage)) this.companions.noteIke(f);
    this.verdicts[f.id] = v;
    this.decided[f.id] = 1;
    if (d) this.release(f.id, d);
    f.stopCapture();
    this.nVerdicts++;
    if (this.listenerCount('verdict') > 0) {
      this.emit('verdict', { flow: { transport: transportName(f.transport), src: f.srcText(), dst: f.dstText() }, verdict: v });
    }
    return v;
  }

  private release(id: number, d: FlowDetection): void {
    d.reset();
    this.det[id] = undefined;
    if (this.pool.length < 1024) this.pool.push(d);
  }

  private onEnd(f: FlowHandle, _reason: EndReason): void {
    let v = this.verdicts[f.id] ?? this.finalize(f, this.det[f.id], f.view.nPackets);
    const traits = this.traits[f.id]!;
    const tls = this.tlsOf[f.id];
    if (tls) {
      this.companions.noteEnd(tls, f.lastSeenUs);
      this.tlsOf[f.id] = undefined;
    }
    if (v.label === 'ordinary') {
      // A companion relation can appear after the flow's early verdict (its control flow, or for a TLS flow its
      // data channel, was identified later).
      const c = tls ? tls.vouch : this.companions.evidenceFor(f, traits);
      if (c) {
        const keep = new FlowDetection();
        keep.evidence = v.evidence.filter((e) => e.source !== 'vpn-endpoints' && e.source !== 'vpn-domains');
        v = this.classifier.decideNow(keep, f, v.decidedAtPacket, c, this.dns.lookup(f, f.firstSeenUs));
      }
      if (!tls) this.companions.settleTie(v.protocol);
    }
    this.verdicts[f.id] = undefined;
    this.decided[f.id] = 0;
    this.traits[f.id] = 0;
    this.emit('flow', flowRecord(f, v));
  }
}

/** An IKE message item (not the ESP-in-UDP or keepalive rules the same detector also emits). */
function isIkeMessage(e: Evidence): boolean {
  return e.source === 'ike' && (e.rule === 'ike.message' || e.rule === 'ike.reply' || e.rule === 'ike.header');
}

/**
 * A Transform stream (object mode) over a session: write `{ bytes, timestampNs, linkType? }` objects, read
 * FlowRecords. Backpressure follows the readable side.
 */
export function createClassifyStream(classifier: Classifier, options: SessionOptions = {}): Transform {
  const s = classifier.session(options);
  let pushFn: ((r: FlowRecord) => void) | null = null;
  const t = new Transform({
    objectMode: true,
    transform(chunk: { bytes: Uint8Array; timestampNs: number | bigint; linkType?: number }, _enc, cb: TransformCallback) {
      try {
        s.push(chunk.bytes, chunk.timestampNs, chunk.linkType);
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb: TransformCallback) {
      s.end();
      cb();
    },
  });
  pushFn = (r) => t.push(r);
  s.on('flow', (r: FlowRecord) => pushFn?.(r));
  return t;
}
