/**
 * Link layers (tcpdump.org "Link-layer header types"; reference part 2 "Link layers and capture files"):
 * find the IP header behind the capture's link header, following 802.1Q/802.1ad tags, PPPoE sessions and
 * MPLS label stacks. Returns the IP header offset, or the negated reason code.
 * Never allocates; every read is preceded by an explicit length check.
 */
import { u16be, u32be, u32le } from './bytes.js';
import { R_NON_IP, R_TRUNCATED_LINK, R_UNKNOWN_LINKTYPE } from './decode-reasons.js';
import type { PacketView } from './types.js';

export const ETH_P_IPV4 = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
const ETH_P_8021Q = 0x8100;
const ETH_P_8021AD = 0x88a8;
const ETH_P_QINQ_OLD = 0x9100; // pre-standard QinQ outer tag, still seen on switches
const ETH_P_QINQ_OLD2 = 0x9200;
const ETH_P_PPPOE_SESSION = 0x8864;
const ETH_P_MPLS = 0x8847;
const ETH_P_MPLS_MC = 0x8848;
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;
const ETH_HEADER_LEN = 14;
const SLL_HEADER_LEN = 16;
const SLL2_HEADER_LEN = 20;
/** Tags or labels followed before giving up: real stacks are 1-3 deep; the cap bounds hostile input. */
const MAX_LINK_LAYERS = 8;

// BSD loopback address families: AF_INET is 2 everywhere, AF_INET6 differs per OS
// (24 NetBSD/OpenBSD, 28 FreeBSD, 30 Darwin; 23 Windows/Npcap; 10 Linux for completeness).
const AF_INET = 2;

function isAfInet6(af: number): boolean {
  return af === 24 || af === 28 || af === 30 || af === 23 || af === 10;
}

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

/** The capture's link header at `off`: IP header offset or -reason. */
export function linkToIp(out: PacketView, linkType: number, b: Uint8Array, off: number, end: number, innerVlan: boolean): number {
  switch (linkType) {
    case 1: // ETHERNET
      return ethernetToIp(out, b, off, end, innerVlan);
    case 101: // RAW
    case 12: // RAW on most BSDs
    case 14: // RAW on OpenBSD
    case 228: // IPV4
    case 229: // IPV6
      return off;
    case 113: // LINUX_SLL: protocol (EtherType) at offset 14
      if (end - off < SLL_HEADER_LEN) return -R_TRUNCATED_LINK;
      return etherTypeToIp(out, b, off + SLL_HEADER_LEN, end, u16be(b, off + 14), innerVlan);
    case 276: // LINUX_SLL2: protocol at offset 0
      if (end - off < SLL2_HEADER_LEN) return -R_TRUNCATED_LINK;
      return etherTypeToIp(out, b, off + SLL2_HEADER_LEN, end, u16be(b, off), innerVlan);
    case 0: // NULL: family in the capturing host's byte order
    case 108: {
      // LOOP: family in network byte order. Both are accepted in either order: the value is small, so only
      // one reading of the word lies below 256.
      if (end - off < 4) return -R_TRUNCATED_LINK;
      const le = u32le(b, off);
      const af = le < 256 ? le : u32be(b, off);
      if (af === AF_INET || isAfInet6(af)) return off + 4;
      return -R_NON_IP;
    }
    case 9: {
      // PPP (RFC 1661/1662): optional FF 03 address/control, then a 2-byte protocol.
      let o = off;
      if (end - o >= 2 && b[o] === 0xff && b[o + 1] === 0x03) o += 2;
      if (end - o < 2) return -R_TRUNCATED_LINK;
      const ppp = u16be(b, o);
      if (ppp === PPP_IPV4 || ppp === PPP_IPV6) return o + 2;
      return -R_NON_IP;
    }
    default:
      return -R_UNKNOWN_LINKTYPE;
  }
}
