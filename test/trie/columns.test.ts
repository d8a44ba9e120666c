/**
 * Prefix columns (src/trie/columns.ts), the bulk door CidrMapBuilder._fromColumns the list loader uses, and the
 * node compiler at the edges of prefixes, against naive twins: a comparison sort for canonical order, a Map of
 * prefix texts for "first of each, repeats reported", and the linear-scan oracle for lookups just inside and just
 * outside every prefix (where a node's runs start and end).
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { formatPrefix, newPrefixParts, parsePrefixInto } from '../../src/ip/prefix.js';
import { CidrMap, CidrMapBuilder } from '../../src/trie/cidr-map.js';
import { FamilyColumns, orderState, PrefixColumns } from '../../src/trie/columns.js';
import { OracleMap, type OraclePrefix } from '../oracles/cidr-oracle.js';
import { prefixSpec, renderPrefix, world } from './gen.js';

/** Columns of one family from [address words, length] rows (masked or not: order does not care). */
function familyOf(W: 1 | 4, rows: [number[], number][]): FamilyColumns {
  const cols = new PrefixColumns(1); // capacity 1: every push after the first grows the columns
  const p = newPrefixParts();
  rows.forEach(([w, len], i) => {
    p.family = W === 1 ? 4 : 6;
    for (let k = 0; k < 4; k++) p.words[k] = w[k] ?? 0;
    p.len = len;
    cols.push(p, i);
  });
  return W === 1 ? cols.v4 : cols.v6;
}

/** Canonical order the slow way: a stable comparison sort of positions. */
function naiveOrder(W: 1 | 4, rows: [number[], number][]): number[] {
  const key = ([w, len]: [number[], number]): number[] => [...w.slice(0, W), len];
  return rows
    .map((_, i) => i)
    .sort((a, b) => {
      const ka = key(rows[a]!);
      const kb = key(rows[b]!);
      for (let k = 0; k < ka.length; k++) if (ka[k] !== kb[k]) return ka[k]! - kb[k]!;
      return a - b;
    });
}

describe('canonical order of prefix columns', () => {
  // A small space of words so rows repeat and fall out of order often.
  const word = fc.oneof(
    fc.constantFrom(0, 1, 0x0a000000, 0x80000000, 0xffffffff, 0x20010db8),
    // a few /16s with random low bits: buckets of every size for the IPv4 sort's merges
    fc.tuple(fc.constantFrom(0x0a01, 0x0b00, 0xc000), fc.integer({ min: 0, max: 0xffff })).map(([hi, lo]) => ((hi << 16) | lo) >>> 0),
  );
  const rows = (W: 1 | 4): fc.Arbitrary<[number[], number][]> =>
    fc.oneof(
      fc.array(fc.tuple(fc.array(word, { minLength: W, maxLength: W }), fc.constantFrom(0, 8, 24, 32, 64, 128)), { maxLength: 60 }),
      fc.array(fc.tuple(fc.array(word, { minLength: W, maxLength: W }), fc.constantFrom(16, 24, 32)), { minLength: 100, maxLength: 400 }),
      // already in order (as an exported list often is), with and without repeats
      fc.array(fc.tuple(fc.array(word, { minLength: W, maxLength: W }), fc.constantFrom(8, 24)), { maxLength: 60 }).map((r) => naiveOrder(W, r).map((i) => r[i]!)),
    );
  for (const W of [1, 4] as const) {
    it(`orderState and sorted() agree with a comparison sort (W=${W})`, () => {
      fc.assert(
        fc.property(rows(W), (r) => {
          const c = familyOf(W, r);
          expect(c.n).toBe(r.length);
          const want = naiveOrder(W, r);
          const sorted = want.every((x, i) => x === i);
          const key = (i: number): string => JSON.stringify([...r[i]![0].slice(0, W), r[i]![1]]);
          const repeats = want.some((x, i) => i > 0 && key(want[i - 1]!) === key(x));
          expect(orderState(c.addr, c.len, c.n, W)).toBe(!sorted ? 2 : repeats ? 1 : 0);
          for (let i = 0; i < r.length; i++) expect(c.tag[i]).toBe(i);
          const got = c.sorted();
          expect(got.n).toBe(r.length);
          expect(got.copies).toBe(!sorted);
          if (!got.repeats) expect(repeats).toBe(false);
          if (sorted) expect(got.repeats).toBe(repeats);
          const rowsGot = Array.from({ length: got.n }, (_, i) => [[...got.addr.subarray(i * W, i * W + W)], got.len[i], got.tag[i]]);
          expect(rowsGot).toEqual(want.map((i) => [r[i]![0].slice(0, W), r[i]![1], i]));
        }),
        { numRuns: 400 },
      );
    });
  }
});

