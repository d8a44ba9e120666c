/**
 * Tunnels to open (reference part 2 "Tunnels to open"): given a decoded carrier packet, find the inner IP
 * packet of IP-in-IP (4in4, 6in4, 4in6, 6in6), GRE version 0 (IPv4, IPv6, transparent Ethernet bridging,
 * ERSPAN type II), GTP-U G-PDUs (UDP 2152), VXLAN (UDP 4789) and CAPWAP data (UDP 5247, 802.3 or 802.11).
 *
 * Deliberately not opened: PPTP's enhanced GRE (version 1) — that packet is the VPN flow itself; Teredo
 * (ordinary UDP to the classifier); CAPWAP DTLS; GTP messages other than G-PDU; fragments (the inner packet is
 * incomplete, so the carrier is reported and later fragments join it by fragment id).
 *
 * Returns the inner IP header offset (>= 0), TUNNEL_NONE when the packet is not a tunnel carrier, or
 * TUNNEL_BAD when it is one but the inner packet cannot be reached. Never allocates.
 */
import { u16be } from './bytes.js';
import { ETH_P_IPV4, ETH_P_IPV6, ethernetToIp, etherTypeToIp } from './decode-link.js';
import type { PacketView } from './types.js';

export const TUNNEL_NONE = -1;
export const TUNNEL_BAD = -2;

// ENCAP_NAMES indices (types.ts).
export const ENCAP_IPIP = 1;
export const ENCAP_GRE = 2;
export const ENCAP_GTP = 3;
export const ENCAP_VXLAN = 4;
export const ENCAP_CAPWAP = 5;

export const GTPU_PORT = 2152;
export const VXLAN_PORT = 4789;
export const CAPWAP_DATA_PORT = 5247;

const PROTO_IPIP = 4;
const PROTO_IPV6 = 41;
const PROTO_GRE = 47;
const PROTO_UDP = 17;

const GRE_C = 0x80, GRE_R = 0x40, GRE_K = 0x20, GRE_S = 0x10;
const GRE_P_TEB = 0x6558; // transparent Ethernet bridging
const GRE_P_ERSPAN2 = 0x88be;
const ERSPAN2_HEADER = 8;

const GTP_GPDU = 0xff;
const GTP_HEADER = 8;
const GTP_OPT_HEADER = 4; // sequence (2), N-PDU (1), next extension type (1)

const VXLAN_HEADER = 8;
const VXLAN_FLAG_I = 0x08;

const CAPWAP_MIN_HEADER = 8;
const CAPWAP_WBID_80211 = 1;

const WLAN_HEADER = 24;
const WLAN_4ADDR_EXTRA = 6;
const WLAN_QOS_EXTRA = 2;
const WLAN_HTC_EXTRA = 4;
const LLC_SNAP_LEN = 8;

/** Where the inner packet was found: set by `tunnelInner` on success. */
export interface TunnelCursor {
  /** ENCAP_* index of the tunnel just opened. */
  kind: number;
  /** End (exclusive) of the captured bytes of the inner packet. */
  end: number;
}

function innerIpByNibble(b: Uint8Array, o: number, end: number): number {
  if (end - o < 1) return TUNNEL_BAD;
  const v = b[o]! >> 4;
  return v === 4 || v === 6 ? o : TUNNEL_BAD;
}

function viaEthernet(out: PacketView, b: Uint8Array, o: number, end: number, iv: boolean): number {
  const r = ethernetToIp(out, b, o, end, iv);
  return r >= 0 ? r : TUNNEL_BAD;
}

