/**
 * Cisco AnyConnect / OpenConnect (ocserv) SSL VPN (spec: parts/3-tls-quic-sslvpn.md §"DTLS ClientHello over UDP"
 * — pre-standard `01 00` records; §TLS ALPN `openconnect-vpn/1.1`; §"SSL VPNs" observability table and "Inner
 * framings"; draft-mavrogiannopoulos-openconnect).
 *
 * Observable in clear, without decryption:
 *  - `anyconnect.dtls-legacy` (UDP): a DTLS ClientHello whose record and body version are the pre-standard
 *    `01 00` (OpenSSL DTLS1_BAD_VER), record chain exact, resuming a session: a 32-byte session id and exactly one
 *    cipher suite (the renegotiation SCSV `00 ff` aside) — strong. AnyConnect's legacy DTLS is always a resumption
 *    of the session the CSTP connection handed over (X-DTLS-Session-ID, X-DTLS-CipherSuite: one id, one cipher),
 *    answered by a short ServerHello + ChangeCipherSpec + Finished without a certificate. The `01 00` version alone
 *    is not enough: an old general-purpose OpenSSL still speaks it in a full handshake (HelloVerifyRequest,
 *    Certificate, ClientKeyExchange), whose ClientHellos carry no session id to resume and a list of ciphers;
 *  - `anyconnect.alpn` (TCP or UDP): a complete TLS/DTLS ClientHello offering ALPN `openconnect-vpn/1.1`, the id
 *    the OpenConnect draft defines for clients that announce themselves (strong). Cisco's own client is not
 *    known to send it.
 * Observable only where TLS is terminated before the observer:
 *  - `anyconnect.connect`: request line `CONNECT /CSCOSSLC/tunnel HTTP/1.x` (strong: the documented tunnel
 *    request);
 *  - `anyconnect.cstp`: CSTP frames `53 54 46 01` + length + type {00,03,04,05,07,08,09} + `00` whose lengths
 *    fill the segment exactly (medium).
 * Everything else (the standard-DTLS 1.2 data channel of newer OpenConnect, the companion DTLS flow) is a
 * cross-flow relation that the classifier's companion index decides; a lone TLS flow is never labelled here.
 */
import { DIR_FWD, IPPROTO_TCP, IPPROTO_UDP, u8, u16be, u32be, type Detector, type Evidence, type FlowView } from './types.js';
import { findAscii, hasAsciiAt, requestTarget } from './ascii.js';
import { dtlsVersionOk, parseTlsClientHello } from './names/tls.js';
import { parseDtlsClientHello } from './names/dtls.js';

export const OPENCONNECT_ALPN = 'openconnect-vpn/1.1';
const CSTP_MAGIC = 0x53544601; // "STF" 1
/** The session id AnyConnect's CSTP hands over for its DTLS resumption (X-DTLS-Session-ID, 32 bytes in hex). */
const LEGACY_SESSION_ID = 32;
const CSTP_HDR = 8;
const MAX_PACKETS = 6;

function cstpTypeOk(t: number): boolean {
  return t === 0x00 || t === 0x03 || t === 0x04 || t === 0x05 || t === 0x07 || t === 0x08 || t === 0x09;
}

/** Number of CSTP frames that fill packet i exactly, or 0. */
export function cstpFrames(f: FlowView, i: number): number {
  const n = f.avail(i);
  if (n !== f.len(i) || n < CSTP_HDR) return 0;
  let p = 0, count = 0;
  while (p < n) {
    if (u32be(f, i, p) !== CSTP_MAGIC) return 0;
    const len = u16be(f, i, p + 4);
    if (len < 0 || !cstpTypeOk(u8(f, i, p + 6)) || u8(f, i, p + 7) !== 0) return 0;
    p += CSTP_HDR + len;
    count++;
  }
  return p === n ? count : 0;
}

function alpnHas(list: readonly string[]): boolean {
  for (const a of list) if (a === OPENCONNECT_ALPN) return true;
  return false;
}

