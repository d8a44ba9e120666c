/**
 * Ethernet II and the EtherType chain behind it: 802.1Q/802.1ad/QinQ tags, PPPoE sessions, MPLS label stacks,
 * 802.2 LLC/SNAP. Shared by the link layers, tunnels carrying Ethernet (GRE TEB, VXLAN, CAPWAP 802.3) and
 * 802.11 LLC/SNAP. Returns the IP header offset, or the negated reason code. Never allocates.
 */
import { u16be } from './bytes.js';
import { R_NON_IP, R_TRUNCATED_LINK } from './decode-reasons.js';
import type { PacketView } from './types.js';

export const ETH_P_IPV4 = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
const ETH_P_8021Q = 0x8100;
const ETH_P_8021AD = 0x88a8;
const ETH_P_QINQ_OLD = 0x9100; // pre-standard QinQ outer tag, still seen on switches
const ETH_P_QINQ_OLD2 = 0x9200;
const ETH_P_PPPOE_SESSION = 0x8864;
export const ETH_P_MPLS = 0x8847;
export const ETH_P_MPLS_MC = 0x8848;
export const PPP_IPV4 = 0x0021;
export const PPP_IPV6 = 0x0057;
const ETH_HEADER_LEN = 14;
const ETH_MAX_LENGTH_FIELD = 1500;
const LLC_SNAP_LEN = 8;
/** Tags or labels followed before giving up: real stacks are 1-3 deep; the cap bounds hostile input. */
const MAX_LINK_LAYERS = 8;

/**
 * Follow an EtherType chain starting at `o` (the first byte after the EtherType field) to an IP header.
 * VLAN tags set `out.vlan`: with `innerVlan` every tag overwrites it, so the last (innermost) tag on the way to
 * the innermost IP header wins, as in nDPI's reader; otherwise only the first (outermost) tag is kept.
 */
export function etherTypeToIp(out: PacketView, b: Uint8Array, o: number, end: number, et: number, innerVlan: boolean): number {
  for (let i = 0; i < MAX_LINK_LAYERS; i++) {
    switch (et) {
      case ETH_P_IPV4:
      case ETH_P_IPV6:
        return o;
      case ETH_P_8021Q:
      case ETH_P_8021AD:
      case ETH_P_QINQ_OLD:
      case ETH_P_QINQ_OLD2:
        if (end - o < 4) return -R_TRUNCATED_LINK;
        if (innerVlan || out.vlan < 0) out.vlan = u16be(b, o) & 0x0fff;
        et = u16be(b, o + 2);
        o += 4;
        break;
      case ETH_P_PPPOE_SESSION: {
        // RFC 2516 §4: ver/type, code, session id, length, then the 2-byte PPP protocol.
        if (end - o < 8) return -R_TRUNCATED_LINK;
        const ppp = u16be(b, o + 6);
        if (ppp === PPP_IPV4 || ppp === PPP_IPV6) return o + 8;
        return -R_NON_IP;
      }
      case ETH_P_MPLS:
      case ETH_P_MPLS_MC:
        // RFC 3032: 4 bytes per label; after bottom-of-stack the payload type is only known by its first nibble.
        for (let k = 0; k < MAX_LINK_LAYERS; k++) {
          if (end - o < 4) return -R_TRUNCATED_LINK;
          const bos = b[o + 2]! & 1;
          o += 4;
          if (bos) {
            if (end - o < 1) return -R_TRUNCATED_LINK;
            const v = b[o]! >> 4;
            return v === 4 || v === 6 ? o : -R_NON_IP;
          }
        }
        return -R_NON_IP;
      default:
        // IEEE 802.3 length field (<= 1500) followed by 802.2 LLC/SNAP with OUI 0: the EtherType follows.
        if (et <= ETH_MAX_LENGTH_FIELD && end - o >= LLC_SNAP_LEN && b[o] === 0xaa && b[o + 1] === 0xaa && b[o + 2] === 0x03 &&
          b[o + 3] === 0 && b[o + 4] === 0 && b[o + 5] === 0) {
          et = u16be(b, o + 6);
          o += LLC_SNAP_LEN;
          break;
        }
        return -R_NON_IP;
    }
  }
  return -R_NON_IP;
}

/** Ethernet II frame at `off`: IP header offset or -reason. */
export function ethernetToIp(out: PacketView, b: Uint8Array, off: number, end: number, innerVlan: boolean): number {
  if (end - off < ETH_HEADER_LEN) return -R_TRUNCATED_LINK;
  return etherTypeToIp(out, b, off + ETH_HEADER_LEN, end, u16be(b, off + 12), innerVlan);
}

