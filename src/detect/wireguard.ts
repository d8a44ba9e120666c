/**
 * WireGuard (spec: ../shared/reference/parts/1-udp-vpns.md §WireGuard; whitepaper §5.4).
 *
 * Owns: the four WireGuard message shapes (148-byte initiation, 92-byte response, 64-byte cookie reply,
 * type-4 transport data) and the cross-packet relations between them (index echo, per-direction receiver index,
 * per-direction counters). Must never: key on a port, accept a lone type-4 packet, or allocate when nothing
 * matches. Each rule fires on the packet that completes it (the newest one), so a flow gets each item once.
 *
 * Offsets read from earlier packets (which expose only their first ~48 bytes): type/reserved 0–3, sender index
 * 4–7 (initiation), receiver index 8–11 (response) / 4–7 (cookie, data), counter 8–15 (data). The mac2 check
 * (132–147) is done only on the newest packet, which is whole.
 *
 * The Tailscale and Cloudflare WARP detectors reuse the helpers exported here.
 */
import { DIR_FWD, IPPROTO_UDP, u8, u32le, type Detector, type Evidence, type FlowView } from './types.js';

export const WG_TYPE_INITIATION = 1;
export const WG_TYPE_RESPONSE = 2;
export const WG_TYPE_COOKIE = 3;
export const WG_TYPE_DATA = 4;
export const WG_INITIATION_LEN = 148;
export const WG_RESPONSE_LEN = 92;
export const WG_COOKIE_LEN = 64;
/** Smallest transport message: 16-byte header + 16-byte Poly1305 tag (a keepalive). */
export const WG_DATA_MIN_LEN = 32;
/** Vendor variant observed by nDPI (TunnelBear): same header and echo rule, 204-byte initiation, 100-byte response. */
const WG_VARIANT_INIT_LEN = 204, WG_VARIANT_RESP_LEN = 100;
const WG_MAC2_OFFSET = 132;
/** Counter steps larger than this between neighbours of one direction are not "about +1" (loss allowed). */
export const WG_MAX_COUNTER_STEP = 256;
/** UDP reordering may swap neighbours: a step back of at most this much is tolerated. */
export const WG_MAX_COUNTER_BACKSTEP = 8;
/**
 * Data packets per direction with one receiver index and rising counters that the data rules need: strong when
 * both directions have that many (the reference's mid-stream row: "both directions … ≥ 4 packets each"), medium
 * when one direction has them and the other too few (an asymmetric capture; a second medium item, such as the
 * initiator's 148-byte initiation, or a list hit, is needed to decide).
 */
export const WG_DATA_RUN = 4;

/** Byte 0 is `type` and bytes 1–3 are zero (the 32-bit little-endian header word equals the type). */
export function wgHeaderIs(f: FlowView, i: number, type: number): boolean {
  return u32le(f, i, 0) === type;
}

/** Index in [0, before) of the latest packet in direction `dir` that is a 148-byte initiation with sender `idx`. */
export function findInitiationWithSender(f: FlowView, before: number, dir: number, idx: number, zeroReserved: boolean): number {
  for (let j = before - 1; j >= 0; j--) {
    if (f.dir(j) !== dir || f.len(j) !== WG_INITIATION_LEN) continue;
    if (zeroReserved ? u32le(f, j, 0) !== WG_TYPE_INITIATION : u8(f, j, 0) !== WG_TYPE_INITIATION) continue;
    if (u32le(f, j, 4) === idx) return j;
  }
  return -1;
}

/** True when all 16 mac2 bytes of the newest packet (an initiation) are zero. */
function mac2IsZero(f: FlowView, i: number): boolean {
  if (f.avail(i) < WG_INITIATION_LEN) return false;
  const b = f.buf(i), o = f.start(i) + WG_MAC2_OFFSET;
  for (let k = 0; k < 16; k++) if (b[o + k] !== 0) return false;
  return true;
}

/**
 * Counts the type-4 packets of direction `dir` among packets [0, upTo] and checks that they form one session:
 * bytes 1–3 equal `hdr1to3` (0 for WireGuard), one receiver index, counter high word zero, counters distinct
 * and within {@link WG_MAX_COUNTER_STEP} of the previous one, lengths ≥ 32 and either ≡ 0 mod 16 or all equal to
 * one maximum (the MTU-capped full-size packet). Returns the run length, or -1 when the direction is inconsistent.
 * `requirePad` is false for WARP's official client whose data lengths are not padded to 16.
 */
