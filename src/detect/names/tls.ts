/**
 * TLS ClientHello parser (spec: parts/3-tls-quic-sslvpn.md §"TLS ClientHello over TCP"; RFC 8446 §4.1.2, §4.2,
 * §5.1; RFC 6066 §3 server_name; RFC 7301 ALPN; RFC 8701 GREASE).
 *
 * Owns: the record + handshake header checks, the ClientHello body walk shared with DTLS and QUIC
 * ({@link parseHelloBody}), and the extraction of SNI, ALPN and supported_versions. Tolerant of a ClientHello
 * cut at the end of the first segment: it returns what was parsed with `complete: false` (the SNI is returned
 * only when the whole server_name extension was received). A ClientHello split over several records inside one
 * payload is reassembled into a private copy. Must never: throw, read outside `[off, off + len)`, mutate the
 * input, infer an inner name from ECH, or reject a hello because of GREASE values.
 *
 * Cost: O(ClientHello length); allocates only once the first 9 bytes look like a ClientHello.
 */

import { latin1Text, scratchText, TEXT_SCRATCH } from '../../text.js';

/** What a ClientHello (TLS, DTLS or QUIC CRYPTO) told us. Built only for bytes that look like a ClientHello. */
export interface ClientHelloInfo {
  /** legacy_version / client_version of the body (`0x0303`, `0xfefd`, `0x0100`…). */
  legacyVersion: number;
  /** server_name host name, lower case; null when absent, malformed or not fully received. */
  sni: string | null;
  /** Offset of the host name's first byte in the parsed buffer (-1 when none or reassembled from records). */
  sniOffset: number;
  /** ALPN protocol ids in offered order, GREASE removed; empty when the extension is absent. */
  alpn: string[];
  /** supported_versions list, GREASE removed; null when absent. */
  versions: number[] | null;
  /** An encrypted_client_hello (`fe 0d`) extension is present (its outer SNI is the public name). */
  hasEch: boolean;
  /** use_srtp (type 14) is offered: WebRTC DTLS-SRTP. */
  hasUseSrtp: boolean;
  /** quic_transport_parameters (type `00 39`) is present. */
  hasQuicParams: boolean;
  /** Session id length. */
  sessionIdLen: number;
  /**
   * Cipher suites offered, TLS_EMPTY_RENEGOTIATION_INFO_SCSV (`00 ff`, RFC 5746 §3.3) and GREASE values not
   * counted; -1 when the list was not received.
   */
  cipherSuites: number;
  /** DTLS cookie length (-1 for TLS/QUIC). */
  cookieLen: number;
  /** Every byte of the body was received and every length is consistent. */
  complete: boolean;
}

export const EXT_SERVER_NAME = 0x0000;
export const EXT_USE_SRTP = 0x000e;
export const EXT_ALPN = 0x0010;
export const EXT_SUPPORTED_VERSIONS = 0x002b;
export const EXT_QUIC_TRANSPORT_PARAMS = 0x0039;
export const EXT_ECH = 0xfe0d;

const TLS_HANDSHAKE = 0x16;
const HS_CLIENT_HELLO = 0x01;
const TLS_RECORD_MAX = 16384;
/** Spec budget: a ClientHello never needs more than 16 KiB. */
export const HELLO_MAX = 16384;
/** Minimum ClientHello body: version 2 + random 32 + sid 1 + suites 2+2 + compression 1+1. */
export const HELLO_MIN_BODY = 41;
const MAX_HOST = 255;

/** RFC 8701: both bytes equal, low nibble 0xa. */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

/** A ClientHello result before any field is read: the scratch's first state. */
function newInfo(): ClientHelloInfo {
  return {
    legacyVersion: 0,
    sni: null,
    sniOffset: -1,
    alpn: [],
    versions: null,
    hasEch: false,
    hasUseSrtp: false,
    hasQuicParams: false,
    sessionIdLen: 0,
    cipherSuites: -1,
    cookieLen: -1,
    complete: false,
  };
}

/**
 * The parse target every ClientHello parser reuses: a result object is made only once the body has parsed, so the
 * look-alikes that fail (a handshake record header in front of other bytes) cost no allocation.
 */
const SCRATCH: ClientHelloInfo = newInfo();
const NO_ALPN: string[] = SCRATCH.alpn;

