/**
 * Tunnels to open (reference part 2 "Tunnels to open"): given a decoded carrier packet, find the inner IP
 * packet of IP-in-IP (4in4, 6in4, 4in6, 6in6), GRE version 0 (IPv4, IPv6, transparent Ethernet bridging,
 * ERSPAN types II and III, MPLS), GTP-U G-PDUs (UDP 2152), VXLAN (UDP 4789; 8472 with a canonical header;
 * VXLAN-GPE on 4790), Geneve (UDP 6081: AWS Gateway Load Balancer hands appliances their traffic this way) and
 * CAPWAP data (UDP 5247, 802.3 or 802.11).
 *
 * Deliberately not opened: PPTP's enhanced GRE (version 1) — that packet is the VPN flow itself; Teredo
 * (ordinary UDP to the classifier); CAPWAP DTLS; GTP messages other than G-PDU; IP fragments (first or
 * later): the flow table's reassembler (reassembly.ts) rebuilds the carrier datagram and has it decoded again
 * whole (`Decoder.decodeDatagram`), so the inner packet is complete, or cut short only where a fragment was lost.
 *
 * Returns the inner IP header offset (>= 0), TUNNEL_NONE when the packet is not a tunnel carrier, or
 * TUNNEL_BAD when it is one but the inner packet cannot be reached. Never allocates.
 */
import { u16be } from './bytes.js';
import { ETH_P_IPV4, ETH_P_IPV6, ETH_P_MPLS, ETH_P_MPLS_MC, ethernetToIp, etherTypeToIp, PPP_IPV4, PPP_IPV6 } from './decode-ether.js';
import { wlanDataToIp } from './decode-wlan.js';
import type { PacketView } from './types.js';

export const TUNNEL_NONE = -1; // same values as WLAN_NO_IP / WLAN_BAD (decode-wlan.ts)
export const TUNNEL_BAD = -2;

// ENCAP_NAMES indices (types.ts).
export const ENCAP_IPIP = 1;
export const ENCAP_GRE = 2;
export const ENCAP_GTP = 3;
export const ENCAP_VXLAN = 4;
export const ENCAP_CAPWAP = 5;
export const ENCAP_PPTP = 6;
export const ENCAP_GENEVE = 7;

export const GTPU_PORT = 2152;
export const VXLAN_PORT = 4789;
/** Linux's pre-IANA VXLAN port: only accepted with an exact header (flags 0x08, reserved bytes zero). */
export const VXLAN_LEGACY_PORT = 8472;
export const CAPWAP_DATA_PORT = 5247;
export const GENEVE_PORT = 6081;
export const VXLAN_GPE_PORT = 4790;

const PROTO_IPIP = 4;
const PROTO_IPV6 = 41;
const PROTO_GRE = 47;
const PROTO_UDP = 17;

const GRE_C = 0x80, GRE_R = 0x40, GRE_K = 0x20, GRE_S = 0x10;
const GRE_P_TEB = 0x6558; // transparent Ethernet bridging
const GRE_P_ERSPAN2 = 0x88be;
const GRE_P_ERSPAN3 = 0x22eb;
const ERSPAN2_HEADER = 8;
const ERSPAN3_HEADER = 12;
const ERSPAN3_PLATFORM_SUBHEADER = 8; // present when the O bit (last bit of the 12-byte header) is set

const GTP_GPDU = 0xff;
const GTP_HEADER = 8;
const GTP_OPT_HEADER = 4; // sequence (2), N-PDU (1), next extension type (1)

const VXLAN_HEADER = 8;
const VXLAN_FLAG_I = 0x08;
const GPE_FLAG_P = 0x04; // next-protocol field present
const GPE_FLAG_O = 0x01; // OAM packet: nothing to open
const GPE_NEXT_IPV4 = 1, GPE_NEXT_IPV6 = 2, GPE_NEXT_ETHERNET = 3;

const GENEVE_HEADER = 8;
const GENEVE_OPTION_HEADER = 4;
const GENEVE_FLAG_O = 0x80; // control packet: carries no frame to open

const CAPWAP_MIN_HEADER = 8;
const CAPWAP_WBID_80211 = 1;


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

