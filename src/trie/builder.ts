/**
 * CidrMapBuilder: accumulates prefixes in typed columns (columns.ts: no per-prefix objects), then puts them in
 * canonical order, resolves removals and duplicates, and compiles a frozen CidrMap. Validation happens in add()
 * (throws at once, with the offending text); duplicates are resolved at build() per `merge`.
 * Cost: add O(length of text); build O(n) order (a single pass when the adds came in order) + O(n + painted
 * slots) compilation.
 */
import { CidrError } from '../errors.js';
import { formatIPv4, formatIPv6Words } from '../ip/format.js';
import { isV4MappedWords, readU32BE } from '../ip/parse.js';
import { applyMask, formatPrefix, newPrefixParts, parsePrefixInto, type PrefixParts } from '../ip/prefix.js';
import { CidrMap, type CidrMapOptions, type CidrMergePolicy } from './cidr-map.js';
import { fit, PrefixColumns, samePrefix, type FamilyColumns } from './columns.js';
import { compileTables } from './compile.js';

/** One family after resolution: distinct prefixes in canonical order. */
interface Resolved {
  addr: Uint32Array;
  len: Uint8Array;
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
  // Tag of a prefix = its add index: the index of its value in #vals.
  readonly #cols = new PrefixColumns();
  readonly #vals: V[] = [];
  // Removed prefix text -> number of adds before the removal (adds with a smaller index are dropped).
  readonly #removed = new Map<string, number>();
  readonly #p = newPrefixParts();

  constructor(options?: CidrMapOptions<V>) {
    this.#normalize = options?.normalize ?? false;
    this.#merge = options?.merge;
  }

  /** Number of add() calls so far (before duplicates and removals are resolved). */
  get pending(): number {
    return this.#vals.length;
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
    this.#removed.set(formatPrefix(p), this.#vals.length);
    return this;
  }

  #push(p: PrefixParts, value: V): void {
    this.#cols.push(p, this.#vals.length);
    this.#vals.push(value);
  }

  /**
   * Compiles the map. The builder stays usable (build() is idempotent; later adds affect only later builds).
   * @throws {CidrError} TS_DUPLICATE_PREFIX when a prefix was added twice with different values and no merge policy.
   */
  build(): CidrMap<V> {
    const values = new Array<V>(this.#vals.length);
    const f4 = this.#resolve(this.#cols.v4, values, 0);
    const f6 = this.#resolve(this.#cols.v6, values, f4.len.length);
    values.length = f4.len.length + f6.len.length;
    return CidrMap._create<V>(compileTables(f4.addr, f4.len, f6.addr, f6.len), values);
  }

  /**
   * @internal Bulk door for list loaders: a map of the distinct prefixes of `cols`, each valued
   * `valueOf(tag of its first push)`, and that tag by map index; every later push of the same prefix is handed
   * to `onRepeat(firstTag, repeatTag)` (in canonical order), which may throw to refuse the list. No value is
   * stored per push.
   */
  static _fromColumns<V>(
    cols: PrefixColumns,
    valueOf: (tag: number) => V,
    onRepeat: (firstTag: number, repeatTag: number) => void,
  ): { map: CidrMap<V>; tagAt: (index: number) => number } {
    const f4 = firstOfEach(cols.v4, onRepeat);
    const f6 = firstOfEach(cols.v6, onRepeat);
    const n4 = f4.len.length;
    const n6 = f6.len.length;
    const values = new Array<V>(n4 + n6);
    for (let i = 0; i < n4; i++) values[i] = valueOf(f4.tag[i]!);
    for (let i = 0; i < n6; i++) values[n4 + i] = valueOf(f6.tag[i]!);
    const map = CidrMap._create<V>(compileTables(f4.addr, f4.len, f6.addr, f6.len), values);
    return { map, tagAt: (i) => (i < n4 ? f4.tag[i]! : f6.tag[i - n4]!) };
  }

  /** One family in canonical order, removed prefixes dropped, the duplicate policy applied; values from `base`. */
  #resolve(c: FamilyColumns, values: V[], base: number): Resolved {
    const { addr, len: lens, tag, n, copies } = c.sorted();
    const W = c.W;
    const vals = this.#vals;
    const removed = this.#removed;
    const policy = this.#merge;
    const p = newPrefixParts();
    p.family = W === 1 ? 4 : 6;
    const textAt = (q: number): string => {
      for (let k = 0; k < W; k++) p.words[k] = addr[q * W + k]!;
      p.len = lens[q]!;
      return formatPrefix(p);
    };
    // Distinct prefixes are compacted into place (sorted copies) or into new arrays (the builder's own columns,
    // which must stay as they are) only once something is dropped; otherwise the map gets the arrays as they are.
    let oa: Uint32Array | null = copies ? addr : null;
    let ol: Uint8Array | null = copies ? lens : null;
    let m = 0;
    for (let i = 0; i < n; ) {
      let j = i + 1;
      while (j < n && samePrefix(addr, lens, W, i, j)) j++;
      // group [i, j): one prefix, push order
      let text: string | undefined;
      let cut = -1;
      if (removed.size) {
        text = textAt(i);
        cut = removed.get(text) ?? -1;
      }
      let have = false;
      let acc: V | undefined;
      for (let k = i; k < j; k++) {
        const t = tag[k]!;
        if (t < cut) continue;
        const v = vals[t] as V;
        if (!have) {
          acc = v;
          have = true;
          continue;
        }
        if (policy === 'first') continue;
        if (policy === 'last') acc = v;
        else if (typeof policy === 'function') acc = policy(acc as V, v, (text ??= textAt(i)));
        else if (!Object.is(acc, v)) {
          throw new CidrError('TS_DUPLICATE_PREFIX', (text ??= textAt(i)), `duplicate prefix with different values (${describe(acc)} vs ${describe(v)})`);
        }
      }
      if (oa === null && (!have || j - i > 1)) {
        oa = new Uint32Array(n * W);
        ol = new Uint8Array(n);
        oa.set(addr.subarray(0, m * W));
        ol.set(lens.subarray(0, m));
      }
      if (have) {
        if (oa !== null) {
          for (let k = 0; k < W; k++) oa[m * W + k] = addr[i * W + k]!;
          ol![m] = lens[i]!;
        }
        values[base + m++] = acc as V;
      }
      i = j;
    }
    return oa === null ? { addr: fit(addr, n * W), len: fit(lens, n) } : { addr: fit(oa, m * W), len: fit(ol!, m) };
  }
}

