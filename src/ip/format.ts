/**
 * Canonical text for addresses: dotted quad for IPv4, RFC 5952 for IPv6 (lowercase, no leading zeros,
 * the longest run of two or more zero groups compressed with `::`, leftmost run on a tie, and the IPv4-mapped
 * range written with a dotted-quad tail as RFC 5952 §5 recommends). Used for entries(), error messages and
 * list snapshots; not on the lookup path, so it may allocate strings.
 */

/** Formats an unsigned 32-bit IPv4 address as a dotted quad. */
export function formatIPv4(u32: number): string {
  return `${u32 >>> 24}.${(u32 >>> 16) & 255}.${(u32 >>> 8) & 255}.${u32 & 255}`;
}

/** Formats an IPv6 address given as four big-endian 32-bit words (RFC 5952). */
export function formatIPv6Words(w0: number, w1: number, w2: number, w3: number): string {
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return `::ffff:${formatIPv4(w3 >>> 0)}`;
  const g = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
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
  const hex = (a: number, b: number): string =>
    g
      .slice(a, b)
      .map((x) => x.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/** Formats the 16-byte IPv6 address at `bytes[off..off+15]` (RFC 5952). */
export function formatIPv6(bytes: Uint8Array, off = 0): string {
  const w = (k: number): number =>
    ((bytes[off + k]! << 24) | (bytes[off + k + 1]! << 16) | (bytes[off + k + 2]! << 8) | bytes[off + k + 3]!) >>> 0;
  return formatIPv6Words(w(0), w(4), w(8), w(12));
}
