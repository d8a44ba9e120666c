/**
 * SoftEther VPN's own cleartext traffic (spec: parts/1-udp-vpns.md §SoftEther VPN; SoftEther Mayaqua/Pack.c).
 *
 * Owns: the Pack serialisation walk (element count, name length + 1, type 0–4, value count, sized values, walk
 * ending exactly at the payload end), the NAT-traversal helper's one-byte query (`41` from the R-UDP stack, `42`
 * from a UDP acceleration socket: Cedar/UdpAccel.c UdpAccelPoll) and its exact `IP=<dotted quad>,PORT=<decimal>`
 * answer, and the plain-HTTP DDNS POST. The native session runs inside TLS and
 * belongs to the TLS/SNI detector; SoftEther's OpenVPN/SSTP/L2TP listeners belong to those detectors.
 * Must never: accept a partial Pack walk, a lone `41`/`42` byte, or port 5004/5555/992 alone.
 *
 * Every rule reads only the newest packet in full, plus byte 0 and the length of earlier packets.
 */
import { DIR_FWD, IPPROTO_TCP, IPPROTO_UDP, u8, u32be, type Detector, type Evidence, type FlowView } from './types.js';

const PACK_MAX_ELEMENTS = 4096;
const PACK_MAX_VALUES = 65536;
const PACK_NAME_MIN = 2, PACK_NAME_MAX = 64; // stored as name length + 1
const PACK_TYPE_INT = 0, PACK_TYPE_DATA = 1, PACK_TYPE_STR = 2, PACK_TYPE_USTR = 3, PACK_TYPE_INT64 = 4;
// The NAT-T server's address query, one byte: 'A' from the R-UDP stack (Mayaqua/Network.c), 'B' from a UDP
// acceleration socket (Cedar/UdpAccel.c); both read the same `IP=…,PORT=…` answer (RUDPParseIPAndPortStr).
const NATT_QUERY_RUDP = 0x41, NATT_QUERY_ACCEL = 0x42;
function isNattQuery(f: FlowView, j: number): boolean {
  if (f.len(j) !== 1) return false;
  const b = u8(f, j, 0);
  return b === NATT_QUERY_RUDP || b === NATT_QUERY_ACCEL;
}

function isPackNameChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2e || c === 0x2d;
}

/**
 * Walks a Pack in packet i over [s, e). Returns the element count when the walk consumes exactly [s, e), else -1.
 * Bounded: every step consumes ≥ 4 bytes.
 */
export function walkPack(f: FlowView, i: number, s: number, e: number): number {
  if (e > f.avail(i)) return -1;
  const n = u32be(f, i, s);
  if (n < 1 || n > PACK_MAX_ELEMENTS) return -1;
  let k = s + 4;
  for (let el = 0; el < n; el++) {
    const nl = u32be(f, i, k);
    if (nl < PACK_NAME_MIN || nl > PACK_NAME_MAX || k + 4 + nl - 1 > e) return -1;
    for (let q = 0; q < nl - 1; q++) if (!isPackNameChar(u8(f, i, k + 4 + q))) return -1;
    k += 4 + nl - 1;
    const type = u32be(f, i, k), count = u32be(f, i, k + 4);
    if (type < 0 || type > PACK_TYPE_INT64 || count < 1 || count > PACK_MAX_VALUES) return -1;
    k += 8;
    for (let v = 0; v < count; v++) {
      if (type === PACK_TYPE_INT) k += 4;
      else if (type === PACK_TYPE_INT64) k += 8;
      else {
        const sz = u32be(f, i, k);
        if (sz < 0 || (type !== PACK_TYPE_DATA && type !== PACK_TYPE_STR && type !== PACK_TYPE_USTR)) return -1;
        k += 4 + sz;
      }
      if (k > e) return -1;
    }
  }
  return k === e ? n : -1;
}

