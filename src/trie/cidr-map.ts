/**
 * CidrMapBuilder -> CidrMap<V>: an immutable longest-prefix-match table for IPv4 and IPv6 in one object.
 *
 * Owns: the public table API (bart naming: lookup/contains = longest-prefix match, get/has = exact prefix,
 * `4`/`6` suffixes = numeric family doors), duplicate policy, canonical iteration, and SharedArrayBuffer
 * serialisation. Never does I/O. Lookups never allocate and never throw for numeric input; the string doors
 * throw CidrError for text that is not an address.
 *
 * Costs: lookup4 = 1 root probe + ≤ 2 node probes; lookup6 = 1 root probe + ≤ 14 node probes (≈ 2–4 for
 * real /32–/48 tables); get/has = O(log n) binary search; build = O(n + nodes·256) after an O(n) radix sort.
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) is IPv4 everywhere: as list entries and as lookup input.
 */
import { CidrError, InvalidArgumentError, TunnelscopeError } from '../errors.js';
import { formatIPv4, formatIPv6Words } from '../ip/format.js';
import { isV4MappedWords, parseIPv4, parseIPv6, readU32BE } from '../ip/parse.js';
import { applyMask, formatPrefix, maskBits, newPrefixParts, parsePrefixInto, type PrefixParts } from '../ip/prefix.js';
import { compileFamily, NodeWriter, NODE_HEADER, sortPrefixes, TAIL_WORDS } from './compile.js';

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

// Shared all-zero root for a family that has no prefixes (saves 256 KiB per map; never written).
const EMPTY_ROOT = new Int32Array(1 << 16);
// Scratch for the string door; module-level so lookup(string) allocates nothing.
const SCRATCH6 = new Uint32Array(4);

