/**
 * Shard hash: which worker owns a frame. Computed from raw frame bytes before any decoding, so it must be
 * cheap: parse only the link header (and VLAN tags) to reach the OUTERMOST IP header, then hash the unordered
 * address pair. Both directions, every port, every fragment and every tunnelled inner flow of one carrier pair
 * therefore land on the same worker, which is what the flow table needs to see a flow whole (fragments carry no
 * ports; tunnel inner flows are keyed inside the carrier).
 * Never: allocates, throws, or reads past the captured bytes. Frames without a findable IP header go to shard 0.
 */
import { linkToIp } from '../trace/decode-link.js';
import { newPacketView } from '../trace/decode.js';
import { fmix32, u32be } from '../trace/bytes.js';

/** Scratch view: linkToIp records the VLAN tag in it; we ignore it. */
const scratch = newPacketView();

/** Order-independent hash of two 32-bit words (a,b) == (b,a). */
function pairHash(a: number, b: number): number {
  const lo = a < b ? a : b, hi = a < b ? b : a;
  return fmix32(Math.imul(lo, 0x9e3779b1) ^ fmix32(hi ^ 0x27d4eb2f));
}

/**
 * Hash of the outermost IP address pair of the frame `b[off, off+capLen)`, or -1 when no IP header is found.
 * IPv6 addresses are folded to 32 bits (xor of their four words) before pairing.
 */
export function frameShardHash(b: Uint8Array, off: number, capLen: number, linkType: number): number {
  let end = off + capLen;
  if (end > b.length) end = b.length;
  let l3: number;
  // Fast path: untagged / single-tagged Ethernet carrying IPv4/IPv6 directly (most gateway traffic). Anything
  // else takes the decoder's full link-layer walk.
  const et = linkType === 1 && end - off >= 18 ? (b[off + 12]! << 8) | b[off + 13]! : -1;
  if (et === 0x0800 || et === 0x86dd) l3 = off + 14;
  else if (et === 0x8100 && (((b[off + 16]! << 8) | b[off + 17]!) === 0x0800 || ((b[off + 16]! << 8) | b[off + 17]!) === 0x86dd)) l3 = off + 18;
  else l3 = linkToIp(scratch, linkType, b, off, end, true);
  if (l3 < 0 || l3 >= end) return -1;
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
