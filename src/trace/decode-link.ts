/**
 * Link layers (tcpdump.org "Link-layer header types"; reference part 2 "Link layers and capture files"):
 * find the IP header behind the capture's link header. Returns the IP header offset, or the negated reason
 * code. Never allocates; every read is preceded by an explicit length check.
 */
import { u16be, u16le, u32be, u32le } from './bytes.js';
import { etherTypeToIp, ethernetToIp, PPP_IPV4, PPP_IPV6 } from './decode-ether.js';
import { R_NON_IP, R_TRUNCATED_LINK, R_UNKNOWN_LINKTYPE } from './decode-reasons.js';
import { wlanDataToIp } from './decode-wlan.js';
import type { PacketView } from './types.js';

const SLL_HEADER_LEN = 16;
const SLL2_HEADER_LEN = 20;
const RADIOTAP_MIN_LEN = 8;
const CHDLC_HEADER_LEN = 4;
/** PFLOG: the shortest header any BSD has written (OpenBSD 3.x, before the uid/pid fields). */
const PFLOG_MIN_HDRLEN = 45;
/** NFLOG: nfgenmsg header (family, version, resource id), then type-length-value attributes. */
const NFLOG_HEADER_LEN = 4;
const NFLOG_TLV_HEADER_LEN = 4;
const NFULA_PAYLOAD = 9;
const LINUX_AF_INET6 = 10;

// BSD loopback address families: AF_INET is 2 everywhere, AF_INET6 differs per OS
// (24 NetBSD/OpenBSD, 28 FreeBSD, 30 Darwin; 23 Windows/Npcap; 10 Linux for completeness).
const AF_INET = 2;

function isAfInet6(af: number): boolean {
  return af === 24 || af === 28 || af === 30 || af === 23 || af === 10;
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
    case 9: // PPP
    case 50: {
      // PPP (RFC 1661) / PPP in HDLC-like framing (RFC 1662): optional FF 03 address/control, 2-byte protocol.
      let o = off;
      if (end - o >= 2 && b[o] === 0xff && b[o + 1] === 0x03) o += 2;
      if (end - o < 2) return -R_TRUNCATED_LINK;
      const ppp = u16be(b, o);
      if (ppp === PPP_IPV4 || ppp === PPP_IPV6) return o + 2;
      return -R_NON_IP;
    }
    case 104: // C_HDLC (Cisco HDLC): address, control, EtherType
      if (end - off < CHDLC_HEADER_LEN) return -R_TRUNCATED_LINK;
      return etherTypeToIp(out, b, off + CHDLC_HEADER_LEN, end, u16be(b, off + 2), innerVlan);
    case 105: // IEEE802_11: the MAC header is the link header
      return wlanLink(out, b, off, end, innerVlan);
    case 239: // NFLOG: the packet a netfilter rule logged (iptables/nftables `-j NFLOG`, `tcpdump -i nflog:N`)
      return nflogToIp(b, off, end);
    case 117: {
      // PFLOG: a packet pf logged (OpenBSD, FreeBSD, pfSense/OPNsense: `tcpdump -i pflog0`). struct pfloghdr's
      // first byte is its length, which the header occupies rounded up to 4 bytes; the second the address family.
      if (end - off < 2) return -R_TRUNCATED_LINK;
      const len = b[off]!;
      const hdr = (len + 3) & ~3;
      if (len < PFLOG_MIN_HDRLEN || hdr > end - off) return -R_TRUNCATED_LINK;
      const af = b[off + 1]!;
      return af === AF_INET || isAfInet6(af) ? off + hdr : -R_NON_IP;
    }
    case 127: {
      // IEEE802_11_RADIO: radiotap header (version 0, pad, little-endian length) before the 802.11 frame.
      if (end - off < RADIOTAP_MIN_LEN) return -R_TRUNCATED_LINK;
      const len = u16le(b, off + 2);
      if (b[off] !== 0 || len < RADIOTAP_MIN_LEN || len > end - off) return -R_TRUNCATED_LINK;
      return wlanLink(out, b, off + len, end, innerVlan);
    }
    default:
      return -R_UNKNOWN_LINKTYPE;
  }
}

/**
 * LINKTYPE_NFLOG (tcpdump.org; libpcap's pcap/nflog.h): a 4-byte nfgenmsg (address family, version, resource id)
 * and attributes of { u16 length including this 4-byte header, u16 type, value }, each padded to 4 bytes. Length
 * and type are in the byte order of the host that wrote the capture, which a packet does not say: it is told
 * from the first attribute's type, which is small (1–17), so only one of its two bytes is non-zero. The IP packet
 * is the NFULA_PAYLOAD attribute; the family must be IPv4 or IPv6. IP offset or -reason.
 */
function nflogToIp(b: Uint8Array, off: number, end: number): number {
  if (end - off < NFLOG_HEADER_LEN) return -R_TRUNCATED_LINK;
  const family = b[off]!;
  if (family !== AF_INET && family !== LINUX_AF_INET6) return -R_NON_IP;
  let o = off + NFLOG_HEADER_LEN;
  if (end - o < NFLOG_TLV_HEADER_LEN) return -R_TRUNCATED_LINK;
  const le = !(b[o + 2] === 0 && b[o + 3] !== 0);
  while (end - o >= NFLOG_TLV_HEADER_LEN) {
    const len = le ? u16le(b, o) : u16be(b, o);
    const type = (le ? u16le(b, o + 2) : u16be(b, o + 2)) & 0x7fff; // the top bit marks a nested attribute
    if (len < NFLOG_TLV_HEADER_LEN || len > end - o) return -R_TRUNCATED_LINK;
    if (type === NFULA_PAYLOAD) return len > NFLOG_TLV_HEADER_LEN ? o + NFLOG_TLV_HEADER_LEN : -R_TRUNCATED_LINK;
    o += (len + 3) & ~3;
  }
  return -R_NON_IP; // a logged event without the packet (NFULA_PAYLOAD absent)
}

/**
 * Where the IP packet that {@link linkToIp} found ends in an NFLOG record: at the end of its NFULA_PAYLOAD
 * attribute, whose length sits just before it (attributes may follow it). `ip` is linkToIp's result.
 */
export function nflogPayloadEnd(b: Uint8Array, ip: number, end: number): number {
  const h = ip - NFLOG_TLV_HEADER_LEN;
  const len = b[h + 2] === NFULA_PAYLOAD ? u16le(b, h) : u16be(b, h);
  return Math.min(end, h + len);
}

/** An over-the-air 802.11 frame (standard frame-control byte order): IP offset or -reason. */
function wlanLink(out: PacketView, b: Uint8Array, q: number, end: number, innerVlan: boolean): number {
  if (end - q < 2) return -R_TRUNCATED_LINK;
  const r = wlanDataToIp(out, b, q, end, b[q]!, b[q + 1]!, innerVlan);
  return r >= 0 ? r : -R_NON_IP; // management/control/protected frames: not IP
}
