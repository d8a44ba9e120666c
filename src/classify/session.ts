/**
 * Streaming classification for live gateways and recorded traces: raw frames in, `verdict` events as soon as a
 * flow's label is final, `flow` events when a flow ends. Memory is bounded by the flow table's cap; detection
 * state exists only for flows whose verdict is not final yet.
 */
import { EventEmitter } from 'node:events';
import { Transform, type TransformCallback } from 'node:stream';
import { Decoder, newPacketView, type DecoderOptions } from '../trace/decode.js';
import { FlowTable, type FlowTableOptions, type FlowTableStats } from '../trace/flow-table.js';
import type { ReassemblyStats } from '../trace/reassembly.js';
import type { EndReason, FlowHandle, PacketView, RawPacket } from '../trace/types.js';
import { DOUBLE, LINKTYPE_ETHERNET } from '../trace/types.js';
import { checkFrame, isCaptureTime, usFromNs } from '../trace/container.js';
import { describeValue, InvalidArgumentError, SessionError } from '../errors.js';

/** Most DNS bindings a session may be asked to keep (the default is 65,536). */
const MAX_DNS_BINDINGS_CAP = 1 << 24;
import type { Classifier } from './classifier.js';
import { decide, FlowDetection, labelIsVpn, PENDING_AFTER } from './engine.js';
import { CompanionIndex, ikeSpisOf, type IkeSpis, type TlsFlow } from './companions.js';
import { DnsBindings, MAX_BINDINGS } from './dns-bindings.js';
import { isDnsPort, parseDnsAnswers } from '../detect/names/dns.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../detect/types.js';
import { isDnsServerFrame } from '../trace/peek.js';
import { formatEndpoint, isoMicros } from '../trace/flow-format.js';
import { snippetTraits, TRAIT_IKE_MARKER, TRAIT_TLS_HELLO } from './traits.js';
import { IKE_PORT } from '../detect/ike.js';
import { flowRecord, type FlowRecord } from './record.js';
import type { Verdict } from './types.js';
import type { Evidence } from '../detect/types.js';
import type { DomainSet } from '../lists/domains.js';
import { CertStreams, DEFAULT_MAX_CERT_STREAMS, type CertStreamStats } from '../detect/names/cert-stream.js';

const NO_BYTES = new Uint8Array(0);

export interface SessionOptions {
  /** Flow-table limits (idle timeout in capture time, live-flow cap, snippet budget). */
  flow?: FlowTableOptions | undefined;
  /** Decoder options; `{ maxTunnelDepth: 0 }` where frames are built from socket payloads and must not be opened. */
  decoder?: DecoderOptions | undefined;
  /**
   * `false`: no `flow` events, and a flow's verdict is not kept after its `verdict` event (emitted once per flow, at
   * the latest when the flow ends), so a decided flow costs only its flow-table slot. An ordinary flow's verdict is
   * then emitted when inspection ends: a cross-flow relation found later (a tinc meta connection, an SSL VPN's data
   * channel) no longer changes it. A flow whose label is final before the packet budget (an endpoint-list hit, a
   * listed name) is settled at that packet: what later packets would add is only the end record's. For embedders
   * that act on verdicts alone (the socket adapters). Default true.
   */
  records?: boolean | undefined;
  /** DNS answer bindings remembered at most (default 65536; 0 reads no DNS answers). */
  maxDnsBindings?: number | undefined;
  /**
   * TLS ≤ 1.2 server certificates joined across TCP segments at once (default 1024; each holds at most 8 KiB, so
   * ≤ 8 MiB; 0: a certificate is read from one segment only). A flow that needs one beyond it is counted in
   * `stats.certificates.noSlot`.
   */
  maxCertStreams?: number | undefined;
}

