/**
 * DTLS ClientHello parser (spec: parts/3-tls-quic-sslvpn.md §"DTLS ClientHello over UDP"; RFC 6347 §4.1,
 * §4.2.2; RFC 9147 §5.3; pre-standard `01 00` records of Cisco AnyConnect / OpenConnect legacy DTLS).
 *
 * Owns: the 13-byte record header and 12-byte handshake header checks, the record chain of one datagram, and
 * the ClientHello body (shared walker in tls.ts, plus the cookie field). Only the first fragment
 * (fragment_offset 0) is parsed; a fragmented hello yields what the first fragment holds with `complete: false`.
 * Must never: throw, read outside the datagram, or accept a non-zero epoch for a ClientHello.
 */
import { dtlsVersionOk, HELLO_MAX, HELLO_MIN_BODY, HelloKind, parseHello, type ClientHelloInfo } from './tls.js';

export interface DtlsHelloInfo extends ClientHelloInfo {
  /** Record-layer version: `0xfeff` DTLS 1.0, `0xfefd` DTLS 1.2, `0x0100` pre-standard (AnyConnect legacy). */
  recordVersion: number;
  /** Handshake message_seq (0 first ClientHello, 1 after a HelloVerifyRequest). */
  messageSeq: number;
  /** The hello's fragment_length is less than its length (more fragments follow). */
  fragmented: boolean;
  /** The datagram is a chain of records whose lengths sum exactly to its length (spec "strong DTLS"). */
  chainExact: boolean;
}

const DTLS_RECORD_HDR = 13;
const DTLS_HS_HDR = 12;

/** True when `b[off, off + len)` is a chain of DTLS record headers whose lengths sum exactly to `len`. */
export function dtlsChainExact(b: Uint8Array, off: number, len: number): boolean {
  let p = off;
  const end = off + len;
  while (p < end) {
    if (p + DTLS_RECORD_HDR > end) return false;
    const t = b[p]!;
    if (t < 0x14 || t > 0x19) return false;
    if (!dtlsVersionOk((b[p + 1]! << 8) | b[p + 2]!)) return false;
    p += DTLS_RECORD_HDR + ((b[p + 11]! << 8) | b[p + 12]!);
  }
  return p === end;
}

/**
 * Parses a DTLS ClientHello at the start of a UDP payload. `wireLen` (≥ len) is the datagram length on the
 * wire, used for the exact-chain check when the capture kept fewer bytes. Returns null when the datagram does
 * not start with a DTLS ClientHello record.
 *
 * @example parseDtlsClientHello(udpPayload, 0, udpPayload.length)?.recordVersion === 0x0100 // legacy AnyConnect
 */
export function parseDtlsClientHello(b: Uint8Array, off: number, len: number, wireLen = len): DtlsHelloInfo | null {
  if (len < DTLS_RECORD_HDR + DTLS_HS_HDR || off < 0 || off + len > b.length) return null;
  if (b[off] !== 0x16) return null;
  const rv = (b[off + 1]! << 8) | b[off + 2]!;
  if (!dtlsVersionOk(rv)) return null;
  if (b[off + 3] !== 0 || b[off + 4] !== 0) return null; // epoch 0
  const rl = (b[off + 11]! << 8) | b[off + 12]!;
  const h = off + DTLS_RECORD_HDR;
  if (b[h] !== 0x01) return null;
  const hl = (b[h + 1]! << 16) | (b[h + 2]! << 8) | b[h + 3]!;
  const seq = (b[h + 4]! << 8) | b[h + 5]!;
  const fo = (b[h + 6]! << 16) | (b[h + 7]! << 8) | b[h + 8]!;
  const fl = (b[h + 9]! << 16) | (b[h + 10]! << 8) | b[h + 11]!;
  if (hl < HELLO_MIN_BODY || hl > HELLO_MAX || fo !== 0 || fl > hl || rl !== DTLS_HS_HDR + fl) return null;
  const bodyStart = h + DTLS_HS_HDR;
  const fragEnd = bodyStart + fl;
  const avail = Math.min(off + len, fragEnd);
  // Body walk against the full message length; bytes past the first fragment count as "not received".
  const base = parseHello(b, bodyStart, avail, bodyStart + hl, HelloKind.Dtls, 0);
  if (!base) return null;
  // The pre-standard form uses 01 00 in both places; standard records never carry a 01 00 hello.
  if ((rv === 0x0100) !== (base.legacyVersion === 0x0100) && base.legacyVersion !== 0) return null;
  const info = {
    recordVersion: rv,
    messageSeq: seq,
    fragmented: fl < hl,
    chainExact: false,
  } as DtlsHelloInfo;
  Object.assign(info, base);
  info.chainExact = len === wireLen && dtlsChainExact(b, off, len);
  if (!info.chainExact) info.complete = false;
  return info;
}
