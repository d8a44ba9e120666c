/**
 * Where a TCP client's first message ends, read from the bytes it has sent so far, whatever their segmentation.
 *
 * A stream carries no message boundaries, and the detectors were written for packets, so the socket adapter
 * gathers the client's bytes until its first message is whole under the documented framing the bytes open with
 * (reference: parts 1 and 3), and only then classifies. The framings are those of the client openings the
 * detectors and name parsers read:
 * - TLS record layer (RFC 8446 §5.1): a ClientHello is whole when its handshake message (possibly spread over
 *   several records) is; any other record when the first record is (ZeroTier's TCP relay opens with one);
 * - HTTP/1.x request (RFC 9112 §2.1): the head up to the empty line, plus a Content-Length body that fits the
 *   byte cap (SoftEther's DDNS POST; SSTP announces an unbounded length, so its head alone is the message);
 * - OpenVPN over TCP (ssl_pkt.h): a 2-byte length then a client hard reset (`38`/`50`), 2 + length bytes;
 * - PPTP (RFC 2637 §2.1): Start-Control-Connection-Request, fixed 156 bytes after its fixed header;
 * - tinc (protocol_auth.c): the ID line `0 <name> 17…` up to its line feed.
 * While the bytes so far are a prefix of one of these framings' openings, the message is `MORE`; once a framing
 * says where the message ends and the bytes reach it, that end is returned; bytes none of them can start are
 * `UNKNOWN` (the adapter then waits for the client to pause). State lets repeated calls on a growing buffer scan
 * each byte once (a client sending one byte at a time costs O(n), not O(n²)).
 */
import { HTTP_METHODS } from '../detect/names/http.js';
import { PPTP_MAGIC } from '../detect/pptp.js';

/** The first message continues beyond the bytes so far. */
export const MORE = -1;
/** No framing applies: the end of the message is not known from its bytes. */
export const UNKNOWN = -2;

/** TLS ≤ 1.2 records may carry 2^14 + 2048 bytes. */
const TLS_RECORD_MAX = 16384 + 2048;
/** OpenVPN control packets with tls-crypt-v2 keys stay well below this. */
const OPENVPN_MAX = 2048;
const OPENVPN_MIN = 14;
/** `SCCRQ`: length 156, message type 1, magic cookie, control type 1, reserved 0. */
const PPTP_SCCRQ_HEAD = Uint8Array.of(0x00, 0x9c, 0x00, 0x01, PPTP_MAGIC >>> 24, (PPTP_MAGIC >>> 16) & 255, (PPTP_MAGIC >>> 8) & 255, PPTP_MAGIC & 255, 0x00, 0x01, 0x00, 0x00);
const PPTP_SCCRQ_LEN = 156;
/** tinc ID lines hold a name of ≤ 64 characters and two small numbers. */
const TINC_LINE_MAX = 128;
const METHOD_BYTES = HTTP_METHODS.map((m) => Uint8Array.from(Buffer.from(`${m} `, 'latin1')));
const CONTENT_LENGTH = Buffer.from('\ncontent-length:', 'latin1');

/** Per-stream scan state (reset for every new stream). */
export interface FramingState {
  /** TLS ClientHello: offset of the next record header and handshake bytes seen before it. */
  tlsOff: number;
  tlsHave: number;
  /** HTTP: bytes already searched for the end of the head; the message end once the head is whole (else 0). */
  httpScanned: number;
  httpEnd: number;
  /** tinc: bytes already searched for the line feed. */
  lineScanned: number;
}

export function newFramingState(): FramingState {
  return { tlsOff: 0, tlsHave: 0, httpScanned: 0, httpEnd: 0, lineScanned: 0 };
}

/**
 * End of the client's first message in `b[0, n)` (a length ≤ n), or MORE, or UNKNOWN. `cap` is the most bytes
 * the caller will gather (a message longer than that is cut there by the caller).
 */
export function firstMessageEnd(b: Uint8Array, n: number, cap: number, st: FramingState): number {
  if (n <= 0) return MORE;
  const b0 = b[0]!;
  if (b0 >= 0x14 && b0 <= 0x17) return tlsEnd(b, n, st);
  if (b0 >= 0x41 && b0 <= 0x5a) return httpEnd(b, n, cap, st);
  if (b0 === 0x30) return tincEnd(b, n, st);
  if (b0 === 0x00) {
    const p = pptpEnd(b, n);
    if (p !== UNKNOWN) return p;
  }
  if (b0 <= OPENVPN_MAX >>> 8) return openvpnEnd(b, n);
  return UNKNOWN;
}