function popcnt(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Internal table bundle (also the serialisation unit). */
interface Tables {
  root4: Int32Array;
  root6: Int32Array;
  nodes: Int32Array;
  addr4: Uint32Array;
  len4: Uint8Array;
  addr6: Uint32Array;
  len6: Uint8Array;
}

const MAGIC = 0x4d435354; // "TSCM" little-endian
const VERSION = 1;
const HEADER_WORDS = 16;

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
   * Packs all tables into one SharedArrayBuffer (header: magic "TSCM", version, counts, section offsets).
   * Values are not included (they may not be transferable): pass `values()` alongside.
   */
  toBuffer(): SharedArrayBuffer {
    const has4 = this.#n4 > 0 ? 1 : 0;
    const has6 = this.#n6 > 0 ? 1 : 0;
    let off = HEADER_WORDS * 4;
    const offs: number[] = [];
    const add = (bytes: number): void => {
      offs.push(off);
      off += (bytes + 3) & ~3;
    };
    add(has4 * 65536 * 4);
    add(has6 * 65536 * 4);
    add(this.#n.length * 4);
    add(this.#a4.length * 4);
    add(this.#a6.length * 4);
    add(this.#l4.length);
    add(this.#l6.length);
    const sab = new SharedArrayBuffer(off);
    const h = new Uint32Array(sab, 0, HEADER_WORDS);
    h.set([MAGIC, VERSION, this.#n4, this.#n6, this.#n.length, has4, has6, ...offs, off]);
    if (has4) new Int32Array(sab, offs[0]!, 65536).set(this.#r4);
    if (has6) new Int32Array(sab, offs[1]!, 65536).set(this.#r6);
    new Int32Array(sab, offs[2]!, this.#n.length).set(this.#n);
    new Uint32Array(sab, offs[3]!, this.#a4.length).set(this.#a4);
    new Uint32Array(sab, offs[4]!, this.#a6.length).set(this.#a6);
    new Uint8Array(sab, offs[5]!, this.#l4.length).set(this.#l4);
    new Uint8Array(sab, offs[6]!, this.#l6.length).set(this.#l6);
    return sab;
  }

  /**
   * Rebuilds a map over a buffer produced by {@link CidrMap.toBuffer} without copying the tables (views).
   * `values` must be `map.values()` of the original map.
   * @throws {TunnelscopeError} TS_BAD_BUFFER when the header, sizes or table pointers are inconsistent.
   */
  static fromBuffer<V>(buf: SharedArrayBuffer | ArrayBuffer | Uint8Array, values: readonly V[]): CidrMap<V> {
    const bad = (why: string): TunnelscopeError => new TunnelscopeError('TS_BAD_BUFFER', `CidrMap buffer: ${why}`);
    let ab: ArrayBufferLike;
    let base = 0;
    let byteLen: number;
    if (buf instanceof Uint8Array) {
      ab = buf.buffer;
      base = buf.byteOffset;
      byteLen = buf.byteLength;
    } else if (buf instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && buf instanceof SharedArrayBuffer)) {
      ab = buf;
      byteLen = buf.byteLength;
    } else throw bad('not a SharedArrayBuffer, ArrayBuffer or Uint8Array');
    if (base % 4 !== 0) throw bad('byteOffset is not 4-byte aligned');
    if (byteLen < HEADER_WORDS * 4) throw bad(`too short (${byteLen} bytes)`);
    const h = new Uint32Array(ab, base, HEADER_WORDS);
    if (h[0] !== MAGIC) throw bad('bad magic (not a CidrMap buffer)');
    if (h[1] !== VERSION) throw bad(`unsupported version ${h[1]}`);
    const n4 = h[2]!;
    const n6 = h[3]!;
    const nn = h[4]!;
    const has4 = h[5]!;
    const has6 = h[6]!;
    const total = h[14]!;
    if (total > byteLen) throw bad(`truncated: header says ${total} bytes, got ${byteLen}`);
    if (has4 !== (n4 > 0 ? 1 : 0) || has6 !== (n6 > 0 ? 1 : 0)) throw bad('root flags disagree with counts');
    const sizes = [has4 * 262144, has6 * 262144, nn * 4, n4 * 4, n6 * 16, n4, n6];
    for (let s = 0; s < 7; s++) {
      const o = h[7 + s]!;
      const end = s < 6 ? h[8 + s]! : total;
      if (o % 4 !== 0 || o < HEADER_WORDS * 4 || o + sizes[s]! > end || end > total) throw bad(`section ${s} out of bounds`);
    }
    if (values.length !== n4 + n6) throw bad(`values.length ${values.length} != ${n4 + n6} prefixes`);
    const t: Tables = {
      root4: has4 ? new Int32Array(ab, base + h[7]!, 65536) : EMPTY_ROOT,
      root6: has6 ? new Int32Array(ab, base + h[8]!, 65536) : EMPTY_ROOT,
      nodes: new Int32Array(ab, base + h[9]!, nn),
      addr4: new Uint32Array(ab, base + h[10]!, n4),
      addr6: new Uint32Array(ab, base + h[11]!, n6 * 4),
      len4: new Uint8Array(ab, base + h[12]!, n4),
      len6: new Uint8Array(ab, base + h[13]!, n6),
    };
    validateTables(t, bad);
    return new CidrMap<V>(t, values.slice());
  }
}

/** Walks every node reachable from the roots and checks pointers and ranks stay in bounds. O(table size). */
function validateTables(t: Tables, bad: (why: string) => Error): void {
  const N = t.nodes;
  const n = t.len4.length + t.len6.length;
  for (let k = 0; k < t.len4.length; k++) if (t.len4[k]! > 32) throw bad('IPv4 prefix length > 32');
  for (let k = 0; k < t.len6.length; k++) if (t.len6[k]! > 128) throw bad('IPv6 prefix length > 128');
  const stack: number[] = [];
  const seen = new Uint8Array(N.length);
  const visit = (e: number, maxLeaf: number, minLeaf: number): void => {
    if (e < 0) {
      const o = ~e;
      if (o + NODE_HEADER > N.length) throw bad(`node offset ${o} out of range`);
      if (seen[o]) throw bad(`node ${o} reached twice`);
      seen[o] = 1;
      stack.push(o);
    } else if (e > maxLeaf || (e !== 0 && e <= minLeaf)) throw bad(`leaf ${e} out of range`);
  };
  const walk = (root: Int32Array, maxLeaf: number, minLeaf: number): void => {
    if (root === EMPTY_ROOT) return;
    for (let k = 0; k < 65536; k++) visit(root[k]!, maxLeaf, minLeaf);
    let depth = 0;
    while (stack.length) {
      if (++depth > N.length) throw bad('node graph too deep');
      const o = stack.pop()!;
      if (N[o] === 0) {
        if (root !== t.root6 || o + TAIL_WORDS > N.length) throw bad(`tail node ${o} out of range`);
        if (N[o + 1]! < 0 || N[o + 2]! < 0 || N[o + 3]! > 128) throw bad(`tail node ${o} malformed`);
        visit(N[o + 1]!, maxLeaf, minLeaf);
        visit(N[o + 2]!, maxLeaf, minLeaf);
        continue;
      }
      let runs = 0;
      for (let w = 0; w < 8; w++) runs += popcnt(N[o + w]!);
      if (runs === 0 || (N[o]! & 1) === 0) throw bad(`node ${o} has no first run`);
      if (o + NODE_HEADER + runs > N.length) throw bad(`node ${o} runs out of range`);
      let cum = o + NODE_HEADER - 1;
      for (let w = 0; w < 8; w++) {
        if (N[o + 8 + w] !== cum) throw bad(`node ${o} rank word ${w} inconsistent`);
        cum += popcnt(N[o + w]!);
      }
      for (let r = 0; r < runs; r++) visit(N[o + NODE_HEADER + r]!, maxLeaf, minLeaf);
    }
  };
  walk(t.root4, t.len4.length, 0);
  walk(t.root6, n, t.len4.length);
}

/**
 * Accumulates prefixes, then compiles an immutable {@link CidrMap}. Validation of each prefix happens in
 * add(); duplicates are resolved at build() according to `options.merge`.
 *
 * @example
 * const b = new CidrMapBuilder<string>({ normalize: true });
 * b.add('192.0.2.7/24', 'acme');   // normalised to 192.0.2.0/24
 * b.add4(0x0a000000, 8, 'corp');
 * const map = b.build();
 */
export class CidrMapBuilder<V> {
  readonly #normalize: boolean;
  readonly #merge: CidrMergePolicy<V> | undefined;
  #a4: Uint32Array = new Uint32Array(64);
  #l4: Uint8Array = new Uint8Array(64);
  #v4: V[] = [];
  #s4: Float64Array = new Float64Array(64);
  #a6: Uint32Array = new Uint32Array(256);
  #l6: Uint8Array = new Uint8Array(64);
  #v6: V[] = [];
  #s6: Float64Array = new Float64Array(64);
  #seq = 0;
  #removed = new Map<string, number>();
  readonly #p = newPrefixParts();

  constructor(options?: CidrMapOptions<V>) {
    this.#normalize = options?.normalize ?? false;
    this.#merge = options?.merge;
  }

  /** Number of add() calls so far (before duplicates and removals are resolved). */
  get pending(): number {
    return this.#v4.length + this.#v6.length;
  }

  /**
   * Adds a prefix (`10.0.0.0/8`, `2001:db8::/32`, or a bare address = /32 or /128).
   * @throws {CidrError} TS_INVALID_CIDR, TS_PREFIX_LENGTH, TS_HOST_BITS (unless normalize)
   */
  add(cidr: string, value: V): this {
    const p = parsePrefixInto(cidr, this.#p, this.#normalize);
    this.#push(p, value);
    return this;
  }

  /** Numeric IPv4 door for large lists. @throws {CidrError} TS_PREFIX_LENGTH, TS_HOST_BITS */
  add4(u32: number, len: number, value: V): this {
    if (!Number.isInteger(len) || len < 0 || len > 32) {
      throw new CidrError('TS_PREFIX_LENGTH', `${formatIPv4(u32 >>> 0)}/${len}`, 'prefix length out of range 0..32');
    }
    const p = this.#p;
    p.family = 4;
    p.words[0] = u32 >>> 0;
    p.len = len;
    if (!applyMask(p, this.#normalize)) {
      throw new CidrError('TS_HOST_BITS', `${formatIPv4(u32 >>> 0)}/${len}`, `host bits set after /${len}`);
    }
    this.#push(p, value);
    return this;
  }

  /** Numeric IPv6 door: 16 network-order bytes at `offset`. IPv4-mapped prefixes (len ≥ 96) become IPv4. */
  add6(bytes: Uint8Array, offset: number, len: number, value: V): this {
    const p = this.#p;
    for (let k = 0; k < 4; k++) p.words[k] = readU32BE(bytes, offset + 4 * k);
    const orig = `${formatIPv6Words(p.words[0]!, p.words[1]!, p.words[2]!, p.words[3]!)}/${len}`;
    const text = (): string => orig;
    if (!Number.isInteger(len) || len < 0 || len > 128) throw new CidrError('TS_PREFIX_LENGTH', text(), 'prefix length out of range 0..128');
    p.family = 6;
    p.len = len;
    if (len >= 96 && isV4MappedWords(p.words[0]!, p.words[1]!, p.words[2]!)) {
      p.family = 4;
      p.words[0] = p.words[3]!;
      p.len = len - 96;
    }
    if (!applyMask(p, this.#normalize)) throw new CidrError('TS_HOST_BITS', text(), `host bits set after /${len}`);
    this.#push(p, value);
    return this;
  }

  /** Removes a prefix added earlier (a later add() of it counts again). Absent prefixes are ignored. */
  remove(cidr: string): this {
    const p = parsePrefixInto(cidr, this.#p, this.#normalize);
    this.#removed.set(formatPrefix(p), this.#seq++);
    return this;
  }

  #push(p: PrefixParts, value: V): void {
    const seq = this.#seq++;
    if (p.family === 4) {
      const n = this.#v4.length;
      if (n === this.#l4.length) {
        this.#a4 = grow32(this.#a4, n * 2);
        this.#l4 = grow8(this.#l4, n * 2);
        this.#s4 = grow64(this.#s4, n * 2);
      }
      this.#a4[n] = p.words[0]!;
      this.#l4[n] = p.len;
      this.#s4[n] = seq;
      this.#v4.push(value);
    } else {
      const n = this.#v6.length;
      if (n === this.#l6.length) {
        this.#a6 = grow32(this.#a6, n * 8);
        this.#l6 = grow8(this.#l6, n * 2);
        this.#s6 = grow64(this.#s6, n * 2);
      }
      this.#a6.set(p.words, n * 4);
      this.#l6[n] = p.len;
      this.#s6[n] = seq;
      this.#v6.push(value);
    }
  }

  /**
   * Compiles the map. The builder stays usable (build() is idempotent; later adds affect only later builds).
   * @throws {CidrError} TS_DUPLICATE_PREFIX when a prefix was added twice with different values and no merge policy.
   */
  build(): CidrMap<V> {
    const values: V[] = [];
    const f4 = this.#resolve(this.#a4, this.#l4, this.#s4, this.#v4, 1, values);
    const f6 = this.#resolve(this.#a6, this.#l6, this.#s6, this.#v6, 4, values);
    const out = new NodeWriter(Math.max(1024, (f4.len.length + f6.len.length) * 8));
    const root4 = f4.len.length ? compileFamily(f4.addr, f4.len, f4.len.length, 1, 0, out) : EMPTY_ROOT;
    const root6 = f6.len.length ? compileFamily(f6.addr, f6.len, f6.len.length, 4, f4.len.length, out) : EMPTY_ROOT;
    return CidrMap._create<V>(
      { root4, root6, nodes: out.finish(), addr4: f4.addr, len4: f4.len, addr6: f6.addr, len6: f6.len },
      values,
    );
  }

  /** Sorts one family, drops removed prefixes, applies the duplicate policy; appends values to `values`. */
  #resolve(
    addr: Uint32Array,
    lens: Uint8Array,
    seqs: Float64Array,
    vals: V[],
    W: 1 | 4,
    values: V[],
  ): { addr: Uint32Array; len: Uint8Array } {
    const n = vals.length;
    const perm = sortPrefixes(addr, lens, n, W);
    const oa = new Uint32Array(n * W);
    const ol = new Uint8Array(n);
    const removed = this.#removed;
    const p = newPrefixParts();
    p.family = W === 1 ? 4 : 6;
    let m = 0;
    for (let i = 0; i < n; ) {
      const first = perm[i]!;
      let j = i + 1;
      while (j < n && samePrefix(addr, lens, W, first, perm[j]!)) j++;
      // group [i, j): same prefix, insertion order
      let text: string | undefined;
      let cut = -1;
      if (removed.size) {
        for (let k = 0; k < W; k++) p.words[k] = addr[first * W + k]!;
        p.len = lens[first]!;
        text = formatPrefix(p);
        cut = removed.get(text) ?? -1;
      }
      let have = false;
      let acc: V | undefined;
      for (let k = i; k < j; k++) {
        const q = perm[k]!;
        if (seqs[q]! < cut) continue;
        const v = vals[q] as V;
        if (!have) {
          acc = v;
          have = true;
          continue;
        }
        const policy = this.#merge;
        if (policy === 'first') continue;
        if (policy === 'last') acc = v;
        else if (typeof policy === 'function') {
          if (text === undefined) {
            for (let x = 0; x < W; x++) p.words[x] = addr[first * W + x]!;
            p.len = lens[first]!;
            text = formatPrefix(p);
          }
          acc = policy(acc as V, v, text);
        } else if (!Object.is(acc, v)) {
          if (text === undefined) {
            for (let x = 0; x < W; x++) p.words[x] = addr[first * W + x]!;
            p.len = lens[first]!;
            text = formatPrefix(p);
          }
          throw new CidrError('TS_DUPLICATE_PREFIX', text, `duplicate prefix with different values (${describe(acc)} vs ${describe(v)})`);
        }
      }
      if (have) {
        for (let k = 0; k < W; k++) oa[m * W + k] = addr[first * W + k]!;
        ol[m] = lens[first]!;
        values.push(acc as V);
        m++;
      }
      i = j;
    }
    return { addr: oa.slice(0, m * W), len: ol.slice(0, m) };
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v == null) return String(v);
  return typeof v;
}

function samePrefix(addr: Uint32Array, lens: Uint8Array, W: number, a: number, b: number): boolean {
  if (lens[a] !== lens[b]) return false;
  for (let k = 0; k < W; k++) if (addr[a * W + k] !== addr[b * W + k]) return false;
  return true;
}
function grow32(a: Uint32Array, n: number): Uint32Array {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}
function grow8(a: Uint8Array, n: number): Uint8Array {
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}
function grow64(a: Float64Array, n: number): Float64Array {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}
