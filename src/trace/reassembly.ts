/**
 * IP reassembly for the flow table: IPv4 (RFC 791 §3.2, RFC 815) and IPv6 (RFC 8200 §4.5, RFC 5722).
 *
 * Owns: holding the fragments of a datagram until it is whole, then handing it on ONCE as one contiguous IP
 * packet (a rebuilt header followed by the fragmentable part) so the flow table accounts it and the detectors see
 * it as one packet; and, when a datagram can never be whole (timed out, dropped at a cap, discarded, end of input),
 * handing on what it holds from offset 0 so its fragments still count to their flow.
 * Never: allocates per fragment (an arena of 512-byte blocks and typed arrays, grown by doubling up to the caps),
 * reads past a fragment's captured bytes, throws on any field values, or hands a datagram on twice.
 *
 * Bounds: at most `maxDatagrams` datagrams in progress and `maxBytes` bytes of fragment data (the oldest datagram
 * is dropped first, counted in `evicted`); a datagram holds at most 128 fragments and 64 KiB (IPv4: total length
 * ≤ 65,535 with a 20-byte header; IPv6: payload ≤ 65,535, RFC 8200 §4.5); each lives at most `timeoutSec` of
 * capture time after its first fragment arrived (RFC 8200 §4.5's 60 s is an upper bound; Linux uses 30 s).
 *
 * Fragments are identified by (source, destination, identification), plus the protocol for IPv4 (RFC 791), and the
 * VLAN and tunnel they were found in. Policy on overlaps, for both families: an exact duplicate (same offset,
 * length and bytes — the network duplicated it) is dropped and counted; any other overlap abandons the whole
 * datagram, including fragments that arrive later (RFC 5722 for IPv6; for IPv4 the same rule Linux applies since
 * 4.19). Overlapping fragments with different bytes are an evasion technique: end systems disagree on which bytes
 * win, so a passive observer cannot know what the receiver saw and does not pick a reading. Other inconsistencies
 * — a non-final fragment whose length is not a multiple of 8, two different final fragments, data past the final
 * fragment's end or past 64 KiB, too many fragments — abandon the datagram the same way (`invalid`).
 *
 * Snap length: a fragment's captured bytes may be fewer than its length. The datagram is whole when the fragments'
 * lengths cover it; it is handed on with the bytes captured up to the first cut, and its header keeps the full
 * length, so it reads like any snaplen-cut packet (`payloadLen < payloadWireLen`).
 *
 * Complexity: `add` O(fragments of its datagram) (sorted insert, at most 128) + O(bytes copied); a datagram is
 * copied once more when handed on.
 */
import { InvalidArgumentError, MAX_DURATION_SEC } from '../errors.js';
import { mix30 } from './bytes.js';
import { indexInsert, indexRemove } from './open-index.js';
import type { PacketView } from './types.js';

export interface ReassemblyOptions {
  /** Seconds of capture time a datagram may take to arrive whole, from its first fragment. Default 30. */
  timeoutSec?: number;
  /** Datagrams being reassembled at once; the oldest is dropped beyond it. Default 1024; 0 disables reassembly. */
  maxDatagrams?: number;
  /** Bytes of fragment data held at once (≥ 131,072: one 64 KiB datagram always fits). Default 4 MiB. */
  maxBytes?: number;
}

/** What happened to fragments and datagrams. Every datagram ends in exactly one of the datagram outcomes. */
export interface ReassemblyStats {
  /** Fragments taken in. */
  fragments: number;
  /** Datagram outcome: every fragment arrived; handed on whole, once. */
  reassembled: number;
  /** Of `reassembled`: handed on cut short because the capture's snap length cut a fragment. */
  cut: number;
  /** Datagram outcome: abandoned because two fragments overlapped with different extent or bytes (RFC 5722). */
  overlapping: number;
  /** Datagram outcome: abandoned as inconsistent (length not a multiple of 8, two ends, past 64 KiB, > 128 fragments). */
  invalid: number;
  /** Datagram outcome: not whole within the timeout. */
  timedOut: number;
  /** Datagram outcome: dropped, oldest first, to stay within `maxDatagrams` or `maxBytes`. */
  evicted: number;
  /** Datagram outcome: still incomplete at end of input. */
  flushed: number;
  /** Exact duplicate fragments dropped (they still count to their flow). */
  duplicates: number;
  /** Fragments of datagrams that never delivered their first fragment: not attributable to any flow. */
  unattributed: number;
  /** Fragments found inside a reassembled datagram nested deeper than 4 levels: not reassembled, not attributed. */
  tooDeep: number;
}

