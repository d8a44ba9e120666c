/**
 * Bounded bidirectional flow table.
 *
 * Owns: grouping decoded packets ({@link PacketView}) into bidirectional flows, per-flow counters, the first
 * payload-bearing packets of each flow (for detectors), idle expiry driven by capture timestamps, LRU eviction
 * at a hard cap, TCP connection lifecycle (a closed connection lingers to absorb its trailing packets), and IP
 * fragments: reassembled into whole datagrams (reassembly.ts) that are accounted and recorded once, or — with
 * reassembly off — attributed to their flow through the first fragment.
 * Never: reads files, looks at the wall clock, allocates per packet, or keys anything by strings.
 *
 * Layout: typed arrays indexed by a flow *slot*. The fields every packet touches are grouped per slot — one
 * 64-byte Int32 record (key, hash, packet counters, LRU links, flag bits) and one 32-byte Float64 record
 * (byte counters, first/last seen) — because with one array per field a packet touched ~15 cache lines at
 * 50k live flows and the table ran ~2x slower than with 500 flows (measured with bench/trace.bench.ts);
 * cold fields (snippet pool slot, ESP SPIs) stay in their own arrays. An open-addressing hash index (linear
 * probing, backward-shift deletion, no tombstones) maps a direction-insensitive tuple hash to slots; two
 * intrusive doubly linked LRU lists over slots (TCP and everything else, because their idle timeouts differ)
 * make touch, expiry and eviction O(1) per flow. Arrays start small and double up to `maxFlows`.
 *
 * Flow key: (ipVersion, vlan, encap, proto, unordered {address, port} pair). Ports only for TCP, UDP, SCTP and
 * UDP-Lite. ESP is keyed WITHOUT the SPI: the two directions of an IPsec SA pair carry different SPIs and a
 * rekey changes both, while the corpus truth (nDPI) has one ESP flow per address pair; the SPIs are kept per
 * direction instead (`spiFwd`/`spiRev`) and SPI changes are counted (`stats.espSpiChanges`).
 *
 * Payload snippets live in separate slab pools (snippet-pool.ts) allocated in chunks on demand: a flow takes a
 * small slot (2 packets × `payloadBytes`) at its first payload packet and moves to a full slot (N packets) at
 * its third, so short flows cost little; slots are released on flow end or {@link FlowHandle.stopCapture}. The
 * per-flow core stays ~120 bytes whatever the snippet settings.
 *
 * TCP lifecycle: a connection is closed by a RST, or by FINs from both sides and the final ACK (until that ACK it is
 * still an open connection, so a late one stays its own). It then lingers `tcpLingerSec` of capture time after its
 * last packet (its own LRU list) and absorbs what trails the close — a retransmitted FIN, a late RST, more ACKs —
 * instead of opening a new flow for it; a SYN (without ACK) on the same 5-tuple ends it at once and starts a new
 * connection (also between the second FIN and the final ACK). A lookup that finds a flow idle for longer than its timeout (or a
 * closed one past its linger) ends that flow before taking the packet, whenever the periodic sweep last ran.
 *
 * Complexity: `add` O(1) expected (hash probe + list splice) + reassembly's cost for a fragment; `advance`
 * O(expired flows).
 */
import { IPPROTO_ESP, IPPROTO_TCP } from '../flow/ipproto.js';
import { Decoder, newPacketView } from './decode.js';
import { Reassembler, type DatagramSink, type ReassemblyStats } from './reassembly.js';
import type { FlowView } from '../flow/view.js';
import { checkKnownOptions, InvalidArgumentError, MAX_DURATION_SEC } from '../errors.js';
import type { EndReason, FlowHandle, PacketView } from './types.js';
import { formatEndpoint, hasPorts } from './flow-format.js';
import { POOL_CHUNK, SnippetPool } from './snippet-pool.js';
import { mix30 } from './bytes.js';
import { indexInsert, indexRemove } from './open-index.js';

/** The keys of {@link FlowTableOptions}: a misspelt one is refused, not left at its default in silence. */
export const FLOW_TABLE_OPTIONS = [
  'idleTimeoutSec', 'tcpIdleTimeoutSec', 'maxFlows', 'maxPayloadPackets', 'payloadBytes', 'maxCapturingFlows', 'maxLongCapturingFlows',
  'tcpLingerSec', 'reassemblyTimeoutSec', 'maxReassemblies', 'reassemblyMaxBytes',
] as const;

export interface FlowTableOptions {
  /** Idle timeout in seconds of capture time for non-TCP flows (UDP, ICMP, ESP…). Default 120. */
  idleTimeoutSec?: number;
  /** Idle timeout in seconds of capture time for TCP flows. Default 300. */
  tcpIdleTimeoutSec?: number;
  /**
   * Hard cap on live flows. Default 1,000,000 (≈ 120 MB of flow state when full; arrays grow on demand).
   * A new flow beyond the cap evicts the least-recently-active flow (EndReason `evicted`).
   */
  maxFlows?: number;
  /**
   * First payload-bearing packets recorded per flow for detectors. Default 8; 0 disables recording. Beyond 8, a flow
   * records its first 8 in the full tier and moves to the long tier (this many packets) only when it reaches a 9th
   * (or asks, {@link FlowHandle.extendCapture}): most flows are decided by then and never pay for the long slot.
   */
  maxPayloadPackets?: number;
  /** First payload bytes kept per recorded packet. Default 48; 0 keeps lengths/directions only. */
  payloadBytes?: number;
  /**
   * Cap on flows holding payload snippets at once (the snippet pool). Default `maxFlows`. A flow that starts
   * while the pool is full records nothing (`stats.captureSkipped`).
   */
  maxCapturingFlows?: number;
  /**
   * Cap on flows holding a long-tier slot (more than 8 recorded packets) at once. Default 16,384 (with 24 packets of
   * 48 bytes: ≤ 21 MB). A flow that would outgrow the full tier while the long tier is full keeps its first 8 packets
   * and records no more (`stats.captureShort`).
   */
  maxLongCapturingFlows?: number;
  /**
   * Seconds of capture time a closed TCP connection (RST, or FIN from both sides and the final ACK) stays in the
   * table after its last packet, absorbing trailing ACKs, retransmitted FINs and late RSTs; a new SYN ends it at
   * once. Default 5; 0 ends a connection at its close.
   */
  tcpLingerSec?: number;
  /** Seconds of capture time an IP datagram may take to arrive whole, from its first fragment. Default 30. */
  reassemblyTimeoutSec?: number;
  /**
   * Datagrams being reassembled at once (oldest dropped beyond it, `stats.reassembly.evicted`). Default 1024; 0 turns
   * reassembly off (fragments are then attributed to their flow through the first fragment, payload not joined).
   */
  maxReassemblies?: number;
  /** Bytes of fragment data held for reassembly at once (≥ 131,072; oldest datagram dropped beyond it). Default 4 MiB. */
  reassemblyMaxBytes?: number;
}

export interface FlowListener {
  /**
   * Called for every packet after it is accounted to its flow. `payload` = this packet carries payload and is
   * among the first `maxPayloadPackets` of a flow still capturing; then `flow.view`'s newest packet (index
   * nPackets-1) exposes the WHOLE captured payload of the current packet (zero-copy view on the packet
   * buffer), earlier ones their stored first bytes.
   */
  onPacket?(flow: FlowHandle, isNew: boolean, payload: boolean): void;
  /** Called exactly once per flow, after its last packet. The handle is valid only during the call. */
  onEnd(flow: FlowHandle, reason: EndReason): void;
}

