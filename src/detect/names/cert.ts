/**
 * Server certificate names in TLS ≤ 1.2 (spec: parts/3-tls-quic-sslvpn.md §ServerHello "TLS ≤ 1.2: the
 * Certificate message … is in clear"; RFC 5246 §7.4.2; X.509 RFC 5280 §4.1).
 *
 * Owns: finding a Certificate handshake message (type `0b`) in a server payload made of handshake records, and
 * reading the subject CN / O / OU of the first (leaf) certificate with a minimal DER walk. Only the bytes of one
 * payload are used: the leaf certificate must be complete in it (the rest of the chain may follow later); a
 * leaf cut by the segment end yields null. Must never: throw, trust a DER length
 * without bounds checks, or be used on TLS 1.3 (its Certificate is encrypted; such payloads simply do not parse).
 */

import { scratchText, TEXT_MAX, TEXT_SCRATCH } from '../../text.js';

export interface CertNames {
  /** Subject commonName, lower case when it is a host name; null when absent. */
  cn: string | null;
  /** Subject organizationName. */
  o: string | null;
  /** Subject organizationalUnitName (e.g. `FortiGate`). */
  ou: string | null;
}

const HS_CERTIFICATE = 0x0b;
const MAX_BUF = 65536;
/** Handshake records joined (see parseServerCertificate); callers never keep it: results are strings. */
const JOINED = new Uint8Array(MAX_BUF);

function derLen(b: Uint8Array, p: number, end: number): [number, number] | null {
  if (p >= end) return null;
  const first = b[p]!;
  if (first < 0x80) return [first, p + 1];
  const n = first & 0x7f;
  if (n === 0 || n > 3 || p + 1 + n > end) return null;
  let v = 0;
  for (let k = 0; k < n; k++) v = (v << 8) | b[p + 1 + k]!;
  return [v, p + 1 + n];
}

/** Returns [contentStart, contentEnd] of the TLV at p with the given tag, or null. */
function tlv(b: Uint8Array, p: number, end: number, tag: number): [number, number] | null {
  if (p >= end || b[p] !== tag) return null;
  const l = derLen(b, p + 1, end);
  if (!l || l[1] + l[0] > end) return null;
  return [l[1], l[1] + l[0]];
}

/**
 * Like tlv() for an outer container whose end may lie beyond the bytes present (a certificate cut by the
 * segment end): content start and the end clamped to what is present. The subject sits early in the
 * certificate (before the key and extensions), so it is usually whole even when the certificate is not.
 */
function tlvOpen(b: Uint8Array, p: number, end: number, tag: number): [number, number] | null {
  if (p >= end || b[p] !== tag) return null;
  const l = derLen(b, p + 1, end);
  if (!l) return null;
  return [l[1], Math.min(end, l[1] + l[0])];
}

function skip(b: Uint8Array, p: number, end: number): number {
  if (p >= end) return -1;
  const l = derLen(b, p + 1, end);
  if (!l || l[1] + l[0] > end) return -1;
  return l[1] + l[0];
}

/**
 * A certificate string as printable ASCII (anything else shows as `?`): it ends up in evidence text. Cut at
 * TEXT_MAX characters (no name or organisation is that long; evidence stays bounded).
 */
function text(b: Uint8Array, p: number, end: number): string {
  const n = Math.min(end - p, TEXT_MAX);
  for (let k = 0; k < n; k++) {
    const c = b[p + k]!;
    TEXT_SCRATCH[k] = c >= 0x20 && c < 0x7f ? c : 0x3f;
  }
  return n > 0 ? scratchText(n) : '';
}

/** Subject names from a DER Name (SEQUENCE OF SET OF AttributeTypeAndValue). */
function readName(b: Uint8Array, p: number, end: number, out: CertNames): boolean {
  while (p < end) {
    const set = tlv(b, p, end, 0x31);
    if (!set) return false;
    let q = set[0];
    while (q < set[1]) {
      const atv = tlv(b, q, set[1], 0x30);
      if (!atv) return false;
      const oid = tlv(b, atv[0], atv[1], 0x06);
      if (!oid) return false;
      const vEnd = skip(b, oid[1], atv[1]);
      if (vEnd < 0) return false;
      const vl = derLen(b, oid[1] + 1, atv[1]);
      if (!vl) return false;
      // id-at (2.5.4.x) = 55 04 x
      if (oid[1] - oid[0] === 3 && b[oid[0]] === 0x55 && b[oid[0] + 1] === 0x04) {
        const which = b[oid[0] + 2];
        const v = text(b, vl[1], vEnd);
        if (which === 3 && out.cn === null) out.cn = v.toLowerCase();
        else if (which === 10 && out.o === null) out.o = v;
        else if (which === 11 && out.ou === null) out.ou = v;
      }
      q = atv[1];
    }
    p = set[1];
  }
  return true;
}

