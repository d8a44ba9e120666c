/**
 * Plain-HTTP request line and Host header (RFC 9112 §3, §3.2) from the first client payload of a TCP flow: the
 * name a client asks for in clear, matched like an SNI (reference part 3: "SNI or HTTP Host on the list").
 * Must never: throw, look past 8 KiB of head, or accept a request line without `HTTP/1.x`.
 */
import { decodeHost } from './tls.js';
import { latin1Text } from '../../text.js';

const METHODS = ['GET ', 'POST ', 'PUT ', 'HEAD ', 'CONNECT ', 'OPTIONS ', 'DELETE ', 'PATCH ', 'SSTP_DUPLEX_POST '];
/** Request methods {@link requestLineMethod} recognises, in its index order (with the trailing space dropped). */
export const HTTP_METHODS: readonly string[] = METHODS.map((m) => m.slice(0, -1));
const MAX_HEAD = 8192;

export interface HttpRequest {
  method: string;
  target: string;
  /** Host header value without port, lower case; null when absent or invalid. */
  host: string | null;
}

/** True when b[p, …) starts with the ASCII string s (case-sensitive). Allocation-free. */
export function startsWithAscii(b: Uint8Array, p: number, end: number, s: string): boolean {
  if (p + s.length > end) return false;
  for (let i = 0; i < s.length; i++) if (b[p + i] !== s.charCodeAt(i)) return false;
  return true;
}

/**
 * Index in {@link HTTP_METHODS} of the request line's method when [off, end) starts with a whole request line
 * (`METHOD SP target SP HTTP/1.0|1`, line ending within 8 KiB, target of visible ASCII), else -1. Allocation-free.
 */
export function requestLineMethod(b: Uint8Array, off: number, end: number): number {
  let mi = -1;
  for (let k = 0; k < METHODS.length; k++) {
    if (startsWithAscii(b, off, end, METHODS[k]!)) {
      mi = k;
      break;
    }
  }
  if (mi < 0) return -1;
  const stop = Math.min(end, off + MAX_HEAD);
  let lineEnd = off;
  while (lineEnd < stop && b[lineEnd] !== 0x0a) lineEnd++;
  if (lineEnd >= stop) return -1;
  let le = lineEnd;
  if (le > off && b[le - 1] === 0x0d) le--;
  // METHOD SP target SP HTTP/1.x
  const tStart = off + METHODS[mi]!.length;
  let tEnd = tStart;
  while (tEnd < le && b[tEnd] !== 0x20) tEnd++;
  if (tEnd === tStart || le - tEnd !== 9 || !startsWithAscii(b, tEnd, le, ' HTTP/1.')) return -1;
  const minor = b[le - 1];
  if (minor !== 0x30 && minor !== 0x31) return -1;
  for (let k = tStart; k < tEnd; k++) if (b[k]! <= 0x20 || b[k]! >= 0x7f) return -1;
  return mi;
}

/** Parse the request head present in [off, end); null unless it starts with a method and an `HTTP/1.x` line. */
export function parseHttpRequest(b: Uint8Array, off: number, end: number): HttpRequest | null {
  const mi = requestLineMethod(b, off, end);
  if (mi < 0) return null;
  const method = HTTP_METHODS[mi]!;
  const stop = Math.min(end, off + MAX_HEAD);
  let lineEnd = off;
  while (b[lineEnd] !== 0x0a) lineEnd++;
  const tStart = off + method.length + 1;
  let tEnd = tStart;
  while (b[tEnd] !== 0x20) tEnd++;
  const out: HttpRequest = { method, target: latin1Text(b, tStart, tEnd - tStart), host: null };
  let p = lineEnd + 1;
  while (p < stop) {
    let e = p;
    while (e < stop && b[e] !== 0x0a) e++;
    if (e - p <= 1) break; // blank line: end of head
    if (e - p > 5 && (b[p]! | 0x20) === 0x68 && (b[p + 1]! | 0x20) === 0x6f && (b[p + 2]! | 0x20) === 0x73 && (b[p + 3]! | 0x20) === 0x74 && b[p + 4] === 0x3a) {
      let s = p + 5;
      while (s < e && (b[s] === 0x20 || b[s] === 0x09)) s++;
      let t = e;
      while (t > s && (b[t - 1] === 0x0d || b[t - 1] === 0x20)) t--;
      let hostEnd = t;
      if (b[s] !== 0x5b) for (let k = s; k < t; k++) if (b[k] === 0x3a) { hostEnd = k; break; }
      out.host = decodeHost(b, s, hostEnd - s);
      break;
    }
    p = e + 1;
  }
  return out;
}
