/**
 * OpenVPN packets ("frames") of a flow, in order per direction (spec: parts/1-udp-vpns.md §OpenVPN "Framing").
 *
 * Owns: where each OpenVPN packet starts and how long it is, and reading its bytes. UDP: one packet per datagram.
 * TCP: the length chain — each packet behind a 2-byte BE length that does not count itself; several packets may
 * share a segment and one packet may span segments, so the walk carries the chain across the segments of a
 * direction (the next packet starts where the previous one ends, in whatever segment that is).
 * Must never: allocate, keep state between calls, or read a segment after the `upTo` it is given.
 *
 * A frame is named by a number, `segment << 17 | offset of its header byte in that segment` (0 ≤ offset < 2^16 +
 * 2), so a walk is a loop over numbers. Every walk is bounded by MAX_FRAMES per direction.
 *
 * What the snippet limit loses (earlier packets keep only their first bytes, ~48): a frame whose header byte lies
 * beyond the kept bytes of an earlier segment is *unknown* (its bytes read as -1; rules skip it); a frame whose
 * length field lies there breaks the chain. The chain is then picked up at the next segment of the direction, taken
 * to start a packet (a sender writes each packet with one send, so most segments do). The same resynchronisation
 * skips what precedes the OpenVPN stream (an HTTP CONNECT or SOCKS exchange with a proxy) and a stream captured
 * mid-packet: a frame is valid only with a length 1–MAX_FRAME_LEN and a defined opcode (1–11).
 */
import { IPPROTO_TCP, u8, type FlowView } from './types.js';
import { nextSeg, STREAM_PENDING, streamU8 } from './tcp-stream.js';

/** No (further) frame in the segments seen. */
export const END = -1;
/** `nextExact`: the chain breaks here (invalid or unreadable length, or undefined opcode). */
export const BROKEN = -2;
/** Frames walked per direction at most. */
export const MAX_FRAMES = 64;
/**
 * Longest frame accepted on the chain. OpenVPN's own packets stay below ~1,600 bytes with default MTUs and ~9,100 with
 * jumbo ones; 16 KiB keeps those and rejects what HTTP and TLS text put where a length would be ('CO', 'GE', 'HT', 'PO'
 * are all above 0x4000).
 */
const MAX_FRAME_LEN = 0x4000;
const SHIFT = 17;
const MASK = (1 << SHIFT) - 1;
/** Segments beyond this index are not walked (a frame name keeps the segment in 14 bits). */
const MAX_SEG = (1 << (31 - SHIFT)) - 1;
const OP_MIN = 1, OP_MAX = 11;

export function frameSeg(ref: number): number {
  return ref >>> SHIFT;
}
export function framePos(ref: number): number {
  return ref & MASK;
}

/** The first frame of direction d in segments [0, upTo], or END. */
export function firstFrame(f: FlowView, d: number, upTo: number): number {
  if (upTo > MAX_SEG) upTo = MAX_SEG;
  for (let j = 0; j <= upTo; j++) {
    if (f.dir(j) !== d) continue;
    return f.transport === IPPROTO_TCP ? chainFrom(f, j, 0, upTo, true) : j << SHIFT;
  }
  return END;
}

/** The frame after `ref` in its direction (resynchronising at the next segment where the chain breaks), or END. */
export function nextFrame(f: FlowView, ref: number, upTo: number): number {
  if (upTo > MAX_SEG) upTo = MAX_SEG;
  const j = ref >>> SHIFT;
  if (f.transport !== IPPROTO_TCP) {
    const k = nextSeg(f, j, upTo);
    return k < 0 ? END : k << SHIFT;
  }
  return chainFrom(f, j, (ref & MASK) + frameLen(f, ref, upTo), upTo, true);
}

/** As nextFrame, but BROKEN where the chain does not continue exactly (no resynchronisation). */
export function nextExact(f: FlowView, ref: number, upTo: number): number {
  if (upTo > MAX_SEG) upTo = MAX_SEG;
  if (f.transport !== IPPROTO_TCP) return nextFrame(f, ref, upTo);
  return chainFrom(f, ref >>> SHIFT, (ref & MASK) + frameLen(f, ref, upTo), upTo, false);
}

/**
 * The frame whose length field starts at stream position p from segment j. Where it is not a valid frame, with
 * `resync` the next segment's start is tried (and so on), else BROKEN.
 */