export interface SessionStats {
  packets: number;
  decoded: number;
  malformed: Record<string, number>;
  /**
   * Packets decoded but counted as their tunnel's carrier flow (UDP 4789, GTP-U, protocol 41, ...) because the tunnel
   * inside could not be opened, by reason (DecodeStats.fallback): `<encap>-inner` = the inner packet is cut by the
   * capture or malformed, `too-deep` = nesting past maxTunnelDepth. Also counted in `decoded`.
   */
  fallback: Record<string, number>;
  flows: number;
  verdicts: number;
  /** IP reassembly outcomes: fragments, datagrams reassembled / cut / abandoned (overlapping, invalid), timed out, evicted, flushed, duplicates. */
  reassembly: ReassemblyStats;
  /** Fragments not accounted to any flow: their datagram's first fragment never arrived. */
  fragmentsUnattributed: number;
  /** Packets that closed TCP connections absorbed while lingering (trailing ACKs, retransmitted FINs, late RSTs). */
  afterClose: number;
  /** Flows ended by eviction at the live-flow cap. */
  evicted: number;
  /**
   * Payload packets not inspected because they repeat the flow's previous one in the same direction within 10 ms
   * (a mirror port's copy; counted in the flow's packets and bytes, not in its inspected payload packets).
   */
  duplicatesSkipped: number;
  /** Server certificates whose leaf ran past its first segment: joined, too long, no slot, abandoned (cert-stream.ts). */
  certificates: CertStreamStats;
}

export interface VerdictEvent {
  /** Endpoints and transport of the flow (same formats as flow records). */
  flow: Pick<FlowRecord, 'transport' | 'src' | 'dst'>;
  verdict: Verdict;
  /** The flow's record so far: the verdict with the flow's counters and times up to this packet (no `end`). */
  record: FlowRecord;
}

/** decided[] values: inspection goes on; inspection ended and the verdict was emitted; inspection ended but the
 * label of this ordinary flow stays open to a cross-flow relation until the flow ends (its verdict is emitted then). */
const UNDECIDED = 0, DECIDED = 1, DECIDED_LABEL_OPEN = 2;

/**
 * Events: `verdict` (VerdictEvent) once per flow as soon as its label is final; `flow` (FlowRecord) once per
 * flow when it ends (idle, eviction, FIN/RST, end()).
 */
export class ClassifierSession extends EventEmitter {
  private readonly classifier: Classifier;
  private readonly decoder: Decoder;
  private readonly view: PacketView = newPacketView();
  private readonly table: FlowTable;
  private readonly raw: RawPacket = { data: new Uint8Array(0), offset: 0, capLen: 0, wireLen: DOUBLE, tsUs: DOUBLE, linkType: 1 };
  /** Per flow slot: detection state while undecided, the verdict once final. */
  private det: (FlowDetection | undefined)[] = [];
  private verdicts: (Verdict | undefined)[] = [];
  /** Per flow slot: UNDECIDED, DECIDED or DECIDED_LABEL_OPEN once inspection ended (the per-packet fast path reads only this). */
  private decided: Uint8Array = new Uint8Array(1024);
  /** Per flow slot: companion-rule traits, kept from the verdict to the flow's end (snippets are gone by then). */
  private traits: Uint8Array = new Uint8Array(1024);
  /**
   * Per flow slot: the detectors that excluded the undecided flow (FlowDetection.excluded), kept here so a flow
   * inspected with the shared scratch state needs no state of its own.
   */
  private excluded: Uint32Array = new Uint32Array(1024);
  /**
   * Per flow slot: inspected payload packets the capture cut (captured bytes short of the length on the wire),
   * up to 255. Counted when each packet is the newest, the only time its whole captured payload is in view.
   */
  private cut: Uint8Array = new Uint8Array(1024);
  /** Per flow slot: the companion index's entry of a TLS flow (its data channel may vouch for it later). */
  private tlsOf: (TlsFlow | undefined)[] = [];
  /** Per flow slot: IKE messages behind the non-ESP marker of a UDP 4500 flow (for the NAT-T float, after the verdict). */
  private floatSpis: (IkeSpis[] | undefined)[] = [];
  private pool: FlowDetection[] = [];
  private foreignDecoder: Decoder | undefined;
  private foreignView: PacketView | undefined;
  private scratch = new FlowDetection();
  private readonly companions: CompanionIndex;
  /** Buffers for server certificates joined across segments (bounded; lent to undecided flows). */
  private readonly certs: CertStreams;
  /** Addresses that DNS answers bound to listed names, per client. */
  private readonly dns: DnsBindings;
  private readonly readDns: boolean;
  /** False: verdicts are dropped once emitted and no flow records are built (SessionOptions.records). */
  private readonly records: boolean;
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
  /**
   * Inside a call that accounts frames and emits events (push, pushRaw, advance, tick, observeForeign, end): the
   * flow table is mid-update while a handler runs, so a frame given from a handler is refused (SessionError
   * 'reentrant') and an end() from a handler waits until the call has finished its frame.
   */
  private busy = false;
  /** The first exception an event handler threw during the current call: thrown again once the call's work is done. */
  private handlerError: { error: unknown } | null = null;
  /** end() asked for by a handler during a call: done when that call has finished. */
  private endAfter: 'eof' | 'stop' | null = null;
  private verdictHook: ((f: FlowHandle, v: Verdict) => void) | null = null;