export function dataRun(f: FlowView, upTo: number, dir: number, typeByte: number, hdr1to3: number, requirePad: boolean): number {
  let n = 0, rx = 0, prev = 0, odd = -1, maxLen = 0;
  for (let j = 0; j <= upTo; j++) {
    if (f.dir(j) !== dir || f.avail(j) < 4) continue;
    // Words read in place, not through u32le (see eq32): this runs on every packet whose first byte is the type
    // byte (1 in 256 of any UDP).
    const bj = f.buf(j), o = f.start(j);
    if (bj[o] !== typeByte) continue; // other message types interleave (rekey handshakes)
    if ((bj[o + 1]! | (bj[o + 2]! << 8) | (bj[o + 3]! << 16)) !== hdr1to3) return -1;
    const len = f.len(j);
    if (len < WG_DATA_MIN_LEN || f.avail(j) < 16) return -1;
    if ((bj[o + 12]! | bj[o + 13]! | bj[o + 14]! | bj[o + 15]!) !== 0) return -1; // counter's high word
    const r = (bj[o + 4]! | (bj[o + 5]! << 8) | (bj[o + 6]! << 16) | (bj[o + 7]! << 24)) >>> 0;
    const c = (bj[o + 8]! | (bj[o + 9]! << 8) | (bj[o + 10]! << 16) | (bj[o + 11]! << 24)) >>> 0;
    if (requirePad && len % 16 !== 0) {
      if (odd !== -1 && odd !== len) return -1;
      odd = len;
    }
    if (len > maxLen) maxLen = len;
    if (n === 0) rx = r;
    else {
      if (r !== rx) return -1;
      const d = c - prev;
      // A repeated counter is a duplicate in the capture (a mirror port copying both ingress and egress): a sender
      // never reuses one (whitepaper §5.4.6), so it is skipped, not counted; a newest packet that repeats one adds
      // nothing (0), so a rule firing at a run length fires once.
      if (d === 0) {
        if (j === upTo) return 0;
        continue;
      }
      if (d > WG_MAX_COUNTER_STEP || d < -WG_MAX_COUNTER_BACKSTEP) return -1;
    }
    prev = c;
    n++;
  }
  // An unpadded length is only the MTU-capped size: it must be the largest data length of the direction.
  if (odd !== -1 && odd !== maxLen) return -1;
  return n;
}

/** Bytes 0–3 are a WireGuard header: type 1–4, then three zero bytes. Read in place (allocation-free). */
export function isWgHeaderWord(f: FlowView, i: number): boolean {
  if (f.avail(i) < 4) return false;
  const b = f.buf(i), o = f.start(i);
  return b[o]! >= WG_TYPE_INITIATION && b[o]! <= WG_TYPE_DATA && (b[o + 1]! | b[o + 2]! | b[o + 3]!) === 0;
}
/**
 * Starts with Tailscale's disco magic `54 53 F0 9F 92 AC` ("TS💬"). Tailscale owns disco (tailscale.ts); the
 * magic is here because disco shares the WireGuard socket and 5-tuple, so WireGuard's own exclusion admits it.
 */
export function hasDiscoMagic(f: FlowView, i: number): boolean {
  if (f.avail(i) < 6) return false;
  const b = f.buf(i), o = f.start(i);
  return b[o] === 0x54 && b[o + 1] === 0x53 && b[o + 2] === 0xf0 && b[o + 3] === 0x9f && b[o + 4] === 0x92 && b[o + 5] === 0xac;
}

