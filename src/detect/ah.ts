/**
 * AH, IP protocol 51 (spec: ../shared/reference/parts/2-ipsec-l2tp-pptp.md §ESP and AH; RFC 4302 §2).
 *
 * Owns: the AH header (next header, payload length, reserved, SPI, sequence number) and — because AH does not
 * encrypt — a consistency check of the clear inner header that follows the ICV. Must never: allocate when
 * nothing matches.
 *
 * AH length is (payload length + 2) × 4 bytes and must be a multiple of 8 over IPv6 (RFC 4302 §2.2). The spec's
 * table rates "AH with consistent payload length and next header" strong; its scope note says AH protecting a
 * routing protocol in transport mode is IPsec but not a VPN tunnel, so that case is only weak (`ah.routing`).
 * Transport-mode AH protecting host traffic (ICMP, TCP, UDP, ICMPv6) is reported as `ah.transport` (strong):
 * the corpus truth and the issue count host-to-host IPsec as VPN — the lead may downgrade it.
 *
 * Offsets read from earlier packets (first ~48 bytes kept): SPI 4–7 and sequence number 8–11 only; the inner
 * header check runs on the newest packet, which is whole.
 */
import { IPPROTO_AH, IPPROTO_ESP, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, u8, u16be, u32be, type Detector, type Evidence, type FlowView } from './types.js';
import { dirText, ESP_MIN_SPI, ESP_STRONG_RUN, seqRun, seqRunText, type SeqSpan } from './esp.js';
import { hex32 } from './wireguard.js';

const AH_FIXED_LEN = 12; // next header, payload length, reserved (2), SPI (4), sequence (4)
const NH_IPV4 = 4, NH_IPV6 = 41, NH_NONE = 59;
/** Routing/infrastructure protocols carried directly over IP: IGMP 2, EIGRP 88, OSPF 89, PIM 103, VRRP/CARP 112. */
function isRoutingProto(nh: number): boolean {
  return nh === 2 || nh === 88 || nh === 89 || nh === 103 || nh === 112;
}
/** ICMP types defined by RFC 792/950 and still in use (echo, unreachable, redirect, time exceeded, …). */
function isIcmpType(t: number): boolean {
  return t === 0 || t === 3 || t === 4 || t === 5 || t === 8 || t === 9 || t === 10 || t === 11 || t === 12 || t === 13 || t === 14;
}
function isIcmp6Type(t: number): boolean {
  return (t >= 1 && t <= 4) || (t >= 128 && t <= 143);
}

/** AH length in bytes from the header, or -1 when the header is inconsistent with the packet / IP version. */
function ahLength(f: FlowView, i: number): number {
  if (u16be(f, i, 2) !== 0) return -1; // reserved
  const pl = u8(f, i, 1);
  if (pl < 1) return -1; // AH length ≥ 12
  const n = (pl + 2) * 4;
  if (n > f.len(i)) return -1;
  if (f.ipVersion === 6 && n % 8 !== 0) return -1;
  if (u32be(f, i, 4) < ESP_MIN_SPI || u32be(f, i, 8) < 1) return -1;
  return n;
}

