/**
 * Server certificate names in TLS ≤ 1.2 (spec: parts/3-tls-quic-sslvpn.md §ServerHello "TLS ≤ 1.2: the
 * Certificate message … is in clear"; RFC 5246 §7.4.2; X.509 RFC 5280 §4.1).
 *
 * Owns: finding a Certificate handshake message (type `0b`) in a server payload made of handshake records, and
 * reading the subject CN / O / OU and the subjectAltName dNSName entries (RFC 5280 §4.2.1.6) of the first (leaf)
 * certificate with a minimal DER walk. `parseServerCertificate` uses the bytes of one payload; a leaf cut by the
 * segment end still yields its subject (which sits early in the certificate) but no SAN (which sits in the
 * extensions at its end, and is read only when the extension is whole). cert-stream.ts joins a leaf that spans
 * segments and calls {@link leafNames} on it. Must never: throw, trust a DER length without bounds checks, or be
 * used on TLS 1.3 (its Certificate is encrypted; such payloads simply do not parse).
 */

import { scratchText, TEXT_MAX, TEXT_SCRATCH } from '../../text.js';

export interface CertNames {
  /** Subject commonName, lower case when it is a host name; null when absent. */
  cn: string | null;
  /** Subject organizationName. */
  o: string | null;
  /** Subject organizationalUnitName (e.g. `FortiGate`). */
  ou: string | null;
  /**
   * subjectAltName dNSName entries in certificate order, lower case: host names (letters, digits, `-`, dots; labels
   * 1–63, name ≤ 253) or a wildcard whose `*` is the whole left-most label with ≥ 2 labels after it (RFC 6125
   * §6.4.3). Other entries (IP addresses, e-mail, URIs, malformed names) are skipped; at most {@link CERT_MAX_SAN}.
   * Empty when the certificate has none or its extensions are not whole in the bytes read.
   */
  san: string[];
}

/** dNSName entries kept per certificate (a multi-domain certificate may list hundreds; evidence stays bounded). */
export const CERT_MAX_SAN = 8;

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

/** id-ce-subjectAltName, 2.5.29.17: the OID's content bytes. */
const OID_SAN_0 = 0x55, OID_SAN_1 = 0x1d, OID_SAN_2 = 0x11;
/** GeneralName dNSName: context tag [2], IMPLICIT IA5String (primitive). */
const GN_DNS_NAME = 0x82;

/**
 * Names of a DER certificate at [p, end): subject CN/O/OU, and the subjectAltName dNSNames when the tbsCertificate's
 * extensions are whole in [p, end). Null when neither subject nor SAN yields anything.
 */
export function leafNames(b: Uint8Array, p: number, end: number): CertNames | null {
  const cert = tlvOpen(b, p, end, 0x30);
  if (!cert) return null;
  const tbs = tlvOpen(b, cert[0], cert[1], 0x30);
  if (!tbs) return null;
  let q = tbs[0];
  if (q < tbs[1] && b[q] === 0xa0) q = skip(b, q, tbs[1]); // [0] version
  for (let k = 0; k < 4 && q >= 0; k++) q = skip(b, q, tbs[1]); // serial, signature, issuer, validity
  if (q < 0) return null;
  const subj = tlv(b, q, tbs[1], 0x30);
  if (!subj) return null;
  const out: CertNames = { cn: null, o: null, ou: null, san: [] };
  if (!readName(b, subj[0], subj[1], out)) return null;
  readSan(b, subj[1], tbs[1], out);
  return out.cn === null && out.o === null && out.ou === null && out.san.length === 0 ? null : out;
}

/**
 * subjectAltName dNSNames from the tbsCertificate fields after the subject, `[q, end)` (RFC 5280 §4.1):
 * subjectPublicKeyInfo, optional issuerUniqueID [1] and subjectUniqueID [2], then extensions [3] EXPLICIT
 * SEQUENCE OF Extension { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. Every element must be
 * whole: a cut certificate gives no SAN rather than a partial list (or a name cut short).
 */