/** GRE (RFC 2784/2890): only version 0 is a carrier; routing-present (obsolete RFC 1701) is not followed. */
function gre(out: PacketView, b: Uint8Array, p: number, end: number, iv: boolean): number {
  if (end - p < 4) return TUNNEL_NONE;
  const flags = b[p]!;
  if ((b[p + 1]! & 0x07) !== 0) return TUNNEL_NONE; // version 1 = PPTP: the GRE packet is the flow
  if (flags & GRE_R) return TUNNEL_BAD;
  let o = p + 4;
  if (flags & GRE_C) o += 4;
  if (flags & GRE_K) o += 4;
  if (flags & GRE_S) o += 4;
  if (o > end) return TUNNEL_BAD;
  const pt = u16be(b, p + 2);
  if (pt === ETH_P_IPV4 || pt === ETH_P_IPV6) return innerIpByNibble(b, o, end);
  if (pt === GRE_P_TEB) return viaEthernet(out, b, o, end, iv);
  if (pt === GRE_P_ERSPAN2) return viaEthernet(out, b, o + ERSPAN2_HEADER, end, iv);
  return TUNNEL_NONE;
}

/** GTP-U (3GPP TS 29.281 §5): version 1, PT 1, G-PDU; optional fields and the extension-header chain. */
function gtpu(b: Uint8Array, p: number, end: number): number {
  if (end - p < GTP_HEADER) return TUNNEL_NONE;
  const f = b[p]!;
  if (f >> 5 !== 1 || (f & 0x10) === 0) return TUNNEL_NONE;
  if (b[p + 1] !== GTP_GPDU) return TUNNEL_NONE; // echo, error indication, end marker: no user data
  let o = p + GTP_HEADER;
  if (f & 0x07) {
    if (end - o < GTP_OPT_HEADER) return TUNNEL_BAD;
    let next = b[o + 3]!;
    o += GTP_OPT_HEADER;
    if (f & 0x04) {
      // Each extension header: length in 4-byte units (including itself), content, next type (0 = last).
      while (next !== 0) {
        if (end - o < 1) return TUNNEL_BAD;
        const len = b[o]! << 2;
        if (len === 0 || len > end - o) return TUNNEL_BAD;
        o += len;
        next = b[o - 1]!;
      }
    }
  }
  return innerIpByNibble(b, o, end);
}

/** VXLAN (RFC 7348): I flag, then an Ethernet frame. */
function vxlan(out: PacketView, b: Uint8Array, p: number, end: number, iv: boolean): number {
  if (end - p < VXLAN_HEADER) return TUNNEL_NONE;
  if ((b[p]! & VXLAN_FLAG_I) === 0) return TUNNEL_NONE;
  return viaEthernet(out, b, p + VXLAN_HEADER, end, iv);
}

/** IEEE 802.11 data frame with LLC/SNAP, frame control bytes given: IP offset, TUNNEL_NONE or TUNNEL_BAD. */
function wlanWith(out: PacketView, b: Uint8Array, q: number, end: number, fc0: number, fc1: number, iv: boolean): number {
  if (end - q < WLAN_HEADER) return TUNNEL_BAD;
  if ((fc0 & 0x03) !== 0) return TUNNEL_BAD; // protocol version 0 only
  // Management and control frames, and the null-data subtypes, carry no IP packet: not a failure.
  if (((fc0 >> 2) & 3) !== 2) return TUNNEL_NONE;
  const subtype = fc0 >> 4;
  if (subtype & 0x04) return TUNNEL_NONE;
  if (fc1 & 0x40) return TUNNEL_BAD; // protected: encrypted body
  let o = q + WLAN_HEADER;
  if ((fc1 & 0x03) === 0x03) o += WLAN_4ADDR_EXTRA;
  if (subtype & 0x08) {
    o += WLAN_QOS_EXTRA;
    if (fc1 & 0x80) o += WLAN_HTC_EXTRA;
  }
  if (end - o < LLC_SNAP_LEN) return TUNNEL_BAD;
  if (b[o] !== 0xaa || b[o + 1] !== 0xaa || b[o + 2] !== 0x03 || b[o + 3] !== 0 || b[o + 4] !== 0 || b[o + 5] !== 0) {
    return TUNNEL_BAD;
  }
  const r = etherTypeToIp(out, b, o + LLC_SNAP_LEN, end, u16be(b, o + 6), iv);
  return r >= 0 ? r : TUNNEL_BAD;
}

