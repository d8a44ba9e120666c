/**
 * Flow openings: the ordinary application protocol a flow starts with, recognised from the initiator's first
 * payload packet by its documented opening structure. The classifier uses it to pick detectors (nDPI's "guess,
 * then dissect"): a flow that opens with a TLS ClientHello, an HTTP/1.x request, a DNS query, a decrypting QUIC
 * Initial or a DTLS ClientHello meets only the detectors whose tunnels can ride that protocol
 * ({@link Detector.carriers}).
 *
 * A recognition must be strict, because a false "this is TLS" hides the flow from every detector that does not
 * ride TLS. Each check is a multi-field structure that no in-scope tunnel's first packet has: on TCP, OpenVPN
 * starts with a length and then an opcode ≥ 1 (so never `16 03 0x`), PPTP with its magic cookie at offset 4, tinc
 * with an ASCII `0 `, SoftEther's Pack with an element count, ZeroTier's TCP relay with `17 03 03`; a DNS opening
 * is a whole question (opcode 0, one question, a valid name, class IN/ANY) on a DNS port; a DTLS opening is a whole,
 * unfragmented ClientHello; QUIC is only recognised when its Initial decrypts with a valid AEAD tag.
 * HTTP CONNECT is deliberately not an opening: what follows a CONNECT is whatever the client tunnels (OpenVPN
 * through a proxy, for example), so such flows keep every detector.
 */
import type { Carrier, FlowView } from './types.js';
import { IPPROTO_TCP, u16be, u24be, u8 } from './types.js';
import { requestLineMethod, HTTP_METHODS } from './names/http.js';

export const OPEN_NONE = 0;
export const OPEN_TLS = 1;
export const OPEN_HTTP = 2;
export const OPEN_DNS = 3;
export const OPEN_QUIC = 4;
export const OPEN_DTLS = 5;
export const OPENINGS = 6;

export const CARRIER_CODE: Readonly<Record<Carrier, number>> = { tls: OPEN_TLS, http: OPEN_HTTP, dns: OPEN_DNS, quic: OPEN_QUIC, dtls: OPEN_DTLS };

/** Minimal ClientHello body: version 2, random 32, session-id length 1, one cipher suite 2+2, compression 1+1. */
const HELLO_BODY_MIN = 41;
/** A TLS record holds at most 2^14 bytes of plaintext (RFC 8446 §5.1), 2^14 + 2048 on the wire for TLS ≤ 1.2. */
const TLS_RECORD_MAX = 16384 + 2048;

/**
 * Packet i starts a TLS ClientHello (RFC 8446 §4.1.2, §5.1): handshake record `16`, record version 3.0–3.4, record
 * length 45…18432, handshake type 1, handshake length ≥ 41, client_version major 3 and minor ≤ 4. Allocation-free.
 */
export function isTlsClientHelloStart(f: FlowView, i: number): boolean {
  if (u8(f, i, 0) !== 0x16 || u8(f, i, 1) !== 0x03 || u8(f, i, 2) > 0x04) return false;
  const rl = u16be(f, i, 3);
  if (rl < 4 + HELLO_BODY_MIN || rl > TLS_RECORD_MAX || u8(f, i, 5) !== 0x01) return false;
  const hl = u24be(f, i, 6);
  return hl >= HELLO_BODY_MIN && u8(f, i, 9) === 0x03 && u8(f, i, 10) >= 0 && u8(f, i, 10) <= 0x04;
}

const CONNECT = HTTP_METHODS.indexOf('CONNECT');
const SSTP = HTTP_METHODS.indexOf('SSTP_DUPLEX_POST');

/** Packet i starts with a whole HTTP/1.x request line of a standard method other than CONNECT. */
export function isHttpRequestStart(f: FlowView, i: number): boolean {
  const n = f.avail(i);
  if (n < 16) return false;
  const c = u8(f, i, 0);
  if (c < 0x41 || c > 0x5a) return false;
  const s = f.start(i);
  const m = requestLineMethod(f.buf(i), s, s + n);
  return m >= 0 && m !== CONNECT && m !== SSTP;
}

/**
 * The TCP openings this module recognises itself (TLS, HTTP), for the initiator's first payload packet; the
 * engine adds DNS, QUIC and DTLS from the name and trait parsers that already read that packet.
 */
export function tcpOpening(f: FlowView): number {
  if (f.transport !== IPPROTO_TCP || f.nPackets < 1 || f.dir(0) !== 0) return OPEN_NONE;
  if (isTlsClientHelloStart(f, 0)) return OPEN_TLS;
  if (isHttpRequestStart(f, 0)) return OPEN_HTTP;
  return OPEN_NONE;
}