/** Ones'-complement sum over [o, o+n) of packet i (ICMPv4 checksum covers only the ICMP message). */
function icmpChecksumOk(f: FlowView, i: number, o: number, n: number): boolean {
  if (o + n > f.avail(i)) return false;
  const b = f.buf(i), s = f.start(i) + o;
  let sum = 0;
  for (let k = 0; k + 1 < n; k += 2) sum += (b[s + k]! << 8) | b[s + k + 1]!;
  if (n & 1) sum += b[s + n - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

const K_NONE = 0, K_TUNNEL = 1, K_TRANSPORT = 2, K_ROUTING = 3, K_OPAQUE = 4;
/** Classifies what follows the AH header in the newest packet (whole): K_* code. */
function innerKind(f: FlowView, i: number, a: number, nh: number): number {
  const rest = f.len(i) - a;
  if (isRoutingProto(nh)) return K_ROUTING;
  if (f.avail(i) < f.len(i)) return K_OPAQUE; // snaplen cut: inner lengths cannot be compared
  switch (nh) {
    case NH_IPV4: {
      const v = u8(f, i, a);
      return v >> 4 === 4 && (v & 15) >= 5 && u16be(f, i, a + 2) === rest ? K_TUNNEL : K_NONE;
    }
    case NH_IPV6:
      return u8(f, i, a) >> 4 === 6 && u16be(f, i, a + 4) + 40 === rest ? K_TUNNEL : K_NONE;
    case IPPROTO_ESP:
      return rest >= 12 && u32be(f, i, a) >= ESP_MIN_SPI ? K_TUNNEL : K_NONE;
    case IPPROTO_UDP:
      return rest >= 8 && u16be(f, i, a + 4) === rest ? (isRoutingPort(u16be(f, i, a + 2)) ? K_ROUTING : K_TRANSPORT) : K_NONE;
    case IPPROTO_TCP: {
      const doff = u8(f, i, a + 12) >> 4;
      if (rest < 20 || doff < 5 || doff * 4 > rest || (u8(f, i, a + 12) & 0x0e) !== 0) return K_NONE;
      return u16be(f, i, a + 2) === 179 || u16be(f, i, a) === 179 ? K_ROUTING : K_TRANSPORT; // BGP
    }
    case IPPROTO_ICMP:
      return rest >= 8 && isIcmpType(u8(f, i, a)) && icmpChecksumOk(f, i, a, rest) ? K_TRANSPORT : K_NONE;
    case IPPROTO_ICMPV6:
      return rest >= 8 && isIcmp6Type(u8(f, i, a)) ? K_TRANSPORT : K_NONE;
    case NH_NONE:
      return rest === 0 ? K_OPAQUE : K_NONE;
    default:
      return K_OPAQUE;
  }
}
/** RIP (520), RIPng (521), LDP (646): routing protocols over UDP. */
function isRoutingPort(p: number): boolean {
  return p === 520 || p === 521 || p === 646;
}
const KIND_TEXT = ['', 'tunnel mode', 'transport mode', 'routing protocol', 'unverifiable'];

/** The span of the run ah.sequence walked last (read for its reason; no object per packet). */
const AH_SPAN: SeqSpan = { lo: 0, hi: 0 };

export const ah: Detector = {
  id: 'ah',
  transports: [IPPROTO_AH],
  carriers: [],
  maxPackets: 8,
  rules: {
    'ah.tunnel':
      'AH header consistent (reserved 0, length (pl+2)×4 within the packet, SPI ≥ 256, sequence ≥ 1) and next header 4/41/50 whose inner IPv4/IPv6 length or ESP SPI matches',
    'ah.transport':
      'AH header consistent and next header TCP/UDP/ICMP/ICMPv6 whose clear inner header matches the remaining length (UDP length, ICMP checksum, TCP data offset)',
    'ah.header': 'AH header consistent but its next header cannot be checked (unknown protocol, snaplen cut, no next header) (medium)',
    'ah.routing': 'AH in transport mode protecting a routing protocol (OSPF, EIGRP, PIM, VRRP, IGMP, RIP, LDP, BGP): IPsec but not a VPN tunnel (weak)',
    'ah.sequence': '≥3 AH packets in one direction with one SPI and distinct sequence numbers rising by 1 per packet, up to 4 lost packets and reordering allowed (as ESP)',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0 || f.avail(i) < AH_FIXED_LEN) return null;
    const a = ahLength(f, i);
    if (a < 0) return null;
    const nh = u8(f, i, 0);
    const kind = innerKind(f, i, a, nh);
    if (kind === K_NONE) return null;
    const d = f.dir(i);
    let out: Evidence[] | null = null;
    if (kind !== K_ROUTING) {
      // The sequence relation is ESP's (RFC 4302 §2.5), with the reserved field zero in every packet of the run.
      const n = seqRun(f, i, d, 4, 2, false, 1, AH_SPAN);
      if (n === ESP_STRONG_RUN) {
        out = [
          {
            source: 'ah', protocol: 'ipsec', strength: 'strong', rule: 'ah.sequence', packet: i, offset: 4,
            reason: `${n} AH packets ${dirText(d)} up to packet ${i}: constant SPI 0x${hex32(u32be(f, i, 4))}, ${seqRunText(n, AH_SPAN)}`,
          },
        ];
      }
    }
    const rule = kind === K_TUNNEL ? 'ah.tunnel' : kind === K_TRANSPORT ? 'ah.transport' : kind === K_ROUTING ? 'ah.routing' : 'ah.header';
    const strength = kind === K_TUNNEL || kind === K_TRANSPORT ? 'strong' : kind === K_ROUTING ? 'weak' : 'medium';
    (out ??= []).push({
      source: 'ah', protocol: 'ipsec', strength, rule, packet: i, offset: 0,
      reason: `packet ${i}: AH header, next header ${nh}, payload length ${u8(f, i, 1)} → AH ${a} bytes (ICV ${a - AH_FIXED_LEN}), reserved 0, SPI 0x${hex32(u32be(f, i, 4))}, sequence ${u32be(f, i, 8)}; ${KIND_TEXT[kind]}: ${innerText(f, i, a, nh)}`,
    });
    return out;
  },
};

function innerText(f: FlowView, i: number, a: number, nh: number): string {
  const rest = f.len(i) - a;
  switch (nh) {
    case NH_IPV4: return `inner IPv4 total length ${u16be(f, i, a + 2)} == ${rest} bytes after AH`;
    case NH_IPV6: return `inner IPv6 payload length ${u16be(f, i, a + 4)} + 40 == ${rest} bytes after AH`;
    case IPPROTO_ESP: return `inner ESP SPI 0x${hex32(u32be(f, i, a))}`;
    case IPPROTO_UDP: return `inner UDP length ${u16be(f, i, a + 4)} == ${rest} bytes after AH, ports ${u16be(f, i, a)}→${u16be(f, i, a + 2)}`;
    case IPPROTO_TCP: return `inner TCP data offset ${u8(f, i, a + 12) >> 4} words within ${rest} bytes, ports ${u16be(f, i, a)}→${u16be(f, i, a + 2)}`;
    case IPPROTO_ICMP: return `inner ICMP type ${u8(f, i, a)}, checksum over ${rest} bytes correct`;
    case IPPROTO_ICMPV6: return `inner ICMPv6 type ${u8(f, i, a)}, ${rest} bytes`;
    default: return `${rest} bytes after AH`;
  }
}
