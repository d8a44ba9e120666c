/**
 * Address ranges (`first-last`): RIPE inetnum objects and many registration schemes write address blocks this way.
 * A range is the fewest CIDR prefixes that cover exactly its addresses (at most 62 for IPv4, 254 for IPv6): from
 * its first address, the largest block aligned there that does not pass its last address, again and again.
 * Rare (list loading only): BigInt arithmetic, one scratch record reused for every prefix handed out.
 */
import type { PrefixParts } from './prefix.js';

function toBig(p: PrefixParts): bigint {
  let n = 0n;
  for (let k = 0; k < 4; k++) n = (n << 32n) | BigInt(p.words[k]!);
  return n;
}

/**
 * Hand `emit` the prefixes that cover `first`..`last` (addresses: their lengths are ignored), in address order. The
 * record passed to `emit` is reused: copy what is kept.
 * @throws {RangeError} when the ends are of different families or `first` is after `last` (the caller words it).
 */
export function rangePrefixes(first: PrefixParts, last: PrefixParts, emit: (p: PrefixParts) => void): void {
  if (first.family !== last.family) throw new RangeError('the two ends are of different address families');
  if (first.family === 4) {
    rangePrefixes4(first.words[0]!, last.words[0]!, emit);
    return;
  }
  const bits = 128;
  let lo = toBig(first);
  const hi = toBig(last);
  if (lo > hi) throw new RangeError('the first address is after the last');
  const out: PrefixParts = { family: first.family, words: new Uint32Array(4), len: 0 };
  for (;;) {
    // The block: as large as the start's alignment allows, then halved until it ends within the range.
    let size = 0;
    while (size < bits && ((lo >> BigInt(size)) & 1n) === 0n) size++;
    while (size > 0 && lo + (1n << BigInt(size)) - 1n > hi) size--;
    for (let k = 0; k < 4; k++) out.words[k] = Number((lo >> BigInt(32 * (3 - k))) & 0xffffffffn);
    out.len = bits - size;
    emit(out);
    const next = lo + (1n << BigInt(size));
    if (next > hi) return;
    lo = next;
  }
}

/** IPv4 in doubles (exact to 2^53): the common case of a list of ranges, without BigInt. */
function rangePrefixes4(lo: number, hi: number, emit: (p: PrefixParts) => void): void {
  if (lo > hi) throw new RangeError('the first address is after the last');
  const out: PrefixParts = { family: 4, words: new Uint32Array(4), len: 0 };
  for (;;) {
    let size = 0;
    while (size < 32 && lo % 2 ** (size + 1) === 0) size++;
    while (size > 0 && lo + 2 ** size - 1 > hi) size--;
    out.words[0] = lo;
    out.len = 32 - size;
    emit(out);
    const next = lo + 2 ** size;
    if (next > hi) return;
    lo = next;
  }
}