  constructor(classifier: Classifier, options: SessionOptions = {}) {
    super();
    this.classifier = classifier;
    this.decoder = new Decoder(options.decoder);
    this.records = options.records !== false;
    const maxDns = options.maxDnsBindings ?? MAX_BINDINGS;
    // The bindings are a Map that grows to the cap: an unbounded cap is unbounded memory.
    if (!Number.isInteger(maxDns) || maxDns < 0 || maxDns > MAX_DNS_BINDINGS_CAP) throw new InvalidArgumentError(`maxDnsBindings must be an integer in [0, ${MAX_DNS_BINDINGS_CAP}], got ${String(maxDns)}`);
    this.dns = new DnsBindings(Math.max(1, maxDns));
    this.readDns = maxDns > 0;
    this.certs = new CertStreams(options.maxCertStreams ?? DEFAULT_MAX_CERT_STREAMS);
    this.companions = new CompanionIndex(undefined, classifier.companionWindowUs, classifier.sslVpnEspPorts, classifier.sideWindowUs);
    // Record as many payload packets as the longest detector budget reaches (OpenVPN's mid-stream data rule wants 8
    // each way); the flow table keeps 8 per flow and moves only flows still undecided there to its capped long tier.
    const longest = classifier.table.maxPackets.reduce((a, b) => Math.max(a, b), 0);
    this.table = new FlowTable(
      { maxPayloadPackets: longest, ...options.flow },
      {
        onPacket: (f, isNew, payload) => this.onPacket(f, isNew, payload),
        onEnd: (f, reason) => this.onEnd(f, reason),
      },
      this.decoder, // reassembled datagrams are decoded with the same tunnel settings and fallback counters
    );
    this.recorded = this.table.maxPayloadPackets;
  }

  get stats(): SessionStats {
    return {
      packets: this.packets,
      decoded: this.decoder.stats.decoded,
      malformed: this.badTimestamps > 0 ? { ...this.decoder.stats.malformed, 'bad-timestamp': this.badTimestamps } : { ...this.decoder.stats.malformed },
      fallback: { ...this.decoder.stats.fallback },
      flows: this.nFlows,
      verdicts: this.nVerdicts,
      reassembly: { ...this.table.stats.reassembly },
      fragmentsUnattributed: this.table.stats.fragmentsUnmatched,
      afterClose: this.table.stats.afterClose,
      evicted: this.table.stats.evicted,
      duplicatesSkipped: this.table.stats.duplicatesSkipped,
      certificates: { ...this.certs.stats },
    };
  }

  /** Live flows in the table. */
  get liveFlows(): number {
    return this.table.size;
  }

  /** The flow table's counters (flows ended by reason, evictions, flows that could not record payload). */
  get flowStats(): Readonly<FlowTableStats> {
    return this.table.stats;
  }

  /**
   * Feed one frame. `timestampNs` is capture time (number or bigint, nanoseconds since the epoch); flow idle
   * timeouts follow it, not the wall clock. Malformed frames are counted in `stats.malformed`, never thrown; so is
   * a frame whose time is not a capture time (NaN, ±Infinity, negative, beyond 2255: `bad-timestamp`).
   * @throws {InvalidArgumentError} when `bytes` is not a Uint8Array or `linkType` not an integer 0–2^32-1
   */
  push(bytes: Uint8Array, timestampNs: number | bigint, linkType: number = LINKTYPE_ETHERNET): void {
    this.enter('push');
    const r = this.raw;
    try {
      checkFrame('push', bytes, linkType);
      r.data = bytes;
      r.offset = 0;
      r.capLen = bytes.length;
      r.wireLen = bytes.length;
      r.tsUs = usFromNs(timestampNs);
      r.linkType = linkType;
      this.pushFrame(r);
    } finally {
      // The frame is the caller's: hold no reference to it once the call returns.
      r.data = NO_BYTES;
      this.view.data = NO_BYTES;
      this.busy = false;
    }
    if (this.handlerError !== null || this.endAfter !== null) this.afterCall();
  }