/** Where datagrams go (the flow table). */
export interface DatagramSink {
  /**
   * An IP packet in `buf[0, end)` standing for `packets` captured fragments of `wireBytes` bytes on the wire,
   * the last seen at `Reassembler.times[0]` and the first at `times[1]` (µs; typed array, not arguments, so the
   * doubles are not boxed per call).
   * `whole`: every fragment arrived (bytes may still be cut by the snap length); otherwise it is the part from
   * offset 0 of a datagram that will never be whole, for accounting only. `buf` is valid only during the call.
   */
  datagram(buf: Uint8Array, end: number, whole: boolean, packets: number, wireBytes: number, vlan: number, encap: number): void;
  /** `packets` fragments whose datagram never showed its first fragment. */
  unattributed(packets: number): void;
}

export const DEFAULT_REASSEMBLY_TIMEOUT_SEC = 30;
export const DEFAULT_MAX_DATAGRAMS = 1024;
export const DEFAULT_REASSEMBLY_MAX_BYTES = 4 << 20;
const MIN_MAX_BYTES = 128 << 10;
const MAX_FRAGMENTS = 128;
const BLOCK = 512;
const BLOCK_SHIFT = 9;
const NONE = -1;
/** IPv4: total length ≤ 65,535 with a 20-byte header; IPv6: payload length ≤ 65,535. */
const V4_LIMIT = 65535 - 20;
const V6_LIMIT = 65535;
const V4_HDR = 20;
const V6_HDR = 40;
/** Deliveries nested inside deliveries (a fragmented tunnel inside a fragmented carrier…) at most this deep. */
const MAX_DEPTH = 4;

// Int32 record per datagram entry.
const RI = 16;
const I_META = 0; // proto (IPv4 only) | encap << 8 | v6 << 12 | (vlan + 1) << 16
const I_ID = 1;
const I_SRC = 2; // 4 words
const I_DST = 6; // 4 words
const I_HASH = 10;
const I_PACKETS = 11;
const I_TOTAL = 12; // datagram length from the final fragment, -1 while unknown
const I_RECEIVED = 13; // bytes (by length) of the stored fragments
const I_HEAD = 14; // first stored fragment (block index), by offset
const I_NFRAG = 15; // stored fragments
// Second Int32 record per entry.
const RJ = 7;
const J_BLOCKS = 0;
const J_PREV = 1; // age list (creation order)
const J_NEXT = 2;
const J_NH = 3; // IPv6: next header of the offset-0 fragment's Fragment header; -1 until seen
const J_MAXEND = 4; // furthest byte any fragment claimed
const J_STATE = 5; // S_FREE, S_LIVE, S_ABANDONED
const J_WIRE = 6; // wire bytes of its fragments (saturating; an integer so it never crosses a call as a heap number)
const S_FREE = 0, S_LIVE = 1, S_ABANDONED = 2;
// Float64 record per entry.
const RF = 3;
const F_CREATED = 0, F_FIRST = 1, F_LAST = 2;

function readI32be(d: Uint8Array, o: number): number {
  return (d[o]! << 24) | (d[o + 1]! << 16) | (d[o + 2]! << 8) | d[o + 3]!;
}

/**
 * Bounded reassembly of IPv4 and IPv6 fragments into whole datagrams.
 *
 * @example
 * const r = new Reassembler({}, { datagram(buf, end) { decodeAgain(buf, 0, end); }, unattributed() {} });
 * if (view.isFragment) r.add(view, 1, view.wireLen, view.tsUs); // once per fragment
 * r.expire(nowUs); r.flush();
 */
