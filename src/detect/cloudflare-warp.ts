/**
 * Cloudflare WARP, WireGuard-derived mode (spec: parts/1-udp-vpns.md §Cloudflare WARP).
 *
 * Owns the two documented WARP markers that plain WireGuard lacks:
 *  - the official client's type bytes `0xC1`–`0xC4` (= 0xC0 + WireGuard type): a 194-byte `C1 00 00 00`
 *    first message, a `C2` reply whose bytes 1–3 are a non-zero per-device value, and `C4` data packets that carry
 *    the same 3 bytes in both directions, a constant receiver value per direction and an LE counter +1;
 *  - standard WireGuard framing whose reserved bytes 1–3 carry a non-zero per-device "client id".
 * The spec calls the 0xC1–0xC4 layout an observation of one capture, not a specification, so the lone first
 * message is medium and the data structure without the handshake is medium; the WARP address list (lead's
 * list evidence) is what decides alongside them. The handshake with the 3-byte echo into data is strong.
 * Must never: decide on port 2408 alone (not emitted here at all), or claim plain WireGuard (zero reserved).
 *
 * Offsets read from earlier packets: 0–15 (type, 3-byte value, receiver value, counter), 4–11 (WG indexes).
 */
import { DIR_FWD, IPPROTO_UDP, u8, u24be, u32le, type Detector, type Evidence, type FlowView } from './types.js';
import {
  WG_INITIATION_LEN, WG_RESPONSE_LEN, WG_TYPE_DATA, WG_TYPE_INITIATION, WG_TYPE_RESPONSE, dataRun, findInitiationWithSender, hex32,
} from './wireguard.js';

const WARP_INIT = 0xc1, WARP_RESP = 0xc2, WARP_DATA = 0xc4;
export const WARP_INIT_LEN = 194;
/** Data packets per direction needed for the mid-stream structure (spec: four per direction). */
const WARP_DATA_RUN = 4;