/** An inner IP packet whose version the carrier names (IP-in-IP's protocol, Geneve's type, VXLAN-GPE's next protocol). */
function innerIpOfVersion(b: Uint8Array, o: number, end: number, version: 4 | 6): number {
  const r = innerIpByNibble(b, o, end);
  return r >= 0 && b[r]! >> 4 !== version ? TUNNEL_BAD : r;
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
  if (pt === GRE_P_ERSPAN3) {
    if (end - o < ERSPAN3_HEADER) return TUNNEL_BAD;
    const sub = b[o + ERSPAN3_HEADER - 1]! & 1 ? ERSPAN3_PLATFORM_SUBHEADER : 0;
    return viaEthernet(out, b, o + ERSPAN3_HEADER + sub, end, iv);
  }
  if (pt === ETH_P_MPLS || pt === ETH_P_MPLS_MC) {
    const r = etherTypeToIp(out, b, o, end, pt, iv);
    return r >= 0 ? r : TUNNEL_BAD;
  }
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

/**
 * Geneve (RFC 8926 §3.4): version 0, not a control packet, reserved flag bits zero, options that exactly fill the
 * option length (each: class, type, length in 4-byte units after its own 4-byte header), and a protocol type to
 * open (Ethernet, IPv4, IPv6). Anything else is left as the UDP packet it may be: 6081 is not reserved to Geneve.
 */
function geneve(out: PacketView, b: Uint8Array, p: number, end: number, iv: boolean): number {
  if (end - p < GENEVE_HEADER) return TUNNEL_NONE;
  const optEnd = p + GENEVE_HEADER + ((b[p]! & 0x3f) << 2);
  if (b[p]! >> 6 !== 0 || (b[p + 1]! & (GENEVE_FLAG_O | 0x3f)) !== 0 || optEnd > end) return TUNNEL_NONE;
  const pt = u16be(b, p + 2);
  if (pt !== GRE_P_TEB && pt !== ETH_P_IPV4 && pt !== ETH_P_IPV6) return TUNNEL_NONE;
  let o = p + GENEVE_HEADER;
  while (o < optEnd) {
    if (optEnd - o < GENEVE_OPTION_HEADER) return TUNNEL_NONE;
    o += GENEVE_OPTION_HEADER + ((b[o + 3]! & 0x1f) << 2);
  }
  if (o !== optEnd) return TUNNEL_NONE;
  if (pt === GRE_P_TEB) return viaEthernet(out, b, o, end, iv);
  return innerIpOfVersion(b, o, end, pt === ETH_P_IPV4 ? 4 : 6);
}

/**
 * VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe): I and P set, not OAM, version 0 (bits 0x30 of byte 0 in the later drafts,
 * the top bits of byte 1 in the earlier ones: both must be zero), next protocol (byte 3) IPv4, IPv6 or Ethernet.
 * NSH and MPLS payloads, and anything else, stay the UDP packet they may be.
 */
function vxlanGpe(out: PacketView, b: Uint8Array, p: number, end: number, iv: boolean): number {
  if (end - p < VXLAN_HEADER) return TUNNEL_NONE;
  const f = b[p]!;
  if ((f & (VXLAN_FLAG_I | GPE_FLAG_P)) !== (VXLAN_FLAG_I | GPE_FLAG_P) || (f & (GPE_FLAG_O | 0x30)) !== 0 || (b[p + 1]! & 0xc0) !== 0) return TUNNEL_NONE;
  const next = b[p + 3]!;
  const o = p + VXLAN_HEADER;
  if (next === GPE_NEXT_ETHERNET) return viaEthernet(out, b, o, end, iv);
  if (next !== GPE_NEXT_IPV4 && next !== GPE_NEXT_IPV6) return TUNNEL_NONE;
  return innerIpOfVersion(b, o, end, next === GPE_NEXT_IPV4 ? 4 : 6);
}

/** VXLAN (RFC 7348): I flag, then an Ethernet frame. `strict`: the whole 8-byte header must be canonical. */
function vxlan(out: PacketView, b: Uint8Array, p: number, end: number, iv: boolean, strict: boolean): number {
  if (end - p < VXLAN_HEADER) return TUNNEL_NONE;
  if ((b[p]! & VXLAN_FLAG_I) === 0) return TUNNEL_NONE;
  if (strict && (b[p] !== VXLAN_FLAG_I || b[p + 1] !== 0 || b[p + 2] !== 0 || b[p + 3] !== 0 || b[p + 7] !== 0)) return TUNNEL_NONE;
  return viaEthernet(out, b, p + VXLAN_HEADER, end, iv);
}

/**
 * Native 802.11 frame inside CAPWAP. Some access points (Cisco's, notably) send the two frame-control bytes
 * swapped, which is why Wireshark has a "swap frame control" preference; rather than a setting, both orders
 * are tried and the 6-byte LLC/SNAP header after the computed MAC header decides.
 */
function wlanToIp(out: PacketView, b: Uint8Array, q: number, end: number, iv: boolean): number {
  if (end - q < 2) return TUNNEL_BAD;
  const std = wlanDataToIp(out, b, q, end, b[q]!, b[q + 1]!, iv);
  if (std >= 0) return std;
  const swapped = wlanDataToIp(out, b, q, end, b[q + 1]!, b[q]!, iv);
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
  // A fragment (first or later) is never opened: the flow table reassembles the datagram and decodes it whole.
  if (out.isFragment) return TUNNEL_NONE;
  const p = out.payloadOff;
  const end = p + out.payloadLen;
  let r: number;
  switch (out.proto) {
    case PROTO_IPIP:
    case PROTO_IPV6: {
      r = innerIpOfVersion(b, p, end, out.proto === PROTO_IPIP ? 4 : 6);
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
        r = vxlan(out, b, p, end, iv, false);
        cur.kind = ENCAP_VXLAN;
      } else if (dp === VXLAN_LEGACY_PORT || sp === VXLAN_LEGACY_PORT) {
        r = vxlan(out, b, p, end, iv, true);
        cur.kind = ENCAP_VXLAN;
      } else if (dp === VXLAN_GPE_PORT || sp === VXLAN_GPE_PORT) {
        r = vxlanGpe(out, b, p, end, iv);
        cur.kind = ENCAP_VXLAN;
      } else if (dp === GENEVE_PORT || sp === GENEVE_PORT) {
        r = geneve(out, b, p, end, iv);
        cur.kind = ENCAP_GENEVE;
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

const GRE_V1_ACK = 0x80;
const GRE_P_PPP = 0x880b;
const PPTP_GRE_HEADER = 8;

/**
 * PPTP data channel (RFC 2637 §4.1): enhanced GRE version 1 carrying PPP. Returns the offset of the IP packet
 * in an uncompressed, unencrypted PPP frame (protocol 0x0021 / 0x0057, with or without the FF 03 address and
 * control bytes and with or without protocol-field compression) and sets `cur`; TUNNEL_NONE otherwise — in
 * particular for MPPE-encrypted (0x00FD) frames, the normal case, and acknowledgement-only packets.
 */
export function pptpInner(out: PacketView, b: Uint8Array, cur: TunnelCursor): number {
  if (out.proto !== PROTO_GRE || out.fragOffset > 0) return TUNNEL_NONE;
  const p = out.payloadOff;
  const end = p + out.payloadLen;
  if (end - p < PPTP_GRE_HEADER) return TUNNEL_NONE;
  const f0 = b[p]!, f1 = b[p + 1]!;
  if ((f1 & 0x07) !== 1 || (f0 & (GRE_C | GRE_R | GRE_K)) !== GRE_K || u16be(b, p + 2) !== GRE_P_PPP) return TUNNEL_NONE;
  const pppLen = u16be(b, p + 4);
  let q = p + PPTP_GRE_HEADER;
  if (f0 & GRE_S) q += 4;
  if (f1 & GRE_V1_ACK) q += 4;
  if (pppLen === 0 || end - q < 2) return TUNNEL_NONE;
  const pppEnd = pppLen < end - q ? q + pppLen : end;
  if (b[q] === 0xff && b[q + 1] === 0x03) q += 2;
  if (pppEnd - q < 1) return TUNNEL_NONE;
  let proto: number;
  if (b[q]! & 1) {
    proto = b[q]!; // protocol-field compression: one byte
    q += 1;
  } else {
    if (pppEnd - q < 2) return TUNNEL_NONE;
    proto = u16be(b, q);
    q += 2;
  }
  if (proto !== PPP_IPV4 && proto !== PPP_IPV6) return TUNNEL_NONE;
  const r = innerIpByNibble(b, q, pppEnd);
  if (r < 0 || b[r]! >> 4 !== (proto === PPP_IPV4 ? 4 : 6)) return TUNNEL_NONE;
  cur.kind = ENCAP_PPTP;
  cur.end = pppEnd;
  return r;
}