/** Subject of a DER certificate at [p, end). */
function subjectOf(b: Uint8Array, p: number, end: number): CertNames | null {
  const cert = tlvOpen(b, p, end, 0x30);
  if (!cert) return null;
  const tbs = tlvOpen(b, cert[0], cert[1], 0x30);
  if (!tbs) return null;
  let q = tbs[0];
  if (b[q] === 0xa0) q = skip(b, q, tbs[1]); // [0] version
  for (let k = 0; k < 4 && q >= 0; k++) q = skip(b, q, tbs[1]); // serial, signature, issuer, validity
  if (q < 0) return null;
  const subj = tlv(b, q, tbs[1], 0x30);
  if (!subj) return null;
  const out: CertNames = { cn: null, o: null, ou: null };
  if (!readName(b, subj[0], subj[1], out)) return null;
  return out.cn === null && out.o === null && out.ou === null ? null : out;
}

/**
 * Leaf-certificate subject from a server payload `b[start, end)` that starts with TLS handshake records
 * (ServerHello, Certificate, …). Null when there is no complete Certificate message in this payload.
 */
export function parseServerCertificate(b: Uint8Array, start: number, end: number): CertNames | null {
  if (end - start < 5 || b[start] !== 0x16 || b[start + 1] !== 0x03) return null;
  const next = start + 5 + ((b[start + 3]! << 8) | b[start + 4]!);
  // Usually this payload's handshake bytes are one record (TLS 1.3: the ServerHello, then ChangeCipherSpec): walk
  // them where they lie. A message may span records (RFC 5246 §6.2.1), so several handshake records are joined
  // first — byte by byte into a scratch buffer: this runs on every server's first segment, and allocates nothing.
  if (!(next + 5 <= end && b[next] === 0x16 && b[next + 1] === 0x03)) return leafSubject(b, start + 5, Math.min(end, next));
  let n = 0;
  let o = start;
  while (o + 5 <= end && b[o] === 0x16 && b[o + 1] === 0x03 && n < MAX_BUF) {
    const rl = (b[o + 3]! << 8) | b[o + 4]!;
    const take = Math.min(rl, end - o - 5, MAX_BUF - n);
    for (let k = 0; k < take; k++) JOINED[n + k] = b[o + 5 + k]!;
    n += take;
    o += 5 + rl;
  }
  const names = leafSubject(JOINED, 0, n);
  JOINED.fill(0, 0, n); // payload bytes: kept no longer than this call (results are strings)
  return names;
}

/** The leaf certificate's subject from the handshake messages at `hs[from, to)` (ServerHello, Certificate, …). */
function leafSubject(hs: Uint8Array, from: number, to: number): CertNames | null {
  let p = from;
  while (p + 4 <= to) {
    const type = hs[p]!;
    const len = (hs[p + 1]! << 16) | (hs[p + 2]! << 8) | hs[p + 3]!;
    if (type === HS_CERTIFICATE) {
      // The chain often continues in the next segment; the leaf certificate alone is enough.
      if (len < 6 || p + 10 > to) return null;
      const listLen = (hs[p + 4]! << 16) | (hs[p + 5]! << 8) | hs[p + 6]!;
      if (listLen + 3 !== len) return null;
      const certLen = (hs[p + 7]! << 16) | (hs[p + 8]! << 8) | hs[p + 9]!;
      if (3 + certLen > listLen) return null;
      return subjectOf(hs, p + 10, Math.min(to, p + 10 + certLen));
    }
    if (type !== 0x02 && type !== 0x0b) return null; // only ServerHello may precede the Certificate
    p += 4 + len;
  }
  return null;
}