  /**
   * Feed a frame from a capture reader (zero-copy). A time that is not a capture time is counted, as in push.
   * @throws {InvalidArgumentError} when `data` is not a Uint8Array, the frame (`offset`, `capLen`) does not lie
   *   inside it, or `linkType` is not an integer 0–2^32-1
   */
  pushRaw(raw: RawPacket): void {
    this.enter('pushRaw');
    try {
      if (raw === null || typeof raw !== 'object') throw new InvalidArgumentError(`pushRaw: the packet must be a RawPacket object, got ${describeValue(raw)}`);
      checkFrame('pushRaw', raw.data, raw.linkType, raw.offset, raw.capLen);
      this.pushFrame(raw);
    } finally {
      this.view.data = NO_BYTES;
      this.busy = false;
    }
    if (this.handlerError !== null || this.endAfter !== null) this.afterCall();
  }

  /**
   * Start a call that accounts frames and may emit events.
   * @throws {SessionError} from a handler of this session's events during such a call ('reentrant'), or after end() ('ended')
   */
  private enter(where: string): void {
    if (this.busy) {
      throw new SessionError('reentrant', `${where}: called from a handler of this session's events while the session is inside the call that emitted it; give it after that call returns`);
    }
    if (this.ended) throw new SessionError('ended', `${where}: the session has ended`);
    this.busy = true;
  }

  /** After a call's work is done: an end() a handler asked for, then the first exception a handler threw. */
  private afterCall(): void {
    const reason = this.endAfter;
    this.endAfter = null;
    if (reason !== null) this.end(reason); // ends the flows and throws a handler's exception, this call's included
    const h = this.handlerError;
    this.handlerError = null;
    if (h !== null) throw h.error;
  }

  /**
   * Emit to the embedder's handlers. One that throws must not leave the flow table half-updated (the frame's other
   * flows unaccounted, the remaining flows of end() never ended, their records lost): its exception is kept and
   * thrown again from the call once the call's work is done, as the socket adapters do.
   */
  private safeEmit(event: 'verdict' | 'flow' | 'end', arg?: unknown): void {
    try {
      if (arg === undefined) this.emit(event);
      else this.emit(event, arg);
    } catch (e) {
      this.handlerError ??= { error: e };
    }
  }