/** {@link parseHelloBody} into the scratch; a fresh result (sharing no array with the scratch) when it parsed. */
export function parseHello(b: Uint8Array, p: number, avail: number, bodyEnd: number, kind: HelloKind, cookieLen = -1): ClientHelloInfo | null {
  const t = SCRATCH;
  t.legacyVersion = 0;
  t.sni = null;
  t.sniOffset = -1;
  t.alpn = NO_ALPN;
  t.versions = null;
  t.hasEch = false;
  t.hasUseSrtp = false;
  t.hasQuicParams = false;
  t.sessionIdLen = 0;
  t.cipherSuites = -1;
  t.cookieLen = cookieLen;
  t.complete = false;
  if (!parseHelloBody(b, p, avail, bodyEnd, kind, t)) return null;
  return { ...t, alpn: t.alpn === NO_ALPN ? [] : t.alpn };
}

/** Host-name characters of RFC 6066 §3 / RFC 1123 (underscore tolerated as in DNS). Returns lower-case code or -1. */
function hostChar(c: number): number {
  if (c >= 0x61 && c <= 0x7a) return c;
  if (c >= 0x41 && c <= 0x5a) return c | 0x20;
  if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f) return c;
  return -1;
}

/** True when `b[p, p + n)` is a valid host name (see {@link decodeHost}); allocation-free. */
export function validHostName(b: Uint8Array, p: number, n: number): boolean {
  if (n < 1 || n > MAX_HOST || p < 0 || p + n > b.length) return false;
  let prevDot = true;
  let allDigitsOrDots = true;
  for (let k = 0; k < n; k++) {
    const c = hostChar(b[p + k]!);
    if (c < 0) return false;
    if (c === 0x2e) {
      if (prevDot) return false;
      prevDot = true;
    } else {
      prevDot = false;
      if (c < 0x30 || c > 0x39) allDigitsOrDots = false;
    }
  }
  return !prevDot && !allDigitsOrDots; // trailing dot / IPv4 literal (RFC 6066 forbids literals)
}

/** Decodes a host name: lower case; null for bad characters, empty labels, a trailing dot or an IP literal. */
export function decodeHost(b: Uint8Array, p: number, n: number): string | null {
  if (!validHostName(b, p, n)) return null;
  for (let k = 0; k < n; k++) TEXT_SCRATCH[k] = hostChar(b[p + k]!);
  return scratchText(n);
}

/** True when the extension type at `q` occurs earlier in [start, q). */
function repeated(b: Uint8Array, start: number, q: number): boolean {
  const t = (b[q]! << 8) | b[q + 1]!;
  let p = start;
  while (p < q) {
    if (((b[p]! << 8) | b[p + 1]!) === t) return true;
    p += 4 + ((b[p + 2]! << 8) | b[p + 3]!);
  }
  return false;
}

/** server_name extension data at [p, p + n): returns false when its internal lengths are inconsistent. */
function parseSni(b: Uint8Array, p: number, n: number, info: ClientHelloInfo): boolean {
  if (n === 0) return true; // a server's empty acknowledgement; harmless in a ClientHello
  if (n < 5) return false;
  const list = (b[p]! << 8) | b[p + 1]!;
  if (list !== n - 2) return false;
  // Walk entries; RFC 6066 allows one per type, host_name is the only defined type.
  let q = p + 2;
  const end = p + n;
  while (q < end) {
    if (q + 3 > end) return false;
    const type = b[q]!;
    const len = (b[q + 1]! << 8) | b[q + 2]!;
    if (q + 3 + len > end) return false;
    if (type === 0 && info.sni === null) {
      info.sni = decodeHost(b, q + 3, len);
      if (info.sni !== null) info.sniOffset = q + 3;
    }
    q += 3 + len;
  }
  return true;
}

function parseAlpn(b: Uint8Array, p: number, n: number, info: ClientHelloInfo): boolean {
  if (n < 4) return false;
  const list = (b[p]! << 8) | b[p + 1]!;
  if (list !== n - 2) return false;
  const out: string[] = [];
  let q = p + 2;
  const end = p + n;
  while (q < end) {
    const len = b[q]!;
    if (len === 0 || q + 1 + len > end) return false;
    if (!(len === 2 && isGrease((b[q + 1]! << 8) | b[q + 2]!))) out.push(latin1Text(b, q + 1, len));
    q += 1 + len;
  }
  info.alpn = out;
  return true;
}

function parseVersions(b: Uint8Array, p: number, n: number, info: ClientHelloInfo): boolean {
  if (n < 3) return false;
  const list = b[p]!;
  if (list !== n - 1 || (list & 1) !== 0) return false;
  const out: number[] = [];
  for (let q = p + 1; q < p + n; q += 2) {
    const v = (b[q]! << 8) | b[q + 1]!;
    if (!isGrease(v)) out.push(v);
  }
  info.versions = out;
  return true;
}

/** Accepted body versions per framing. */
export const enum HelloKind {
  Tls = 0,
  Dtls = 1,
  Quic = 2,
}