export const wireguard: Detector = {
  id: 'wireguard',
  transports: [IPPROTO_UDP],
  carriers: [],
  maxPackets: 16,
  rules: {
    'wg.handshake':
      'type-2 response (92 bytes, reserved 000000) whose receiver index echoes the sender index of an opposite-direction 148-byte type-1 initiation',
    'wg.cookie': 'type-3 cookie reply (64 bytes) whose receiver index echoes an opposite-direction 148-byte initiation',
    'wg.init': 'lone type-1 initiation: exactly 148 bytes, reserved 000000, mac2 all zero',
    'wg.variant-echo':
      'WireGuard-like vendor variant: 204-byte type-1 and 100-byte type-2 (reserved 000000) with the index echo (medium: sizes are a vendor observation)',
    'wg.data':
      'type-4 transport packets in both directions, ≥4 each: reserved 000000, one receiver index per direction, 64-bit counters rising by small steps, lengths ≥32 and padded to 16',
    'wg.data-oneway':
      'the same run of ≥4 type-4 packets in one direction while the other shows fewer (asymmetric capture, or one-way traffic) (medium)',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    const len = f.len(i), d = f.dir(i);
    const t = u32le(f, i, 0);
    if (t === WG_TYPE_RESPONSE && len === WG_RESPONSE_LEN) {
      const rx = u32le(f, i, 8);
      const j = findInitiationWithSender(f, i, 1 - d, rx, true);
      if (j < 0) return null;
      return [
        {
          source: 'wireguard', protocol: 'wireguard', strength: 'strong', rule: 'wg.handshake', packet: i, offset: 8,
          reason: `packet ${j}${f.dir(j) === DIR_FWD ? '' : ' (reverse)'}: type 1, reserved 000000, length 148, sender index 0x${hex32(rx)}; packet ${i}${d === DIR_FWD ? '' : ' (reverse)'}: type 2, reserved 000000, length 92, receiver index at offset 8 echoes it`,
        },
      ];
    }
    if (t === WG_TYPE_RESPONSE && len === WG_VARIANT_RESP_LEN) {
      const rx = u32le(f, i, 8);
      for (let j = i - 1; j >= 0; j--) {
        if (f.dir(j) === d || f.len(j) !== WG_VARIANT_INIT_LEN || u32le(f, j, 0) !== WG_TYPE_INITIATION || u32le(f, j, 4) !== rx) continue;
        return [
          {
            source: 'wireguard', protocol: 'wireguard', strength: 'medium', rule: 'wg.variant-echo', packet: i, offset: 8,
            reason: `packet ${j}: type 1, reserved 000000, length 204 (vendor variant), sender index 0x${hex32(rx)}; packet ${i}: type 2, length 100, receiver index echoes it`,
          },
        ];
      }
      return null;
    }
    if (t === WG_TYPE_COOKIE && len === WG_COOKIE_LEN) {
      const rx = u32le(f, i, 4);
      const j = findInitiationWithSender(f, i, 1 - d, rx, true);
      if (j < 0) return null;
      return [
        {
          source: 'wireguard', protocol: 'wireguard', strength: 'strong', rule: 'wg.cookie', packet: i, offset: 4,
          reason: `packet ${j}: type 1, length 148, sender index 0x${hex32(rx)}; packet ${i}: type 3 cookie reply, length 64, receiver index at offset 4 echoes it`,
        },
      ];
    }
    if (t === WG_TYPE_INITIATION && len === WG_INITIATION_LEN) {
      if (!mac2IsZero(f, i)) return null;
      return [
        {
          source: 'wireguard', protocol: 'wireguard', strength: 'medium', rule: 'wg.init', packet: i, offset: 0,
          reason: `packet ${i}: type 1, reserved 000000, length 148, sender index 0x${hex32(u32le(f, i, 4))}, mac2 (offset 132-147) all zero; no response seen yet`,
        },
      ];
    }
    if (t === WG_TYPE_DATA && len >= WG_DATA_MIN_LEN) {
      // Fire exactly when this packet brings its direction's consistent run to the threshold: strong when the other
      // direction already has its run, else medium. Whichever direction gets there second fires the strong item, so
      // a flow gets at most one of each.
      const n = dataRun(f, i, d, WG_TYPE_DATA, 0, true);
      if (n !== WG_DATA_RUN) return null;
      const m = dataRun(f, i, 1 - d, WG_TYPE_DATA, 0, true);
      const here = `${n} type-4 packets ${d === DIR_FWD ? 'initiator→responder' : 'responder→initiator'} up to packet ${i}: reserved 000000, constant receiver index 0x${hex32(u32le(f, i, 4))}, counter rising to ${u32le(f, i, 8)}, lengths ≥32 padded to 16`;
      if (m >= WG_DATA_RUN) {
        return [{ source: 'wireguard', protocol: 'wireguard', strength: 'strong', rule: 'wg.data', packet: i, offset: 4, reason: `${here}; ${m} the other way under their own index` }];
      }
      return [{ source: 'wireguard', protocol: 'wireguard', strength: 'medium', rule: 'wg.data-oneway', packet: i, offset: 4, reason: `${here}; ${Math.max(m, 0)} consistent the other way (fewer than ${WG_DATA_RUN})` }];
    }
    return null;
  },
  /**
   * A WireGuard 5-tuple carries only messages of types 1–4 with bytes 1–3 zero (whitepaper §5.4), and on Tailscale
   * nodes the disco packets sharing its socket (reference §Tailscale). Anything else: not WireGuard.
   */
  excludes(f: FlowView): boolean {
    const i = f.nPackets - 1;
    if (isWgHeaderWord(f, i) || hasDiscoMagic(f, i)) return false;
    return f.avail(i) >= 6 || f.avail(i) >= f.len(i);
  },
};

export function hex32(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}