/** Address text of a family's bigint address. */
function addrText(family: 4 | 6, a: bigint): string {
  const n = family === 4 ? 4 : 16;
  const bytes: number[] = [];
  for (let i = n - 1; i >= 0; i--) bytes.push(Number((a >> BigInt(8 * i)) & 255n));
  return family === 4 ? bytes.join('.') : ipaddr.fromByteArray(bytes).toString();
}

/** First and last address of each prefix, and the addresses just outside it (where runs start and end). */
function edges(list: OraclePrefix<unknown>[]): string[] {
  const out: string[] = [];
  for (const p of list) {
    const bits = p.family === 4 ? 32 : 128;
    const max = (1n << BigInt(bits)) - 1n;
    const last = p.addr | ((1n << BigInt(bits - p.len)) - 1n);
    for (const a of [p.addr - 1n, p.addr, p.addr + 1n, last - 1n, last, last + 1n]) if (a >= 0n && a <= max) out.push(addrText(p.family, a));
  }
  return out;
}

const scenario = fc.record({
  w: world,
  prefixes: fc.array(fc.tuple(prefixSpec, fc.integer({ min: 0, max: 3 })), { maxLength: 50 }),
});

describe('CidrMapBuilder._fromColumns (the list loader door)', () => {
  it('keeps the first push of each prefix, reports every later one, and answers like the oracle at every prefix edge', () => {
    fc.assert(
      fc.property(scenario, ({ w, prefixes }) => {
        const cols = new PrefixColumns(2);
        const p = newPrefixParts();
        const texts: string[] = [];
        const vals: string[] = [];
        for (const [spec, v] of prefixes) {
          parsePrefixInto(renderPrefix(w, spec), p);
          texts.push(formatPrefix(p));
          vals.push(`v${v}`);
          cols.push(p, texts.length - 1);
        }
        const repeats: [number, number][] = [];
        const { map, tagAt } = CidrMapBuilder._fromColumns(cols, (t) => vals[t]!, (first, t) => repeats.push([first, t]));
        // naive: the first line of each prefix text wins; every later line of it is a repeat of that first line
        const firstOf = new Map<string, number>();
        const wantRepeats: [number, number][] = [];
        texts.forEach((t, i) => {
          const f = firstOf.get(t);
          if (f === undefined) firstOf.set(t, i);
          else wantRepeats.push([f, i]);
        });
        const sortPairs = (x: [number, number][]): [number, number][] => x.slice().sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        expect(sortPairs(repeats)).toEqual(sortPairs(wantRepeats));
        const o = new OracleMap([...firstOf].map(([t, i]) => [t, vals[i]!] as [string, string]));
        const sorted = o.sorted();
        expect([...map.entries()]).toEqual(sorted.map((x) => [OracleMap.format(x), x.value]));
        for (let i = 0; i < map.size; i++) expect(tagAt(i)).toBe(firstOf.get(map.prefixAt(i)));
        for (const a of edges(sorted)) expect(map.lookup(a), a).toBe(o.lookup(a));
        // and the general builder, over the same first-of-each entries, builds the same map
        const same = CidrMap.from([...firstOf].map(([t, i]) => [t, vals[i]!] as [string, string]));
        expect(Buffer.from(same.toBuffer()).equals(Buffer.from(map.toBuffer()))).toBe(true);
        expect(same.values()).toEqual(map.values());
      }),
      { numRuns: 300 },
    );
  });

  it('dense and sparse nodes: lookups at every edge of random /17–/32 sets under one /16, and IPv6 under one /32', () => {
    const v4 = fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 17, max: 32 })), { maxLength: 80, selector: ([a, l]) => `${a}/${l}` });
    const v6 = fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 33, max: 128 })), { maxLength: 40, selector: ([a, b, l]) => `${a}:${b}/${l}` });
    fc.assert(
      fc.property(v4, v6, (rows4, rows6) => {
        const entries: [string, string][] = [];
        const seen = new Set<string>();
        const p = newPrefixParts();
        const add = (text: string, v: string): void => {
          parsePrefixInto(text, p, true);
          const t = formatPrefix(p);
          if (seen.has(t)) return;
          seen.add(t);
          entries.push([t, v]);
        };
        for (const [lo, len] of rows4) add(`10.1.${lo >>> 8}.${lo & 255}/${len}`, `a${len}`);
        for (const [x, y, len] of rows6) add(`2001:db8:${x.toString(16)}:${y.toString(16)}::/${len}`, `b${len}`);
        const o = new OracleMap(entries);
        const m = CidrMap.from(entries);
        for (const a of edges(o.sorted())) expect(m.lookup(a), a).toBe(o.lookup(a));
      }),
      { numRuns: 200 },
    );
  });
});