/** Parses `IP=a.b.c.d,PORT=n` filling packet i exactly; returns the port, or -1. */
function parseNattReply(f: FlowView, i: number): number {
  const e = f.len(i);
  if (e > f.avail(i) || e < 16 || e > 40) return -1;
  if (u8(f, i, 0) !== 0x49 || u8(f, i, 1) !== 0x50 || u8(f, i, 2) !== 0x3d) return -1; // "IP="
  let k = 3;
  for (let oct = 0; oct < 4; oct++) {
    let v = 0, nd = 0;
    for (let c = u8(f, i, k); c >= 0x30 && c <= 0x39; c = u8(f, i, ++k)) {
      v = v * 10 + (c - 0x30);
      if (++nd > 3) return -1;
    }
    if (nd === 0 || v > 255) return -1;
    if (oct < 3) {
      if (u8(f, i, k) !== 0x2e) return -1;
      k++;
    }
  }
  // ",PORT="
  if (u8(f, i, k) !== 0x2c || u8(f, i, k + 1) !== 0x50 || u8(f, i, k + 2) !== 0x4f || u8(f, i, k + 3) !== 0x52 ||
    u8(f, i, k + 4) !== 0x54 || u8(f, i, k + 5) !== 0x3d) return -1;
  k += 6;
  let port = 0, nd = 0;
  for (let c = u8(f, i, k); c >= 0x30 && c <= 0x39; c = u8(f, i, ++k)) {
    port = port * 10 + (c - 0x30);
    if (++nd > 5) return -1;
  }
  if (nd === 0 || port < 1 || port > 65535 || k !== e) return -1;
  return port;
}

const DDNS_PREFIX = 'POST /ddns/ddns.aspx';
const DDNS_HOST = 'softether-network.net';

function startsWithAscii(f: FlowView, i: number, k: number, s: string): boolean {
  for (let q = 0; q < s.length; q++) if (u8(f, i, k + q) !== s.charCodeAt(q)) return false;
  return true;
}
/** Offset of `s` in packet i within [from, to), or -1 (lower-case compare on the packet side for ASCII letters). */
function indexOfAscii(f: FlowView, i: number, from: number, to: number, s: string): number {
  outer: for (let k = from; k + s.length <= to; k++) {
    for (let q = 0; q < s.length; q++) {
      let c = u8(f, i, k + q);
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      if (c !== s.charCodeAt(q)) continue outer;
    }
    return k;
  }
  return -1;
}