  /** A frame already checked (pushRaw, or push's own RawPacket). */
  private pushFrame(raw: RawPacket): void {
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
      if ((v.encap !== 0 || isDnsPort(v.srcPort)) && this.readDns) {
        const domains = this.classifier.lists.vpnDomains;
        if (domains !== null && isDnsServerFrame(raw.data, raw.offset, raw.capLen, raw.linkType)) this.noteDnsAnswer(v, domains);
      }
      this.table.add(this.view);
    }
  }

  /**
   * Feed a packet its caller decoded itself: tunnelscope/node fills the view of a UDP datagram from the socket's
   * addresses and ports, so the datagram is neither framed nor copied. The view is read only during the call. A
   * DNS answer in it binds no name (the adapters run without DNS bindings).
   * @internal
   */
  pushView(view: PacketView): void {
    this.enter('pushView');
    try {
      this.packets++;
      if (!isCaptureTime(view.tsUs)) this.badTimestamps++;
      else this.table.add(view); // moves the clock as tick() would
    } finally {
      this.busy = false;
    }
    if (this.handlerError !== null || this.endAfter !== null) this.afterCall();
  }

  /**
   * Move the capture clock to `tsUs` as a frame of that time would (never back; an idle check at most once per
   * second of capture time): for a frame tracked elsewhere. An impossible time is ignored.
   */
  tick(tsUs: number): void {
    if (!isCaptureTime(tsUs)) return;
    if (this.busy) this.enter('tick'); // throws: idle flows would end in the middle of a frame's accounting
    this.busy = true;
    try {
      this.table.tick(tsUs);
    } finally {
      this.busy = false;
    }
    if (this.handlerError !== null || this.endAfter !== null) this.afterCall();
  }

  /**
   * Advance capture time without a packet (expires idle flows).
   * @throws {InvalidArgumentError} `timestampUs` is not a capture time (see isCaptureTime)
   */
  advance(timestampUs: number): void {
    if (!isCaptureTime(timestampUs)) throw new InvalidArgumentError(`advance: ${describeValue(timestampUs)} is not a capture time (0 to 2^53-1 µs)`);
    if (this.busy) this.enter('advance'); // throws (see tick)
    this.busy = true;
    try {
      this.table.advance(timestampUs);
    } finally {
      this.busy = false;
    }
    if (this.handlerError !== null || this.endAfter !== null) this.afterCall();
  }

  /**
   * For adapters that index verdicts by the flow's numbers (tunnelscope/node): `fn` gets the flow handle itself
   * with each verdict, before any `verdict` event and whether or not one has listeners, so it pays for no record
   * and no endpoint text. The handle is valid only during the call. `null` removes it.
   * @internal
   */
  setVerdictHook(fn: ((f: FlowHandle, v: Verdict) => void) | null): void {
    this.verdictHook = fn;
  }

  /**
   * End of input: every live flow ends (and is emitted) with end reason `eof`, or `stop` when the run is being
   * stopped (a signal) rather than having run out of input.
   */
  end(reason: 'eof' | 'stop' = 'eof'): void {
    // The reason is written into every live flow's record.
    if (reason !== 'eof' && reason !== 'stop') throw new InvalidArgumentError(`end: reason must be 'eof' or 'stop', got ${describeValue(reason)}`);
    if (this.ended) return;
    if (this.busy) {
      // From a handler: the frame being accounted is finished first, then every flow ends (afterCall).
      this.endAfter ??= reason;
      return;
    }
    this.busy = true;
    try {
      this.table.flush(reason);
    } finally {
      this.busy = false;
      this.ended = true;
    }
    this.safeEmit('end');
    const h = this.handlerError;
    this.handlerError = null;
    if (h !== null) throw h.error;
  }

  private onPacket(f: FlowHandle, isNew: boolean, payload: boolean): void {
    const id = f.id;
    // A TLS connection ends for the companion rules when it closes, not when it stops lingering in the table.
    // (`closed` first: it is in the flow's record, already at hand; the side array is read only for closed flows.)
    if (f.closed) {
      const tls = this.tlsOf[id];
      if (tls !== undefined && tls.endUs === Infinity) this.companions.noteEnd(tls, f.lastSeenUs);
    }
    if (isNew) {
      this.nFlows++;
      if (id >= this.decided.length) this.growDecided(id);
      this.decided[id] = UNDECIDED;
      this.excluded[id] = 0;
      this.cut[id] = 0;
      this.verdicts[id] = undefined;
      const old = this.det[id];
      if (old) this.release(id, old);
    }
    if (this.decided[id] !== UNDECIDED) return;
    if (!payload) {
      // A closed TCP connection carries no more payload to inspect: its verdict is due now, not when it stops
      // lingering in the table (its record still waits for the trailing packets the linger absorbs).
      if (f.closed && !isNew) this.finalize(f, this.det[id], f.view.nPackets);
      return;
    }
    const newest = f.view.nPackets - 1;
    if (f.view.avail(newest) < f.view.len(newest) && this.cut[id]! < 255) this.cut[id]!++;
    // Most flows never produce evidence or names: inspect them with one shared scratch state and give a flow
    // its own state only once it has something to keep (saves ~150 bytes per undecided flow).
    let d = this.det[id];
    const owned = d !== undefined;
    if (!owned) d = this.scratch;
    d!.excluded = this.excluded[id]!;
    const n = f.view.nPackets;
    // Final also when the table cannot record the next packet (its long tier, needed past PENDING_AFTER packets, is
    // full): what the flow has is all it will get.
    const final = d!.inspect(f.view, this.classifier.table, this.recorded, this.certs) || (n >= PENDING_AFTER && !f.extendCapture());
    this.excluded[id] = d!.excluded;
    // The label may be final before inspection ends (engine.ts, labelIsVpn): asked when the flow gained an item or
    // a name, and at its first payload packet when an endpoint list is loaded (an endpoint hit decides alone).
    const early = !final && d!.pinned === null && (d!.fresh || (n === 1 && this.classifier.lists.vpnEndpoints !== null)) && this.labelFinalNow(f, d!);
    d!.fresh = false;
    if (!owned) {
      if (early || d!.evidence.length > 0 || d!.names.length > 0 || d!.traits !== 0 || d!.opening !== 0 || d!.certTried) {
        this.det[id] = d;
        this.scratch = this.pool.pop() ?? new FlowDetection();
      } else d!.reset();
    }
    if (n === 1 && (d!.traits & TRAIT_TLS_HELLO) !== 0) this.tlsOf[id] = this.companions.noteTlsStart(f);
    if (final) this.finalize(f, this.det[id], n);
    else if (early) {
      if (this.records) this.emitEarly(f, d!, n);
      else {
        // Without records (the socket adapters) only the verdict is acted on, and it is this one: what more
        // packets would refine is the end record's. The flow is settled now, its state and snippets freed.
        d!.labelAt = n;
        this.finalize(f, d, n);
      }
    }
  }

  /** True when the flow's label is already VPN with the lists in force (see labelIsVpn). */
  private labelFinalNow(f: FlowHandle, d: FlowDetection): boolean {
    const lists = this.classifier.lists;
    const bound = this.dns.lookup(f, f.firstSeenUs);
    if (!labelIsVpn(d, f, lists, bound)) return false;
    d.pinned = lists;
    d.pinnedBound = bound;
    return true;
  }

  /**
   * The label is final but inspection goes on (more items may refine the protocol or raise the confidence): emit
   * the verdict now; the end verdict is computed against the same lists, so its label and registrant are these.
   */
  private emitEarly(f: FlowHandle, d: FlowDetection, at: number): void {
    d.labelAt = at;
    if (this.verdictHook === null && this.listenerCount('verdict') === 0) return;
    this.emitVerdict(f, decide(d, f, d.pinned!, at, null, d.pinnedBound, this.cut[f.id], f.captureCapped));
  }

  /**
   * A frame this session does not track (another pool worker's shard): only its DNS answers are read, so address
   * bindings are the same whichever worker owns the flows they apply to.
   */
  observeForeign(raw: RawPacket): void {
    // Another worker's frame moves this session's capture clock as its own frames do: every worker keeps the
    // one clock and expiry schedule of a single session over the whole stream.
    if (this.busy) this.enter('observeForeign'); // throws (see tick)
    this.busy = true;
    try {
      if (isCaptureTime(raw.tsUs)) this.table.tick(raw.tsUs);
      const domains = this.classifier.lists.vpnDomains;
      if (domains !== null && this.readDns && isDnsServerFrame(raw.data, raw.offset, raw.capLen, raw.linkType)) {
        this.foreignDecoder ??= new Decoder();
        this.foreignView ??= newPacketView();
        if (this.foreignDecoder.decode(raw, this.foreignView)) this.noteDnsAnswer(this.foreignView, domains);
        this.foreignView.data = NO_BYTES;
      }
    } finally {
      this.busy = false;
    }
    if (this.handlerError !== null || this.endAfter !== null) this.afterCall();
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
    const ex = new Uint32Array(n);
    ex.set(this.excluded);
    this.excluded = ex;
    const cut = new Uint8Array(n);
    cut.set(this.cut);
    this.cut = cut;
  }

  private finalize(f: FlowHandle, d: FlowDetection | undefined, at: number): Verdict {
    // Traits are read now, while the flow's payload snippets still exist (stopCapture below frees them).
    const traits = (d ? d.traits : 0) | snippetTraits(f.view, this.classifier.espPorts);
    this.traits[f.id] = traits;
    // IKE SPIs, also read while the snippets exist: a 4500 flow's (for the NAT-T float), a 500 flow's (its SA).
    const floatSpis = (traits & TRAIT_IKE_MARKER) !== 0 ? ikeSpisOf(f.view, 4) : undefined;
    if (floatSpis !== undefined && floatSpis.length > 0) this.floatSpis[f.id] = floatSpis;
    const extra = this.companions.evidenceFor(f, traits, floatSpis, d !== undefined && d.hasStrong());
    const pinned = d?.pinned ?? null;
    let v: Verdict;
    if (pinned !== null) {
      // The label was final earlier (emitEarly): same lists and binding, so the same label and registrant.
      v = decide(d!, f, pinned, d!.labelAt, extra, d!.pinnedBound ?? this.dns.lookup(f, f.firstSeenUs), this.cut[f.id], f.captureCapped);
    } else {
      v = this.classifier.decideNow(d ?? null, f, at, extra, this.dns.lookup(f, f.firstSeenUs), this.cut[f.id], f.captureCapped);
    }
    this.companions.settleTie(v.protocol);
    if (v.label !== 'ordinary') this.companions.noteVerdict(f, v.protocol, v.evidence);
    if (v.protocol === 'ipsec' && v.evidence.some(isIkeMessage)) {
      this.companions.noteIke(f);
      if (f.srcPort === IKE_PORT || f.dstPort === IKE_PORT) this.companions.noteIkeSpis(f, ikeSpisOf(f.view, 0));
    }
    // An ordinary UDP or TLS flow can still be claimed by a cross-flow relation found later (a tinc meta
    // connection, an SSL VPN's control flow or data channel): its label is final only when it ends.
    // Without records (the socket adapters) a verdict is acted on once: it is emitted when inspection ends.
    const open = this.records && v.label === 'ordinary' && (f.transport === IPPROTO_UDP || this.tlsOf[f.id] !== undefined);
    // Without records a verdict is kept only while it may still change (it is emitted at the flow's end).
    if (this.records || open) this.verdicts[f.id] = v;
    this.decided[f.id] = open ? DECIDED_LABEL_OPEN : DECIDED;
    if (d) this.release(f.id, d);
    f.stopCapture();
    this.nVerdicts++;
    // A pinned label was emitted when it became final (emitEarly), except without records: such a flow is settled
    // at that very packet, here, and nothing was emitted yet.
    if (!open && (pinned === null || !this.records)) this.emitVerdict(f, v);
    return v;
  }

  private emitVerdict(f: FlowHandle, v: Verdict): void {
    if (this.verdictHook !== null) this.verdictHook(f, v);
    if (this.listenerCount('verdict') === 0) return;
    const record = flowRecord(f, v);
    const ev: VerdictEvent = { flow: { transport: record.transport, src: record.src, dst: record.dst }, verdict: v, record };
    this.safeEmit('verdict', ev);
  }

  private release(id: number, d: FlowDetection): void {
    d.reset();
    this.det[id] = undefined;
    if (this.pool.length < 1024) this.pool.push(d);
  }

  private onEnd(f: FlowHandle, reason: EndReason): void {
    // Without records (SessionOptions.records false) a decided flow's verdict was emitted and not kept: only the
    // bookkeeping below remains.
    const settled = !this.records && this.decided[f.id] === DECIDED;
    let v = settled ? null : (this.verdicts[f.id] ?? this.finalize(f, this.det[f.id], f.view.nPackets));
    const open = this.decided[f.id] === DECIDED_LABEL_OPEN;
    const traits = this.traits[f.id]!;
    const tls = this.tlsOf[f.id];
    if (tls) {
      this.companions.noteEnd(tls, f.lastSeenUs);
      this.tlsOf[f.id] = undefined;
    }
    if (v !== null && v.label === 'ordinary') {
      // A companion relation can appear after the flow's early verdict (its control flow, or for a TLS flow its
      // data channel, was identified later).
      const c = tls ? (tls.vouch ?? this.companions.evidenceFor(f, traits)) : this.companions.evidenceFor(f, traits, this.floatSpis[f.id]);
      if (c) {
        const keep = new FlowDetection();
        keep.evidence = v.evidence.filter((e) => e.source !== 'vpn-endpoints' && e.source !== 'vpn-domains');
        v = this.classifier.decideNow(keep, f, v.decidedAtPacket, c, this.dns.lookup(f, f.firstSeenUs), v.payloadCut, v.captureCapped);
      }
      if (!tls) this.companions.settleTie(v.protocol);
    }
    this.verdicts[f.id] = undefined;
    this.decided[f.id] = UNDECIDED;
    this.traits[f.id] = 0;
    this.floatSpis[f.id] = undefined;
    if (v === null) return;
    if (open) this.emitVerdict(f, v);
    if (this.records) this.safeEmit('flow', flowRecord(f, v, reason));
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
