/**
 * IPv4 (RFC 791), IPv6 with extension headers (RFC 8200) and the transport header (TCP, UDP, SCTP ports; ESP
 * SPI; TCP flags) into a PacketView. Returns a reason code (0 = ok), never throws, never allocates.
 *
 * Length rules: the IP header's length bounds the packet (Ethernet padding and trailing FCS are ignored);
 * the capture bounds what can be read (`payloadLen` may be below `payloadWireLen` after a snaplen cut). A
 * zero IPv4 total length / IPv6 payload length (segmentation offload, jumbograms) means "as captured".
 */
import { u16be, u32be } from './bytes.js';
import {
  OK,
  R_IP_BAD_VERSION,
  R_IPV4_BAD_IHL,
  R_IPV4_BAD_TOTAL_LENGTH,
  R_IPV4_TRUNCATED,
  R_IPV6_BAD_EXT_HEADER,
  R_IPV6_TRUNCATED,
  R_TCP_BAD_DATA_OFFSET,
  R_TRUNCATED_L4,
} from './decode-reasons.js';
import type { PacketView } from './types.js';

const IPV4_MIN_HEADER = 20;
const IPV6_HEADER = 40;
const IPV4_MF = 0x2000;
const IPV4_OFFSET_MASK = 0x1fff;
const TCP_MIN_HEADER = 20;
/**
 * Captured TCP header bytes the decoder needs: ports, data offset and flags end at byte 14 (window, checksum and
 * urgent pointer are not read). An IPv6 packet in a 68-byte capture (tcpdump's old default snap length) has 14.
 */
const TCP_READ_BYTES = 14;
const UDP_HEADER = 8;
const SCTP_COMMON_HEADER = 12;
/** UDP and SCTP: the ports are all the decoder reads of a header the capture cut. */
const PORTS_BYTES = 4;
const ESP_SPI_LEN = 4;

const NH_HOPOPTS = 0;
const NH_ROUTING = 43;
const NH_FRAGMENT = 44;
const NH_DSTOPTS = 60;
const NH_MOBILITY = 135;
const NH_HIP = 139;
const NH_SHIM6 = 140;
const IPV6_FRAG_HEADER = 8;
/** Extension headers followed before giving up (each is >= 8 bytes, so the loop is bounded anyway). */
const MAX_EXT_HEADERS = 16;

const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_ESP = 50;
const PROTO_SCTP = 132;

/** Decode the IP packet at `off` (bytes up to `end` are captured). */
export function ipToView(out: PacketView, b: Uint8Array, off: number, end: number): number {
  if (end - off < 1) return R_IPV4_TRUNCATED;
  const v = b[off]! >> 4;
  if (v === 4) return ipv4(out, b, off, end);
  if (v === 6) return ipv6(out, b, off, end);
  return R_IP_BAD_VERSION;
}

function ipv4(out: PacketView, b: Uint8Array, off: number, end: number): number {
  if (end - off < IPV4_MIN_HEADER) return R_IPV4_TRUNCATED;
  const ihl = (b[off]! & 0x0f) << 2;
  if (ihl < IPV4_MIN_HEADER) return R_IPV4_BAD_IHL;
  if (ihl > end - off) return R_IPV4_TRUNCATED; // options cut by the snap length
  let total = u16be(b, off + 2);
  if (total === 0) total = end - off;
  else if (total < ihl) return R_IPV4_BAD_TOTAL_LENGTH;
  const ipEnd = total < end - off ? off + total : end;
  out.ipVersion = 4;
  out.l3Off = off;
  out.srcOff = off + 12;
  out.dstOff = off + 16;
  // Addresses spelled out rather than u32be(): a word ≥ 2^30 returned from a call V8 did not inline is boxed in a
  // heap number, and whether it inlines varies between runs (seen on Node 22: one box per packet in some processes).
  out.src4 = ((b[off + 12]! << 24) | (b[off + 13]! << 16) | (b[off + 14]! << 8) | b[off + 15]!) >>> 0;
  out.dst4 = ((b[off + 16]! << 24) | (b[off + 17]! << 16) | (b[off + 18]! << 8) | b[off + 19]!) >>> 0;
  const frag = u16be(b, off + 6);
  const fragOffset = (frag & IPV4_OFFSET_MASK) << 3;
  const mf = (frag & IPV4_MF) !== 0;
  out.fragOffset = fragOffset;
  out.moreFragments = mf;
  out.isFragment = mf || fragOffset > 0;
  out.fragId = u16be(b, off + 4);
  out.fragDataOff = out.isFragment ? off + ihl : 0;
  out.fragDataLen = out.isFragment ? total - ihl : 0;
  return transport(out, b, b[off + 9]!, off + ihl, ipEnd, total - ihl);
}

