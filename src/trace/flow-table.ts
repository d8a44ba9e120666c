/**
 * Bounded bidirectional flow table.
 *
 * Owns: grouping decoded packets ({@link PacketView}) into bidirectional flows, per-flow counters, the first
 * payload-bearing packets of each flow (for detectors), idle expiry driven by capture timestamps, LRU eviction
 * at a hard cap, TCP close tracking, and attribution of non-first IP fragments.
 * Never: reads files, looks at the wall clock, allocates per packet, or keys anything by strings.
 *
 * Layout: struct-of-arrays over typed arrays indexed by a flow *slot*; an open-addressing hash index (linear
 * probing, backward-shift deletion, no tombstones) maps a direction-insensitive tuple hash to slots; two
 * intrusive doubly linked LRU lists over slots (TCP and everything else, because their idle timeouts differ),
 * so touch, expiry and eviction are O(1) per flow. Arrays start small and double up to `maxFlows`.
 *
 * Flow key: (ipVersion, vlan, encap, proto, unordered {address, port} pair). Ports only for TCP, UDP, SCTP and
 * UDP-Lite. ESP is keyed WITHOUT the SPI: the two directions of an IPsec SA pair carry different SPIs and a
 * rekey changes both, while the corpus truth (nDPI) has one ESP flow per address pair; the SPIs are kept per
 * direction instead (`spiFwd`/`spiRev`) and SPI changes are counted (`stats.espSpiChanges`).
 *
 * Payload snippets live in a separate slab pool (N packets × `payloadBytes` per pool slot, allocated in chunks
 * on demand), taken when a flow sees its first payload packet and released on flow end or
 * {@link FlowHandle.stopCapture}; so the per-flow core stays ~120 bytes whatever the snippet settings.
 *
 * Complexity: `add` O(1) expected (hash probe + list splice); `advance` O(expired flows).
 */
import { IPPROTO_ESP, IPPROTO_TCP, type FlowView } from '../detect/types.js';
import { InvalidArgumentError } from '../errors.js';
import type { EndReason, FlowHandle, PacketView } from './types.js';
import { formatEndpoint, hasPorts } from './flow-format.js';

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
  /** First payload-bearing packets recorded per flow for detectors. Default 8; 0 disables recording. */
  maxPayloadPackets?: number;
  /** First payload bytes kept per recorded packet. Default 48; 0 keeps lengths/directions only. */
  payloadBytes?: number;
  /**
   * Cap on flows holding payload snippets at once (the snippet pool). Default `maxFlows`. A flow that starts
   * while the pool is full records nothing (`stats.captureSkipped`).
   */
  maxCapturingFlows?: number;
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
  /** Ended by flush(). */
  eof: number;
  /** Non-first fragments attributed to a flow through the fragment map. */
  fragmentsMatched: number;
  /** Non-first fragments whose first fragment was not seen (or aged out): not accounted to any flow. */
  fragmentsUnmatched: number;
  /** Flows that could not record payload because the snippet pool was full. */
  captureSkipped: number;
  /** ESP packets whose SPI differed from the one last seen in the same direction of the flow (rekeys). */
  espSpiChanges: number;
}

const NONE = -1;
const LIST_TCP = 0;
const LIST_OTHER = 1;
const DEFAULT_MAX_FLOWS = 1_000_000;
const INITIAL_CAPACITY = 1024;
/** Expiry is checked when capture time has moved on by this much since the last check. */
const EXPIRY_CHECK_US = 1_000_000;
/** Fragment map: direct-mapped, entries older than this are ignored (RFC 791 suggests ~15-120 s reassembly). */
const FRAG_MAP_SIZE = 4096;
const FRAG_TTL_US = 60_000_000;

// state bits
const ST_FIN_FWD = 1;
const ST_FIN_REV = 2;
const ST_CLOSING = 4; // FIN seen both ways: the next pure ACK ends the flow
const ST_CAPTURING = 8; // may still record payload packets

// TCP flags
const TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_ACK = 0x10;

