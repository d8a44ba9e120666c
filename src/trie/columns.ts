/**
 * Prefix columns: the storage a table is built from. Prefixes arrive in insertion order into growable typed
 * arrays (address words, length, and one caller-chosen u32 tag per prefix: an add index, a line's entry number),
 * so a million-line list costs a few flat arrays, no object or JS array per prefix. Owns canonical order and the
 * walk over groups of equal prefixes; never does I/O and never decides what a repeat means (the caller does).
 *
 * Columns only ever grow at the end: a view of `[0, n)` handed to a built map stays valid while more prefixes are
 * added (a later growth moves to a new buffer; the old one keeps its contents).
 *
 * Costs: push O(1) amortised; order O(n) (one compare pass when the input is already in canonical order, as
 * exported lists often are; else a stable LSD radix sort).
 */
import type { PrefixParts } from '../ip/prefix.js';
import { sortPrefixes } from './compile.js';

/** One family's columns (W = address words per prefix: 1 for IPv4, 4 for IPv6). */
export class FamilyColumns {
  addr: Uint32Array;
  len: Uint8Array;
  tag: Uint32Array;
  n = 0;
  constructor(
    readonly W: 1 | 4,
    capacity: number,
  ) {
    const c = Math.max(16, capacity);
    this.addr = new Uint32Array(c * W);
    this.len = new Uint8Array(c);
    this.tag = new Uint32Array(c);
  }

  /** Makes room for one more prefix (doubling: O(1) amortised). */
  grow(): void {
    const c = this.len.length * 2;
    const a = new Uint32Array(c * this.W);
    a.set(this.addr);
    const l = new Uint8Array(c);
    l.set(this.len);
    const t = new Uint32Array(c);
    t.set(this.tag);
    this.addr = a;
    this.len = l;
    this.tag = t;
  }

  /**
   * Positions `[0, n)` in canonical order (address words, then length; insertion order among equal prefixes),
   * or null when they already are in that order (the identity: nothing allocated). `repeats` tells whether some
   * prefix was pushed more than once (false: every group has one prefix).
   */
  order(): { order: Uint32Array | null; repeats: boolean } {
    const st = orderState(this.addr, this.len, this.n, this.W);
    if (st === UNORDERED) return { order: sortPrefixes(this.addr, this.len, this.n, this.W), repeats: true };
    return { order: null, repeats: st === ORDERED_WITH_REPEATS };
  }
}

/**
 * IPv4 and IPv6 columns. A prefix goes to its family's columns; tags are the caller's (an index into its own
 * arrays of values or line numbers).
 */
export class PrefixColumns {
  readonly v4: FamilyColumns;
  readonly v6: FamilyColumns;
  /** @param capacity prefixes of each family before the first growth (memory not written to is not touched). */
  constructor(capacity = 64) {
    this.v4 = new FamilyColumns(1, capacity);
    this.v6 = new FamilyColumns(4, capacity);
  }

  /** Number of prefixes pushed. */
  get size(): number {
    return this.v4.n + this.v6.n;
  }

  /** Appends a parsed, masked prefix (see parsePrefixInto) with its tag. */
  push(p: PrefixParts, tag: number): void {
    if (p.family === 4) {
      const c = this.v4;
      const n = c.n;
      if (n === c.len.length) c.grow();
      c.addr[n] = p.words[0]!;
      c.len[n] = p.len;
      c.tag[n] = tag;
      c.n = n + 1;
    } else {
      const c = this.v6;
      const n = c.n;
      if (n === c.len.length) c.grow();
      const a = c.addr;
      const w = p.words;
      a[4 * n] = w[0]!;
      a[4 * n + 1] = w[1]!;
      a[4 * n + 2] = w[2]!;
      a[4 * n + 3] = w[3]!;
      c.len[n] = p.len;
      c.tag[n] = tag;
      c.n = n + 1;
    }
  }
}

const ASCENDING = 0;
const ORDERED_WITH_REPEATS = 1;
const UNORDERED = 2;

/**
 * Whether prefixes `[0, n)` are strictly ascending by (address words, length), ascending with some prefix
 * repeated, or not in order. One pass; a list exported in address order needs no sort.
 */
export function orderState(addr: Uint32Array, lens: Uint8Array, n: number, W: 1 | 4): 0 | 1 | 2 {
  let st: 0 | 1 = ASCENDING;
  if (W === 1) {
    for (let i = 1; i < n; i++) {
      const a = addr[i - 1]!;
      const b = addr[i]!;
      if (a < b) continue;
      if (a > b) return UNORDERED;
      const d = lens[i - 1]! - lens[i]!;
      if (d > 0) return UNORDERED;
      if (d === 0) st = ORDERED_WITH_REPEATS;
    }
    return st;
  }
  for (let i = 1; i < n; i++) {
    const c = compare6(addr, lens, i - 1, i);
    if (c > 0) return UNORDERED;
    if (c === 0) st = ORDERED_WITH_REPEATS;
  }
  return st;
}

function compare6(addr: Uint32Array, lens: Uint8Array, i: number, j: number): number {
  for (let k = 0; k < 4; k++) {
    const d = addr[4 * i + k]! - addr[4 * j + k]!;
    if (d !== 0) return d;
  }
  return lens[i]! - lens[j]!;
}

/**
 * `a[0, n)` for a built map: a view when the array is (nearly) that long, else an exact copy, so a map never
 * holds much more memory than it uses (reserved capacity counts as ArrayBuffer memory even when no page of it
 * was ever touched).
 */
export function fit<A extends Uint32Array | Uint8Array | Int32Array>(a: A, n: number): A {
  return (a.length - n <= n >>> 3 ? a.subarray(0, n) : a.slice(0, n)) as A;
}

/** True when positions `a` and `b` hold the same prefix. */
export function samePrefix(addr: Uint32Array, lens: Uint8Array, W: 1 | 4, a: number, b: number): boolean {
  if (lens[a] !== lens[b]) return false;
  if (W === 1) return addr[a] === addr[b];
  for (let k = 0; k < 4; k++) if (addr[a * 4 + k] !== addr[b * 4 + k]) return false;
  return true;
}