function readSan(b: Uint8Array, q: number, end: number, out: CertNames): void {
  q = skip(b, q, end); // subjectPublicKeyInfo
  if (q < 0) return;
  if (q < end && b[q] === 0x81) q = skip(b, q, end); // issuerUniqueID [1] IMPLICIT BIT STRING
  if (q >= 0 && q < end && b[q] === 0x82) q = skip(b, q, end); // subjectUniqueID [2]
  if (q < 0) return;
  const exts = tlv(b, q, end, 0xa3);
  if (!exts) return;
  const list = tlv(b, exts[0], exts[1], 0x30);
  if (!list) return;
  for (let e = list[0]; e < list[1]; ) {
    const ext = tlv(b, e, list[1], 0x30);
    if (!ext) return;
    e = ext[1];
    const oid = tlv(b, ext[0], ext[1], 0x06);
    if (!oid || oid[1] - oid[0] !== 3 || b[oid[0]] !== OID_SAN_0 || b[oid[0] + 1] !== OID_SAN_1 || b[oid[0] + 2] !== OID_SAN_2) continue;
    let v = oid[1];
    if (v < ext[1] && b[v] === 0x01) v = skip(b, v, ext[1]); // critical
    if (v < 0) return;
    const octets = tlv(b, v, ext[1], 0x04);
    if (!octets) return;
    const names = tlv(b, octets[0], octets[1], 0x30); // GeneralNames
    if (!names) return;
    for (let g = names[0]; g < names[1] && out.san.length < CERT_MAX_SAN; ) {
      const next = skip(b, g, names[1]);
      if (next < 0) return;
      if (b[g] === GN_DNS_NAME) {
        const l = derLen(b, g + 1, names[1]);
        const name = l ? dnsNameText(b, l[1], next) : null;
        if (name !== null) out.san.push(name);
      }
      g = next;
    }
    return; // RFC 5280 §4.2: one instance per extension; a second one is not read
  }
}

/**
 * A dNSName's bytes `b[p, end)` as a lower-case host name, or null when it is not one: letters, digits and `-`
 * (not at a label's ends), labels of 1–63 bytes, at most 253 bytes, the last label not all digits (an address
 * written as a name). RFC 6125 §6.4.3 wildcards are kept only in the one form it defines for matching — the whole
 * left-most label is `*`, followed by at least two labels (`*.example.org`; not `f*.example.org`, `*.org`, `a.*.org`).
 */
function dnsNameText(b: Uint8Array, p: number, end: number): string | null {
  const n = end - p;
  if (n < 1 || n > 253) return null;
  const wild = n > 2 && b[p] === 0x2a && b[p + 1] === 0x2e;
  const from = wild ? p + 2 : p;
  let labels = 0, start = from, digitsOnly = true;
  for (let k = from; k <= end; k++) {
    const c = k < end ? b[k]! : 0x2e;
    if (c === 0x2e) {
      const len = k - start;
      if (len < 1 || len > 63 || b[start] === 0x2d || b[k - 1] === 0x2d) return null;
      if (k === end && digitsOnly) return null;
      labels++;
      start = k + 1;
      digitsOnly = true;
      continue;
    }
    if (c >= 0x30 && c <= 0x39) continue;
    digitsOnly = false;
    const lower = c | 0x20;
    if (!(lower >= 0x61 && lower <= 0x7a) && c !== 0x2d) return null;
  }
  if (wild && labels < 2) return null;
  for (let k = 0; k < n; k++) {
    const c = b[p + k]!;
    TEXT_SCRATCH[k] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
  }
  return scratchText(n);
}

/**
 * Leaf-certificate names from a server payload `b[start, end)` that starts with TLS handshake records
 * (ServerHello, Certificate, …). Null when no Certificate message starts in this payload; the subject of a leaf cut
 * by the payload's end is read, its SAN is not (see cert-stream.ts for a leaf spread over segments).
 */
export function parseServerCertificate(b: Uint8Array, start: number, end: number): CertNames | null {
  if (end - start < 5 || b[start] !== 0x16 || b[start + 1] !== 0x03) return null;
  const next = start + 5 + ((b[start + 3]! << 8) | b[start + 4]!);
  // Usually this payload's handshake bytes are one record (TLS 1.3: the ServerHello, then ChangeCipherSpec): walk
  // them where they lie. A message may span records (RFC 5246 §6.2.1), so several handshake records are joined
  // first — byte by byte into a scratch buffer: this runs on every server's first segment, and allocates nothing.
  if (!(next + 5 <= end && b[next] === 0x16 && b[next + 1] === 0x03)) return leafFromHandshake(b, start + 5, Math.min(end, next));
  let n = 0;
  let o = start;
  while (o + 5 <= end && b[o] === 0x16 && b[o + 1] === 0x03 && n < MAX_BUF) {
    const rl = (b[o + 3]! << 8) | b[o + 4]!;
    const take = Math.min(rl, end - o - 5, MAX_BUF - n);
    for (let k = 0; k < take; k++) JOINED[n + k] = b[o + 5 + k]!;
    n += take;
    o += 5 + rl;
  }
  const names = leafFromHandshake(JOINED, 0, n);
  JOINED.fill(0, 0, n); // payload bytes: kept no longer than this call (results are strings)
  return names;
}

/** The leaf certificate's names from the handshake messages at `hs[from, to)` (ServerHello, Certificate, …). */
function leafFromHandshake(hs: Uint8Array, from: number, to: number): CertNames | null {
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
      return leafNames(hs, p + 10, Math.min(to, p + 10 + certLen));
    }
    if (type !== 0x02 && type !== 0x0b) return null; // only ServerHello may precede the Certificate
    p += 4 + len;
  }
  return null;
}
