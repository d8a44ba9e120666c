/**
 * CidrMapBuilder -> CidrMap<V>: an immutable longest-prefix-match table for IPv4 and IPv6 in one object.
 *
 * Owns: the public table API (bart naming: lookup/contains = longest-prefix match, get/has = exact prefix,
 * `4`/`6` suffixes = numeric family doors), duplicate policy, canonical iteration, and SharedArrayBuffer
 * serialisation. Never does I/O. Lookups never allocate and never throw for numeric input; the string doors
 * throw CidrError for text that is not an address.
 *
 * Costs: lookup4 = 1 root probe + ≤ 2 node probes; lookup6 = 1 root probe + ≤ 14 node probes (≈ 2–4 for
 * real /32–/48 tables); get/has = O(log n) binary search; build = O(n) (an order check, a radix sort when
 * the input is not in order, compilation of the slots prefixes paint).
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) is IPv4 everywhere: as list entries and as lookup input.
 */
import { CidrError, InvalidArgumentError } from '../errors.js';
import { formatIPv4, formatIPv6Words } from '../ip/format.js';
import { isV4MappedWords, parseIPv4, parseIPv6, readU32BE } from '../ip/parse.js';
import { maskBits, newPrefixParts, parsePrefixInto, type PrefixParts } from '../ip/prefix.js';
import { CidrMapBuilder } from './builder.js';
import { EMPTY_ROOT } from './compile.js';
import { packTables, unpackTables, type Tables } from './serialize.js';

/** Duplicate-prefix policy: keep the first or last value, or combine them. */
export type CidrMergePolicy<V> = 'first' | 'last' | ((existing: V, incoming: V, prefix: string) => V);

/** Options for {@link CidrMap.from} and {@link CidrMapBuilder}. */
export interface CidrMapOptions<V> {
  /**
   * Clear host bits (`10.0.0.1/8` -> `10.0.0.0/8`) instead of throwing CidrError TS_HOST_BITS.
   * @default false
   */
  normalize?: boolean;
  /**
   * What to do when the same prefix is added twice. `'first'` keeps the earlier value, `'last'` the later,
   * a function combines `(existing, incoming, prefix)`. Default: the same value (Object.is) is accepted
   * silently, a different value throws CidrError TS_DUPLICATE_PREFIX at build().
   */
  merge?: CidrMergePolicy<V>;
}

/** Result of {@link CidrMap.match}. */
export interface CidrMatch<V> {
  prefix: string;
  value: V;
}

// Scratch for the string door; module-level so lookup(string) allocates nothing.
const SCRATCH6 = new Uint32Array(4);