function chainFrom(f: FlowView, j: number, p: number, upTo: number, resync: boolean): number {
  for (;;) {
    const at = locate(f, j, p, upTo);
    if (at === END) return END;
    j = at >>> SHIFT;
    p = at & MASK;
    const r = frameAt(f, j, p, upTo);
    if (r !== BROKEN) return r;
    if (!resync) return BROKEN;
    j = nextSeg(f, j, upTo);
    if (j < 0) return END;
    p = 0;
  }
}

function frameAt(f: FlowView, j: number, p: number, upTo: number): number {
  const hi = streamU8(f, j, p, upTo), lo = streamU8(f, j, p + 1, upTo);
  if (hi === STREAM_PENDING || lo === STREAM_PENDING) return END;
  if (hi < 0 || lo < 0) return BROKEN; // length not kept: the chain is lost here
  const len = (hi << 8) | lo;
  if (len < 1 || len > MAX_FRAME_LEN) return BROKEN;
  const h = locate(f, j, p + 2, upTo);
  if (h === END) return END; // header not recorded yet
  const x = u8(f, h >>> SHIFT, h & MASK);
  if (x >= 0) {
    const op = x >> 3;
    if (op < OP_MIN || op > OP_MAX) return BROKEN;
  }
  return h;
}

/**
 * Stream position p counted from segment j (same direction, p ≥ 0) as a frame number: the segment holding it, up
 * to `upTo`, and the offset there; END when that segment is not recorded yet.
 */
function locate(f: FlowView, j: number, p: number, upTo: number): number {
  while (p >= f.len(j)) {
    p -= f.len(j);
    j = nextSeg(f, j, upTo);
    if (j < 0) return END;
  }
  return (j << SHIFT) | p;
}

/** OpenVPN packet length of a frame: the datagram's length (UDP) or its length field (TCP; known for a walked frame). */
export function frameLen(f: FlowView, ref: number, upTo: number): number {
  const j = ref >>> SHIFT, s = ref & MASK;
  if (f.transport !== IPPROTO_TCP) return f.len(j);
  const hi = streamU8(f, j, s - 2, upTo), lo = streamU8(f, j, s - 1, upTo);
  return hi < 0 || lo < 0 ? 0 : (hi << 8) | lo;
}

/** Byte k of a frame (k below its length; callers check), or -1 where not recorded or not kept. */
export function fu8(f: FlowView, ref: number, k: number, upTo: number): number {
  const j = ref >>> SHIFT, p = (ref & MASK) + k;
  if (p < f.len(j)) return u8(f, j, p);
  if (f.transport !== IPPROTO_TCP) return -1;
  const v = streamU8(f, j, p, upTo);
  return v < 0 ? -1 : v;
}
export function fu16(f: FlowView, ref: number, k: number, upTo: number): number {
  const a = fu8(f, ref, k, upTo), b = fu8(f, ref, k + 1, upTo);
  return a < 0 || b < 0 ? -1 : (a << 8) | b;
}
export function fu24(f: FlowView, ref: number, k: number, upTo: number): number {
  const a = fu8(f, ref, k, upTo), b = fu8(f, ref, k + 1, upTo), c = fu8(f, ref, k + 2, upTo);
  return a < 0 || b < 0 || c < 0 ? -1 : (a << 16) | (b << 8) | c;
}
/** BE u32 at byte k of a frame, or -1. */
export function fu32(f: FlowView, ref: number, k: number, upTo: number): number {
  const a = fu8(f, ref, k, upTo), b = fu8(f, ref, k + 1, upTo), c = fu8(f, ref, k + 2, upTo), d = fu8(f, ref, k + 3, upTo);
  return a < 0 || b < 0 || c < 0 || d < 0 ? -1 : ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}
/** Bytes [ka, ka+n) of frame a against [kb, kb+n) of frame b: 1 equal, 0 different, -1 some byte unknown. */
export function fsame(f: FlowView, a: number, ka: number, b: number, kb: number, n: number, upTo: number): number {
  let unknown = false;
  for (let x = 0; x < n; x++) {
    const p = fu8(f, a, ka + x, upTo), q = fu8(f, b, kb + x, upTo);
    if (p < 0 || q < 0) unknown = true;
    else if (p !== q) return 0;
  }
  return unknown ? -1 : 1;
}

/** Offset in segment i of byte k of a frame when that byte lies in segment i, else 0 (evidence offsets). */
export function offsetIn(f: FlowView, ref: number, k: number, i: number): number {
  const j = ref >>> SHIFT, p = (ref & MASK) + k;
  if (f.transport !== IPPROTO_TCP) return j === i ? p : 0;
  const at = locate(f, j, p, i);
  return at !== END && at >>> SHIFT === i ? at & MASK : 0;
}