function tlsEnd(b: Uint8Array, n: number, st: FramingState): number {
  if (n >= 2 && b[1] !== 0x03) return UNKNOWN;
  if (n >= 3 && b[2]! > 0x04) return UNKNOWN;
  if (n < 5) return MORE;
  const rl = (b[3]! << 8) | b[4]!;
  if (rl === 0 || rl > TLS_RECORD_MAX) return UNKNOWN;
  if (b[0] !== 0x16) return n >= 5 + rl ? 5 + rl : MORE;
  if (n < 6) return MORE;
  if (b[5] !== 0x01) return n >= 5 + rl ? 5 + rl : MORE;
  if (n < 9) return MORE;
  // A ClientHello: the handshake message (4 + its length) may continue in the following handshake records.
  const msg = 4 + ((b[6]! << 16) | (b[7]! << 8) | b[8]!);
  while (st.tlsHave < msg) {
    const o = st.tlsOff;
    if (o + 5 > n) return MORE;
    if (b[o] !== 0x16 || b[o + 1] !== 0x03) return UNKNOWN;
    const r = (b[o + 3]! << 8) | b[o + 4]!;
    if (r === 0 || r > TLS_RECORD_MAX) return UNKNOWN;
    st.tlsHave += r;
    st.tlsOff = o + 5 + r;
  }
  return n >= st.tlsOff ? st.tlsOff : MORE;
}

function httpEnd(b: Uint8Array, n: number, cap: number, st: FramingState): number {
  let method = false;
  for (const m of METHOD_BYTES) {
    const k = Math.min(n, m.length);
    let same = true;
    for (let i = 0; i < k; i++) {
      if (b[i] !== m[i]) {
        same = false;
        break;
      }
    }
    if (!same) continue;
    if (n < m.length) return MORE; // still a prefix of this method
    method = true;
    break;
  }
  if (!method) return UNKNOWN;
  if (st.httpEnd > 0) return n >= st.httpEnd ? st.httpEnd : MORE;
  // The head ends at the first CRLFCRLF; scanning resumes 3 bytes back so a boundary split over reads is found.
  let i = Math.max(0, st.httpScanned - 3);
  for (; i + 3 < n; i++) {
    if (b[i] === 0x0d && b[i + 1] === 0x0a && b[i + 2] === 0x0d && b[i + 3] === 0x0a) break;
  }
  if (i + 3 >= n) {
    st.httpScanned = n;
    return MORE;
  }
  const head = i + 4;
  const body = contentLength(b, head);
  st.httpEnd = body > 0 && head + body <= cap ? head + body : head;
  return n >= st.httpEnd ? st.httpEnd : MORE;
}

/** The Content-Length value of the head b[0, head), or -1 (absent, malformed, or beyond 2^31). */
function contentLength(b: Uint8Array, head: number): number {
  const pat = CONTENT_LENGTH;
  outer: for (let i = 0; i + pat.length <= head; i++) {
    for (let k = 0; k < pat.length; k++) {
      let c = b[i + k]!;
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      if (c !== pat[k]) continue outer;
    }
    let p = i + pat.length;
    while (p < head && (b[p] === 0x20 || b[p] === 0x09)) p++;
    let v = 0;
    let digits = 0;
    while (p < head && b[p]! >= 0x30 && b[p]! <= 0x39) {
      v = v * 10 + (b[p]! - 0x30);
      if (v > 0x7fffffff) return -1;
      digits++;
      p++;
    }
    return digits > 0 ? v : -1;
  }
  return -1;
}

function tincEnd(b: Uint8Array, n: number, st: FramingState): number {
  if (n < 2) return MORE;
  if (b[1] !== 0x20) return UNKNOWN;
  let i = Math.max(2, st.lineScanned);
  for (; i < n && i < TINC_LINE_MAX; i++) {
    const c = b[i]!;
    if (c === 0x0a) return i + 1;
    if (c !== 0x0d && (c < 0x20 || c > 0x7e)) return UNKNOWN;
  }
  st.lineScanned = i;
  return i >= TINC_LINE_MAX ? UNKNOWN : MORE;
}

function pptpEnd(b: Uint8Array, n: number): number {
  const k = Math.min(n, PPTP_SCCRQ_HEAD.length);
  for (let i = 0; i < k; i++) if (b[i] !== PPTP_SCCRQ_HEAD[i]) return UNKNOWN;
  return n >= PPTP_SCCRQ_LEN ? PPTP_SCCRQ_LEN : MORE;
}

function openvpnEnd(b: Uint8Array, n: number): number {
  if (n < 3) return MORE;
  const len = (b[0]! << 8) | b[1]!;
  const op = b[2]!;
  if ((op !== 0x38 && op !== 0x50) || len < OPENVPN_MIN || len > OPENVPN_MAX) return UNKNOWN;
  return n >= 2 + len ? 2 + len : MORE;
}