export class Reassembler {
  readonly timeoutUs: number;
  readonly maxDatagrams: number;
  readonly maxBytes: number;
  readonly stats: ReassemblyStats = {
    fragments: 0, reassembled: 0, cut: 0, overlapping: 0, invalid: 0, timedOut: 0, evicted: 0, flushed: 0,
    duplicates: 0, unattributed: 0, tooDeep: 0,
  };

  // entries
  private cap = 0;
  private ri = new Int32Array(0);
  private rj = new Int32Array(0);
  private rf = new Float64Array(0);
  private freeStack = new Int32Array(0);
  private freeTop = 0;
  private fresh = 0;
  private live = 0;
  private oldest = NONE; // age list head (oldest) and tail (newest)
  private newest = NONE;
  private index = new Int32Array(0);
  private indexMask = 0;

  // block arena: a fragment is a chain of blocks and is named by its first block
  private nBlocks = 0;
  private readonly maxBlocks: number;
  private bytes = new Uint8Array(0);
  private blockNext = new Int32Array(0);
  private fragOff = new Int32Array(0);
  private fragLen = new Int32Array(0);
  private fragCap = new Int32Array(0);
  private fragNext = new Int32Array(0);
  private freeBlock = NONE;
  private freeBlocks = 0;
  private freshBlock = 0;

  // current fragment's key
  private readonly kSrc = new Int32Array(4);
  private readonly kDst = new Int32Array(4);

  /** One output buffer per delivery depth (a delivery may lead to another through a tunnel). */
  private readonly out: Uint8Array[] = [];
  /** Last and first capture time (µs) of the datagram being handed to the sink. */
  readonly times = new Float64Array(2);
  private depth = 0;

