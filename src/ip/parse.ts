/**
 * Allocation-free address parsing: dotted-quad IPv4 -> uint32, IPv6 text -> four big-endian uint32 words.
 *
 * Owns: the hot-path text parsers used by CidrMap#lookup(string) and by list loading. They never allocate,
 * never throw and never look at anything outside `[start, end)`; failure is a sentinel (-1 / false) so the
 * caller decides which typed error to raise. Strictness follows ipaddr.js's strict forms: IPv4 is exactly four
 * decimal octets without leading zeros (`010.0.0.1` is rejected: some stacks read it as octal), IPv6 is RFC 4291
 * §2.2 text (hex groups, one `::`, optional dotted-quad tail) and zone identifiers (`%eth0`) are rejected
 * because a zone is not part of an address a flow can carry. Cost: O(length of the text).
 */

/**
 * Parses a dotted-quad IPv4 address in `s[start, end)`.
 * @returns the address as an unsigned 32-bit number, or -1 when the text is not a strict dotted quad.
 * @example parseIPv4('10.1.2.3') === 0x0a010203
 */
export function parseIPv4(s: string, start = 0, end: number = s.length): number {
  let acc = 0;
  let oct = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      acc = (acc << 8) | oct;
      oct = 0;
      digits = 0;
      dots++;
    } else {
      const d = c - 48;
      if (d < 0 || d > 9) return -1;
      if (digits === 1 && oct === 0) return -1; // leading zero
      oct = oct * 10 + d;
      if (oct > 255) return -1;
      digits++;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return ((acc << 8) | oct) >>> 0;
}

// Scratch for the eight 16-bit groups; module-level so parsing allocates nothing.
const G = new Int32Array(8);

// Hex digit values by char code (-1 = not a hex digit); a table beats a compare chain on the hot path.
const HEX = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[97 + c] = 10 + c;
  HEX[65 + c] = 10 + c;
}

function hexVal(c: number): number {
  return c < 128 ? HEX[c]! : -1;
}

/**
 * Fast path for the common uncompressed form (eight groups, no `::`, no dotted tail): returns false as soon as
 * the text is anything else, and the general parser takes over.
 */
function parseIPv6Full(s: string, out: Uint32Array, outOff: number, start: number, end: number): boolean {
  let i = start;
  let hi = 0;
  let w0 = 0;
  let w1 = 0;
  let w2 = 0;
  for (let g = 0; g < 8; g++) {
    let v = 0;
    let d = 0;
    for (; i < end; i++) {
      const c = s.charCodeAt(i);
      const h = c < 128 ? HEX[c]! : -1;
      if (h < 0) break;
      v = (v << 4) | h;
      d++;
    }
    if (d === 0 || d > 4) return false;
    if (g < 7) {
      if (i >= end || s.charCodeAt(i) !== 58) return false;
      i++;
    } else if (i !== end) return false;
    if ((g & 1) === 0) hi = v;
    else if (g === 1) w0 = (hi << 16) | v;
    else if (g === 3) w1 = (hi << 16) | v;
    else if (g === 5) w2 = (hi << 16) | v;
    else {
      out[outOff] = w0 >>> 0;
      out[outOff + 1] = w1 >>> 0;
      out[outOff + 2] = w2 >>> 0;
      out[outOff + 3] = ((hi << 16) | v) >>> 0;
    }
  }
  return true;
}

/**
 * Parses IPv6 text in `s[start, end)` into `out[outOff..outOff+3]` as big-endian 32-bit words
 * (`out[outOff]` holds the first 32 bits). Accepts `::` compression and a dotted-quad tail
 * (`::ffff:1.2.3.4`, `64:ff9b::1.2.3.4`); rejects zone ids, empty groups, groups over 4 hex digits.
 * `out` is only written on success.
 * @returns true on success.
 */
export function parseIPv6(s: string, out: Uint32Array, outOff = 0, start = 0, end: number = s.length): boolean {
  if (end - start >= 15 && parseIPv6Full(s, out, outOff, start, end)) return true;
  let n = 0;
  let dbl = -1;
  let i = start;
  if (i < end && s.charCodeAt(i) === 58) {
    if (i + 1 < end && s.charCodeAt(i + 1) === 58) {
      dbl = 0;
      i += 2;
    } else return false;
  }
  while (i < end) {
    if (n === 8) return false;
    let v = 0;
    let d = 0;
    let j = i;
    while (j < end) {
      const h = hexVal(s.charCodeAt(j));
      if (h < 0) break;
      if (d === 4) return false;
      v = (v << 4) | h;
      d++;
      j++;
    }
    if (j < end && s.charCodeAt(j) === 46) {
      // dotted-quad tail: must be the last 32 bits of the text
      if (n > 6) return false;
      const v4 = parseIPv4(s, i, end);
      if (v4 < 0) return false;
      G[n++] = v4 >>> 16;
      G[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (d === 0) return false;
    G[n++] = v;
    if (j === end) {
      i = j;
      break;
    }
    if (s.charCodeAt(j) !== 58) return false;
    j++;
    if (j < end && s.charCodeAt(j) === 58) {
      if (dbl >= 0) return false;
      dbl = n;
      i = j + 1;
      continue;
    }
    if (j === end) return false; // a single trailing ':'
    i = j;
  }
  if (dbl < 0 ? n !== 8 : n > 7) return false;
  // expand: groups [0, dbl) stay, groups [dbl, n) move to the end, the gap is zero
  const gap = dbl < 0 ? 0 : 8 - n;
  for (let k = 0; k < 4; k++) {
    const g0 = 2 * k;
    const hi = groupAt(g0, dbl, n, gap);
    const lo = groupAt(g0 + 1, dbl, n, gap);
    out[outOff + k] = ((hi << 16) | lo) >>> 0;
  }
  return true;
}

function groupAt(pos: number, dbl: number, n: number, gap: number): number {
  if (dbl < 0 || pos < dbl) return G[pos]!;
  if (pos < dbl + gap) return 0;
  const src = pos - gap;
  return src < n ? G[src]! : 0;
}

/** True when the four words are an IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 §2.5.5.2). */
export function isV4MappedWords(w0: number, w1: number, w2: number): boolean {
  return w0 === 0 && w1 === 0 && w2 === 0xffff;
}

/** Reads the big-endian 32-bit word at `b[off..off+3]`. */
export function readU32BE(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}
