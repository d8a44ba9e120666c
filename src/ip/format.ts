/**
 * Canonical text for addresses: dotted quad for IPv4, RFC 5952 for IPv6 (lowercase, no leading zeros,
 * the longest run of two or more zero groups compressed with `::`, leftmost run on a tie, and the IPv4-mapped
 * range written with a dotted-quad tail as RFC 5952 §5 recommends). Used for entries(), error messages and
 * list snapshots; not on the lookup path, so it may allocate strings.
 */

import { scratchText, TEXT_SCRATCH } from '../text.js';

// Address text is written byte by byte into the text scratch and decoded once: one flat string per address. Flow
// records format two endpoints per flow; building them by concatenation made a chain of short strings each
// (~5× slower, and the chain is flattened again when the record is serialised).

/** Writes 0–65535 in decimal at TEXT_SCRATCH[p]; returns the end. */
function putDec(p: number, v: number): number {
  if (v >= 10000) TEXT_SCRATCH[p++] = 48 + ((v / 10000) | 0);
  if (v >= 1000) TEXT_SCRATCH[p++] = 48 + (((v / 1000) | 0) % 10);
  if (v >= 100) TEXT_SCRATCH[p++] = 48 + (((v / 100) | 0) % 10);
  if (v >= 10) TEXT_SCRATCH[p++] = 48 + (((v / 10) | 0) % 10);
  TEXT_SCRATCH[p++] = 48 + (v % 10);
  return p;
}

/** Writes a 16-bit group in lower-case hex without leading zeros at TEXT_SCRATCH[p]; returns the end. */
function putHex(p: number, v: number): number {
  for (let shift = v >= 0x1000 ? 12 : v >= 0x100 ? 8 : v >= 0x10 ? 4 : 0; shift >= 0; shift -= 4) {
    const d = (v >>> shift) & 15;
    TEXT_SCRATCH[p++] = d < 10 ? 48 + d : 87 + d;
  }
  return p;
}

function putIPv4(p: number, u32: number): number {
  p = putDec(p, u32 >>> 24);
  TEXT_SCRATCH[p++] = 0x2e;
  p = putDec(p, (u32 >>> 16) & 255);
  TEXT_SCRATCH[p++] = 0x2e;
  p = putDec(p, (u32 >>> 8) & 255);
  TEXT_SCRATCH[p++] = 0x2e;
  return putDec(p, u32 & 255);
}

/** Formats an unsigned 32-bit IPv4 address as a dotted quad. */
export function formatIPv4(u32: number): string {
  return scratchText(putIPv4(0, u32));
}

const GROUPS = new Uint16Array(8);

/** Writes the RFC 5952 text of the address in four big-endian words at TEXT_SCRATCH[p]; returns the end. */
function putIPv6(p: number, w0: number, w1: number, w2: number, w3: number): number {
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) {
    for (const c of MAPPED) TEXT_SCRATCH[p++] = c;
    return putIPv4(p, w3 >>> 0);
  }
  const g = GROUPS;
  g[0] = w0 >>> 16; g[1] = w0 & 0xffff; g[2] = w1 >>> 16; g[3] = w1 & 0xffff;
  g[4] = w2 >>> 16; g[5] = w2 & 0xffff; g[6] = w3 >>> 16; g[7] = w3 & 0xffff;
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed (RFC 5952 §4.2.2)
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      TEXT_SCRATCH[p++] = 0x3a;
      TEXT_SCRATCH[p++] = 0x3a;
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== bestStart + bestLen) TEXT_SCRATCH[p++] = 0x3a;
    p = putHex(p, g[i]!);
  }
  return p;
}

const MAPPED = [0x3a, 0x3a, 0x66, 0x66, 0x66, 0x66, 0x3a]; // "::ffff:"

/** Formats an IPv6 address given as four big-endian 32-bit words (RFC 5952). */
export function formatIPv6Words(w0: number, w1: number, w2: number, w3: number): string {
  return scratchText(putIPv6(0, w0, w1, w2, w3));
}

/**
 * `ip:port`, `[ipv6]:port`, or the bare address when `withPort` is false; the IPv6 address is the 16 bytes at
 * `bytes[off]`, the IPv4 one `v4`.
 */
export function formatAddressPort(ipVersion: 4 | 6, v4: number, bytes: Uint8Array, off: number, port: number, withPort: boolean): string {
  let p = 0;
  if (ipVersion === 4) p = putIPv4(0, v4);
  else {
    if (withPort) TEXT_SCRATCH[p++] = 0x5b;
    p = putIPv6(p, word(bytes, off), word(bytes, off + 4), word(bytes, off + 8), word(bytes, off + 12));
    if (withPort) TEXT_SCRATCH[p++] = 0x5d;
  }
  if (withPort) {
    TEXT_SCRATCH[p++] = 0x3a;
    p = putDec(p, port);
  }
  return scratchText(p);
}

/** Formats the 16-byte IPv6 address at `bytes[off..off+15]` (RFC 5952). */
export function formatIPv6(bytes: Uint8Array, off = 0): string {
  return formatIPv6Words(word(bytes, off), word(bytes, off + 4), word(bytes, off + 8), word(bytes, off + 12));
}

function word(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