/**
 * Native 802.11 frame inside CAPWAP. Some access points (Cisco's, notably) send the two frame-control bytes
 * swapped, which is why Wireshark has a "swap frame control" preference; rather than a setting, both orders
 * are tried and the 6-byte LLC/SNAP header after the computed MAC header decides.
 */
function wlanToIp(out: PacketView, b: Uint8Array, q: number, end: number, iv: boolean): number {
  if (end - q < 2) return TUNNEL_BAD;
  const std = wlanWith(out, b, q, end, b[q]!, b[q + 1]!, iv);
  if (std >= 0) return std;
  const swapped = wlanWith(out, b, q, end, b[q + 1]!, b[q]!, iv);
  if (swapped >= 0) return swapped;
  return std === TUNNEL_NONE || swapped === TUNNEL_NONE ? TUNNEL_NONE : TUNNEL_BAD;
}

/** CAPWAP data channel (RFC 5415 §4.3): plain header (not DTLS), HLEN words, then 802.3 or native 802.11. */
function capwap(out: PacketView, b: Uint8Array, p: number, end: number, iv: boolean): number {
  if (end - p < CAPWAP_MIN_HEADER) return TUNNEL_NONE;
  if (b[p] !== 0) return TUNNEL_NONE; // version 0, type 0; type 1 is DTLS-protected: nothing to open
  const hlen = (b[p + 1]! >> 3) << 2;
  if (hlen < CAPWAP_MIN_HEADER || hlen > end - p) return TUNNEL_BAD;
  const wbid = (b[p + 2]! >> 1) & 0x1f;
  const native = (b[p + 2]! & 1) !== 0;
  const fragmented = (b[p + 3]! & 0x80) !== 0;
  if (fragmented && u16be(b, p + 6) >> 3 !== 0) return TUNNEL_BAD; // a later fragment: no inner header
  const o = p + hlen;
  if (!native) return viaEthernet(out, b, o, end, iv);
  if (wbid === CAPWAP_WBID_80211) return wlanToIp(out, b, o, end, iv);
  return TUNNEL_BAD;
}

/**
 * If `out` (a successfully decoded packet) is a tunnel carrier, locate its inner IP packet. `iv`: VLAN tags of
 * an inner Ethernet frame overwrite `out.vlan` (see etherTypeToIp).
 */
export function tunnelInner(out: PacketView, b: Uint8Array, cur: TunnelCursor, iv: boolean): number {
  if (out.isFragment) return TUNNEL_NONE;
  const p = out.payloadOff;
  const end = p + out.payloadLen;
  let r: number;
  switch (out.proto) {
    case PROTO_IPIP:
    case PROTO_IPV6: {
      r = innerIpByNibble(b, p, end);
      if (r >= 0 && b[r]! >> 4 !== (out.proto === PROTO_IPIP ? 4 : 6)) r = TUNNEL_BAD;
      cur.kind = ENCAP_IPIP;
      break;
    }
    case PROTO_GRE:
      r = gre(out, b, p, end, iv);
      cur.kind = ENCAP_GRE;
      break;
    case PROTO_UDP: {
      const sp = out.srcPort, dp = out.dstPort;
      if (dp === GTPU_PORT || sp === GTPU_PORT) {
        r = gtpu(b, p, end);
        cur.kind = ENCAP_GTP;
      } else if (dp === VXLAN_PORT || sp === VXLAN_PORT) {
        r = vxlan(out, b, p, end, iv);
        cur.kind = ENCAP_VXLAN;
      } else if (dp === CAPWAP_DATA_PORT || sp === CAPWAP_DATA_PORT) {
        r = capwap(out, b, p, end, iv);
        cur.kind = ENCAP_CAPWAP;
      } else return TUNNEL_NONE;
      break;
    }
    default:
      return TUNNEL_NONE;
  }
  cur.end = end;
  return r;
}