  constructor(options: ReassemblyOptions, private readonly sink: DatagramSink) {
    const num = (v: number | undefined, d: number, name: string, min: number, max = Infinity): number => {
      const x = v ?? d;
      if (typeof x !== 'number' || !Number.isFinite(x) || x < min || x > max) {
        throw new InvalidArgumentError(`reassembly: ${name} must be a number ${max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`}, got ${String(v)}`);
      }
      return x;
    };
    this.timeoutUs = Math.round(num(options.timeoutSec, DEFAULT_REASSEMBLY_TIMEOUT_SEC, 'timeoutSec', 0, MAX_DURATION_SEC) * 1e6);
    this.maxDatagrams = Math.floor(num(options.maxDatagrams, DEFAULT_MAX_DATAGRAMS, 'maxDatagrams', 0));
    if (this.maxDatagrams > 1 << 20) throw new InvalidArgumentError('reassembly: maxDatagrams must be <= 2^20');
    this.maxBytes = Math.floor(num(options.maxBytes, DEFAULT_REASSEMBLY_MAX_BYTES, 'maxBytes', MIN_MAX_BYTES));
    if (this.maxBytes > 1 << 30) throw new InvalidArgumentError('reassembly: maxBytes must be <= 2^30');
    this.maxBlocks = this.maxBytes >>> BLOCK_SHIFT;
  }

  /** Nesting of the delivery in progress: 0 outside the sink, 1 inside a delivery, 2 inside one it led to… */
  get level(): number {
    return this.depth;
  }

  /** Datagrams in progress (abandoned ones included until their timeout). */
  get size(): number {
    return this.live;
  }

  /** Bytes of fragment data held (whole blocks). */
  get bytesHeld(): number {
    return (this.freshBlock - this.freeBlocks) * BLOCK;
  }

  /** Bytes of the typed arrays behind the reassembler. */
  memoryBytes(): number {
    let n = this.ri.byteLength + this.rj.byteLength + this.rf.byteLength + this.freeStack.byteLength + this.index.byteLength;
    n += this.bytes.byteLength + this.blockNext.byteLength + this.fragOff.byteLength + this.fragLen.byteLength;
    n += this.fragCap.byteLength + this.fragNext.byteLength;
    for (const b of this.out) n += b.byteLength;
    return n;
  }

  // ------------------------------------------------------------------ storage

  private growEntries(): void {
    const old = this.cap;
    const cap = Math.min(this.maxDatagrams, old === 0 ? 16 : old * 2);
    const ri = new Int32Array(cap * RI); ri.set(this.ri); this.ri = ri;
    const rj = new Int32Array(cap * RJ); rj.set(this.rj); this.rj = rj;
    const rf = new Float64Array(cap * RF); rf.set(this.rf); this.rf = rf;
    const fs = new Int32Array(cap); fs.set(this.freeStack); this.freeStack = fs;
    this.cap = cap;
    let size = 16;
    while (size < cap * 2) size *= 2;
    this.index = new Int32Array(size).fill(NONE);
    this.indexMask = size - 1;
    for (let e = 0; e < this.fresh; e++) if (this.rj[e * RJ + J_STATE] !== S_FREE) this.indexInsert(e);
  }

  private growBlocks(): boolean {
    const old = this.nBlocks;
    if (old >= this.maxBlocks) return false;
    const n = Math.min(this.maxBlocks, old === 0 ? 64 : old * 2);
    const b = new Uint8Array(n << BLOCK_SHIFT); b.set(this.bytes); this.bytes = b;
    const grow = (a: Int32Array): Int32Array<ArrayBuffer> => { const x = new Int32Array(n); x.set(a); return x; };
    this.blockNext = grow(this.blockNext);
    this.fragOff = grow(this.fragOff);
    this.fragLen = grow(this.fragLen);
    this.fragCap = grow(this.fragCap);
    this.fragNext = grow(this.fragNext);
    this.nBlocks = n;
    return true;
  }

  /** Blocks available without dropping anything (free list + never used + room to grow). */
  private blocksAvailable(): number {
    return this.freeBlocks + (this.maxBlocks - this.freshBlock);
  }

  private takeBlock(): number {
    if (this.freeBlock !== NONE) {
      const b = this.freeBlock;
      this.freeBlock = this.blockNext[b]!;
      this.freeBlocks--;
      return b;
    }
    if (this.freshBlock === this.nBlocks) this.growBlocks();
    return this.freshBlock++;
  }

  private releaseBlocks(e: number): void {
    let f = this.ri[e * RI + I_HEAD]!;
    while (f !== NONE) {
      const nf = this.fragNext[f]!;
      let b = f;
      while (b !== NONE) {
        const nb = this.blockNext[b]!;
        this.blockNext[b] = this.freeBlock;
        this.freeBlock = b;
        this.freeBlocks++;
        b = nb;
      }
      f = nf;
    }
    this.ri[e * RI + I_HEAD] = NONE;
    this.rj[e * RJ + J_BLOCKS] = 0;
  }

  private indexInsert(e: number): void {
    indexInsert(this.index, this.indexMask, e, this.ri, RI, I_HASH);
  }

  private indexRemove(e: number): void {
    indexRemove(this.index, this.indexMask, e, this.ri, RI, I_HASH);
  }

  private unlinkAge(e: number): void {
    const rj = this.rj;
    const p = rj[e * RJ + J_PREV]!, n = rj[e * RJ + J_NEXT]!;
    if (p !== NONE) rj[p * RJ + J_NEXT] = n;
    else this.oldest = n;
    if (n !== NONE) rj[n * RJ + J_PREV] = p;
    else this.newest = p;
  }

  private removeEntry(e: number): void {
    this.indexRemove(e);
    this.unlinkAge(e);
    this.releaseBlocks(e);
    this.rj[e * RJ + J_STATE] = S_FREE;
    this.freeStack[this.freeTop++] = e;
    this.live--;
  }

  // ------------------------------------------------------------------ per fragment

  /**
   * Take one fragment (`p.isFragment`), standing for `packets` captured packets of `wireBytes` bytes (1 and its
   * wire length for a fragment read from a capture) of which the first was seen at `firstAt[0]` (default: `p.tsUs`).
   * May hand datagrams to the sink before returning: this one when it completes, older ones dropped to make room.
   * The view is read only during the call.
   */
  add(p: PacketView, packets: number, wireBytes: number, firstAt: Float64Array | null = null): void {
    const st = this.stats;
    st.fragments++;
    if (this.depth >= MAX_DEPTH) {
      st.tooDeep++;
      this.sink.unattributed(packets);
      return;
    }
    const ts = p.tsUs;
    const v6 = p.ipVersion === 6;
    const meta = (v6 ? 1 << 12 : p.proto & 0xff) | ((p.encap & 15) << 8) | (((p.vlan + 1) & 0xffff) << 16);
    const id = p.fragId | 0;
    const s = this.kSrc, d = this.kDst;
    if (v6) {
      const b = p.addrData ?? p.data, so = p.srcOff, dO = p.dstOff;
      if (so < 0 || dO < 0 || so + 16 > b.length || dO + 16 > b.length) {
        st.unattributed += packets;
        this.sink.unattributed(packets);
        return;
      }
      s[0] = readI32be(b, so); s[1] = readI32be(b, so + 4); s[2] = readI32be(b, so + 8); s[3] = readI32be(b, so + 12);
      d[0] = readI32be(b, dO); d[1] = readI32be(b, dO + 4); d[2] = readI32be(b, dO + 8); d[3] = readI32be(b, dO + 12);
    } else {
      s[0] = p.src4 | 0; s[1] = 0; s[2] = 0; s[3] = 0;
      d[0] = p.dst4 | 0; d[1] = 0; d[2] = 0; d[3] = 0;
    }
    const h = mix30(
      mix30(s[0]! ^ Math.imul(s[1]!, 0x9e3779b1) ^ Math.imul(s[2]!, 0x85ebca6b) ^ Math.imul(s[3]!, 0xc2b2ae35) ^ meta) ^
        Math.imul(d[0]! ^ Math.imul(d[1]!, 0x27d4eb2f) ^ d[2]! ^ Math.imul(d[3]!, 0x165667b1), 0x2545f491) ^ Math.imul(id, 0x9e3779b1),
    );

    let e = this.find(h, meta, id);
    if (e !== NONE && ts - this.rf[e * RF + F_CREATED]! > this.timeoutUs) {
      // Its time ran out before this fragment: the timeout holds whenever the sweep last ran.
      this.dispose(e, 'timedOut');
      e = NONE;
    }
    if (e === NONE) e = this.create(h, meta, id, p);
    const ri = this.ri, rj = this.rj, rf = this.rf;
    const o = e * RI, oj = e * RJ, of = e * RF;
    ri[o + I_PACKETS] = ri[o + I_PACKETS]! + packets;
    const w = rj[oj + J_WIRE]! + wireBytes;
    rj[oj + J_WIRE] = w > 0x3fffffff ? 0x3fffffff : w;
    const firstTs = firstAt === null ? ts : firstAt[0]!;
    if (firstTs < rf[of + F_FIRST]!) rf[of + F_FIRST] = firstTs;
    if (ts > rf[of + F_LAST]!) rf[of + F_LAST] = ts;

    // The fragment's data: from the first byte after the IPv4 header / IPv6 Fragment header.
    const off = p.fragOffset | 0;
    const len = p.fragDataLen | 0;
    const dataOff = p.fragDataOff | 0;
    let capEnd = p.payloadOff + p.payloadLen;
    if (capEnd > p.data.length) capEnd = p.data.length;
    let cap = capEnd - dataOff;
    if (cap > len) cap = len;
    if (cap < 0 || dataOff < 0) cap = 0;
    const more = p.moreFragments;
    const end = off + len;

    // Consistency (RFC 791 / RFC 8200 §4.5): non-final lengths are multiples of 8, no data past 64 KiB, one end.
    // An abandoned datagram keeps storing fragments that fit in its bounds and overlap nothing: its offset-0
    // fragment names the flow its fragments count to.
    const total = ri[o + I_TOTAL]!;
    const outOfBounds = len <= 0 || off < 0 || end > (v6 ? V6_LIMIT : V4_LIMIT) || ri[o + I_NFRAG]! >= MAX_FRAGMENTS;
    if (
      outOfBounds || (more && (len & 7) !== 0) || (!more && total >= 0 && total !== end) || (total >= 0 && end > total) ||
      (!more && rj[oj + J_MAXEND]! > end)
    ) {
      this.abandon(e, false);
      if (outOfBounds) return;
    }
    // Sorted insert; find neighbours.
    let prev = NONE, next = ri[o + I_HEAD]!;
    while (next !== NONE && this.fragOff[next]! < off) {
      prev = next;
      next = this.fragNext[next]!;
    }
    if (next !== NONE && this.fragOff[next] === off && this.fragLen[next] === len) {
      if (this.sameBytes(next, p.data, dataOff, cap)) st.duplicates++;
      else this.abandon(e, true);
      return;
    }
    if ((prev !== NONE && this.fragOff[prev]! + this.fragLen[prev]! > off) || (next !== NONE && end > this.fragOff[next]!)) {
      this.abandon(e, true);
      return;
    }
    // Room for the bytes: drop the oldest datagrams (possibly this one) until they fit.
    const need = cap > 0 ? (cap + BLOCK - 1) >>> BLOCK_SHIFT : 1;
    while (this.blocksAvailable() < need) {
      const victim = this.oldest;
      this.dispose(victim, 'evicted');
      if (victim === e) return; // this datagram alone exceeds the byte cap: gone, its fragments counted
    }
    while (this.freeBlocks + (this.nBlocks - this.freshBlock) < need) this.growBlocks();
    const src = p.data, bytes = this.bytes; // the arena does not grow again while this fragment is copied
    const first = this.takeBlock();
    let b = first, copied = 0;
    for (;;) {
      const n = cap - copied < BLOCK ? cap - copied : BLOCK;
      // A byte loop, not set(subarray()): a subarray is an object per call.
      const base = b << BLOCK_SHIFT, from = dataOff + copied;
      for (let x = 0; x < n; x++) bytes[base + x] = src[from + x]!;
      copied += n;
      if (copied >= cap) break;
      const nb = this.takeBlock();
      this.blockNext[b] = nb;
      b = nb;
    }
    this.blockNext[b] = NONE;
    this.fragOff[first] = off;
    this.fragLen[first] = len;
    this.fragCap[first] = cap;
    this.fragNext[first] = next;
    if (prev === NONE) ri[o + I_HEAD] = first;
    else this.fragNext[prev] = first;
    ri[o + I_NFRAG] = ri[o + I_NFRAG]! + 1;
    ri[o + I_RECEIVED] = ri[o + I_RECEIVED]! + len;
    rj[oj + J_BLOCKS] = rj[oj + J_BLOCKS]! + need;
    if (end > rj[oj + J_MAXEND]!) rj[oj + J_MAXEND] = end;
    if (!more && total < 0) ri[o + I_TOTAL] = end;
    // IPv6: the next header of the offset-0 fragment names the reassembled payload (RFC 8200 §4.5).
    if (v6 && off === 0) rj[oj + J_NH] = dataOff >= 8 && dataOff - 8 < p.data.length ? p.data[dataOff - 8]! : 59;
    if (rj[oj + J_STATE] === S_LIVE && ri[o + I_TOTAL]! >= 0 && ri[o + I_RECEIVED] === ri[o + I_TOTAL]) this.complete(e);
  }

  private find(h: number, meta: number, id: number): number {
    if (this.live === 0) return NONE;
    const idx = this.index, mask = this.indexMask, ri = this.ri, s = this.kSrc, d = this.kDst;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = idx[i]!;
      if (e === NONE) return NONE;
      const o = e * RI;
      if (
        ri[o + I_HASH] === h && ri[o + I_META] === meta && ri[o + I_ID] === id &&
        ri[o + I_SRC] === s[0] && ri[o + I_SRC + 1] === s[1] && ri[o + I_SRC + 2] === s[2] && ri[o + I_SRC + 3] === s[3] &&
        ri[o + I_DST] === d[0] && ri[o + I_DST + 1] === d[1] && ri[o + I_DST + 2] === d[2] && ri[o + I_DST + 3] === d[3]
      ) return e;
    }
  }

  /** A new entry for the fragment `p` (its time is read from the view: a double argument would be a heap number). */
  private create(h: number, meta: number, id: number, p: PacketView): number {
    const ts = p.tsUs;
    if (this.live >= this.maxDatagrams) this.dispose(this.oldest, 'evicted');
    let e: number;
    if (this.freeTop > 0) e = this.freeStack[--this.freeTop]!;
    else {
      if (this.fresh === this.cap) this.growEntries();
      e = this.fresh++;
    }
    const ri = this.ri, rj = this.rj, rf = this.rf, s = this.kSrc, d = this.kDst;
    const o = e * RI, oj = e * RJ, of = e * RF;
    ri[o + I_META] = meta;
    ri[o + I_ID] = id;
    ri[o + I_SRC] = s[0]!; ri[o + I_SRC + 1] = s[1]!; ri[o + I_SRC + 2] = s[2]!; ri[o + I_SRC + 3] = s[3]!;
    ri[o + I_DST] = d[0]!; ri[o + I_DST + 1] = d[1]!; ri[o + I_DST + 2] = d[2]!; ri[o + I_DST + 3] = d[3]!;
    ri[o + I_HASH] = h;
    ri[o + I_PACKETS] = 0;
    ri[o + I_TOTAL] = -1;
    ri[o + I_RECEIVED] = 0;
    ri[o + I_HEAD] = NONE;
    ri[o + I_NFRAG] = 0;
    rj[oj + J_BLOCKS] = 0;
    rj[oj + J_NH] = -1;
    rj[oj + J_MAXEND] = 0;
    rj[oj + J_STATE] = S_LIVE;
    rf[of + F_CREATED] = ts;
    rf[of + F_FIRST] = ts;
    rf[of + F_LAST] = ts;
    rj[oj + J_WIRE] = 0;
    // Newest at the tail of the age list.
    rj[oj + J_PREV] = this.newest;
    rj[oj + J_NEXT] = NONE;
    if (this.newest !== NONE) rj[this.newest * RJ + J_NEXT] = e;
    else this.oldest = e;
    this.newest = e;
    this.indexInsert(e);
    this.live++;
    return e;
  }

  private sameBytes(f: number, data: Uint8Array, off: number, cap: number): boolean {
    const n = this.fragCap[f]! < cap ? this.fragCap[f]! : cap;
    let b = f, k = 0;
    const bytes = this.bytes;
    while (k < n) {
      const base = b << BLOCK_SHIFT;
      const m = n - k < BLOCK ? n - k : BLOCK;
      for (let x = 0; x < m; x++) if (bytes[base + x] !== data[off + k + x]) return false;
      k += m;
      b = this.blockNext[b]!;
    }
    return true;
  }

  /** Overlap (RFC 5722) or inconsistency: the datagram will never be handed on whole; it keeps counting. */
  private abandon(e: number, overlap: boolean): void {
    const k = e * RJ + J_STATE;
    if (this.rj[k] !== S_LIVE) return;
    this.rj[k] = S_ABANDONED;
    if (overlap) this.stats.overlapping++;
    else this.stats.invalid++;
  }

  // ------------------------------------------------------------------ handing datagrams on

  private outBuffer(): Uint8Array {
    let b = this.out[this.depth];
    if (b === undefined) {
      b = new Uint8Array(V6_HDR + 65536);
      this.out[this.depth] = b;
    }
    return b;
  }

  /**
   * Write the datagram's header and its bytes from offset 0 up to the first gap or cut into an output buffer.
   * Returns the end of the packet in it, or -1 when the offset-0 fragment is not held.
   */
  private assemble(e: number, buf: Uint8Array): number {
    const ri = this.ri, o = e * RI;
    let f = ri[o + I_HEAD]!;
    if (f === NONE || this.fragOff[f] !== 0) return -1;
    const v6 = (ri[o + I_META]! & (1 << 12)) !== 0;
    const hdr = v6 ? V6_HDR : V4_HDR;
    let w = hdr, at = 0;
    const bytes = this.bytes;
    while (f !== NONE && this.fragOff[f] === at) {
      const cap = this.fragCap[f]!;
      let b = f, k = 0;
      while (k < cap) {
        const m = cap - k < BLOCK ? cap - k : BLOCK;
        const base = b << BLOCK_SHIFT;
        for (let x = 0; x < m; x++) buf[w + x] = bytes[base + x]!;
        w += m;
        k += m;
        b = this.blockNext[b]!;
      }
      if (cap < this.fragLen[f]!) break; // cut by the snap length: the rest cannot follow contiguously
      at += this.fragLen[f]!;
      f = this.fragNext[f]!;
    }
    // The length the header claims: the whole datagram (its end when known, else as far as fragments reached).
    const maxEnd = this.rj[e * RJ + J_MAXEND]!;
    const total = ri[o + I_TOTAL]! > maxEnd ? ri[o + I_TOTAL]! : maxEnd;
    const meta = ri[o + I_META]!;
    if (v6) {
      buf[0] = 0x60; buf[1] = 0; buf[2] = 0; buf[3] = 0;
      buf[4] = total >>> 8; buf[5] = total & 255;
      const nh = this.rj[e * RJ + J_NH]!;
      buf[6] = nh < 0 ? 59 : nh;
      buf[7] = 64;
      for (let k = 0; k < 4; k++) {
        writeI32be(buf, 8 + 4 * k, ri[o + I_SRC + k]!);
        writeI32be(buf, 24 + 4 * k, ri[o + I_DST + k]!);
      }
    } else {
      const tl = V4_HDR + total;
      buf[0] = 0x45; buf[1] = 0; buf[2] = tl >>> 8; buf[3] = tl & 255;
      buf[4] = (ri[o + I_ID]! >>> 8) & 255; buf[5] = ri[o + I_ID]! & 255; buf[6] = 0; buf[7] = 0;
      buf[8] = 64; buf[9] = meta & 255; buf[10] = 0; buf[11] = 0;
      writeI32be(buf, 12, ri[o + I_SRC]!);
      writeI32be(buf, 16, ri[o + I_DST]!);
    }
    return w;
  }

  private complete(e: number): void {
    const buf = this.outBuffer();
    const end = this.assemble(e, buf);
    const o = e * RI;
    const cut = end - (this.ri[o + I_META]! & (1 << 12) ? V6_HDR : V4_HDR) < this.ri[o + I_TOTAL]!;
    this.stats.reassembled++;
    if (cut) this.stats.cut++;
    this.handOn(e, buf, end, true);
  }

  /** Remove an entry and hand on what it holds (for accounting), counting its outcome unless it was abandoned. */
  private dispose(e: number, why: 'timedOut' | 'evicted' | 'flushed'): void {
    if (this.rj[e * RJ + J_STATE] === S_LIVE) this.stats[why]++;
    const buf = this.outBuffer();
    const end = this.assemble(e, buf);
    this.handOn(e, buf, end, false);
  }

  private handOn(e: number, buf: Uint8Array, end: number, whole: boolean): void {
    const o = e * RI, of = e * RF;
    const packets = this.ri[o + I_PACKETS]!;
    const meta = this.ri[o + I_META]!;
    this.times[0] = this.rf[of + F_LAST]!;
    this.times[1] = this.rf[of + F_FIRST]!;
    const wire = this.rj[e * RJ + J_WIRE]!;
    // The entry goes before anything is handed on: the sink may feed fragments back in (a tunnel inside).
    this.removeEntry(e);
    if (packets === 0) return;
    if (end < 0) {
      this.stats.unattributed += packets;
      this.sink.unattributed(packets);
      return;
    }
    this.depth++;
    try {
      this.sink.datagram(buf, end, whole, packets, wire, ((meta >>> 16) & 0xffff) - 1, (meta >>> 8) & 15);
    } finally {
      this.depth--;
    }
  }

  // ------------------------------------------------------------------ time and end of input

  /** Hand on (for accounting) every datagram older than the timeout at capture time `nowUs`. */
  expire(nowUs: number): void {
    const limit = nowUs - this.timeoutUs;
    while (this.oldest !== NONE && this.rf[this.oldest * RF + F_CREATED]! < limit) this.dispose(this.oldest, 'timedOut');
  }

  /** End of input: hand on every datagram still in progress, oldest first. */
  flush(): void {
    while (this.oldest !== NONE) this.dispose(this.oldest, 'flushed');
  }
}

function writeI32be(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 255; b[o + 1] = (v >>> 16) & 255; b[o + 2] = (v >>> 8) & 255; b[o + 3] = v & 255;
}
