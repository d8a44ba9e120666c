/**
 * Shard hash: which worker owns a frame. Computed from raw frame bytes before any decoding, so it must be
 * cheap: parse only the link header (and VLAN tags) to reach the OUTERMOST IP header, then hash the unordered
 * address pair. Both directions, every port, every fragment and every tunnelled inner flow of one carrier pair
 * therefore land on the same worker, which is what the flow table needs to see a flow whole (fragments carry no
 * ports; tunnel inner flows are keyed inside the carrier).
 * Never: allocates, throws, or reads past the captured bytes. Frames without a findable IP header go to shard 0.
 */
import { outerIpOffset } from '../trace/peek.js';
import { mix30, u32be } from '../trace/bytes.js';

/** Order-independent hash of two 32-bit words (a,b) == (b,a). */
function pairHash(a: number, b: number): number {
  const lo = a < b ? a : b, hi = a < b ? b : a;
  return mix30(Math.imul(lo, 0x9e3779b1) ^ mix30(hi ^ 0x27d4eb2f));
}

/**
 * Hash of the outermost IP address pair of the frame `b[off, off+capLen)`, or -1 when no IP header is found.
 * IPv6 addresses are folded to 32 bits (xor of their four words) before pairing.
 */
export function frameShardHash(b: Uint8Array, off: number, capLen: number, linkType: number): number {
  let end = off + capLen;
  if (end > b.length) end = b.length;
  const l3 = outerIpOffset(b, off, end, linkType);
  if (l3 < 0) return -1;
  const v = b[l3]! >> 4;
  if (v === 4) {
    if (end - l3 < 20) return -1;
    return pairHash(u32be(b, l3 + 12), u32be(b, l3 + 16));
  }
  if (v === 6) {
    if (end - l3 < 40) return -1;
    const s = (u32be(b, l3 + 8) ^ u32be(b, l3 + 12) ^ u32be(b, l3 + 16) ^ u32be(b, l3 + 20)) >>> 0;
    const d = (u32be(b, l3 + 24) ^ u32be(b, l3 + 28) ^ u32be(b, l3 + 32) ^ u32be(b, l3 + 36)) >>> 0;
    return pairHash(s, d);
  }
  return -1;
}

/** Worker index in [0, n) for a frame; frames without an IP header go to 0. */
export function frameShard(b: Uint8Array, off: number, capLen: number, linkType: number, n: number): number {
  if (n <= 1) return 0;
  const h = frameShardHash(b, off, capLen, linkType);
  return h < 0 ? 0 : h % n;
}
