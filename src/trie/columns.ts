/**
 * Prefix columns: the storage a table is built from. Prefixes arrive in insertion order into growable typed
 * arrays (address words, length, and one caller-chosen u32 tag per prefix: an add index, a line's entry number),
 * so a million-line list costs a few flat arrays, no object or JS array per prefix. Owns canonical order (equal
 * prefixes end up adjacent, in push order); never does I/O and never decides what a repeat means (the builder's
 * walks over the sorted columns do).
 *
 * Columns only ever grow at the end: a view of `[0, n)` handed to a built map stays valid while more prefixes are
 * added (a later growth moves to a new buffer; the old one keeps its contents).
 *
 * Costs: push O(1) amortised; canonical order O(n) (one compare pass when the input is already in that order, as
 * exported lists often are; else a stable LSD radix sort over the digits that differ).
 */
import type { PrefixParts } from '../ip/prefix.js';

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
   * The prefixes `[0, n)` in canonical order (address words, then length; push order among equal prefixes):
   * the columns themselves when they already are in that order (nothing copied: one compare pass), else sorted
   * copies. `repeats` is false only when no prefix was pushed twice.
   */
  sorted(): SortedColumns {
    const { addr, len, tag, n, W } = this;
    const st = orderState(addr, len, n, W);
    if (st !== UNORDERED) return { addr, len, tag, n, repeats: st === ORDERED_WITH_REPEATS, copies: false };
    return sortColumns(addr, len, tag, n, W);
  }
}

/** Columns in canonical order (see FamilyColumns#sorted); `copies`: fresh arrays the caller may write to. */
export interface SortedColumns {
  addr: Uint32Array;
  len: Uint8Array;
  tag: Uint32Array;
  n: number;
  repeats: boolean;
  copies: boolean;
}

type Columns3 = [addr: Uint32Array, len: Uint8Array, tag: Uint32Array];

const DIGIT_BITS = 11;
const DIGIT_MASK = (1 << DIGIT_BITS) - 1;

/**
 * Sorted copies of prefixes `[0, n)`: a stable LSD radix sort on the length, then on 11-bit digits of the address
 * words from the last, carrying every column along (each pass reads sequentially: a shuffled million-line list
 * costs no random gathers), skipping the digits every prefix shares (one pass finds them).
 */
function sortColumns(addr: Uint32Array, lens: Uint8Array, tag: Uint32Array, n: number, W: 1 | 4): SortedColumns {
  // Which bits of each word, and whether the length, differ anywhere.
  const diff = new Uint32Array(W);
  let lenDiff = 0;
  for (let i = 1; i < n; i++) {
    for (let k = 0; k < W; k++) diff[k]! |= addr[i * W + k]! ^ addr[k]!;
    lenDiff |= lens[i]! ^ lens[0]!;
  }
  // The passes, least significant first: [word, shift] (word -1: the length).
  const passes: [number, number][] = [];
  if (lenDiff !== 0) passes.push([-1, 0]);
  for (let k = W - 1; k >= 0; k--) for (let sh = 0; sh < 32; sh += DIGIT_BITS) if ((diff[k]! >>> sh) & DIGIT_MASK) passes.push([k, sh]);
  const alloc = (): Columns3 => [new Uint32Array(n * W), new Uint8Array(n), new Uint32Array(n)];
  const columns: Columns3 = [addr, lens, tag];
  // Ping-pong between two sets of arrays; the caller's columns are only ever read.
  let cur = columns;
  let next: Columns3 | null = null;
  const cnt = new Uint32Array(DIGIT_MASK + 2);
  const dig = new Uint16Array(n);
  for (const [k, sh] of passes) {
    const [a, l, t] = cur;
    if (k < 0) countLengths(l, dig, cnt, n);
    else countDigits(a, dig, cnt, n, W, k, sh);
    const into = next ?? alloc();
    if (W === 1) scatter1(a, l, t, into, dig, cnt, n);
    else scatter4(a, l, t, into, dig, cnt, n);
    next = cur === columns ? null : cur;
    cur = into;
  }
  if (cur === columns) {
    // no pass: every prefix is the same one (not reached from sorted(), which finds those in order)
    cur = alloc();
    cur[0].set(addr.subarray(0, n * W));
    cur[1].set(lens.subarray(0, n));
    cur[2].set(tag.subarray(0, n));
  }
  return { addr: cur[0], len: cur[1], tag: cur[2], n, repeats: true, copies: true };
}

/**
 * Each prefix's digit into `dig`, and `cnt[d]` = where prefixes with digit d start. Small functions, each a single
 * loop, reused by every pass: compiled once, not per loop.
 */
function countLengths(l: Uint8Array, dig: Uint16Array, cnt: Uint32Array, n: number): void {
  cnt.fill(0);
  for (let i = 0; i < n; i++) cnt[(dig[i] = l[i]!) + 1]!++;
  for (let d = 1; d < cnt.length; d++) cnt[d]! += cnt[d - 1]!;
}
function countDigits(a: Uint32Array, dig: Uint16Array, cnt: Uint32Array, n: number, W: 1 | 4, k: number, sh: number): void {
  cnt.fill(0);
  for (let i = 0; i < n; i++) cnt[(dig[i] = (a[i * W + k]! >>> sh) & DIGIT_MASK) + 1]!++;
  for (let d = 1; d < cnt.length; d++) cnt[d]! += cnt[d - 1]!;
}

/** One stable pass: each prefix to `cnt[its digit]++` in the target columns (IPv4: one address word). */
function scatter1(a: Uint32Array, l: Uint8Array, t: Uint32Array, to: Columns3, dig: Uint16Array, cnt: Uint32Array, n: number): void {
  const [oa, ol, ot] = to;
  for (let i = 0; i < n; i++) {
    const p = cnt[dig[i]!]!++;
    oa[p] = a[i]!;
    ol[p] = l[i]!;
    ot[p] = t[i]!;
  }
}
/** The same for IPv6 (four address words). */
function scatter4(a: Uint32Array, l: Uint8Array, t: Uint32Array, to: Columns3, dig: Uint16Array, cnt: Uint32Array, n: number): void {
  const [oa, ol, ot] = to;
  for (let i = 0; i < n; i++) {
    const p = cnt[dig[i]!]!++;
    oa[4 * p] = a[4 * i]!;
    oa[4 * p + 1] = a[4 * i + 1]!;
    oa[4 * p + 2] = a[4 * i + 2]!;
    oa[4 * p + 3] = a[4 * i + 3]!;
    ol[p] = l[i]!;
    ot[p] = t[i]!;
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