/**
 * The distinct prefixes of `c` in canonical order with the tag of each one's first push; later pushes go to
 * `onRepeat`. The columns themselves when they were in order without repeats (the common case for a list).
 */
function firstOfEach(c: FamilyColumns, onRepeat: (firstTag: number, repeatTag: number) => void): Resolved & { tag: Uint32Array } {
  const W = c.W;
  const { addr, len: lens, tag, n, repeats, copies } = c.sorted();
  // Sorted copies say "may repeat": one tight pass finds the first repeat, if any.
  const r = !repeats ? n : W === 1 ? firstRepeat4(addr, lens, n) : firstRepeat6(addr, lens, n);
  if (r >= n) return { addr: fit(addr, n * W), len: fit(lens, n), tag: tag.subarray(0, n) };
  // compacted in place when the arrays are sorted copies, else into new ones (the columns stay as they are)
  const oa = copies ? addr : new Uint32Array(n * W);
  const ol = copies ? lens : new Uint8Array(n);
  const ot = copies ? tag : new Uint32Array(n);
  let m = 0;
  for (let i = 0; i < n; ) {
    let j = i + 1;
    for (; j < n && samePrefix(addr, lens, W, i, j); j++) onRepeat(tag[i]!, tag[j]!);
    for (let k = 0; k < W; k++) oa[m * W + k] = addr[i * W + k]!;
    ol[m] = lens[i]!;
    ot[m] = tag[i]!;
    m++;
    i = j;
  }
  return { addr: fit(oa, m * W), len: fit(ol, m), tag: ot.subarray(0, m) };
}

/** Index of the first prefix equal to the one before it in sorted columns, or n. */
function firstRepeat4(a: Uint32Array, l: Uint8Array, n: number): number {
  for (let i = 1; i < n; i++) if (a[i] === a[i - 1] && l[i] === l[i - 1]) return i;
  return n;
}
function firstRepeat6(a: Uint32Array, l: Uint8Array, n: number): number {
  for (let i = 1; i < n; i++) if (samePrefix(a, l, 4, i - 1, i)) return i;
  return n;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v == null) return String(v);
  return typeof v;
}
