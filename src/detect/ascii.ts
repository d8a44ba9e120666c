/**
 * Allocation-free ASCII helpers over FlowView packets, for the SSL-VPN detectors' cleartext rules (HTTP request
 * lines and headers that are visible only where TLS is terminated, e.g. behind an SSL offloader).
 * Must never: allocate, or read beyond `avail(i)`.
 */
import type { FlowView } from './types.js';

/** True when packet i has the ASCII string `s` at offset k. */
export function hasAsciiAt(f: FlowView, i: number, k: number, s: string): boolean {
  if (k < 0 || k + s.length > f.avail(i)) return false;
  const b = f.buf(i), o = f.start(i) + k;
  for (let x = 0; x < s.length; x++) if (b[o + x] !== s.charCodeAt(x)) return false;
  return true;
}

/** Same, ASCII letters compared case-insensitively (`s` must be lower case). */
export function hasAsciiAtNoCase(f: FlowView, i: number, k: number, s: string): boolean {
  if (k < 0 || k + s.length > f.avail(i)) return false;
  const b = f.buf(i), o = f.start(i) + k;
  for (let x = 0; x < s.length; x++) {
    let c = b[o + x]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c !== s.charCodeAt(x)) return false;
  }
  return true;
}

/**
 * Offset of the first occurrence of `s` in packet i within [from, to), case-sensitive, or -1. A plain loop, not the
 * typed array's native indexOf: that has no end bound, and a packet's bytes may sit at the start of a large shared
 * store (snippets, a read chunk), so a packet without the first byte would pay a scan of the whole store.
 */
export function findAscii(f: FlowView, i: number, s: string, from: number, to: number): number {
  if (s.length === 0) return -1;
  const o = f.start(i);
  const last = o + Math.min(to, f.avail(i)) - s.length;
  const b = f.buf(i), c0 = s.charCodeAt(0);
  for (let k = o + Math.max(0, from); k <= last; k++) {
    if (b[k] === c0 && hasAsciiAt(f, i, k - o, s)) return k - o;
  }
  return -1;
}

/** Offset of the first occurrence of `s` in packet i within [from, to), case-insensitive, or -1. */
export function findAsciiNoCase(f: FlowView, i: number, s: string, from: number, to: number): number {
  const end = Math.min(to, f.avail(i)) - s.length;
  if (s.length === 0) return -1;
  const b = f.buf(i), o = f.start(i);
  const c0 = s.charCodeAt(0);
  for (let k = Math.max(0, from); k <= end; k++) {
    let c = b[o + k]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c === c0 && hasAsciiAtNoCase(f, i, k, s)) return k;
  }
  return -1;
}

/** Offset just after the end of the line (LF) that starts at k, or -1 when no LF within `max` bytes. */
export function lineEnd(f: FlowView, i: number, k: number, max: number): number {
  const end = Math.min(f.avail(i), k + max);
  const b = f.buf(i), o = f.start(i);
  for (let x = k; x < end; x++) if (b[o + x] === 0x0a) return x + 1;
  return -1;
}

/**
 * When packet i starts with an HTTP/1.x request line `METHOD SP target SP HTTP/1.x`, returns the offset of the
 * target's first byte; else -1. `method` includes the trailing space ("GET ").
 */
export function requestTarget(f: FlowView, i: number, method: string): number {
  if (!hasAsciiAt(f, i, 0, method)) return -1;
  const le = lineEnd(f, i, 0, 2048);
  if (le < 0) return -1;
  let e = le - 1;
  if (e > 0 && f.buf(i)[f.start(i) + e - 1] === 0x0d) e--;
  if (e - 9 <= method.length || !hasAsciiAt(f, i, e - 9, ' HTTP/1.')) return -1;
  return method.length;
}

/** Offset of the header block end (after CRLFCRLF or LFLF) within the first `max` bytes, or -1. */
export function headEnd(f: FlowView, i: number, max: number): number {
  const end = Math.min(f.avail(i), max);
  const b = f.buf(i), o = f.start(i);
  for (let x = 1; x < end; x++) {
    if (b[o + x] !== 0x0a) continue;
    if (b[o + x - 1] === 0x0a) return x + 1;
    if (x >= 3 && b[o + x - 1] === 0x0d && b[o + x - 2] === 0x0a) return x + 1;
  }
  return -1;
}
