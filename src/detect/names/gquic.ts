/**
 * Google QUIC client hello (CHLO) in clear (spec: parts/3-tls-quic-sslvpn.md §QUIC "Other versions and packets",
 * Google QUIC; Chromium gQUIC wire-format notes).
 *
 * Owns: the public header of versions Q0xx ≤ Q043 (flags, 8-byte connection id, ASCII version, packet number,
 * 12-byte message hash, private-flags byte before Q034) and of Q046 (IETF-style long header `c3`, version, `50`,
 * 8-byte DCID, 4-byte packet number, hash), the first STREAM frame on stream 1, and the CHLO tag table, from
 * which the `SNI\0` value is read. Q050 and T05x encrypt their Initials and are not handled.
 * Must never: throw, or accept a tag table whose end offsets decrease or overrun the frame.
 */
import { decodeHost } from './tls.js';

export interface GquicHello {
  /** Version number (e.g. 43 for "Q043"). */
  version: number;
  sni: string | null;
  /** Offset of the SNI value in the datagram (-1 when none). */
  sniOffset: number;
}

const CHLO = 0x43484c4f;
const TAG_SNI = 0x534e4900; // "SNI\0"
const MAX_TAGS = 128;

function asciiVersion(b: Uint8Array, p: number): number {
  if (b[p] !== 0x51 || b[p + 1] !== 0x30) return -1; // "Q0"
  const d1 = b[p + 2]! - 0x30, d2 = b[p + 3]! - 0x30;
  if (d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) return -1;
  return d1 * 10 + d2;
}

function u32le(b: Uint8Array, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/** Parses the CHLO message at p (data of the stream frame, ending at end). */
function parseChlo(b: Uint8Array, p: number, end: number, version: number): GquicHello | null {
  if (p + 8 > end) return null;
  if (((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0 !== CHLO) return null;
  const n = b[p + 4]! | (b[p + 5]! << 8);
  if (n === 0 || n > MAX_TAGS) return null;
  const table = p + 8;
  const values = table + n * 8;
  if (values > end) return null;
  let prev = 0;
  const out: GquicHello = { version, sni: null, sniOffset: -1 };
  for (let k = 0; k < n; k++) {
    const t = table + k * 8;
    const tag = ((b[t]! << 24) | (b[t + 1]! << 16) | (b[t + 2]! << 8) | b[t + 3]!) >>> 0;
    const e = u32le(b, t + 4);
    if (e < prev) return null;
    if (tag === TAG_SNI && values + e <= end) {
      out.sni = decodeHost(b, values + prev, e - prev);
      if (out.sni !== null) out.sniOffset = values + prev;
    }
    prev = e;
  }
  return out;
}

/** Reads a STREAM frame on stream 1 at p and parses the CHLO it carries. */
function streamFrame(b: Uint8Array, p: number, end: number, version: number): GquicHello | null {
  if (p >= end) return null;
  const t = b[p]!;
  if ((t & 0x80) === 0) return null; // not a STREAM frame
  const hasLen = (t & 0x20) !== 0;
  const oo = (t >> 2) & 7;
  const offLen = oo === 0 ? 0 : oo + 1;
  const sidLen = (t & 3) + 1;
  let q = p + 1;
  if (q + sidLen + offLen + (hasLen ? 2 : 0) > end) return null;
  let sid = 0;
  for (let k = 0; k < sidLen; k++) sid |= b[q + k]! << (8 * (version < 39 ? k : sidLen - 1 - k));
  if (sid !== 1) return null;
  q += sidLen + offLen;
  let dataEnd = end;
  if (hasLen) {
    const l = version < 39 ? b[q]! | (b[q + 1]! << 8) : (b[q]! << 8) | b[q + 1]!;
    q += 2;
    if (q + l > end) return null;
    dataEnd = q + l;
  }
  return parseChlo(b, q, dataEnd, version);
}

/**
 * Parses a gQUIC client packet carrying a CHLO at the start of a UDP payload. Null unless the public header,
 * the STREAM frame on stream 1 and the CHLO tag table are all consistent (spec: "strong QUIC").
 */
export function parseGquicChlo(b: Uint8Array, off: number, len: number): GquicHello | null {
  if (off < 0 || off + len > b.length || len < 40) return null;
  const end = off + len;
  const f = b[off]!;
  if (f === 0xc3) {
    const v = asciiVersion(b, off + 1);
    if (v !== 46 || b[off + 5] !== 0x50) return null;
    return streamFrame(b, off + 30, end, v);
  }
  if ((f & 0x80) !== 0 || (f & 0x09) !== 0x09) return null; // version present, 8-byte connection id
  const v = asciiVersion(b, off + 9);
  if (v < 0 || v > 43) return null;
  const pnBits = (f >> 4) & 3;
  const pnLen = pnBits === 0 ? 1 : pnBits * 2;
  let p = off + 13 + pnLen + 12; // packet number, 12-byte message authentication hash
  if (v < 34) p++; // private flags byte
  return streamFrame(b, p, end, v);
}