function ipv6(out: PacketView, b: Uint8Array, off: number, end: number): number {
  if (end - off < IPV6_HEADER) return R_IPV6_TRUNCATED;
  let plen = u16be(b, off + 4);
  if (plen === 0) plen = end - off - IPV6_HEADER;
  const ipEnd = plen < end - off - IPV6_HEADER ? off + IPV6_HEADER + plen : end;
  out.ipVersion = 6;
  out.l3Off = off;
  out.srcOff = off + 8;
  out.dstOff = off + 24;
  out.src4 = 0;
  out.dst4 = 0;
  out.isFragment = false;
  out.fragOffset = 0;
  out.moreFragments = false;
  out.fragId = 0;
  out.fragDataOff = 0;
  out.fragDataLen = 0;
  let nh = b[off + 6]!;
  let p = off + IPV6_HEADER;
  let wire = plen;
  for (let i = 0; i < MAX_EXT_HEADERS; i++) {
    if (nh === NH_HOPOPTS || nh === NH_ROUTING || nh === NH_DSTOPTS || nh === NH_MOBILITY || nh === NH_HIP || nh === NH_SHIM6) {
      if (ipEnd - p < 8) return R_IPV6_TRUNCATED;
      const len = (b[p + 1]! + 1) << 3;
      if (len > wire) return R_IPV6_BAD_EXT_HEADER;
      if (len > ipEnd - p) return R_IPV6_TRUNCATED;
      nh = b[p]!;
      p += len;
      wire -= len;
    } else if (nh === NH_FRAGMENT) {
      if (ipEnd - p < IPV6_FRAG_HEADER) return R_IPV6_TRUNCATED;
      if (wire < IPV6_FRAG_HEADER) return R_IPV6_BAD_EXT_HEADER;
      const fo = u16be(b, p + 2);
      out.fragOffset = fo & 0xfff8;
      out.moreFragments = (fo & 1) !== 0;
      // RFC 6946: an "atomic" fragment (offset 0, no more fragments) is a whole packet.
      out.isFragment = out.fragOffset > 0 || out.moreFragments;
      out.fragId = u32be(b, p + 4);
      nh = b[p]!;
      p += IPV6_FRAG_HEADER;
      wire -= IPV6_FRAG_HEADER;
      if (out.isFragment) {
        out.fragDataOff = p;
        out.fragDataLen = wire;
      }
      if (out.fragOffset > 0) break; // the next header's bytes are in the first fragment, not here
    } else break;
  }
  return transport(out, b, nh, p, ipEnd, wire);
}

/**
 * Transport header at `p`; bytes to `ipEnd` are captured, `wire` is the IP payload length from the header.
 * AH (51) is reported as the transport itself (payload at the AH header): an AH-protected flow is an AH flow.
 */
function transport(out: PacketView, b: Uint8Array, proto: number, p: number, ipEnd: number, wire: number): number {
  out.proto = proto;
  out.srcPort = 0;
  out.dstPort = 0;
  out.spi = 0;
  out.tcpFlags = 0;
  const avail = ipEnd - p;
  if (out.fragOffset === 0) {
    if (proto === PROTO_TCP) {
      if (avail < TCP_READ_BYTES || wire < TCP_MIN_HEADER) return R_TRUNCATED_L4;
      const doff = (b[p + 12]! >> 4) << 2;
      if (doff < TCP_MIN_HEADER || doff > wire) return R_TCP_BAD_DATA_OFFSET;
      out.srcPort = u16be(b, p);
      out.dstPort = u16be(b, p + 2);
      out.tcpFlags = b[p + 13]!;
      const po = doff < avail ? p + doff : ipEnd; // header or options cut by the snap length: empty payload
      out.payloadOff = po;
      out.payloadLen = ipEnd - po;
      out.payloadWireLen = wire - doff;
      return OK;
    }
    if (proto === PROTO_UDP || proto === PROTO_SCTP) {
      // Both start with source and destination ports; only the fixed header length differs.
      const hl = proto === PROTO_UDP ? UDP_HEADER : SCTP_COMMON_HEADER;
      // A header shorter on the wire is malformed; one the capture cut after the ports still names the flow.
      if (avail < PORTS_BYTES || wire < hl) return R_TRUNCATED_L4;
      out.srcPort = u16be(b, p);
      out.dstPort = u16be(b, p + 2);
      out.payloadOff = avail < hl ? ipEnd : p + hl;
      out.payloadLen = avail < hl ? 0 : avail - hl;
      out.payloadWireLen = wire - hl;
      return OK;
    }
    if (proto === PROTO_ESP) {
      if (avail < ESP_SPI_LEN) return R_TRUNCATED_L4;
      // Spelled out like the addresses: most SPIs are ≥ 2^30.
      out.spi = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
    }
  }
  // Portless transports and non-first fragments: the payload is the IP payload.
  out.payloadOff = p;
  out.payloadLen = avail;
  out.payloadWireLen = wire;
  return OK;
}