export const anyconnect: Detector = {
  id: 'anyconnect',
  transports: [IPPROTO_TCP, IPPROTO_UDP],
  carriers: ['tls', 'http', 'dtls'],
  maxPackets: MAX_PACKETS,
  rules: {
    'anyconnect.dtls-legacy':
      'DTLS ClientHello with the pre-standard version 01 00 in record and body, record chain exact, resuming a session: 32-byte session id, exactly one cipher suite besides the renegotiation SCSV (AnyConnect/OpenConnect legacy DTLS; a full 01 00 handshake does not match)',
    'anyconnect.alpn': 'complete TLS or DTLS ClientHello offering ALPN "openconnect-vpn/1.1" (OpenConnect protocol draft)',
    'anyconnect.connect': 'cleartext request line "CONNECT /CSCOSSLC/tunnel HTTP/1.x" (TLS terminated before the observer)',
    'anyconnect.cstp': 'cleartext CSTP frames ("STF" 01, length, known type, 00) filling the segment exactly',
  },
  detect(f: FlowView): Evidence[] | null {
    const i = f.nPackets - 1;
    if (i < 0) return null;
    const c0 = u8(f, i, 0);
    const n = f.avail(i);
    if (f.transport === IPPROTO_UDP) {
      if (c0 !== 0x16) return null;
      if (u8(f, i, 1) === 0x01 && u8(f, i, 2) === 0x00) {
        const h = parseDtlsClientHello(f.buf(i), f.start(i), n, f.len(i));
        if (h && h.recordVersion === 0x0100 && h.legacyVersion === 0x0100 && h.chainExact && h.sessionIdLen === LEGACY_SESSION_ID && h.cipherSuites === 1) {
          return [
            {
              source: 'anyconnect',
              protocol: 'anyconnect',
              strength: 'strong',
              rule: 'anyconnect.dtls-legacy',
              reason: `packet ${i}: DTLS ClientHello with pre-standard version 01 00 in record and body, resuming a session (session id ${h.sessionIdLen} bytes, one cipher suite), record lengths sum to the ${n}-byte datagram (AnyConnect/OpenConnect legacy DTLS)`,
              packet: i,
              offset: 1,
            },
          ];
        }
        return null;
      }
      if (findAscii(f, i, OPENCONNECT_ALPN, 25, n) < 0) return null; // ALPN ids are exact bytes (RFC 7301 §3.1)
      const h = parseDtlsClientHello(f.buf(i), f.start(i), n, f.len(i));
      if (h && h.complete && alpnHas(h.alpn)) return [alpnEvidence(i, 'DTLS')];
      return null;
    }
    // TCP
    if (c0 === 0x16) {
      if (f.dir(i) !== DIR_FWD || findAscii(f, i, OPENCONNECT_ALPN, 9, n) < 0) return null;
      const h = parseTlsClientHello(f.buf(i), f.start(i), n);
      if (h && h.complete && alpnHas(h.alpn)) return [alpnEvidence(i, 'TLS')];
      return null;
    }
    if (c0 === 0x43 && f.dir(i) === DIR_FWD) {
      const t = requestTarget(f, i, 'CONNECT ');
      if (t > 0 && hasAsciiAt(f, i, t, '/CSCOSSLC/tunnel ')) {
        return [
          {
            source: 'anyconnect',
            protocol: 'anyconnect',
            strength: 'strong',
            rule: 'anyconnect.connect',
            reason: `packet ${i}: cleartext request line "CONNECT /CSCOSSLC/tunnel HTTP/1.x" (AnyConnect/OpenConnect CSTP tunnel request)`,
            packet: i,
            offset: 0,
          },
        ];
      }
      return null;
    }
    if (c0 === 0x53) {
      const k = cstpFrames(f, i);
      if (k > 0) {
        return [
          {
            source: 'anyconnect',
            protocol: 'anyconnect',
            strength: 'medium',
            rule: 'anyconnect.cstp',
            reason: `packet ${i}: ${k} cleartext CSTP frame(s) "STF" 01 with known types whose lengths fill the ${n}-byte segment exactly`,
            packet: i,
            offset: 0,
          },
        ];
      }
    }
    return null;
  },
  /**
   * UDP: AnyConnect/OpenConnect's datagrams are DTLS records: content type 20–25 with version FE FF, FE FD or the
   * pre-standard 01 00 (RFC 6347 §4.1), or DTLS 1.3's unified header `001xxxxx` (RFC 9147 §4). Anything else
   * excludes the flow. TCP: never excluded.
   */
  excludes(f: FlowView): boolean {
    if (f.transport !== IPPROTO_UDP) return false;
    const i = f.nPackets - 1;
    const b0 = u8(f, i, 0);
    if (b0 < 0 || (b0 & 0xe0) === 0x20) return false;
    if (b0 < 20 || b0 > 25 || f.len(i) < 13) return true;
    const v = u16be(f, i, 1);
    return v >= 0 && !dtlsVersionOk(v);
  },
};

function alpnEvidence(i: number, what: string): Evidence {
  return {
    source: 'anyconnect',
    protocol: 'anyconnect',
    strength: 'strong',
    rule: 'anyconnect.alpn',
    reason: `packet ${i}: complete ${what} ClientHello offers ALPN "${OPENCONNECT_ALPN}" (the client names the OpenConnect VPN protocol)`,
    packet: i,
  };
}