export interface FlowTableStats {
  /** Packets handed to `add`. */
  packets: number;
  /** Flows created. */
  flows: number;
  /** Flows ended (any reason). */
  ended: number;
  /** Ended by LRU eviction at the cap. */
  evicted: number;
  /** Ended by idle timeout. */
  idle: number;
  /** Ended by TCP FIN from both sides / by RST. */
  fin: number;
  rst: number;
  /** Ended by flush() (end of input). */
  eof: number;
  /** Ended by flush('stop') (the run was stopped). */
  stop: number;
  /** Reassembly off: non-first fragments attributed to a flow through the fragment map. */
  fragmentsMatched: number;
  /**
   * Fragments not accounted to any flow: their datagram's first fragment was never seen (or, reassembly off, aged
   * out of the fragment map).
   */
  fragmentsUnmatched: number;
  /** Packets a closed TCP connection absorbed while it lingered (trailing ACKs, retransmitted FINs, late RSTs). */
  afterClose: number;
  /** IP reassembly outcomes (all zero when reassembly is off). */
  reassembly: ReassemblyStats;
  /** Flows that could not record payload because the snippet pool was full. */
  captureSkipped: number;
  /** Flows that stopped recording at the full tier's 8 packets because the long tier was full. */
  captureShort: number;
  /** ESP packets whose SPI differed from the one last seen in the same direction of the flow (rekeys). */
  espSpiChanges: number;
  /**
   * Payload packets not recorded for the detectors because they repeat the flow's previous recorded packet of the
   * same direction (same length, same kept bytes) within 10 ms of the flow's previous packet: a mirror port's copy.
   * Counted in the flow's packets and bytes as usual; at most 15 per flow.
   */
  duplicatesSkipped: number;
}

const NONE = -1;
const LIST_TCP = 0;
const LIST_OTHER = 1;
/** Closed TCP connections, lingering. */
const LIST_CLOSED = 2;
const N_LISTS = 3;
const DEFAULT_TCP_LINGER_SEC = 5;
const DEFAULT_MAX_FLOWS = 1_000_000;
const INITIAL_CAPACITY = 1024;
/** Expiry is checked when capture time has moved on by this much since the last check. */
const EXPIRY_CHECK_US = 1_000_000;
/** Fragment map: direct-mapped, entries older than this are ignored (RFC 791 suggests ~15-120 s reassembly). */
const FRAG_MAP_SIZE = 4096;
const FRAG_TTL_US = 60_000_000;

// Int32 record per slot (64 bytes).
const RS = 16;
const R_META = 0; // proto | encap << 8 | v6 << 12 | (vlan + 1) << 16
const R_HASH = 1;
const R_PORTS = 2; // srcPort << 16 | dstPort, initiator-oriented
const R_A = 3; // initiator address words 3..6 (IPv4: word 3 only)
const R_B = 7; // responder address words 7..10
// Words 11 and 12 are free: packet counters live in the Float64 record (a tunnel at 100k packets/s passes 2^32
// packets in 12 hours, which an Int32 word wrapped).
const R_PREV = 13;
const R_NEXT = 14;
const R_BITS = 15; // tcpFlags | state << 8 | nPay << 16 | live << 24
// Float64 record per slot (48 bytes): bytes and packets per direction (exact up to 2^53), first and last seen.
const NS = 6;
const N_BF = 0, N_BR = 1, N_FIRST = 2, N_LAST = 3, N_PF = 4, N_PR = 5;
/** @internal The Float64 record's layout, for tests that set a counter near a limit no test could reach by packets. */
export const FLOW_NUM_LAYOUT = { stride: NS, packetsFwd: N_PF, packetsRev: N_PR, bytesFwd: N_BF, bytesRev: N_BR } as const;

// state bits (R_BITS byte 1)
const ST_FIN_FWD = 1;
const ST_FIN_REV = 2;
const ST_CLOSED = 4; // RST, or FIN both ways and the final ACK: lingering (LIST_CLOSED)
const ST_CAPTURING = 8; // may still record payload packets
const ST_RST = 16; // closed by a RST (the end reason)
const ST_CAPPED = 32; // a capture cap stopped recording before detection was done (FlowHandle.captureCapped)
/** A flow's bits word once a capture cap has stopped its recording: no longer capturing, and marked capped. */
const cappedBits = (bits: number): number => (bits & ~(ST_CAPTURING << 8)) | (ST_CAPPED << 8);
const B_LIVE = 1 << 24;
/**
 * Repeated payload packets a flow has skipped (R_BITS bits 25–28). A capture holding every packet twice (a mirror
 * port copying ingress and egress) would otherwise spend the detectors' packet budget on copies, and break the
 * counter runs that read "+1 per packet"; the cap keeps a flow that repeats one payload forever (keepalives) from
 * holding its capture slot without end.
 */
const DUP_SHIFT = 25, DUP_ONE = 1 << DUP_SHIFT, DUP_SKIPS_MAX = 15;
/**
 * A repeat counts as a copy only this soon after the flow's previous packet: a mirror's copy follows its original
 * within microseconds, while a sender's own repeats (a DNS or STUN retry, a TCP retransmission) come hundreds of
 * milliseconds later and stay in the record as packets of their own.
 */
const DUP_WINDOW_US = 10_000;

// TCP flags
const TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_ACK = 0x10;

/** Payload packets a flow records in the small snippet tier before it moves to a full slot. */
const SMALL_PACKETS = 2;
/** Payload packets of the full tier; a table recording more moves a flow that needs them to the long tier. */
const FULL_PACKETS = 8;
const DEFAULT_MAX_LONG = 16_384;
/** Marks a full-tier slot in poolSlot (slots are < 2^28). */
const BIG_TIER = 1 << 30;
const LONG_TIER = 1 << 29;
const TIER_BITS = BIG_TIER | LONG_TIER;

