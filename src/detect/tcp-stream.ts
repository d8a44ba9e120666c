/**
 * One direction of a TCP flow read as a byte stream across its recorded segments, for detectors whose messages are
 * length-framed and may be coalesced into one segment or split over several (OpenVPN, DNS over TCP, RFC 9329).
 *
 * Owns: stepping from a segment to the next or previous one of the same direction, and reading the byte at a
 * stream position counted from the start of a segment (negative: in earlier segments; past its end: in later
 * ones). Must never: allocate, or guess a byte it cannot see. Segments are taken in arrival order: the flow table
 * keeps no TCP sequence numbers, so a retransmitted or reordered segment is read as new stream bytes.
 *
 * Cost: O(segments) per step across a segment boundary (a scan for the next segment of the direction).
 */
import type { FlowView } from './types.js';
import { u8 } from './types.js';

/** `streamU8`: the byte lies in a segment not recorded yet (after `upTo`), or before the direction's first. */
export const STREAM_PENDING = -2;
/** `streamU8`: the byte's segment is recorded but that byte is not kept (earlier packets keep their first bytes only). */
export const STREAM_NOT_KEPT = -1;

/** The next payload packet after j in j's direction, up to `upTo`, or -1. */
export function nextSeg(f: FlowView, j: number, upTo: number): number {
  const d = f.dir(j);
  for (let k = j + 1; k <= upTo; k++) if (f.dir(k) === d) return k;
  return -1;
}

/** The previous payload packet before j in j's direction, or -1. */
export function prevSeg(f: FlowView, j: number): number {
  const d = f.dir(j);
  for (let k = j - 1; k >= 0; k--) if (f.dir(k) === d) return k;
  return -1;
}

/**
 * The byte at stream position `pos` counted from the first byte of segment j (same direction), reading no segment
 * after `upTo`: 0–255, STREAM_NOT_KEPT, or STREAM_PENDING.
 */
export function streamU8(f: FlowView, j: number, pos: number, upTo: number): number {
  while (pos < 0) {
    j = prevSeg(f, j);
    if (j < 0) return STREAM_PENDING;
    pos += f.len(j);
  }
  while (pos >= f.len(j)) {
    pos -= f.len(j);
    j = nextSeg(f, j, upTo);
    if (j < 0) return STREAM_PENDING;
  }
  return u8(f, j, pos);
}
