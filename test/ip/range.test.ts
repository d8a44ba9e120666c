/**
 * Address ranges (`first-last`, as RIPE inetnum objects and many registration schemes write them) as the fewest
 * CIDR prefixes that cover exactly the range: checked against a naive oracle on IPv4 and on IPv6 near the edges.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newPrefixParts, parsePrefixInto, formatPrefix } from '../../src/ip/prefix.js';
import { rangePrefixes } from '../../src/ip/range.js';

const v4 = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
function prefixes(a: string, b: string): string[] {
  const p = parsePrefixInto(a, newPrefixParts());
  const q = parsePrefixInto(b, newPrefixParts());
  const out: string[] = [];
  rangePrefixes(p, q, (x) => out.push(formatPrefix(x)));
  return out;
}
/** The oracle: grow each block from the range's start while it stays aligned and inside. */
function naive(lo: bigint, hi: bigint, bits: number): [bigint, number][] {
  const out: [bigint, number][] = [];
  while (lo <= hi) {
    let size = 0;
    while (size < bits && lo % (1n << BigInt(size + 1)) === 0n && lo + (1n << BigInt(size + 1)) - 1n <= hi) size++;
    out.push([lo, bits - size]);
    lo += 1n << BigInt(size);
  }
  return out;
}

describe('rangePrefixes', () => {
  it('known ranges', () => {
    expect(prefixes('193.0.0.0', '193.0.7.255')).toEqual(['193.0.0.0/21']);
    expect(prefixes('10.0.0.1', '10.0.0.20')).toEqual(['10.0.0.1/32', '10.0.0.2/31', '10.0.0.4/30', '10.0.0.8/29', '10.0.0.16/30', '10.0.0.20/32']);
    expect(prefixes('0.0.0.0', '255.255.255.255')).toEqual(['0.0.0.0/0']);
    expect(prefixes('192.0.2.7', '192.0.2.7')).toEqual(['192.0.2.7/32']);
    expect(prefixes('::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toEqual(['::/0']);
    expect(prefixes('2001:db8::', '2001:db8:0:ffff:ffff:ffff:ffff:ffff')).toEqual(['2001:db8::/48']);
    expect(prefixes('::1', '::2')).toEqual(['::1/128', '::2/128']);
    expect(prefixes('::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe')).toHaveLength(128);
  });
  it('IPv4: the oracle\'s prefixes, for any range', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (x, y) => {
        const [lo, hi] = x <= y ? [x, y] : [y, x];
        expect(prefixes(v4(lo), v4(hi))).toEqual(naive(BigInt(lo), BigInt(hi), 32).map(([a, l]) => `${v4(Number(a))}/${l}`));
      }),
      { numRuns: 500 },
    );
  });
  it('IPv6: as many prefixes as the oracle, covering exactly the range (words near 0 and all-ones)', () => {
    const word = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
    const addr = fc.array(word, { minLength: 8, maxLength: 8 });
    const big = (ws: number[]) => ws.reduce((n, w) => (n << 16n) | BigInt(w), 0n);
    const text = (n: bigint) => Array.from({ length: 8 }, (_, i) => ((n >> BigInt(16 * (7 - i))) & 0xffffn).toString(16)).join(':');
    fc.assert(
      fc.property(addr, addr, (a, b) => {
        let [lo, hi] = [big(a), big(b)];
        if (lo > hi) [lo, hi] = [hi, lo];
        // An IPv4-mapped end is read as IPv4 (the lists' canonical form): another family.
        const mapped = (n: bigint) => n >> 32n === 0xffffn;
        fc.pre(!mapped(lo) && !mapped(hi));
        // A range across the IPv4-mapped block is left out: its mapped prefixes come out as IPv6 text, where a list
        // line naming them is read as IPv4 (an open question, in stop 40's note), and the oracle formats them as IPv4.
        fc.pre(!(lo <= 0xffffffffffffn && hi >= 0xffff00000000n));
        const got = prefixes(text(lo), text(hi));
        const want = naive(lo, hi, 128).map(([x, l]) => formatPrefix(parsePrefixInto(`${text(x)}/${l}`, newPrefixParts())));
        expect(got).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });
});