/**
 * A DTLS version as record headers and ClientHello bodies carry it: DTLS 1.0, 1.2 (1.3 records and hellos carry
 * 1.2's), or AnyConnect's pre-standard 01 00.
 */
export function dtlsVersionOk(v: number): boolean {
  return v === 0xfeff || v === 0xfefd || v === 0x0100;
}

function versionOk(v: number, kind: HelloKind): boolean {
  if (kind === HelloKind.Dtls) return dtlsVersionOk(v);
  if (kind === HelloKind.Quic) return v === 0x0303;
  return v >= 0x0300 && v <= 0x0303;
}

/**
 * Walks a ClientHello body starting at `p` (the legacy_version field). `bodyEnd` is where the body ends
 * according to the handshake length; `avail` (≤ bodyEnd) is how far bytes were actually received. Returns
 * false when a length or fixed field is impossible (not a ClientHello); true otherwise, with `info.complete`
 * telling whether the whole body was checked.
 */
export function parseHelloBody(b: Uint8Array, p: number, avail: number, bodyEnd: number, kind: HelloKind, info: ClientHelloInfo): boolean {
  info.complete = false;
  if (p + 2 > avail) return true;
  info.legacyVersion = (b[p]! << 8) | b[p + 1]!;
  if (!versionOk(info.legacyVersion, kind)) return false;
  p += 34; // version + random
  if (p + 1 > avail) return p + 1 <= bodyEnd;
  const sid = b[p]!;
  if (sid > 32) return false;
  info.sessionIdLen = sid;
  p += 1 + sid;
  if (kind === HelloKind.Dtls) {
    if (p + 1 > avail) return p + 1 <= bodyEnd;
    const ck = b[p]!;
    info.cookieLen = ck;
    p += 1 + ck;
  }
  if (p + 2 > avail) return p + 2 <= bodyEnd;
  const cs = (b[p]! << 8) | b[p + 1]!;
  if (cs < 2 || (cs & 1) !== 0 || p + 2 + cs > bodyEnd) return false;
  if (p + 2 + cs <= avail) {
    let n = 0;
    for (let q = p + 2; q < p + 2 + cs; q += 2) {
      const v = (b[q]! << 8) | b[q + 1]!;
      if (v !== 0x00ff && !isGrease(v)) n++;
    }
    info.cipherSuites = n;
  }
  p += 2 + cs;
  if (p + 1 > avail) return p + 1 <= bodyEnd;
  const cm = b[p]!;
  if (cm < 1 || p + 1 + cm > bodyEnd) return false;
  if (p + 1 + cm <= avail) {
    let hasNull = false;
    for (let k = 0; k < cm; k++) if (b[p + 1 + k] === 0) hasNull = true;
    if (!hasNull) return false;
  }
  p += 1 + cm;
  if (p === bodyEnd) {
    // TLS ≤ 1.2 may end without extensions; TLS 1.3 and QUIC always carry some, but that is not our check.
    info.complete = avail === bodyEnd;
    return true;
  }
  if (p + 2 > avail) return p + 2 <= bodyEnd;
  const el = (b[p]! << 8) | b[p + 1]!;
  if (p + 2 + el !== bodyEnd) return false;
  p += 2;
  const extStart = p;
  while (p < bodyEnd) {
    if (p + 4 > avail) return p + 4 <= bodyEnd;
    const type = (b[p]! << 8) | b[p + 1]!;
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    if (p + 4 + len > bodyEnd) return false;
    if (repeated(b, extStart, p)) return false;
    if (p + 4 + len > avail) return true; // extension not fully received: stop here
    const d = p + 4;
    if (type === EXT_SERVER_NAME) {
      if (!parseSni(b, d, len, info)) return false;
    } else if (type === EXT_ALPN) {
      if (!parseAlpn(b, d, len, info)) return false;
    } else if (type === EXT_SUPPORTED_VERSIONS) {
      if (!parseVersions(b, d, len, info)) return false;
    } else if (type === EXT_ECH) {
      info.hasEch = true;
    } else if (type === EXT_USE_SRTP) {
      info.hasUseSrtp = true;
    } else if (type === EXT_QUIC_TRANSPORT_PARAMS) {
      info.hasQuicParams = true;
    }
    p = d + len;
  }
  info.complete = avail === bodyEnd;
  return true;
}

