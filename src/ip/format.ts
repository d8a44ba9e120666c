/**
 * Canonical text for addresses: dotted quad for IPv4, RFC 5952 for IPv6 (lowercase, no leading zeros,
 * the longest run of two or more zero groups compressed with `::`, leftmost run on a tie, and the IPv4-mapped
 * range written with a dotted-quad tail as RFC 5952 §5 recommends). Used for entries(), error messages and
 * list snapshots; not on the lookup path, so it may allocate strings.
 */

/** Decimal text of 0–255: flow records format two endpoints per flow, so the per-octet conversions add up. */
const DEC: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

/** Formats an unsigned 32-bit IPv4 address as a dotted quad. */
export function formatIPv4(u32: number): string {
  return DEC[u32 >>> 24]! + '.' + DEC[(u32 >>> 16) & 255]! + '.' + DEC[(u32 >>> 8) & 255]! + '.' + DEC[u32 & 255]!;
}

const GROUPS = new Uint16Array(8);

/** Groups [a, b) of GROUPS in lower-case hex without leading zeros, joined by ':'. */
function hexGroups(a: number, b: number): string {
  let s = '';
  for (let i = a; i < b; i++) s += (i === a ? '' : ':') + GROUPS[i]!.toString(16);
  return s;
}

/** Formats an IPv6 address given as four big-endian 32-bit words (RFC 5952). */
export function formatIPv6Words(w0: number, w1: number, w2: number, w3: number): string {
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return `::ffff:${formatIPv4(w3 >>> 0)}`;
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
  if (bestStart < 0) return hexGroups(0, 8);
  return `${hexGroups(0, bestStart)}::${hexGroups(bestStart + bestLen, 8)}`;
}

/** Formats the 16-byte IPv6 address at `bytes[off..off+15]` (RFC 5952). */
export function formatIPv6(bytes: Uint8Array, off = 0): string {
  return formatIPv6Words(word(bytes, off), word(bytes, off + 4), word(bytes, off + 8), word(bytes, off + 12));
}

function word(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