const POOL_CHUNK = 1024; // pool slots per chunk

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function readU32be(d: Uint8Array, o: number): number {
  return ((d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!) >>> 0;
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
    packets: 0, flows: 0, ended: 0, evicted: 0, idle: 0, fin: 0, rst: 0, eof: 0,
    fragmentsMatched: 0, fragmentsUnmatched: 0, captureSkipped: 0, espSpiChanges: 0,
  };

  private readonly listener: FlowListener;
  private readonly handle: TableFlowHandle;

  // ---- per-slot struct of arrays (grown together) ----
  private cap = 0;
  /** proto | encap << 8 | v6 << 12 | (vlan + 1) << 16 */
  meta = new Uint32Array(0);
  /** Initiator address words [0..3], responder [4..7] (IPv4: word 0 only). */
  addr = new Uint32Array(0);
  /** srcPort << 16 | dstPort, initiator-oriented. */
  ports = new Uint32Array(0);
  hashes = new Uint32Array(0);
  pktFwd = new Uint32Array(0);
  pktRev = new Uint32Array(0);
  bytesFwd = new Float64Array(0);
  bytesRev = new Float64Array(0);
  first = new Float64Array(0);
  last = new Float64Array(0);
  flags = new Uint8Array(0);
  state = new Uint8Array(0);
  /** Payload packets recorded so far. */
  nPay = new Uint8Array(0);
  /** Snippet pool slot or -1. */
  poolSlot = new Int32Array(0);
  spiA = new Uint32Array(0);
  spiB = new Uint32Array(0);
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  /** 1 while the slot holds a live flow. */
  private live = new Uint8Array(0);

  // free slots: stack; fresh slots come from `fresh` upwards
  private freeStack = new Int32Array(0);
  private freeTop = 0;
  private fresh = 0;
  private live_ = 0;

  // hash index: slot or -1
  private index = new Int32Array(0);
  private indexMask = 0;

  // LRU lists: head = most recent, tail = least recent
  private readonly head = new Int32Array([NONE, NONE]);
  private readonly tail = new Int32Array([NONE, NONE]);

  // clock
  private nowUs = 0;
  private nextCheckUs = 0;

  // fragment map (direct-mapped)
  private readonly fragKey = new Uint32Array(FRAG_MAP_SIZE * 2); // [hash of src/dst/proto, fragId]
  private readonly fragSlot = new Int32Array(FRAG_MAP_SIZE).fill(NONE);
  private readonly fragTs = new Float64Array(FRAG_MAP_SIZE);

  // snippet pool
  private readonly poolStride: number; // bytes per pool slot
  poolBytes: Uint8Array[] = [];
  /** Per pool slot × N: wire length * 2 + dir. */
  poolLen: Uint32Array[] = [];
  /** Per pool slot × N: bytes stored. */
  poolAvail: Uint16Array[] = [];
  private poolFree: number[] = [];
  private poolUsed = 0;
  private poolFresh = 0;

  // scratch for the current packet's key
  private readonly kA = new Uint32Array(4);
  private readonly kB = new Uint32Array(4);
  /** Slot whose newest payload packet is the packet being added (whole payload visible), else -1. */
  curSlot = NONE;
  curPacket: PacketView | null = null;

  constructor(options: FlowTableOptions, listener: FlowListener) {
    const o = options ?? {};
    const num = (v: number | undefined, d: number, name: string, min: number): number => {
      const x = v ?? d;
      if (typeof x !== 'number' || !Number.isFinite(x) || x < min) {
        throw new InvalidArgumentError(`FlowTable: ${name} must be a number >= ${min}, got ${String(v)}`);
      }
      return x;
    };
    this.idleTimeoutUs = Math.round(num(o.idleTimeoutSec, 120, 'idleTimeoutSec', 0) * 1e6);
    this.tcpIdleTimeoutUs = Math.round(num(o.tcpIdleTimeoutSec, 300, 'tcpIdleTimeoutSec', 0) * 1e6);
    this.maxFlows = Math.floor(num(o.maxFlows, DEFAULT_MAX_FLOWS, 'maxFlows', 1));
    if (this.maxFlows > 1 << 28) throw new InvalidArgumentError('FlowTable: maxFlows must be <= 2^28');
    this.maxPayloadPackets = Math.floor(num(o.maxPayloadPackets, 8, 'maxPayloadPackets', 0));
    if (this.maxPayloadPackets > 255) throw new InvalidArgumentError('FlowTable: maxPayloadPackets must be <= 255');
    this.payloadBytes = Math.floor(num(o.payloadBytes, 48, 'payloadBytes', 0));
    if (this.payloadBytes > 65535) throw new InvalidArgumentError('FlowTable: payloadBytes must be <= 65535');
    this.maxCapturingFlows = Math.floor(num(o.maxCapturingFlows, this.maxFlows, 'maxCapturingFlows', 0));
    this.poolStride = this.maxPayloadPackets * this.payloadBytes;
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
    return this.poolUsed;
  }

  // ------------------------------------------------------------------ storage

  private grow(newCap: number): void {
    const old = this.cap;
    const g32 = (a: Uint32Array): Uint32Array<ArrayBuffer> => { const b = new Uint32Array(newCap); b.set(a); return b; };
    const gi32 = (a: Int32Array): Int32Array<ArrayBuffer> => { const b = new Int32Array(newCap); b.set(a); return b; };
    const gf64 = (a: Float64Array): Float64Array<ArrayBuffer> => { const b = new Float64Array(newCap); b.set(a); return b; };
    const gu8 = (a: Uint8Array): Uint8Array<ArrayBuffer> => { const b = new Uint8Array(newCap); b.set(a); return b; };
    this.meta = g32(this.meta);
    const addr = new Uint32Array(newCap * 8); addr.set(this.addr); this.addr = addr;
    this.ports = g32(this.ports);
    this.hashes = g32(this.hashes);
    this.pktFwd = g32(this.pktFwd);
    this.pktRev = g32(this.pktRev);
    this.bytesFwd = gf64(this.bytesFwd);
    this.bytesRev = gf64(this.bytesRev);
    this.first = gf64(this.first);
    this.last = gf64(this.last);
    this.flags = gu8(this.flags);
    this.state = gu8(this.state);
    this.nPay = gu8(this.nPay);
    this.poolSlot = gi32(this.poolSlot);
    this.spiA = g32(this.spiA);
    this.spiB = g32(this.spiB);
    this.prev = gi32(this.prev);
    this.next = gi32(this.next);
    this.live = gu8(this.live);
    this.freeStack = gi32(this.freeStack);
    this.cap = newCap;
    // Index at load factor <= 0.5.
    let size = 16;
    while (size < newCap * 2) size *= 2;
    if (size - 1 !== this.indexMask || old === 0) {
      this.index = new Int32Array(size).fill(NONE);
      this.indexMask = size - 1;
      for (let s = 0; s < this.fresh; s++) if (this.live[s] === 1) this.indexInsert(s);
    }
  }

  private allocSlot(): number {
    if (this.freeTop > 0) return this.freeStack[--this.freeTop]!;
    if (this.fresh === this.cap) this.grow(Math.min(this.maxFlows, this.cap * 2));
    return this.fresh++;
  }

  private indexInsert(slot: number): void {
    const mask = this.indexMask, idx = this.index;
    let i = this.hashes[slot]! & mask;
    while (idx[i] !== NONE) i = (i + 1) & mask;
    idx[i] = slot;
  }

  /** Backward-shift deletion (Knuth 6.4 algorithm R): keeps probe sequences intact without tombstones. */
  private indexRemove(slot: number): void {
    const mask = this.indexMask, idx = this.index;
    let i = this.hashes[slot]! & mask;
    while (idx[i] !== slot) i = (i + 1) & mask;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const s = idx[j]!;
      if (s === NONE) break;
      const k = this.hashes[s]! & mask;
      // Move s back to i unless its home k lies cyclically in (i, j].
      if (i <= j ? i < k && k <= j : i < k || k <= j) continue;
      idx[i] = s;
      i = j;
    }
    idx[i] = NONE;
  }

  private listOf(slot: number): number {
    return (this.meta[slot]! & 0xff) === IPPROTO_TCP ? LIST_TCP : LIST_OTHER;
  }

  private listUnlink(slot: number): void {
    const l = this.listOf(slot);
    const p = this.prev[slot]!, n = this.next[slot]!;
    if (p !== NONE) this.next[p] = n;
    else this.head[l] = n;
    if (n !== NONE) this.prev[n] = p;
    else this.tail[l] = p;
  }

  private listPushHead(slot: number): void {
    const l = this.listOf(slot);
    const h = this.head[l]!;
    this.prev[slot] = NONE;
    this.next[slot] = h;
    if (h !== NONE) this.prev[h] = slot;
    else this.tail[l] = slot;
    this.head[l] = slot;
  }

  private touch(slot: number): void {
    if (this.head[this.listOf(slot)] === slot) return;
    this.listUnlink(slot);
    this.listPushHead(slot);
  }

  private poolAcquire(): number {
    let ps: number;
    if (this.poolFree.length > 0) ps = this.poolFree.pop()!;
    else if (this.poolFresh < this.maxCapturingFlows) {
      ps = this.poolFresh++;
      if (ps % POOL_CHUNK === 0) {
        const n = this.maxPayloadPackets;
        this.poolBytes.push(new Uint8Array(POOL_CHUNK * this.poolStride));
        this.poolLen.push(new Uint32Array(POOL_CHUNK * n));
        this.poolAvail.push(new Uint16Array(POOL_CHUNK * n));
      }
    } else return NONE;
    this.poolUsed++;
    return ps;
  }

  /** @internal Stop recording payload for a slot and give its snippets back to the pool. */
  stopCaptureSlot(slot: number): void {
    this.state[slot] = this.state[slot]! & ~ST_CAPTURING;
    const ps = this.poolSlot[slot]!;
    if (ps !== NONE) {
      this.poolSlot[slot] = NONE;
      this.poolFree.push(ps);
      this.poolUsed--;
    }
  }

  // ------------------------------------------------------------------ per packet

  /** Load the packet's addresses into kA (source) / kB (destination). */
  private loadAddrs(p: PacketView): void {
    const a = this.kA, b = this.kB;
    if (p.ipVersion === 6) {
      const d = p.data, s = p.srcOff, t = p.dstOff;
      a[0] = readU32be(d, s); a[1] = readU32be(d, s + 4); a[2] = readU32be(d, s + 8); a[3] = readU32be(d, s + 12);
      b[0] = readU32be(d, t); b[1] = readU32be(d, t + 4); b[2] = readU32be(d, t + 8); b[3] = readU32be(d, t + 12);
    } else {
      a[0] = p.src4; a[1] = 0; a[2] = 0; a[3] = 0;
      b[0] = p.dst4; b[1] = 0; b[2] = 0; b[3] = 0;
    }
  }

  private static endpointHash(k: Uint32Array, port: number): number {
    return fmix32(
      k[0]! ^ Math.imul(k[1]!, 0x9e3779b1) ^ Math.imul(k[2]!, 0x85ebca6b) ^ Math.imul(k[3]!, 0xc2b2ae35) ^
        Math.imul(port + 1, 0x27d4eb2f),
    );
  }

  /** 0 = packet goes initiator -> responder, 1 = reverse, -1 = not this flow. */
  private matchDir(slot: number, sp: number, dp: number): number {
    const ad = this.addr, o = slot * 8, a = this.kA, b = this.kB;
    const pw = this.ports[slot]!;
    if (
      ad[o] === a[0] && ad[o + 4] === b[0] && ad[o + 1] === a[1] && ad[o + 2] === a[2] && ad[o + 3] === a[3] &&
      ad[o + 5] === b[1] && ad[o + 6] === b[2] && ad[o + 7] === b[3] && pw === ((sp << 16) | dp) >>> 0
    ) return 0;
    if (
      ad[o] === b[0] && ad[o + 4] === a[0] && ad[o + 1] === b[1] && ad[o + 2] === b[2] && ad[o + 3] === b[3] &&
      ad[o + 5] === a[1] && ad[o + 6] === a[2] && ad[o + 7] === a[3] && pw === ((dp << 16) | sp) >>> 0
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
    if (ts > this.nowUs) this.nowUs = ts;
    if (this.nowUs >= this.nextCheckUs) {
      this.expire();
      this.nextCheckUs = this.nowUs + EXPIRY_CHECK_US;
    }
    const proto = p.proto;
    const meta = (proto | ((p.encap & 15) << 8) | (p.ipVersion === 6 ? 1 << 12 : 0) | (((p.vlan + 1) & 0xffff) << 16)) >>> 0;
    this.loadAddrs(p);
    if (p.isFragment && p.fragOffset > 0) {
      this.addFragment(p, meta, ts);
      return;
    }
    let sp = 0, dp = 0;
    if (proto === 6 || proto === 17 || proto === 132 || proto === 136) {
      sp = p.srcPort & 0xffff;
      dp = p.dstPort & 0xffff;
    }
    const hA = FlowTable.endpointHash(this.kA, sp), hB = FlowTable.endpointHash(this.kB, dp);
    const h = fmix32((hA ^ hB) ^ Math.imul((hA + hB) | 0, 0x165667b1) ^ Math.imul(meta, 0x2545f491));

    // Probe.
    const idx = this.index, mask = this.indexMask;
    let i = h & mask, slot = NONE, dir = -1;
    for (;;) {
      const s = idx[i]!;
      if (s === NONE) break;
      if (this.hashes[s] === h && this.meta[s] === meta) {
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
    // A fresh SYN on a closed-but-not-yet-ended TCP flow is a new connection reusing the tuple.
    if (slot !== NONE && (this.state[slot]! & ST_CLOSING) !== 0 && (flags & (TH_SYN | TH_ACK)) === TH_SYN) {
      this.endFlow(slot, 'fin');
      slot = NONE;
    }
    if (slot === NONE) {
      if (this.live_ >= this.maxFlows) this.evictOne();
      slot = this.allocSlot();
      // TCP: the SYN sender initiates; a SYN-ACK seen first means its receiver did.
      dir = proto === IPPROTO_TCP && (flags & (TH_SYN | TH_ACK)) === (TH_SYN | TH_ACK) ? 1 : 0;
      const ad = this.addr, o = slot * 8;
      const ini = dir === 0 ? this.kA : this.kB, rsp = dir === 0 ? this.kB : this.kA;
      ad[o] = ini[0]!; ad[o + 1] = ini[1]!; ad[o + 2] = ini[2]!; ad[o + 3] = ini[3]!;
      ad[o + 4] = rsp[0]!; ad[o + 5] = rsp[1]!; ad[o + 6] = rsp[2]!; ad[o + 7] = rsp[3]!;
      this.ports[slot] = (dir === 0 ? (sp << 16) | dp : (dp << 16) | sp) >>> 0;
      this.meta[slot] = meta;
      this.hashes[slot] = h;
      this.pktFwd[slot] = 0; this.pktRev[slot] = 0;
      this.bytesFwd[slot] = 0; this.bytesRev[slot] = 0;
      this.first[slot] = ts; this.last[slot] = ts;
      this.flags[slot] = 0;
      this.state[slot] = this.maxPayloadPackets > 0 ? ST_CAPTURING : 0;
      this.nPay[slot] = 0;
      this.poolSlot[slot] = NONE;
      this.spiA[slot] = 0; this.spiB[slot] = 0;
      this.live[slot] = 1;
      // Insert at the probe's empty position is not safe after a possible eviction/grow: re-probe.
      this.indexInsert(slot);
      this.listPushHead(slot);
      this.live_++;
      this.stats.flows++;
      isNew = true;
    } else {
      this.touch(slot);
    }

    // Counters.
    if (dir === 0) {
      this.pktFwd[slot]!++;
      this.bytesFwd[slot]! += p.wireLen;
    } else {
      this.pktRev[slot]!++;
      this.bytesRev[slot]! += p.wireLen;
    }
    if (ts > this.last[slot]!) this.last[slot] = ts;
    if (ts < this.first[slot]!) this.first[slot] = ts;
    this.flags[slot] = this.flags[slot]! | flags;

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
    if (wirePay > 0 && (this.state[slot]! & ST_CAPTURING) !== 0 && this.nPay[slot]! < this.maxPayloadPackets) {
      let ps = this.poolSlot[slot]!;
      if (ps === NONE) {
        ps = this.poolAcquire();
        if (ps === NONE) {
          this.state[slot] = this.state[slot]! & ~ST_CAPTURING;
          this.stats.captureSkipped++;
        } else this.poolSlot[slot] = ps;
      }
      if (ps !== NONE) {
        const k = this.nPay[slot]!;
        const chunk = (ps / POOL_CHUNK) | 0, within = ps - chunk * POOL_CHUNK;
        const mi = within * this.maxPayloadPackets + k;
        this.poolLen[chunk]![mi] = wirePay * 2 + dir;
        const n = p.payloadLen < this.payloadBytes ? p.payloadLen : this.payloadBytes;
        this.poolAvail[chunk]![mi] = n;
        if (n > 0) {
          const dst = this.poolBytes[chunk]!, off = within * this.poolStride + k * this.payloadBytes;
          const src = p.data, so = p.payloadOff;
          for (let x = 0; x < n; x++) dst[off + x] = src[so + x]!;
        }
        this.nPay[slot] = k + 1;
        payload = true;
        this.curSlot = slot;
        this.curPacket = p;
      }
    }

    // TCP close tracking.
    let end: EndReason | null = null;
    if (flags !== 0) {
      const st = this.state[slot]!;
      if ((flags & TH_RST) !== 0) end = 'rst';
      else if ((flags & TH_FIN) !== 0) {
        let ns = st | (dir === 0 ? ST_FIN_FWD : ST_FIN_REV);
        if ((ns & (ST_FIN_FWD | ST_FIN_REV)) === (ST_FIN_FWD | ST_FIN_REV)) ns |= ST_CLOSING;
        this.state[slot] = ns;
      } else if ((st & ST_CLOSING) !== 0 && (flags & TH_SYN) === 0 && wirePay === 0) end = 'fin';
    }

    const l = this.listener;
    if (l.onPacket !== undefined) {
      this.handle.slot = slot;
      l.onPacket(this.handle, isNew, payload);
    }
    this.curSlot = NONE;
    this.curPacket = null;
    if (end !== null && this.live[slot] === 1) this.endFlow(slot, end);
  }

  private fragHash(proto: number, id: number): number {
    const a = this.kA, b = this.kB;
    return fmix32(
      (a[0]! ^ Math.imul(a[1]!, 0x9e3779b1) ^ Math.imul(a[2]!, 0x85ebca6b) ^ Math.imul(a[3]!, 0xc2b2ae35)) ^
        fmix32(b[0]! ^ Math.imul(b[1]!, 0x9e3779b1) ^ Math.imul(b[2]!, 0x85ebca6b) ^ Math.imul(b[3]!, 0xc2b2ae35) ^ proto) ^
        Math.imul(id, 0x27d4eb2f),
    );
  }

  /** Remember a first fragment's flow so later fragments of the same datagram find it. */
  private noteFirstFragment(p: PacketView, slot: number): void {
    const id = p.fragId >>> 0;
    const fh = this.fragHash(p.proto, id);
    const e = fh & (FRAG_MAP_SIZE - 1);
    this.fragKey[2 * e] = fh;
    this.fragKey[2 * e + 1] = id;
    this.fragSlot[e] = slot;
    this.fragTs[e] = p.tsUs;
  }

  private addFragment(p: PacketView, meta: number, ts: number): void {
    const id = p.fragId >>> 0;
    const fh = this.fragHash(p.proto, id);
    const e = fh & (FRAG_MAP_SIZE - 1);
    const slot = this.fragSlot[e]!;
    let dir = -1;
    if (
      slot !== NONE && this.fragKey[2 * e] === fh && this.fragKey[2 * e + 1] === id &&
      ts - this.fragTs[e]! <= FRAG_TTL_US && this.live[slot] === 1 && this.meta[slot] === meta
    ) {
      // Same addresses (either orientation); ports are unknown for a non-first fragment.
      const pw = this.ports[slot]!;
      dir = this.matchDir(slot, pw >>> 16, pw & 0xffff);
      if (dir < 0) dir = this.matchDir(slot, pw & 0xffff, pw >>> 16);
    }
    if (dir < 0) {
      this.stats.fragmentsUnmatched++;
      return;
    }
    this.stats.fragmentsMatched++;
    this.touch(slot);
    if (dir === 0) {
      this.pktFwd[slot]!++;
      this.bytesFwd[slot]! += p.wireLen;
    } else {
      this.pktRev[slot]!++;
      this.bytesRev[slot]! += p.wireLen;
    }
    if (ts > this.last[slot]!) this.last[slot] = ts;
    const l = this.listener;
    if (l.onPacket !== undefined) {
      this.handle.slot = slot;
      l.onPacket(this.handle, false, false);
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
    this.live[slot] = 0;
    this.freeStack[this.freeTop++] = slot;
    this.live_--;
    const st = this.stats;
    st.ended++;
    st[reason]++;
  }

  /** End the least-recently-active flow (the older of the two LRU tails). */
  private evictOne(): void {
    const a = this.tail[LIST_TCP]!, b = this.tail[LIST_OTHER]!;
    const victim = a === NONE ? b : b === NONE ? a : this.last[a]! <= this.last[b]! ? a : b;
    if (victim !== NONE) this.endFlow(victim, 'evicted');
  }

  private expire(): void {
    const now = this.nowUs;
    for (let l = 0; l < 2; l++) {
      const limit = now - (l === LIST_TCP ? this.tcpIdleTimeoutUs : this.idleTimeoutUs);
      for (;;) {
        const t = this.tail[l]!;
        if (t === NONE || this.last[t]! >= limit) break;
        this.endFlow(t, (this.state[t]! & ST_CLOSING) !== 0 ? 'fin' : 'idle');
      }
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

  /** End of input: every live flow ends with `eof`, least recently active first. */
  flush(): void {
    for (;;) {
      const a = this.tail[LIST_TCP]!, b = this.tail[LIST_OTHER]!;
      if (a === NONE && b === NONE) break;
      const victim = a === NONE ? b : b === NONE ? a : this.last[a]! <= this.last[b]! ? a : b;
      this.endFlow(victim, 'eof');
    }
  }

  /** Approximate bytes held by the table's typed arrays (flow state, index, fragment map, snippet pool). */
  memoryBytes(): number {
    let n = this.index.byteLength + this.fragKey.byteLength + this.fragSlot.byteLength + this.fragTs.byteLength;
    n += this.cap * (4 + 32 + 4 + 4 + 4 + 4 + 8 + 8 + 8 + 8 + 1 + 1 + 1 + 4 + 4 + 4 + 4 + 4 + 1 + 4);
    for (let c = 0; c < this.poolBytes.length; c++) {
      n += this.poolBytes[c]!.byteLength + this.poolLen[c]!.byteLength + this.poolAvail[c]!.byteLength;
    }
    return n;
  }

  /** @internal used by the handle */
  get poolChunk(): number {
    return POOL_CHUNK;
  }
  /** @internal */
  get stride(): number {
    return this.poolStride;
  }
}

/** Flyweight FlowView over a slot's recorded payload packets. */
class TableFlowView implements FlowView {
  slot = 0;
  constructor(private readonly t: FlowTable) {}
  get transport(): number {
    return this.t.meta[this.slot]! & 0xff;
  }
  get ipVersion(): 4 | 6 {
    return (this.t.meta[this.slot]! & (1 << 12)) !== 0 ? 6 : 4;
  }
  get srcPort(): number {
    return this.t.ports[this.slot]! >>> 16;
  }
  get dstPort(): number {
    return this.t.ports[this.slot]! & 0xffff;
  }
  get nPackets(): number {
    return this.t.poolSlot[this.slot]! === NONE ? (this.t.curSlot === this.slot ? this.t.nPay[this.slot]! : 0) : this.t.nPay[this.slot]!;
  }
  private mi(i: number): number {
    const ps = this.t.poolSlot[this.slot]!;
    return (ps % this.t.poolChunk) * this.t.maxPayloadPackets + i;
  }
  private chunk(): number {
    return (this.t.poolSlot[this.slot]! / this.t.poolChunk) | 0;
  }
  private valid(i: number): boolean {
    return this.t.poolSlot[this.slot]! !== NONE && i >= 0 && i < this.t.nPay[this.slot]!;
  }
  private isCurrent(i: number): boolean {
    return this.t.curSlot === this.slot && i === this.t.nPay[this.slot]! - 1 && this.t.curPacket !== null;
  }
  dir(i: number): number {
    return this.valid(i) ? this.t.poolLen[this.chunk()]![this.mi(i)]! & 1 : 0;
  }
  len(i: number): number {
    return this.valid(i) ? this.t.poolLen[this.chunk()]![this.mi(i)]! >>> 1 : 0;
  }
  avail(i: number): number {
    if (this.isCurrent(i)) return this.t.curPacket!.payloadLen;
    return this.valid(i) ? this.t.poolAvail[this.chunk()]![this.mi(i)]! : 0;
  }
  buf(i: number): Uint8Array {
    if (this.isCurrent(i)) return this.t.curPacket!.data;
    return this.valid(i) ? this.t.poolBytes[this.chunk()]! : EMPTY;
  }
  start(i: number): number {
    if (this.isCurrent(i)) return this.t.curPacket!.payloadOff;
    if (!this.valid(i)) return 0;
    return (this.t.poolSlot[this.slot]! % this.t.poolChunk) * this.t.stride + i * this.t.payloadBytes;
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
  get id(): number {
    return this._slot;
  }
  get transport(): number {
    return this.t.meta[this._slot]! & 0xff;
  }
  get ipVersion(): 4 | 6 {
    return (this.t.meta[this._slot]! & (1 << 12)) !== 0 ? 6 : 4;
  }
  get vlan(): number {
    return (this.t.meta[this._slot]! >>> 16) - 1;
  }
  get encap(): number {
    return (this.t.meta[this._slot]! >>> 8) & 15;
  }
  get srcPort(): number {
    return this.t.ports[this._slot]! >>> 16;
  }
  get dstPort(): number {
    return this.t.ports[this._slot]! & 0xffff;
  }
  get src4(): number {
    return this.ipVersion === 4 ? this.t.addr[this._slot * 8]! : 0;
  }
  get dst4(): number {
    return this.ipVersion === 4 ? this.t.addr[this._slot * 8 + 4]! : 0;
  }
  /** 32 bytes: initiator IPv6 address at 0, responder at 16 (filled for the current flow on each call). */
  addrBytes(): Uint8Array {
    const a = this.t.addr, o = this._slot * 8, b = this.scratch;
    for (let w = 0; w < 8; w++) {
      const v = a[o + w]!;
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
    return this.t.pktFwd[this._slot]!;
  }
  get packetsRev(): number {
    return this.t.pktRev[this._slot]!;
  }
  get bytesFwd(): number {
    return this.t.bytesFwd[this._slot]!;
  }
  get bytesRev(): number {
    return this.t.bytesRev[this._slot]!;
  }
  get firstSeenUs(): number {
    return this.t.first[this._slot]!;
  }
  get lastSeenUs(): number {
    return this.t.last[this._slot]!;
  }
  get tcpFlags(): number {
    return this.t.flags[this._slot]!;
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