export const cloudflareWarp: Detector = {
  id: 'cloudflare-warp',
  transports: [IPPROTO_UDP],
  carriers: [],
  maxPackets: 16,
  rules: {
    'warp.init': 'official-client first message: 194 bytes starting C1 00 00 00',
    'warp.handshake':
      '194-byte C1 00 00 00 message, reverse C2 reply with non-zero bytes 1-3, then C4 data from the initiator repeating those 3 bytes',
    'warp.data':
      '≥4 C4 packets per direction sharing one non-zero 3-byte value at 1-3, one receiver value per direction, LE counter rising',
    'warp.wg-client-id':
      'WireGuard 148/92 handshake with index echo whose reserved bytes 1-3 carry the same non-zero client id',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    const d = f.dir(i), b0 = u8(f, i, 0), len = f.len(i);
    if (b0 === WARP_INIT && len === WARP_INIT_LEN && u24be(f, i, 1) === 0) {
      if (i > 0 && anyInit(f, i)) return null; // only the first such message carries the item
      return [
        {
          source: 'cloudflare-warp', protocol: 'cloudflare-warp', strength: 'medium', rule: 'warp.init', packet: i, offset: 0,
          reason: `packet ${i}: 194 bytes starting c1 00 00 00 (WARP official-client handshake initiation)`,
        },
      ];
    }
    if (b0 === WARP_DATA && len >= 16) {
      const v = u24be(f, i, 1);
      if (v <= 0) return null;
      let out: Evidence[] | null = null; // allocated only when a rule matches
      // Handshake: first data packet of the initiator after a C1/194 and a reverse C2 with the same 3 bytes.
      if (d === DIR_FWD && firstOfDir(f, i, d, WARP_DATA)) {
        const ci = findFirst(f, i, DIR_FWD, WARP_INIT, WARP_INIT_LEN);
        const ri = findResp(f, i, v);
        if (ci >= 0 && ri > ci) {
          (out ??= []).push({
            source: 'cloudflare-warp', protocol: 'cloudflare-warp', strength: 'strong', rule: 'warp.handshake', packet: i, offset: 1,
            reason: `packet ${ci}: 194 bytes c1 00 00 00; packet ${ri} (reverse): c2 with bytes 1-3 = ${hex24(v)}; packet ${i}: c4 data repeating ${hex24(v)} at offset 1, counter ${u32le(f, i, 8)}`,
          });
        }
      }
      // dataRun compares bytes 1-3 as the upper 24 bits of the LE header word.
      const vle = u8(f, i, 1) | (u8(f, i, 2) << 8) | (u8(f, i, 3) << 16); // present: v > 0 above
      const n = dataRun(f, i, d, WARP_DATA, vle, false);
      // Fires once: the packet that brings the later of the two directions to the threshold.
      if (n === WARP_DATA_RUN && dataRun(f, i, 1 - d, WARP_DATA, vle, false) >= WARP_DATA_RUN) {
        (out ??= []).push({
          source: 'cloudflare-warp', protocol: 'cloudflare-warp', strength: 'medium', rule: 'warp.data', packet: i, offset: 1,
          reason: `≥${WARP_DATA_RUN} c4 packets per direction up to packet ${i}: bytes 1-3 = ${hex24(v)} in both directions, constant receiver value per direction (this one 0x${hex32(u32le(f, i, 4))}), LE counter rising by small steps`,
        });
      }
      return out;
    }
    // Standard WireGuard framing with a per-device client id in the reserved bytes (third-party WARP clients).
    if (u8(f, i, 0) === WG_TYPE_RESPONSE && len === WG_RESPONSE_LEN) {
      const id = u24be(f, i, 1);
      if (id <= 0) return null;
      const rx = u32le(f, i, 8);
      const j = findInitiationWithSender(f, i, 1 - d, rx, false);
      if (j < 0 || u24be(f, j, 1) !== id || u8(f, j, 0) !== WG_TYPE_INITIATION || f.len(j) !== WG_INITIATION_LEN) return null;
      return [
        {
          source: 'cloudflare-warp', protocol: 'cloudflare-warp', strength: 'strong', rule: 'warp.wg-client-id', packet: i, offset: 1,
          reason: `packet ${j}: WireGuard initiation (148 bytes) with sender index 0x${hex32(rx)} echoed by the 92-byte response at packet ${i}; both carry client id ${hex24(id)} in reserved bytes 1-3`,
        },
      ];
    }
    return null;
  },
  /**
   * Both WARP client populations frame every message with a type byte: 1–4 (WireGuard, bytes 1–3 zero or a client
   * id) or C1–C4 (the official client). Any other first byte: not WARP's WireGuard-derived mode.
   */
  excludes(f: FlowView): boolean {
    const i = f.nPackets - 1;
    const b0 = u8(f, i, 0);
    if (b0 < 0) return false;
    return !((b0 >= WG_TYPE_INITIATION && b0 <= WG_TYPE_DATA) || (b0 >= WARP_INIT && b0 <= WARP_DATA));
  },
};

function hex24(v: number): string {
  return v.toString(16).padStart(6, '0');
}
function anyInit(f: FlowView, before: number): boolean {
  for (let j = 0; j < before; j++) if (u8(f, j, 0) === WARP_INIT && f.len(j) === WARP_INIT_LEN && u24be(f, j, 1) === 0) return true;
  return false;
}
function firstOfDir(f: FlowView, i: number, d: number, type: number): boolean {
  for (let j = 0; j < i; j++) if (f.dir(j) === d && u8(f, j, 0) === type) return false;
  return true;
}
function findFirst(f: FlowView, before: number, d: number, type: number, len: number): number {
  for (let j = 0; j < before; j++) if (f.dir(j) === d && u8(f, j, 0) === type && f.len(j) === len && u24be(f, j, 1) === 0) return j;
  return -1;
}
function findResp(f: FlowView, before: number, v: number): number {
  for (let j = 0; j < before; j++) if (f.dir(j) !== DIR_FWD && u8(f, j, 0) === WARP_RESP && u24be(f, j, 1) === v) return j;
  return -1;
}