/** Parses a ClientHello from a handshake-message buffer (`01` + 3-byte length + body), as QUIC CRYPTO data is. */
export function parseHandshakeHello(b: Uint8Array, off: number, len: number, kind: HelloKind): ClientHelloInfo | null {
  if (len < 4 || b[off] !== HS_CLIENT_HELLO) return null;
  const hl = (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!;
  if (hl < HELLO_MIN_BODY || hl > HELLO_MAX) return null;
  const bodyEnd = off + 4 + hl;
  const avail = Math.min(off + len, bodyEnd);
  return parseHello(b, off + 4, avail, bodyEnd, kind);
}

/** Plausible TLS record header at `o` (type given, version 3.0–3.3, length 1–16384). */
function recordOk(b: Uint8Array, o: number, type: number): number {
  if (b[o] !== type || b[o + 1] !== 0x03 || b[o + 2]! > 0x03) return -1;
  const rl = (b[o + 3]! << 8) | b[o + 4]!;
  return rl >= 1 && rl <= TLS_RECORD_MAX ? rl : -1;
}

/**
 * Parses the ClientHello at the start of a client TCP stream segment `b[off, off + len)`.
 * Returns null when the bytes are not the start of a TLS ClientHello; otherwise the fields that were received.
 * `complete` is true only when the whole message arrived and every length is consistent (the spec's "strong
 * TLS" condition). Complexity O(len).
 *
 * @example parseTlsClientHello(payload, 0, payload.length)?.sni // 'vpn.example.org'
 */
export function parseTlsClientHello(b: Uint8Array, off: number, len: number): ClientHelloInfo | null {
  if (len < 9 || off < 0 || off + len > b.length) return null;
  const rl = recordOk(b, off, TLS_HANDSHAKE);
  if (rl < 0 || b[off + 5] !== HS_CLIENT_HELLO) return null;
  const hl = (b[off + 6]! << 16) | (b[off + 7]! << 8) | b[off + 8]!;
  if (hl < HELLO_MIN_BODY || hl > HELLO_MAX) return null;
  const end = off + len;
  if (rl >= 4 + hl || off + 5 + rl >= end) {
    // The whole message is in the first record, or the segment ends inside the first record.
    const bodyEnd = off + 9 + hl;
    const avail = Math.min(end, bodyEnd, off + 5 + rl);
    return parseHello(b, off + 9, avail, bodyEnd, HelloKind.Tls);
  }
  // RFC 8446 §5.1: the message continues in the following handshake records of this payload. Reassemble the
  // handshake bytes into a scratch buffer (bounded by the 16 KiB handshake limit checked above; the result holds
  // strings, never offsets into it).
  const msgLen = 4 + hl;
  let have = 0;
  let o = off;
  while (o + 5 <= end && have < msgLen) {
    const r = recordOk(b, o, TLS_HANDSHAKE);
    if (r < 0) return null;
    const take = Math.min(r, end - o - 5, msgLen - have);
    for (let k = 0; k < take; k++) JOINED[have + k] = b[o + 5 + k]!;
    have += take;
    if (take < r) break;
    o += 5 + r;
  }
  const info = parseHello(JOINED, 4, have, msgLen, HelloKind.Tls);
  JOINED.fill(0, 0, have); // payload bytes: kept no longer than this call (results are strings)
  if (info) info.sniOffset = -1;
  return info;
}

/** Handshake records joined by parseTlsClientHello. */
const JOINED = new Uint8Array(4 + HELLO_MAX);

/** Convenience door with an end offset: the ClientHello at `b[start, end)` (see {@link parseTlsClientHello}). */
export function parseClientHello(b: Uint8Array, start: number, end: number): ClientHelloInfo | null {
  return parseTlsClientHello(b, start, end - start);
}

export { parseServerCertificate, type CertNames } from './cert.js';

/**
 * Finds a complete server_name extension inside a continuation segment of a ClientHello whose first segment
 * did not hold it (post-quantum key shares push ClientHellos past one segment, and browsers shuffle extension
 * order). The byte alignment of a continuation is unknown without the earlier bytes, so this looks for the
 * extension's own nested structure: type `00 00`, length L, list length L − 2, name_type `00`, name length
 * L − 5, and a valid host name — four consistent fields that random or key-share bytes match with probability
 * far below 2⁻⁴⁰ per offset. Returns the host name and its offset, or null. No allocation on a miss.
 */
export function findSniExtension(b: Uint8Array, off: number, len: number): { sni: string; offset: number } | null {
  const end = off + len;
  for (let p = off; p + 9 < end; p++) {
    if (b[p] !== 0 || b[p + 1] !== 0 || b[p + 6] !== 0) continue;
    const l = (b[p + 2]! << 8) | b[p + 3]!;
    if (l < 6 || ((b[p + 4]! << 8) | b[p + 5]!) !== l - 2) continue;
    const n = (b[p + 7]! << 8) | b[p + 8]!;
    if (n !== l - 5 || p + 9 + n > end || !validHostName(b, p + 9, n)) continue;
    const sni = decodeHost(b, p + 9, n);
    if (sni !== null) return { sni, offset: p + 9 - off };
  }
  return null;
}