export const softether: Detector = {
  id: 'softether',
  transports: [IPPROTO_UDP, IPPROTO_TCP],
  carriers: ['http'],
  maxPackets: 8,
  rules: {
    'softether.pack': 'UDP payload that is one complete SoftEther Pack (≥2 elements; names, types 0-4, counts and sizes walk exactly to the last byte)',
    'softether.natt-echo': 'one-byte 41 ("A") or 42 ("B") NAT-traversal query answered by "IP=<dotted quad>,PORT=<n>" whose port equals the querying side\'s port',
    'softether.natt-reply': 'exact "IP=<dotted quad>,PORT=<n>" NAT-traversal reply (no query seen or port rewritten by NAT)',
    'softether.ddns': 'plain-HTTP "POST /ddns/ddns.aspx" to a softether-network.net host (strong when the body is a complete Pack)',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    const d = f.dir(i), len = f.len(i);
    if (f.transport === IPPROTO_UDP) {
      const b0 = u8(f, i, 0);
      if (b0 === 0) {
        const n = walkPack(f, i, 0, len);
        if (n < 2 || earlierPackStart(f, i)) return null; // one item per flow: the first Pack
        return [
          {
            source: 'softether', protocol: 'softether', strength: 'strong', rule: 'softether.pack', packet: i, offset: 0,
            reason: `packet ${i}${d === DIR_FWD ? '' : ' (reverse)'}: ${len}-byte SoftEther Pack, ${n} elements walked (name length, type 0-4, value count, sizes) ending exactly at the last byte`,
          },
        ];
      }
      if (b0 !== 0x49) return null;
      const port = parseNattReply(f, i);
      if (port < 0) return null;
      let q = -1;
      for (let j = i - 1; j >= 0; j--) if (f.dir(j) !== d && isNattQuery(f, j)) { q = j; break; }
      const queryPort = q < 0 ? -1 : f.dir(q) === DIR_FWD ? f.srcPort : f.dstPort;
      const echo = q >= 0 && port === queryPort;
      if (!firstReply(f, i)) return null;
      return [
        {
          source: 'softether', protocol: 'softether', strength: echo ? 'strong' : 'medium', rule: echo ? 'softether.natt-echo' : 'softether.natt-reply',
          packet: i, offset: 0,
          reason: echo
            ? `packet ${q}: one-byte NAT-traversal query ${u8(f, q, 0).toString(16)}; packet ${i}: reply "${text(f, i, len)}" whose PORT equals the querying side's UDP port ${queryPort}`
            : `packet ${i}: exact NAT-traversal reply "${text(f, i, len)}"${q >= 0 ? ` to the query at packet ${q} (port differs: NAT)` : ''}`,
        },
      ];
    }
    // TCP: DDNS registration over plain HTTP.
    if (!startsWithAscii(f, i, 0, DDNS_PREFIX)) return null;
    const hdrEnd = indexOfAscii(f, i, 0, f.avail(i), '\r\n\r\n');
    const host = indexOfAscii(f, i, 0, hdrEnd < 0 ? f.avail(i) : hdrEnd, '\r\nhost:');
    if (host < 0) return null;
    const lineEnd = indexOfAscii(f, i, host + 7, f.avail(i), '\r\n');
    if (indexOfAscii(f, i, host + 7, lineEnd < 0 ? f.avail(i) : lineEnd, DDNS_HOST) < 0) return null;
    const n = hdrEnd >= 0 && hdrEnd + 4 < len ? walkPack(f, i, hdrEnd + 4, len) : -1;
    return [
      {
        source: 'softether', protocol: 'softether', strength: n >= 1 ? 'strong' : 'medium', rule: 'softether.ddns', packet: i, offset: 0,
        reason: `packet ${i}: HTTP "POST /ddns/ddns.aspx" with a Host under ${DDNS_HOST}${n >= 1 ? `, body a complete ${n}-element Pack` : ''} (SoftEther dynamic-DNS client)`,
      },
    ];
  },
  /**
   * UDP: the NAT-traversal helper's datagrams are a one-byte query (`41` or `42`), an `IP=` reply or a Pack (whose
   * element count ≤ 4096 starts with a zero byte); UDP acceleration is encrypted and no rule reads it. Anything
   * else excludes the flow. TCP: never excluded.
   */
  excludes(f: FlowView): boolean {
    if (f.transport !== IPPROTO_UDP) return false;
    const i = f.nPackets - 1;
    const b0 = u8(f, i, 0);
    if (b0 < 0 || b0 === 0 || b0 === 0x49) return false;
    return !isNattQuery(f, i);
  },
};

/**
 * An earlier packet whose kept prefix starts like a Pack (count 1–4096, first name length 2–64, name characters
 * valid as far as kept). Earlier packets expose only ~48 bytes, so the exact walk is not repeatable on them.
 */
function earlierPackStart(f: FlowView, before: number): boolean {
  for (let j = 0; j < before; j++) {
    const n = u32be(f, j, 0), nl = u32be(f, j, 4);
    if (n < 1 || n > PACK_MAX_ELEMENTS || nl < PACK_NAME_MIN || nl > PACK_NAME_MAX) continue;
    let ok = true;
    for (let q = 0; q < nl - 1 && 8 + q < f.avail(j); q++) if (!isPackNameChar(u8(f, j, 8 + q))) { ok = false; break; }
    if (ok) return true;
  }
  return false;
}

function firstReply(f: FlowView, i: number): boolean {
  for (let j = 0; j < i; j++) if (u8(f, j, 0) === 0x49 && u8(f, j, 1) === 0x50 && u8(f, j, 2) === 0x3d) return false;
  return true;
}
function text(f: FlowView, i: number, n: number): string {
  let s = '';
  for (let k = 0; k < n; k++) s += String.fromCharCode(u8(f, i, k));
  return s;
}