function popcnt(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * Immutable longest-prefix-match table. Build with {@link CidrMap.from} or {@link CidrMapBuilder}; share
 * freely (frozen), swap by reference when a list changes, ship to workers with {@link CidrMap.toBuffer}.
 *
 * @example
 * const m = CidrMap.from([['10.0.0.0/8', 'corp'], ['10.1.0.0/16', 'lab'], ['2001:db8::/32', 'doc']]);
 * m.lookup('10.1.2.3');        // 'lab'
 * m.lookup4(0x0a020304);       // 'corp'
 * m.match('2001:db8::1');      // { prefix: '2001:db8::/32', value: 'doc' }
 */
export class CidrMap<V> {
  readonly #r4: Int32Array;
  readonly #r6: Int32Array;
  readonly #n: Int32Array;
  readonly #a4: Uint32Array;
  readonly #l4: Uint8Array;
  readonly #a6: Uint32Array;
  readonly #l6: Uint8Array;
  readonly #v: V[];
  readonly #n4: number;
  readonly #n6: number;

  /** @internal use CidrMap.from, CidrMapBuilder#build or CidrMap.fromBuffer. */
  private constructor(t: Tables, values: V[]) {
    this.#r4 = t.root4;
    this.#r6 = t.root6;
    this.#n = t.nodes;
    this.#a4 = t.addr4;
    this.#l4 = t.len4;
    this.#a6 = t.addr6;
    this.#l6 = t.len6;
    this.#v = values;
    this.#n4 = t.len4.length;
    this.#n6 = t.len6.length;
    Object.freeze(this);
  }

  /** @internal */
  static _create<V>(t: Tables, values: V[]): CidrMap<V> {
    return new CidrMap<V>(t, values);
  }

  /**
   * Builds a map from `[cidr, value]` pairs (a bare address means /32 or /128).
   * @throws {CidrError} TS_INVALID_CIDR, TS_PREFIX_LENGTH, TS_HOST_BITS, TS_DUPLICATE_PREFIX
   */
  static from<V>(entries: Iterable<readonly [cidr: string, value: V]>, options?: CidrMapOptions<V>): CidrMap<V> {
    const b = new CidrMapBuilder<V>(options);
    for (const [c, v] of entries) b.add(c, v);
    return b.build();
  }

  /** Number of prefixes (both families). */
  get size(): number {
    return this.#n4 + this.#n6;
  }
  /** Number of IPv4 prefixes (IPv4-mapped IPv6 entries count here). */
  get size4(): number {
    return this.#n4;
  }
  /** Number of IPv6 prefixes. */
  get size6(): number {
    return this.#n6;
  }

  /** Index of the longest prefix containing the IPv4 address `u32`, or -1. O(1): ≤ 3 probes, no allocation. */
  matchIndex4(u32: number): number {
    const N = this.#n;
    let e = this.#r4[u32 >>> 16]!;
    if (e < 0) {
      let o = ~e;
      let b = (u32 >>> 8) & 255;
      e = N[N[o + 8 + (b >>> 5)]! + popcnt(N[o + (b >>> 5)]! & (0xffffffff >>> (31 - (b & 31))))]!;
      if (e < 0) {
        o = ~e;
        b = u32 & 255;
        e = N[N[o + 8 + (b >>> 5)]! + popcnt(N[o + (b >>> 5)]! & (0xffffffff >>> (31 - (b & 31))))]!;
      }
    }
    return e - 1;
  }

  /** Longest-prefix match on four big-endian words (not IPv4-mapped-aware; see matchIndex6). */
  #idx6(w0: number, w1: number, w2: number, w3: number): number {
    const N = this.#n;
    let e = this.#r6[w0 >>> 16]!;
    let s = 16;
    while (e < 0 && s < 128) {
      const o = ~e;
      if (N[o] === 0) {
        // tail: the one prefix below here, compared whole
        const len = N[o + 3]!;
        const hit =
          ((w0 ^ N[o + 4]!) & maskBits(len)) === 0 &&
          ((w1 ^ N[o + 5]!) & maskBits(len - 32)) === 0 &&
          ((w2 ^ N[o + 6]!) & maskBits(len - 64)) === 0 &&
          ((w3 ^ N[o + 7]!) & maskBits(len - 96)) === 0;
        e = hit ? N[o + 1]! : N[o + 2]!;
        break;
      }
      const w = s < 32 ? w0 : s < 64 ? w1 : s < 96 ? w2 : w3;
      const b = (w >>> (24 - (s & 31))) & 255;
      e = N[N[o + 8 + (b >>> 5)]! + popcnt(N[o + (b >>> 5)]! & (0xffffffff >>> (31 - (b & 31))))]!;
      s += 8;
    }
    return e - 1; // a corrupt table can only yield "no match", never a loop
  }

  /**
   * Index of the longest prefix containing the 16-byte IPv6 address at `bytes[offset..offset+15]`, or -1.
   * IPv4-mapped addresses take the IPv4 path. No allocation.
   */
  matchIndex6(bytes: Uint8Array, offset = 0): number {
    const w0 = readU32BE(bytes, offset);
    const w1 = readU32BE(bytes, offset + 4);
    const w2 = readU32BE(bytes, offset + 8);
    const w3 = readU32BE(bytes, offset + 12);
    if (isV4MappedWords(w0, w1, w2)) return this.matchIndex4(w3);
    return this.#idx6(w0, w1, w2, w3);
  }

  /** Index for an address string; throws CidrError TS_INVALID_IP for text that is not an address. */
  #indexOf(ip: string): number {
    if (typeof ip !== 'string') throw new InvalidArgumentError(`expected an address string, got ${typeof ip}`);
    const v4 = parseIPv4(ip);
    if (v4 >= 0) return this.matchIndex4(v4);
    const w = SCRATCH6;
    if (!parseIPv6(ip, w)) throw new CidrError('TS_INVALID_IP', ip, 'not an IPv4 or IPv6 address');
    if (isV4MappedWords(w[0]!, w[1]!, w[2]!)) return this.matchIndex4(w[3]!);
    return this.#idx6(w[0]!, w[1]!, w[2]!, w[3]!);
  }

  /**
   * Longest-prefix match: the value of the most specific prefix containing `ip`.
   * IPv4 text allocates nothing. @throws {CidrError} TS_INVALID_IP
   */
  lookup(ip: string): V | undefined {
    const i = this.#indexOf(ip);
    return i < 0 ? undefined : this.#v[i];
  }
  /** True when some prefix contains `ip`. @throws {CidrError} TS_INVALID_IP */
  contains(ip: string): boolean {
    return this.#indexOf(ip) >= 0;
  }
  /** The most specific prefix containing `ip` and its value (allocates the result). @throws {CidrError} */
  match(ip: string): CidrMatch<V> | undefined {
    const i = this.#indexOf(ip);
    return i < 0 ? undefined : { prefix: this.prefixAt(i), value: this.#v[i]! };
  }
  /** Numeric IPv4 door: LPM on an unsigned 32-bit address. No allocation. */
  lookup4(u32: number): V | undefined {
    const i = this.matchIndex4(u32);
    return i < 0 ? undefined : this.#v[i];
  }
  /** Numeric IPv4 door: true when some prefix contains `u32`. */
  contains4(u32: number): boolean {
    return this.matchIndex4(u32) >= 0;
  }
  /** Numeric IPv6 door: LPM on 16 network-order bytes at `offset` (IPv4-mapped -> IPv4). No allocation. */
  lookup6(bytes: Uint8Array, offset = 0): V | undefined {
    const i = this.matchIndex6(bytes, offset);
    return i < 0 ? undefined : this.#v[i];
  }
  /** Numeric IPv6 door: true when some prefix contains the address. */
  contains6(bytes: Uint8Array, offset = 0): boolean {
    return this.matchIndex6(bytes, offset) >= 0;
  }

  /** Canonical text of prefix `i` (as returned by matchIndex4/6). @throws {InvalidArgumentError} */
  prefixAt(i: number): string {
    if (!Number.isInteger(i) || i < 0 || i >= this.#n4 + this.#n6) {
      throw new InvalidArgumentError(`prefix index ${i} out of range 0..${this.#n4 + this.#n6 - 1}`);
    }
    if (i < this.#n4) return `${formatIPv4(this.#a4[i]!)}/${this.#l4[i]!}`;
    const j = i - this.#n4;
    const a = this.#a6;
    return `${formatIPv6Words(a[4 * j]!, a[4 * j + 1]!, a[4 * j + 2]!, a[4 * j + 3]!)}/${this.#l6[j]!}`;
  }
  /** Value of prefix `i`. @throws {InvalidArgumentError} */
  valueAt(i: number): V {
    if (!Number.isInteger(i) || i < 0 || i >= this.#n4 + this.#n6) {
      throw new InvalidArgumentError(`prefix index ${i} out of range 0..${this.#n4 + this.#n6 - 1}`);
    }
    return this.#v[i]!;
  }

  /** Exact-prefix index (binary search), or -1. */
  #exact(p: PrefixParts): number {
    if (p.family === 4) {
      const a = this.#a4;
      const l = this.#l4;
      const x = p.words[0]!;
      let lo = 0;
      let hi = this.#n4;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        const am = a[mid]!;
        if (am < x || (am === x && l[mid]! < p.len)) lo = mid + 1;
        else hi = mid;
      }
      return lo < this.#n4 && a[lo] === x && l[lo] === p.len ? lo : -1;
    }
    const a = this.#a6;
    const l = this.#l6;
    const w = p.words;
    const cmp = (j: number): number => {
      for (let k = 0; k < 4; k++) {
        const d = a[4 * j + k]! - w[k]!;
        if (d !== 0) return d;
      }
      return l[j]! - p.len;
    };
    let lo = 0;
    let hi = this.#n6;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(mid) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.#n6 && cmp(lo) === 0 ? this.#n4 + lo : -1;
  }

  /**
   * Exact-prefix lookup (not LPM): the value stored for exactly this prefix. O(log n).
   * @throws {CidrError} TS_INVALID_CIDR, TS_PREFIX_LENGTH, TS_HOST_BITS
   */
  get(prefix: string): V | undefined {
    const i = this.#exact(parsePrefixInto(prefix, newPrefixParts()));
    return i < 0 ? undefined : this.#v[i];
  }
  /** True when exactly this prefix is in the map. @throws {CidrError} */
  has(prefix: string): boolean {
    return this.#exact(parsePrefixInto(prefix, newPrefixParts())) >= 0;
  }

  /** `[prefix, value]` in canonical order: IPv4 first, then by address, then by length. */
  *entries(): IterableIterator<[string, V]> {
    const n = this.#n4 + this.#n6;
    for (let i = 0; i < n; i++) yield [this.prefixAt(i), this.#v[i]!];
  }
  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }
  /** Values in index order: the `values` argument {@link CidrMap.fromBuffer} expects. Returns a copy. */
  values(): V[] {
    return this.#v.slice();
  }

  /**
   * Packs all tables into one SharedArrayBuffer (header: magic "TSCM", version, counts, section offsets;
   * layout in serialize.ts). Values are not included (they may not be transferable): pass `values()` alongside.
   */
  toBuffer(): SharedArrayBuffer {
    return packTables({
      root4: this.#r4,
      root6: this.#r6,
      nodes: this.#n,
      addr4: this.#a4,
      len4: this.#l4,
      addr6: this.#a6,
      len6: this.#l6,
    });
  }

  /**
   * Rebuilds a map over a buffer produced by {@link CidrMap.toBuffer} without copying the tables (views),
   * e.g. in a worker that received the SharedArrayBuffer. `values` must be `map.values()` of the original map.
   * Validates the header and walks the node graph once (O(table size)).
   * @throws {TunnelscopeError} TS_BAD_BUFFER when the header, sizes or table pointers are inconsistent.
   */
  static fromBuffer<V>(buf: SharedArrayBuffer | ArrayBuffer | Uint8Array, values: readonly V[]): CidrMap<V> {
    return new CidrMap<V>(unpackTables(buf, values.length, EMPTY_ROOT), values.slice());
  }

  /**
   * @internal {@link fromBuffer} for a buffer this process packed with {@link toBuffer} (the classifier pool's
   * lists): the header is checked, the node graph is not walked again (a 1M-prefix list costs ~60 ms a thread),
   * and `values` is taken as it is, not copied (the caller gives up the array).
   */
  static fromOwnBuffer<V>(buf: SharedArrayBuffer, values: V[]): CidrMap<V> {
    return new CidrMap<V>(unpackTables(buf, values.length, EMPTY_ROOT, false), values);
  }
}

export { CidrMapBuilder };