function readI32be(d: Uint8Array, o: number): number {
  return (d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!;
}

/**
 * Bounded flow table. One instance per packet stream; not thread-safe; the listener must not call `add`
 * re-entrantly.
 *
 * @example
 * const table = new FlowTable({ idleTimeoutSec: 60 }, { onEnd(f, why) { console.log(f.srcText(), why); } });
 * for (const p of packets) table.add(p);
 * table.flush();
 */
export class FlowTable {
  readonly idleTimeoutUs: number;
  readonly tcpIdleTimeoutUs: number;
  readonly maxFlows: number;
  readonly maxPayloadPackets: number;
  readonly payloadBytes: number;
  readonly maxCapturingFlows: number;
  readonly stats: FlowTableStats = {
    packets: 0, flows: 0, ended: 0, evicted: 0, idle: 0, fin: 0, rst: 0, eof: 0, stop: 0,
    fragmentsMatched: 0, fragmentsUnmatched: 0, captureSkipped: 0, captureShort: 0, espSpiChanges: 0, duplicatesSkipped: 0, afterClose: 0,
    reassembly: {
      fragments: 0, reassembled: 0, cut: 0, overlapping: 0, invalid: 0, timedOut: 0, evicted: 0, flushed: 0,
      duplicates: 0, unattributed: 0, tooDeep: 0,
    },
  };
  readonly tcpLingerUs: number;

  private readonly listener: FlowListener;
  private readonly handle: TableFlowHandle;

  // ---- per-slot storage (grown together) ----
  private cap = 0;
  /** @internal Int32 record per slot, RS words (see R_*). */
  rec = new Int32Array(0);
  /** @internal Float64 record per slot, NS values (see N_*). */
  num = new Float64Array(0);
  /** @internal Snippet pool slot or -1. */
  poolSlot = new Int32Array(0);
  /** @internal ESP SPI last seen per direction. */
  spiA = new Uint32Array(0);
  spiB = new Uint32Array(0);

  // free slots: stack; fresh slots come from `fresh` upwards
  private freeStack = new Int32Array(0);
  private freeTop = 0;
  private fresh = 0;
  private live_ = 0;

  // hash index: slot or -1
  private index = new Int32Array(0);
  private indexMask = 0;

  // LRU lists: head = most recent, tail = least recent
  private readonly head = new Int32Array(N_LISTS).fill(NONE);
  private readonly tail = new Int32Array(N_LISTS).fill(NONE);
  /** Idle timeout per list (µs): TCP, other, closed TCP (the linger). */
  private readonly timeouts = new Float64Array(N_LISTS);

  // clock
  private nowUs = 0;
  private nextCheckUs = 0;

  // fragment map (direct-mapped)
  private readonly fragKey = new Uint32Array(FRAG_MAP_SIZE * 2); // [hash of src/dst/proto/id, fragId]
  private readonly fragSlot = new Int32Array(FRAG_MAP_SIZE).fill(NONE);
  private readonly fragTs = new Float64Array(FRAG_MAP_SIZE);

  // snippet pools: a small tier for the first SMALL_PACKETS payload packets, the full tier beyond
  /** @internal */ small: SnippetPool | null = null;
  /** @internal */ long: SnippetPool | null = null;
  /** @internal */ big!: SnippetPool;
  /** @internal */


  // scratch for the current packet's key (int32 words, as stored in records)
  private readonly kA = new Int32Array(4);
  private readonly kB = new Int32Array(4);
  /** @internal Slot whose newest payload packet is the packet being added (whole payload visible), else -1. */
  curSlot = NONE;
  /** @internal */
  curPacket: PacketView | null = null;
  /**
   * Bumped whenever what a view may read changes (each add, the end of each packet callback, each stopCapture —
   * release goes through it): invalidates view caches.
   */
  gen = 0;
  /**
   * Bumped whenever a slot's recorded packets may move or change owner (a new flow takes a slot, stopCapture, a
   * move to the full snippet tier). Between bumps a slot's recorded packets only grow, so a view cache can re-read
   * just the newest packets on a generation change instead of all of them.
   */
  layout = 0;

  /** IP reassembly (null when off) and what decodes the datagrams it rebuilds (tunnels inside them opened). */
  private readonly reasm: Reassembler | null;
  private readonly decoder: Decoder;
  /** One view per reassembly delivery depth (a reassembled carrier may hold fragments of its own). */
  private readonly wholeViews: PacketView[] = [];

  /**
   * @param decoder decodes reassembled datagrams (tunnels inside them are opened as `decode` would); pass the
   *   decoder that feeds the table so both use the same settings and its fallback counters. Default: a new Decoder.
   * @throws {InvalidArgumentError} on an option out of range
   */
  constructor(options: FlowTableOptions, listener: FlowListener, decoder?: Decoder) {
    const o = options ?? {};
    if (typeof o === 'object') checkKnownOptions('flow options', o, FLOW_TABLE_OPTIONS);
    const num = (v: number | undefined, d: number, name: string, min: number, max = Infinity): number => {
      const x = v ?? d;
      if (typeof x !== 'number' || !Number.isFinite(x) || x < min || x > max) {
        throw new InvalidArgumentError(`FlowTable: ${name} must be a number ${max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`}, got ${String(v)}`);
      }
      return x;
    };
    this.idleTimeoutUs = Math.round(num(o.idleTimeoutSec, 120, 'idleTimeoutSec', 0, MAX_DURATION_SEC) * 1e6);
    this.tcpIdleTimeoutUs = Math.round(num(o.tcpIdleTimeoutSec, 300, 'tcpIdleTimeoutSec', 0, MAX_DURATION_SEC) * 1e6);
    this.maxFlows = Math.floor(num(o.maxFlows, DEFAULT_MAX_FLOWS, 'maxFlows', 1));
    if (this.maxFlows > 1 << 28) throw new InvalidArgumentError('FlowTable: maxFlows must be <= 2^28');
    this.maxPayloadPackets = Math.floor(num(o.maxPayloadPackets, 8, 'maxPayloadPackets', 0));
    if (this.maxPayloadPackets > 255) throw new InvalidArgumentError('FlowTable: maxPayloadPackets must be <= 255');
    this.payloadBytes = Math.floor(num(o.payloadBytes, 48, 'payloadBytes', 0));
    if (this.payloadBytes > 65535) throw new InvalidArgumentError('FlowTable: payloadBytes must be <= 65535');
    this.maxCapturingFlows = Math.floor(num(o.maxCapturingFlows, this.maxFlows, 'maxCapturingFlows', 0));
    const maxLong = Math.floor(num(o.maxLongCapturingFlows, DEFAULT_MAX_LONG, 'maxLongCapturingFlows', 0));
    this.big = new SnippetPool(Math.min(this.maxPayloadPackets, FULL_PACKETS), this.payloadBytes, this.maxCapturingFlows);
    if (this.maxPayloadPackets > FULL_PACKETS) this.long = new SnippetPool(this.maxPayloadPackets, this.payloadBytes, Math.min(maxLong, this.maxCapturingFlows));
    if (this.maxPayloadPackets > SMALL_PACKETS) this.small = new SnippetPool(SMALL_PACKETS, this.payloadBytes, this.maxCapturingFlows);
    this.tcpLingerUs = Math.round(num(o.tcpLingerSec, DEFAULT_TCP_LINGER_SEC, 'tcpLingerSec', 0, MAX_DURATION_SEC) * 1e6);
    this.timeouts[LIST_TCP] = this.tcpIdleTimeoutUs;
    this.timeouts[LIST_OTHER] = this.idleTimeoutUs;
    this.timeouts[LIST_CLOSED] = this.tcpLingerUs;
    this.decoder = decoder ?? new Decoder();
    const maxReasm = num(o.maxReassemblies, 1024, 'maxReassemblies', 0);
    this.reasm = maxReasm === 0 ? null : new Reassembler(
      { maxDatagrams: maxReasm, ...(o.reassemblyTimeoutSec !== undefined ? { timeoutSec: o.reassemblyTimeoutSec } : {}), ...(o.reassemblyMaxBytes !== undefined ? { maxBytes: o.reassemblyMaxBytes } : {}) },
      this.sink,
    );
    if (this.reasm !== null) this.stats.reassembly = this.reasm.stats;
    this.listener = listener;
    this.handle = new TableFlowHandle(this);
    this.grow(Math.min(INITIAL_CAPACITY, this.maxFlows));
  }

  /** Live flows. */
  get size(): number {
    return this.live_;
  }

  /** Flows currently holding payload snippet storage. */
  get capturingFlows(): number {
    return this.big.used + (this.small?.used ?? 0) + (this.long?.used ?? 0);
  }

  // ------------------------------------------------------------------ storage

  private grow(newCap: number): void {
    const old = this.cap;
    const rec = new Int32Array(newCap * RS); rec.set(this.rec); this.rec = rec;
    const num = new Float64Array(newCap * NS); num.set(this.num); this.num = num;
    const ps = new Int32Array(newCap); ps.set(this.poolSlot); this.poolSlot = ps;
    const sa = new Uint32Array(newCap); sa.set(this.spiA); this.spiA = sa;
    const sb = new Uint32Array(newCap); sb.set(this.spiB); this.spiB = sb;
    const fs = new Int32Array(newCap); fs.set(this.freeStack); this.freeStack = fs;
    this.cap = newCap;
    // Index at load factor <= 0.5.
    let size = 16;
    while (size < newCap * 2) size *= 2;
    if (size - 1 !== this.indexMask || old === 0) {
      this.index = new Int32Array(size).fill(NONE);
      this.indexMask = size - 1;
      for (let s = 0; s < this.fresh; s++) if ((this.rec[s * RS + R_BITS]! & B_LIVE) !== 0) this.indexInsert(s);
    }
  }

  private allocSlot(): number {
    if (this.freeTop > 0) return this.freeStack[--this.freeTop]!;
    if (this.fresh === this.cap) this.grow(Math.min(this.maxFlows, this.cap * 2));
    return this.fresh++;
  }

  private indexInsert(slot: number): void {
    indexInsert(this.index, this.indexMask, slot, this.rec, RS, R_HASH);
  }

  private indexRemove(slot: number): void {
    indexRemove(this.index, this.indexMask, slot, this.rec, RS, R_HASH);
  }

  private listOf(slot: number): number {
    const o = slot * RS;
    if ((this.rec[o + R_BITS]! & (ST_CLOSED << 8)) !== 0) return LIST_CLOSED;
    return (this.rec[o + R_META]! & 0xff) === IPPROTO_TCP ? LIST_TCP : LIST_OTHER;
  }

  /** Idle time after which a flow of list `l` ends. */
  private timeoutOf(l: number): number {
    return this.timeouts[l]!;
  }

  /** Why a flow ends when its time is up: its close for a closed connection, else idleness. */
  private idleReason(slot: number): EndReason {
    const bits = this.rec[slot * RS + R_BITS]!;
    if ((bits & (ST_CLOSED << 8)) !== 0) return (bits & (ST_RST << 8)) !== 0 ? 'rst' : 'fin';
    // FIN from both sides but no final ACK seen: closed all the same.
    return (bits & ((ST_FIN_FWD | ST_FIN_REV) << 8)) === (ST_FIN_FWD | ST_FIN_REV) << 8 ? 'fin' : 'idle';
  }

  private listUnlink(slot: number): void {
    const l = this.listOf(slot), rec = this.rec;
    const p = rec[slot * RS + R_PREV]!, n = rec[slot * RS + R_NEXT]!;
    if (p !== NONE) rec[p * RS + R_NEXT] = n;
    else this.head[l] = n;
    if (n !== NONE) rec[n * RS + R_PREV] = p;
    else this.tail[l] = p;
  }

  private listPushHead(slot: number): void {
    const l = this.listOf(slot), rec = this.rec;
    const h = this.head[l]!;
    rec[slot * RS + R_PREV] = NONE;
    rec[slot * RS + R_NEXT] = h;
    if (h !== NONE) rec[h * RS + R_PREV] = slot;
    else this.tail[l] = slot;
    this.head[l] = slot;
  }

  private touch(slot: number): void {
    if (this.head[this.listOf(slot)] === slot) return;
    this.listUnlink(slot);
    this.listPushHead(slot);
  }

  /** The snippet pool a poolSlot value names (its tier bits). */
  private poolOf(ps: number): SnippetPool {
    return ps & LONG_TIER ? this.long! : ps & BIG_TIER ? this.big : this.small!;
  }

  /** @internal Stop recording payload for a slot and give its snippets back to the pool. */
  stopCaptureSlot(slot: number): void {
    this.gen++;
    this.layout++;
    const o = slot * RS + R_BITS;
    this.rec[o] = this.rec[o]! & ~(ST_CAPTURING << 8);
    const ps = this.poolSlot[slot]!;
    if (ps !== NONE) {
      this.poolSlot[slot] = NONE;
      if (ps & LONG_TIER) this.long!.release(ps & ~TIER_BITS);
      else if (ps & BIG_TIER) this.big.release(ps & ~BIG_TIER);
      else this.small!.release(ps);
    }
  }

  /**
   * @internal Move a flow holding a full-tier slot with `k` packets to a long-tier slot. False (and the flow stops
   * recording, `stats.captureShort`) when the long tier is full.
   */
  growToLong(slot: number, k: number): boolean {
    const ps = this.poolSlot[slot]!;
    if (ps & LONG_TIER) return true;
    const q = this.long!.acquire();
    if (q < 0) {
      this.stats.captureShort++;
      const o = slot * RS + R_BITS;
      this.rec[o] = cappedBits(this.rec[o]!);
      return false;
    }
    this.big.moveTo(ps & ~BIG_TIER, this.long!, q, k);
    this.big.release(ps & ~BIG_TIER);
    this.poolSlot[slot] = q | LONG_TIER;
    this.layout++;
    return true;
  }

  /** @internal True when a flow may record more payload packets than it has (`FlowHandle.extendCapture`). */
  extendCaptureSlot(slot: number): boolean {
    const bits = this.rec[slot * RS + R_BITS]!;
    if ((bits & (ST_CAPTURING << 8)) === 0) return false;
    const k = (bits >>> 16) & 0xff;
    if (k >= this.maxPayloadPackets) return false;
    const ps = this.poolSlot[slot]!;
    if (this.long === null || ps === NONE || (ps & BIG_TIER) === 0 || k < FULL_PACKETS) return true;
    return this.growToLong(slot, k);
  }

  /** @internal Payload packets recorded for a slot. */
  nPayOf(slot: number): number {
    return (this.rec[slot * RS + R_BITS]! >>> 16) & 0xff;
  }

  // ------------------------------------------------------------------ per packet

  /** Load the packet's addresses into kA (source) / kB (destination). */
  private loadAddrs(p: PacketView): void {
    const a = this.kA, b = this.kB;
    if (p.ipVersion === 6) {
      const d = p.addrData ?? p.data, s = p.srcOff, t = p.dstOff;
      a[0] = readI32be(d, s); a[1] = readI32be(d, s + 4); a[2] = readI32be(d, s + 8); a[3] = readI32be(d, s + 12);
      b[0] = readI32be(d, t); b[1] = readI32be(d, t + 4); b[2] = readI32be(d, t + 8); b[3] = readI32be(d, t + 12);
    } else {
      a[0] = p.src4; a[1] = 0; a[2] = 0; a[3] = 0;
      b[0] = p.dst4; b[1] = 0; b[2] = 0; b[3] = 0;
    }
  }

  private static endpointHash(k: Int32Array, port: number): number {
    return mix30(
      k[0]! ^ Math.imul(k[1]!, 0x9e3779b1) ^ Math.imul(k[2]!, 0x85ebca6b) ^ Math.imul(k[3]!, 0xc2b2ae35) ^
        Math.imul(port + 1, 0x27d4eb2f),
    );
  }

  /** 0 = packet goes initiator -> responder, 1 = reverse, -1 = not this flow. */
  private matchDir(slot: number, sp: number, dp: number): number {
    const r = this.rec, o = slot * RS, a = this.kA, b = this.kB;
    const pw = r[o + R_PORTS]!;
    if (
      r[o + R_A] === a[0] && r[o + R_B] === b[0] && pw === ((sp << 16) | dp) &&
      r[o + R_A + 1] === a[1] && r[o + R_A + 2] === a[2] && r[o + R_A + 3] === a[3] &&
      r[o + R_B + 1] === b[1] && r[o + R_B + 2] === b[2] && r[o + R_B + 3] === b[3]
    ) return 0;
    if (
      r[o + R_A] === b[0] && r[o + R_B] === a[0] && pw === ((dp << 16) | sp) &&
      r[o + R_A + 1] === b[1] && r[o + R_A + 2] === b[2] && r[o + R_A + 3] === b[3] &&
      r[o + R_B + 1] === a[1] && r[o + R_B + 2] === a[2] && r[o + R_B + 3] === a[3]
    ) return 1;
    return -1;
  }

  /**
   * Account one decoded packet to its flow (creating, ending or evicting flows as needed) and call the
   * listener. Zero allocation. The view is read only during the call.
   */
  add(p: PacketView): void {
    this.stats.packets++;
    const ts = p.tsUs;
    this.tick(ts);
    if (p.isFragment && this.reasm !== null) {
      this.gen++;
      this.reasm.add(p, 1, p.wireLen);
      return;
    }
    this.track(p, 1, p.wireLen, false, true);
  }

  /** Where reassembled datagrams (and the parts of ones that will never be whole) come back. */
  private readonly sink: DatagramSink = {
    datagram: (buf, end, whole, packets, wire, vlan, encap) => this.datagram(buf, end, whole, packets, wire, vlan, encap),
    unattributed: (packets) => {
      this.stats.fragmentsUnmatched += packets;
    },
  };

  private datagram(buf: Uint8Array, end: number, whole: boolean, packets: number, wire: number, vlan: number, encap: number): void {
    const r = this.reasm!;
    const depth = r.level;
    let v = this.wholeViews[depth];
    if (v === undefined) {
      v = newPacketView();
      this.wholeViews[depth] = v;
    }
    // Times go through typed arrays, not arguments: a double crossing a call is a heap number.
    v.tsUs = r.times[0]!;
    v.wireLen = wire;
    if (!this.decoder.decodeDatagram(v, buf, 0, end, vlan, encap)) {
      this.stats.fragmentsUnmatched += packets;
      return;
    }
    this.gen++;
    this.firstTs[0] = r.times[1]!;
    // A fragment found inside the datagram (a fragmented packet in a fragmented tunnel) is reassembled in turn.
    if (v.isFragment) r.add(v, packets, wire, this.firstTs);
    else this.track(v, packets, wire, true, whole);
  }

  /** First-seen time of what `track` accounts when it stands for earlier packets (a reassembled datagram). */
  private readonly firstTs = new Float64Array(1);

  /**
   * Account `p` — standing for `packets` captured packets of `wire` bytes, the first seen at `firstTs` (a
   * reassembled datagram stands for its fragments) — to its flow and call the listener. `payload` false: count only
   * (the part of a datagram that will never be whole), nothing recorded for the detectors.
   */
  private track(p: PacketView, packets: number, wire: number, earlier: boolean, record: boolean): void {
    this.gen++;
    const ts = p.tsUs;
    const firstTs = earlier ? this.firstTs[0]! : ts;
    const proto = p.proto & 0xff;
    const meta = proto | ((p.encap & 15) << 8) | (p.ipVersion === 6 ? 1 << 12 : 0) | (((p.vlan + 1) & 0xffff) << 16);
    this.loadAddrs(p);
    if (p.isFragment && p.fragOffset > 0) {
      this.addFragment(p, meta);
      return;
    }
    let sp = 0, dp = 0;
    if (proto === 6 || proto === 17 || proto === 132 || proto === 136) {
      sp = p.srcPort & 0xffff;
      dp = p.dstPort & 0xffff;
    }
    const hA = FlowTable.endpointHash(this.kA, sp), hB = FlowTable.endpointHash(this.kB, dp);
    const h = mix30((hA ^ hB) ^ Math.imul((hA + hB) | 0, 0x165667b1) ^ Math.imul(meta, 0x2545f491)) | 0;

    // Probe.
    const idx = this.index, mask = this.indexMask;
    let rec = this.rec;
    let i = h & mask, slot = NONE, dir = -1;
    for (;;) {
      const s = idx[i]!;
      if (s === NONE) break;
      if (rec[s * RS + R_HASH] === h && rec[s * RS + R_META] === meta) {
        dir = this.matchDir(s, sp, dp);
        if (dir >= 0) {
          slot = s;
          break;
        }
      }
      i = (i + 1) & mask;
    }
    const flags = proto === IPPROTO_TCP ? p.tcpFlags & 0xff : 0;
    let isNew = false;
    if (slot !== NONE) {
      const sb = rec[slot * RS + R_BITS]!;
      const closed = (sb & (ST_CLOSED << 8)) !== 0;
      const closing = closed || (sb & ((ST_FIN_FWD | ST_FIN_REV) << 8)) === (ST_FIN_FWD | ST_FIN_REV) << 8;
      // A fresh SYN on a closed (or closing) connection is a new connection reusing the tuple; a flow idle past its
      // timeout (a closed one past its linger) has ended, whether or not the periodic sweep has run since.
      if ((closing && (flags & (TH_SYN | TH_ACK)) === TH_SYN) || ts - this.num[slot * NS + N_LAST]! > this.timeouts[this.listOf(slot)]!) {
        this.endFlow(slot, this.idleReason(slot));
        slot = NONE;
        rec = this.rec;
      } else if (closed) this.stats.afterClose++;
    }
    if (slot === NONE) {
      if (this.live_ >= this.maxFlows) this.evictOne();
      slot = this.allocSlot();
      rec = this.rec; // may have grown
      // TCP: the SYN sender initiates; a SYN-ACK seen first means its receiver did.
      dir = proto === IPPROTO_TCP && (flags & (TH_SYN | TH_ACK)) === (TH_SYN | TH_ACK) ? 1 : 0;
      const o = slot * RS;
      const ini = dir === 0 ? this.kA : this.kB, rsp = dir === 0 ? this.kB : this.kA;
      rec[o + R_META] = meta;
      rec[o + R_HASH] = h;
      rec[o + R_PORTS] = dir === 0 ? (sp << 16) | dp : (dp << 16) | sp;
      rec[o + R_A] = ini[0]!; rec[o + R_A + 1] = ini[1]!; rec[o + R_A + 2] = ini[2]!; rec[o + R_A + 3] = ini[3]!;
      rec[o + R_B] = rsp[0]!; rec[o + R_B + 1] = rsp[1]!; rec[o + R_B + 2] = rsp[2]!; rec[o + R_B + 3] = rsp[3]!;
      rec[o + R_BITS] = B_LIVE | ((this.maxPayloadPackets > 0 ? ST_CAPTURING : 0) << 8);
      const n = slot * NS, num = this.num;
      // Activity (lastSeen) is the capture clock, which never goes back: with a packet whose time does (merged or
      // clock-stepped captures) it stays the clock, so the LRU lists stay in activity order and expiry's early stop
      // at the first active tail is exact — the same flows end whatever else shares the table (any worker count).
      num[n + N_BF] = 0; num[n + N_BR] = 0; num[n + N_PF] = 0; num[n + N_PR] = 0; num[n + N_FIRST] = ts; num[n + N_LAST] = ts > this.nowUs ? ts : this.nowUs;
      this.poolSlot[slot] = NONE;
      this.layout++;
      this.spiA[slot] = 0;
      this.spiB[slot] = 0;
      this.indexInsert(slot);
      this.listPushHead(slot);
      this.live_++;
      this.stats.flows++;
      isNew = true;
    } else {
      this.touch(slot);
    }

    // Counters.
    const o = slot * RS, n = slot * NS, num = this.num;
    this.count(slot, dir, packets, wire);
    // Timestamps stay in this function: a double passed to a call V8 did not inline is boxed in a heap number
    // (seen on Node 22 in some processes: one per packet).
    const act = ts > this.nowUs ? ts : this.nowUs;
    const sinceLast = act - num[n + N_LAST]!;
    if (act > num[n + N_LAST]!) num[n + N_LAST] = act;
    if (firstTs < num[n + N_FIRST]!) num[n + N_FIRST] = firstTs;
    let bits = rec[o + R_BITS]! | flags;

    if (p.isFragment) this.noteFirstFragment(p, slot);

    if (proto === IPPROTO_ESP) {
      const spi = p.spi >>> 0;
      const cur = dir === 0 ? this.spiA[slot]! : this.spiB[slot]!;
      if (cur !== spi) {
        if (cur !== 0) this.stats.espSpiChanges++;
        if (dir === 0) this.spiA[slot] = spi;
        else this.spiB[slot] = spi;
      }
    }

    // Payload recording.
    let payload = false;
    let wirePay = p.payloadWireLen > p.payloadLen ? p.payloadWireLen : p.payloadLen;
    if (wirePay > 0x7fffffff) wirePay = 0x7fffffff; // stored as len * 2 + dir in a u32
    const k = (bits >>> 16) & 0xff;
    const capturing = record && wirePay > 0 && (bits & (ST_CAPTURING << 8)) !== 0 && k < this.maxPayloadPackets;
    const kept = p.payloadLen < this.payloadBytes ? p.payloadLen : this.payloadBytes;
    let ps = capturing ? this.poolSlot[slot]! : NONE;
    if (ps !== NONE && k > 0 && sinceLast <= DUP_WINDOW_US && ((bits >>> DUP_SHIFT) & 0xf) < DUP_SKIPS_MAX &&
      this.poolOf(ps).repeatsLast(ps & ~TIER_BITS, k, wirePay, dir, p.data, p.payloadOff, kept)) {
      // A copy of the packet recorded last in this direction: counted above, not recorded (no tier move for it).
      bits += DUP_ONE;
      this.stats.duplicatesSkipped++;
    } else if (capturing) {
      if (ps === NONE) {
        // A new capturing flow starts in the small tier (or the full one when there is no small tier).
        ps = this.capturingFlows >= this.maxCapturingFlows ? NONE : this.small ? this.small.acquire() : this.big.acquire() | BIG_TIER;
        if (ps < 0) ps = NONE;
        if (ps === NONE) {
          bits = cappedBits(bits);
          this.stats.captureSkipped++;
        } else this.poolSlot[slot] = ps;
      } else if ((ps & TIER_BITS) === 0 && k >= SMALL_PACKETS) {
        // Outgrew the small tier: move its packets to a full slot.
        const q = this.big.acquire();
        if (q < 0) {
          bits = cappedBits(bits);
          this.stats.captureSkipped++;
          ps = NONE;
        } else {
          this.small!.moveTo(ps, this.big, q, k);
          this.small!.release(ps);
          ps = q | BIG_TIER;
          this.poolSlot[slot] = ps;
          this.layout++;
        }
      } else if ((ps & BIG_TIER) !== 0 && k >= FULL_PACKETS) {
        // Outgrew the full tier (only a table recording more than 8 packets gets here).
        if (this.growToLong(slot, k)) ps = this.poolSlot[slot]!;
        else {
          bits = cappedBits(bits);
          ps = NONE;
        }
      }
      if (ps !== NONE) {
        this.poolOf(ps).put(ps & ~TIER_BITS, k, wirePay, dir, p.data, p.payloadOff, kept);
        bits = (bits & ~(0xff << 16)) | ((k + 1) << 16);
        payload = true;
        this.curSlot = slot;
        this.curPacket = p;
      }
    }

    // TCP close: a RST, or FIN from both sides followed by the final ACK (a pure ACK: no SYN, no payload). The
    // connection then lingers (LIST_CLOSED) unless linger is 0. Between the second FIN and the final ACK it stays an
    // open connection (TCP idle timeout), so a late final ACK is still its own.
    let end: EndReason | null = null;
    let close = 0;
    if (flags !== 0 && (bits & (ST_CLOSED << 8)) === 0) {
      const fins = (ST_FIN_FWD | ST_FIN_REV) << 8;
      if ((flags & TH_RST) !== 0) close = ST_CLOSED | ST_RST;
      else if ((flags & TH_FIN) !== 0) bits |= (dir === 0 ? ST_FIN_FWD : ST_FIN_REV) << 8;
      else if ((bits & fins) === fins && (flags & TH_SYN) === 0 && wirePay === 0) close = ST_CLOSED;
    }
    if (close !== 0) {
      if (this.tcpLingerUs === 0) end = (close & ST_RST) !== 0 ? 'rst' : 'fin';
      this.listUnlink(slot); // from the list its old bits name
      rec[o + R_BITS] = bits | (close << 8);
      this.listPushHead(slot);
    } else rec[o + R_BITS] = bits;

    const l = this.listener;
    if (l.onPacket !== undefined) {
      this.handle.slot = slot;
      l.onPacket(this.handle, isNew, payload);
    }
    this.curSlot = NONE;
    this.curPacket = null;
    this.handle.view.dropPacket();
    this.gen++; // the newest packet's bytes are no longer readable in full
    if (end !== null && (this.rec[o + R_BITS]! & B_LIVE) !== 0) this.endFlow(slot, end);
  }

  private fragHash(proto: number, id: number): number {
    const a = this.kA, b = this.kB;
    return mix30(
      (a[0]! ^ Math.imul(a[1]!, 0x9e3779b1) ^ Math.imul(a[2]!, 0x85ebca6b) ^ Math.imul(a[3]!, 0xc2b2ae35)) ^
        mix30(b[0]! ^ Math.imul(b[1]!, 0x9e3779b1) ^ Math.imul(b[2]!, 0x85ebca6b) ^ Math.imul(b[3]!, 0xc2b2ae35) ^ proto) ^
        Math.imul(id, 0x27d4eb2f),
    );
  }

  /** Remember a first fragment's flow so later fragments of the same datagram find it. */
  private noteFirstFragment(p: PacketView, slot: number): void {
    const id = p.fragId >>> 0;
    const fh = this.fragHash(p.proto & 0xff, id);
    const e = fh & (FRAG_MAP_SIZE - 1);
    this.fragKey[2 * e] = fh;
    this.fragKey[2 * e + 1] = id;
    this.fragSlot[e] = slot;
    this.fragTs[e] = p.tsUs;
  }

  private addFragment(p: PacketView, meta: number): void {
    const ts = p.tsUs;
    const id = p.fragId >>> 0;
    const fh = this.fragHash(p.proto & 0xff, id);
    const e = fh & (FRAG_MAP_SIZE - 1);
    const slot = this.fragSlot[e]!;
    const rec = this.rec;
    let dir = -1;
    if (
      slot !== NONE && this.fragKey[2 * e] === fh && this.fragKey[2 * e + 1] === id &&
      ts - this.fragTs[e]! <= FRAG_TTL_US && (rec[slot * RS + R_BITS]! & B_LIVE) !== 0 && rec[slot * RS + R_META] === meta
    ) {
      // Same addresses (either orientation); ports are unknown for a non-first fragment.
      const pw = rec[slot * RS + R_PORTS]!;
      dir = this.matchDir(slot, pw >>> 16, pw & 0xffff);
      if (dir < 0) dir = this.matchDir(slot, pw & 0xffff, pw >>> 16);
    }
    if (dir < 0) {
      this.stats.fragmentsUnmatched++;
      return;
    }
    this.stats.fragmentsMatched++;
    this.touch(slot);
    this.count(slot, dir, 1, p.wireLen);
    const n = slot * NS;
    const act = ts > this.nowUs ? ts : this.nowUs;
    if (act > this.num[n + N_LAST]!) this.num[n + N_LAST] = act;
    const l = this.listener;
    if (l.onPacket !== undefined) {
      this.handle.slot = slot;
      l.onPacket(this.handle, false, false);
    }
  }

  /** Per-direction packet and byte counters; last-seen time only moves forward (captures can be unordered). */
  private count(slot: number, dir: number, packets: number, wireLen: number): void {
    const num = this.num, n = slot * NS;
    if (dir === 0) {
      num[n + N_PF] = num[n + N_PF]! + packets;
      num[n + N_BF] = num[n + N_BF]! + wireLen;
    } else {
      num[n + N_PR] = num[n + N_PR]! + packets;
      num[n + N_BR] = num[n + N_BR]! + wireLen;
    }
  }

  // ------------------------------------------------------------------ ending flows

  private endFlow(slot: number, reason: EndReason): void {
    this.handle.slot = slot;
    try {
      this.listener.onEnd(this.handle, reason);
    } finally {
      this.release(slot, reason);
    }
  }

  private release(slot: number, reason: EndReason): void {
    this.indexRemove(slot);
    this.listUnlink(slot);
    this.stopCaptureSlot(slot);
    this.rec[slot * RS + R_BITS] = 0;
    this.freeStack[this.freeTop++] = slot;
    this.live_--;
    const st = this.stats;
    st.ended++;
    st[reason]++;
  }

  private lastOf(slot: number): number {
    return this.num[slot * NS + N_LAST]!;
  }

  /** The least-recently-active flow of all lists (the oldest LRU tail), or NONE. */
  private oldestFlow(): number {
    let victim = NONE;
    for (let l = 0; l < N_LISTS; l++) {
      const t = this.tail[l]!;
      if (t !== NONE && (victim === NONE || this.lastOf(t) < this.lastOf(victim))) victim = t;
    }
    return victim;
  }

  /**
   * Make room at the cap: a lingering closed connection goes first (its conversation is over; it ends with its
   * close reason), else the least-recently-active flow (`evicted`).
   */
  private evictOne(): void {
    const closed = this.tail[LIST_CLOSED]!;
    if (closed !== NONE) {
      this.endFlow(closed, this.idleReason(closed));
      return;
    }
    const victim = this.oldestFlow();
    if (victim !== NONE) this.endFlow(victim, 'evicted');
  }

  private expire(): void {
    const now = this.nowUs;
    // Datagrams first: a timed-out one still counts to its flow, which may be about to end too.
    if (this.reasm !== null) this.reasm.expire(now);
    for (let l = 0; l < N_LISTS; l++) {
      const limit = now - this.timeoutOf(l);
      for (;;) {
        const t = this.tail[l]!;
        if (t === NONE || this.lastOf(t) >= limit) break;
        this.endFlow(t, this.idleReason(t));
      }
    }
  }

  /**
   * Capture time seen on a frame (µs since the epoch): the clock moves to it (never back) and, at most once per
   * second of capture time, flows idle past their timeout end. `add` calls it for its packet; a caller calls it for
   * a frame that carries a time but no packet to add (one that does not decode), so the clock follows every frame
   * of the capture — as pool workers, which frame every record but decode only their own, must see it.
   */
  tick(tsUs: number): void {
    if (tsUs > this.nowUs) this.nowUs = tsUs;
    if (this.nowUs >= this.nextCheckUs) {
      this.expire();
      this.nextCheckUs = this.nowUs + EXPIRY_CHECK_US;
    }
  }

  /**
   * Advance the capture clock to `tsUs` (µs since the epoch; never goes back) and end flows idle for longer
   * than their timeout. `add` does this itself at most once per second of capture time; call it directly when
   * the input pauses (live capture) or before reading results at a known time.
   */
  advance(tsUs: number): void {
    if (tsUs > this.nowUs) this.nowUs = tsUs;
    this.expire();
    this.nextCheckUs = this.nowUs + EXPIRY_CHECK_US;
  }

  /**
   * End of input (`eof`) or a stopped run (`stop`): datagrams still being reassembled are counted to their flows,
   * then every live flow ends, least recently active first — with `reason`, or with its close reason (`fin`/`rst`)
   * for a lingering closed connection.
   */
  flush(reason: 'eof' | 'stop' = 'eof'): void {
    if (this.reasm !== null) this.reasm.flush();
    for (;;) {
      const victim = this.oldestFlow();
      if (victim === NONE) break;
      const why = this.idleReason(victim);
      this.endFlow(victim, why === 'idle' ? reason : why);
    }
  }

  /** Bytes held by the table's typed arrays (flow records, index, fragment map, snippet pool). */
  memoryBytes(): number {
    let n = this.index.byteLength + this.fragKey.byteLength + this.fragSlot.byteLength + this.fragTs.byteLength;
    n += this.rec.byteLength + this.num.byteLength + this.poolSlot.byteLength + this.spiA.byteLength;
    n += this.spiB.byteLength + this.freeStack.byteLength;
    n += this.big.memoryBytes() + (this.small?.memoryBytes() ?? 0) + (this.long?.memoryBytes() ?? 0);
    if (this.reasm !== null) n += this.reasm.memoryBytes();
    return n;
  }
}

/** Flyweight FlowView over a slot's recorded payload packets. */
class TableFlowView implements FlowView {
  slot = 0;
  /**
   * Per-packet accessors resolved once per (slot, table generation): detectors read a flow's first bytes many
   * times per packet, and each uncached read resolves the snippet tier, chunk and offset again.
   */
  private cSlot = -1;
  private cGen = -1;
  private cLayout = -1;
  private cN = 0;
  private readonly cDir: Uint8Array;
  private readonly cLen: Int32Array;
  private readonly cAvail: Int32Array;
  private readonly cStart: Int32Array;
  private readonly cBuf: Uint8Array[];
  /** Index in the cache of the packet being added, whose bytes are the caller's (-1: none). */
  private holdsPacket = -1;
  constructor(private readonly t: FlowTable) {
    const n = Math.max(1, t.maxPayloadPackets);
    this.cDir = new Uint8Array(n);
    this.cLen = new Int32Array(n);
    this.cAvail = new Int32Array(n);
    this.cStart = new Int32Array(n);
    this.cBuf = new Array<Uint8Array>(n).fill(EMPTY);
  }
  /**
   * The packet being added is done: let go of its bytes (a socket adapter's datagram, a reader's chunk), which
   * are the caller's; the cache is refilled at the next read.
   */
  dropPacket(): void {
    if (this.holdsPacket < 0) return;
    this.cBuf[this.holdsPacket] = EMPTY;
    this.holdsPacket = -1;
    this.cGen = -1;
  }
  /** Refill the cache when the view was re-aimed or the table changed since the last fill. */
  private sync(): void {
    if (this.cGen !== this.t.gen || this.cSlot !== this.slot) this.fill();
  }
  private fill(): void {
    const n = this.nPacketsUncached();
    // Same slot, same layout: packets before the previous newest one are where they were; the previous newest may
    // have moved from the packet being added to its snippet, so re-read from there on.
    const from = this.cSlot === this.slot && this.cLayout === this.t.layout && n >= this.cN && this.cN > 0 ? this.cN - 1 : 0;
    this.cSlot = this.slot;
    this.cGen = this.t.gen;
    this.cLayout = this.t.layout;
    this.cN = n;
    if (from >= n) return;
    // The slot's tier, chunk and base index are resolved once; each packet is then a few array reads.
    const t = this.t;
    const raw = t.poolSlot[this.slot]!;
    let last = n;
    if (t.curSlot === this.slot && t.curPacket !== null) {
      // The newest packet is the one being added: its whole payload is readable from the packet itself.
      last = n - 1;
      const p = t.curPacket;
      this.cAvail[last] = p.payloadLen;
      this.cBuf[last] = p.data;
      this.cStart[last] = p.payloadOff;
      this.holdsPacket = last;
    }
    if (raw === NONE) {
      for (let i = from; i < n; i++) {
        this.cDir[i] = 0;
        this.cLen[i] = 0;
        if (i < last) {
          this.cAvail[i] = 0;
          this.cBuf[i] = EMPTY;
          this.cStart[i] = 0;
        }
      }
      return;
    }
    const pool = raw & LONG_TIER ? t.long! : raw & BIG_TIER ? t.big : t.small!;
    const ps = raw & ~TIER_BITS;
    const chunk = (ps / POOL_CHUNK) | 0;
    const base = (ps % POOL_CHUNK) * pool.packets;
    const lens = pool.len[chunk]!, avails = pool.avail[chunk]!, bytes = pool.bytes[chunk]!;
    const start0 = (ps % POOL_CHUNK) * pool.stride;
    for (let i = from; i < n; i++) {
      const w = lens[base + i]!;
      this.cDir[i] = w & 1;
      this.cLen[i] = w >>> 1;
      if (i < last) {
        this.cAvail[i] = avails[base + i]!;
        this.cBuf[i] = bytes;
        this.cStart[i] = start0 + i * t.payloadBytes;
      }
    }
  }
  get transport(): number {
    return this.t.rec[this.slot * RS + R_META]! & 0xff;
  }
  get ipVersion(): 4 | 6 {
    return (this.t.rec[this.slot * RS + R_META]! & (1 << 12)) !== 0 ? 6 : 4;
  }
  get srcPort(): number {
    return this.t.rec[this.slot * RS + R_PORTS]! >>> 16;
  }
  get dstPort(): number {
    return this.t.rec[this.slot * RS + R_PORTS]! & 0xffff;
  }
  get nPackets(): number {
    this.sync();
    return this.cN;
  }
  private nPacketsUncached(): number {
    const n = this.t.nPayOf(this.slot);
    return this.t.poolSlot[this.slot]! === NONE && this.t.curSlot !== this.slot ? 0 : n;
  }
  dir(i: number): number {
    this.sync();
    return i >= 0 && i < this.cN ? this.cDir[i]! : 0;
  }
  len(i: number): number {
    this.sync();
    return i >= 0 && i < this.cN ? this.cLen[i]! : 0;
  }
  avail(i: number): number {
    this.sync();
    return i >= 0 && i < this.cN ? this.cAvail[i]! : 0;
  }
  buf(i: number): Uint8Array {
    this.sync();
    return i >= 0 && i < this.cN ? this.cBuf[i]! : EMPTY;
  }
  start(i: number): number {
    this.sync();
    return i >= 0 && i < this.cN ? this.cStart[i]! : 0;
  }
}

const EMPTY = new Uint8Array(0);

/** Flyweight FlowHandle re-aimed at a slot; valid only during the listener call. */
class TableFlowHandle implements FlowHandle {
  private _slot = 0;
  private readonly scratch = new Uint8Array(32);
  readonly view: TableFlowView;
  constructor(private readonly t: FlowTable) {
    this.view = new TableFlowView(t);
  }
  get slot(): number {
    return this._slot;
  }
  set slot(s: number) {
    this._slot = s;
    this.view.slot = s;
  }
  private r(field: number): number {
    return this.t.rec[this._slot * RS + field]!;
  }
  get id(): number {
    return this._slot;
  }
  get transport(): number {
    return this.r(R_META) & 0xff;
  }
  get ipVersion(): 4 | 6 {
    return (this.r(R_META) & (1 << 12)) !== 0 ? 6 : 4;
  }
  get vlan(): number {
    return (this.r(R_META) >>> 16) - 1;
  }
  get encap(): number {
    return (this.r(R_META) >>> 8) & 15;
  }
  get srcPort(): number {
    return this.r(R_PORTS) >>> 16;
  }
  get dstPort(): number {
    return this.r(R_PORTS) & 0xffff;
  }
  get src4(): number {
    return this.ipVersion === 4 ? this.r(R_A) >>> 0 : 0;
  }
  get dst4(): number {
    return this.ipVersion === 4 ? this.r(R_B) >>> 0 : 0;
  }
  /** 32 bytes: initiator IPv6 address at 0, responder at 16 (filled for the current flow on each call). */
  addrBytes(): Uint8Array {
    const b = this.scratch;
    for (let w = 0; w < 8; w++) {
      const v = this.r(R_A + w);
      b[w * 4] = v >>> 24; b[w * 4 + 1] = (v >>> 16) & 255; b[w * 4 + 2] = (v >>> 8) & 255; b[w * 4 + 3] = v & 255;
    }
    return b;
  }
  src6Off(): number {
    return 0;
  }
  dst6Off(): number {
    return 16;
  }
  get packetsFwd(): number {
    return this.t.num[this._slot * NS + N_PF]!;
  }
  get packetsRev(): number {
    return this.t.num[this._slot * NS + N_PR]!;
  }
  get bytesFwd(): number {
    return this.t.num[this._slot * NS + N_BF]!;
  }
  get bytesRev(): number {
    return this.t.num[this._slot * NS + N_BR]!;
  }
  get firstSeenUs(): number {
    return this.t.num[this._slot * NS + N_FIRST]!;
  }
  get lastSeenUs(): number {
    return this.t.num[this._slot * NS + N_LAST]!;
  }
  get tcpFlags(): number {
    return this.r(R_BITS) & 0xff;
  }
  get closed(): boolean {
    return (this.r(R_BITS) & (ST_CLOSED << 8)) !== 0;
  }
  /** ESP: last SPI seen from the initiator / from the responder (0 when none or not ESP). */
  get spiFwd(): number {
    return this.t.spiA[this._slot]!;
  }
  get spiRev(): number {
    return this.t.spiB[this._slot]!;
  }
  stopCapture(): void {
    this.t.stopCaptureSlot(this._slot);
  }
  extendCapture(): boolean {
    return this.t.extendCaptureSlot(this._slot);
  }
  get captureCapped(): boolean {
    return ((this.t.rec[this._slot * RS + R_BITS]! >>> 8) & ST_CAPPED) !== 0;
  }
  srcText(): string {
    const proto = this.transport, v = this.ipVersion;
    return formatEndpoint(v, this.src4, v === 6 ? this.addrBytes() : EMPTY, 0, this.srcPort, hasPorts(proto));
  }
  dstText(): string {
    const proto = this.transport, v = this.ipVersion;
    return formatEndpoint(v, this.dst4, v === 6 ? this.addrBytes() : EMPTY, 16, this.dstPort, hasPorts(proto));
  }
}

export type { TableFlowHandle };
