/**
 * CidrMapBuilder: accumulates prefixes in growable typed arrays (no per-prefix objects), then sorts them into
 * canonical order, resolves removals and duplicates, and compiles a frozen CidrMap. Validation happens in
 * add() (throws at once, with the offending text); duplicates are resolved at build() per `merge`.
 * Cost: add O(length of text); build O(n) radix sort + O(n + nodes·256) compilation.
 */
import { CidrError } from '../errors.js';
import { formatIPv4, formatIPv6Words } from '../ip/format.js';
import { isV4MappedWords, readU32BE } from '../ip/parse.js';
import { applyMask, formatPrefix, newPrefixParts, parsePrefixInto, type PrefixParts } from '../ip/prefix.js';
import { CidrMap, type CidrMapOptions, type CidrMergePolicy } from './cidr-map.js';
import { compileFamily, EMPTY_ROOT, NodeWriter, sortPrefixes } from './compile.js';

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

  /**
   * @internal Adds a prefix already parsed, validated and masked by `parsePrefixInto` (the list loader parses
   * each line in place and hands over the parts; nothing is re-checked here).
   */
  _addParts(p: PrefixParts, value: V): this {
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
  if (W === 1) return addr[a] === addr[b];
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
