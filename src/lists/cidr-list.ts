/**
 * CIDR list files: one `CIDR[,value]` per line (value = registrant id or label; an address range `first-last`
 * stands for the fewest prefixes that cover it, each an entry of its line), `#` comments (whole-line or
 * trailing), blank lines, CRLF. Owns reading and validating such lists; one bad line fails the whole load with
 * `source:line: reason` (ListParseError) so a half-loaded list never goes into service, and a file that cannot
 * be read at all is a ListReadError. Entries are canonicalised (IPv4-mapped -> IPv4, RFC 5952 IPv6) so the same
 * prefix written two ways is caught as a duplicate.
 *
 * Large lists: the text is read as code units (an ASCII file's own bytes, 1 MB at a time: no decode, no string of
 * the file) and each line is parsed in place (no string per line; IPv4 straight from the units) into typed prefix
 * columns; values are interned (a registrant on a million lines is one string); duplicates are found by the
 * columns' canonical order, not a Map of prefix texts. Cost: O(text) + O(n) order (one pass for a list already in
 * address order) + compile; memory ~17 bytes per line beside the map, and for a list with ranges 4 bytes per
 * prefix plus each range's text (evidence names the range as written: see entry-names.ts). `entries` and `lines`
 * are materialised only when read; the `entries` array leads back to the map, and for a list with ranges to its
 * lines as written (a fleet snapshot stores those, so a sensor names the ranges a local load names).
 */
import { isAscii } from 'node:buffer';
import { MAX_LIST_BYTES, MAX_LIST_ENTRIES, openListFile, quoteForMessage, readError, readListUnits, readOpenList, unitsOfListBytes, valueProblem, type OpenList } from './read-text.js';
import { ListScanner, separatorHint } from './scan.js';
import { plain, unitsDecoder, unitsOf, type ListUnits } from './units.js';
import { RangeInterner } from './intern.js';
import { setEntryNames } from './entry-names.js';
import { CidrError, describeValue, InvalidArgumentError, ListParseError } from '../errors.js';
import { newPrefixParts, parsePrefix4Units, parsePrefixInto, type PrefixParts } from '../ip/prefix.js';
import { rangePrefixes } from '../ip/range.js';
import { escapeText } from '../text.js';
import { CidrMap, CidrMapBuilder } from '../trie/cidr-map.js';
import { PrefixColumns } from '../trie/columns.js';

const CIDR_NOUNS = { key: 'CIDR', value: 'value' };

/** Options for {@link parseCidrList} / {@link loadCidrList}. */
export interface CidrListOptions {
  /** Name used in error messages and on the result (`source:line: reason`). Default: the path, or `<input>`. */
  source?: string;
  /** Clear host bits (`10.0.0.1/8` -> `10.0.0.0/8`) instead of failing the line. Default: false. */
  normalize?: boolean;
  /** Value for lines without `,value`. Default: `''`. */
  defaultValue?: string;
  /**
   * {@link loadCidrList} from a file: once aborted, the load stops at its next chunk (1 MiB) and rejects with the
   * signal's reason (a run that stops does not wait for a big list it will not use).
   */
  signal?: AbortSignal;
}

/** A parsed, validated list. Frozen. */
export interface CidrList {
  /** Where the list came from (for messages and evidence). */
  readonly source: string;
  /** `[canonical prefix, value]` in file order, duplicates (same prefix and value) dropped. */
  readonly entries: ReadonlyArray<readonly [cidr: string, value: string]>;
  /** 1-based line number of each entry, parallel to `entries`. */
  readonly lines: readonly number[];
  /** The entries as a CidrMap (built while parsing; the same object every call). */
  toMap(): CidrMap<string>;
}

// Maps built here whose every value passed valueProblem (the scanner checks each value; the default value is
// checked below): Classifier#update need not check a million values again (see isCheckedCidrMap).
const checkedMaps = new WeakSet<CidrMap<string>>();

/** True when `m` was built by this module from list text, with every value checked by valueProblem. */
export function isCheckedCidrMap(m: CidrMap<unknown>): boolean {
  return checkedMaps.has(m as CidrMap<string>);
}

/**
 * @internal `m` holds the values of a checked map, or of a list snapshot a classifier accepted (the pool's views
 * of its own shared tables): a reload of a million prefixes must not check them again in every thread.
 */
export function markCheckedCidrMap(m: CidrMap<string>): void {
  checkedMaps.add(m);
}

/** Growable Uint32Array column (capacity never written to is never touched). */
class U32Column {
  a: Uint32Array;
  n = 0;
  constructor(capacity: number) {
    this.a = new Uint32Array(Math.max(16, capacity));
  }
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Uint32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}

/**
 * Parses list text synchronously.
 * @throws {ListParseError} for the first bad line: invalid CIDR (with the CIDR error detail and text),
 *   missing CIDR, or the same prefix with a different value (names both lines).
 * @example parseCidrList('10.0.0.0/8,acme # corp\n2001:db8::/32,beta', { source: 'registered.txt' })
 */
export function parseCidrList(text: string, options: CidrListOptions = {}): CidrList {
  if (typeof text !== 'string') throw new InvalidArgumentError(`parseCidrList: the list must be a string, got ${describeValue(text)}`);
  return parseUnits(unitsOf(text), options);
}

/** {@link parseCidrList} over the text's code units (see units.ts). */
function parseUnits(u: ListUnits, options: CidrListOptions): CidrList {
  const parser = newParser(u, u.length, options);
  parser.scan(u.length, true);
  return parser.finish();
}

/**
 * The parse of one list whose text is `u`, scanned as a whole or a piece at a time (a file read in chunks into
 * the same array: each piece starts at `u[0]`). `scan` returns false once a line is refused (no more pieces are
 * needed); `finish` builds the list or throws its first error.
 */
function newParser(u: ListUnits, size: number, options: CidrListOptions): { scan(n: number, last: boolean): boolean; finish(): CidrList } {
  const source = options.source ?? '<input>';
  const normalize = options.normalize ?? false;
  const values = new RangeInterner(u);
  const defaultId = values.internText(options.defaultValue ?? '');
  // An entry line is at least ~4 characters: a capacity that is rarely outgrown (pages never written stay free).
  const capacity = Math.min(MAX_LIST_ENTRIES, (size >>> 4) + 16);
  // Per entry (tag = entry index, in file order): its line number and value id.
  const lineOf = new U32Column(capacity);
  const valueOf = new U32Column(capacity);
  const cols = new PrefixColumns(capacity);
  // Per entry, only once a range appears: 0, or k + 1 for the range text `ranges[k]` it came from (escaped, for
  // evidence; `written[k]` is the key as the line wrote it, for a fleet snapshot's copy of the list).
  const ranges: string[] = [];
  const written: string[] = [];
  let rangeOf: U32Column | null = null;
  const p = newPrefixParts();
  const keyText = unitsDecoder(u);
  const sink = (lineNo: number, ks: number, ke: number, vs: number, ve: number): void => {
    // Dotted-quad IPv4 straight from the units; anything else (IPv6, errors) through the string parser.
    const value = vs < 0 ? defaultId : values.intern(vs, ve);
    if (!parsePrefix4Units(u, ks, ke, p, normalize)) {
      const key = keyText(ks, ke);
      if (key.includes('-')) {
        if (rangeOf === null) {
          rangeOf = new U32Column(capacity);
          for (let k = 0; k < lineOf.n; k++) rangeOf.push(0);
        }
        const of = rangeOf;
        // Escaped: the blanks around the dash may be any String#trim blank, a line separator among them.
        const id = ranges.push(escapeText(key));
        written.push(key);
        rangeEntries(source, lineNo, key, (r) => {
          if (lineOf.n >= MAX_LIST_ENTRIES) throw new ListParseError(source, lineNo, `more than ${MAX_LIST_ENTRIES} prefixes (the limit of one list, ranges counted as their prefixes)`);
          cols.push(r, lineOf.n);
          lineOf.push(lineNo);
          valueOf.push(value);
          of.push(id);
        });
        return;
      }
      try {
        parsePrefixInto(key, p, normalize);
      } catch (e) {
        if (e instanceof CidrError) throw new ListParseError(source, lineNo, `${e.code}: ${e.message}${headerHint(key, lineOf.n) || separatorHint(key, CIDR_NOUNS)}`, { cause: e });
        throw e;
      }
    }
    cols.push(p, lineOf.n);
    lineOf.push(lineNo);
    valueOf.push(value);
    rangeOf?.push(0);
  };
  const scanner = new ListScanner(source, CIDR_NOUNS);
  let lineError: unknown = null;
  const scan = (n: number, last: boolean): boolean => {
    if (lineError !== null) return false;
    try {
      scanner.scan(u, n, last, sink);
      return true;
    } catch (e) {
      if (!(e instanceof ListParseError)) throw e;
      lineError = e; // a repeated prefix on an earlier line is the first bad line: checked below
      return false;
    }
  };
  return { scan, finish: () => finishList(source, cols, lineOf, valueOf, values.strings, defaultId, lineError, rangeOf === null ? null : { texts: ranges, keys: written, of: rangeOf }) };
}

/**
 * What to add when the first entry line has no digit at all: a spreadsheet's column names (`prefix,registrant`), not
 * an address.
 */
function headerHint(key: string, entriesBefore: number): string {
  return entriesBefore === 0 && !/[0-9]/.test(key) ? ' (a header line? start it with # to make it a comment)' : '';
}

const rangeFirst = newPrefixParts();
const rangeLast = newPrefixParts();

/**
 * A range line's prefixes (`first-last`, blanks around the dash allowed), handed to `emit`; a bad range fails its
 * line with the reason and the range quoted.
 */
function rangeEntries(source: string, lineNo: number, key: string, emit: (p: PrefixParts) => void): void {
  const dash = key.indexOf('-');
  const ends = [key.slice(0, dash).trim(), key.slice(dash + 1).trim()] as const;
  const fail = (code: string, why: string, cause?: unknown): never => {
    throw new ListParseError(source, lineNo, `${code}: in range ${quoteForMessage(key)}: ${why} (a range is FIRST-LAST, two addresses)`, cause === undefined ? undefined : { cause });
  };
  const parts = [rangeFirst, rangeLast];
  for (let k = 0; k < 2; k++) {
    const end = ends[k]!;
    if (end.includes('/')) fail('TS_INVALID_CIDR', `${quoteForMessage(end)} is a prefix, not an address`);
    try {
      parsePrefixInto(end, parts[k]!);
    } catch (e) {
      if (e instanceof CidrError) fail(e.code, e.message, e);
      throw e;
    }
  }
  try {
    rangePrefixes(rangeFirst, rangeLast, emit);
  } catch (e) {
    if (e instanceof RangeError) fail('TS_INVALID_CIDR', e.message, e);
    throw e;
  }
}

/** The list, or its first error: a repeat with another value on an earlier line, else the refused line's. */
function finishList(
  source: string,
  cols: PrefixColumns,
  lineOf: U32Column,
  valueOf: U32Column,
  strings: readonly string[],
  defaultId: number,
  lineError: unknown,
  ranges: { texts: string[]; keys: string[]; of: U32Column } | null,
): CidrList {
  // The first line (in file order) that repeats an earlier prefix with another value, against the prefix's first
  // line (whose value the map keeps).
  let dupAt = -1;
  let dupFirst = -1;
  const { map, tagAt } = CidrMapBuilder._fromColumns(
    cols,
    (k) => strings[valueOf.a[k]!]!,
    (first, k) => {
      if (valueOf.a[k] !== valueOf.a[first] && (dupAt < 0 || k < dupAt)) {
        dupAt = k;
        dupFirst = first;
      }
    },
  );
  if (dupAt >= 0) {
    const first = dupFirst;
    let i = 0;
    while (tagAt(i) !== first) i++;
    throw new ListParseError(
      source,
      lineOf.a[dupAt]!,
      `duplicate prefix ${map.prefixAt(i)} with value ${quoteForMessage(strings[valueOf.a[dupAt]!]!)}; line ${lineOf.a[first]} has ${quoteForMessage(strings[valueOf.a[first]!]!)}`,
    );
  }
  if (lineError !== null) throw lineError;
  if (valueProblem(strings[defaultId]!) === null) checkedMaps.add(map);
  if (ranges !== null) {
    const at = new Uint32Array(map.size);
    for (let i = 0; i < at.length; i++) at[i] = ranges.of.a[tagAt(i)]!;
    setEntryNames(map, { texts: ranges.texts, at });
  }
  let entries: ReadonlyArray<readonly [string, string]> | undefined;
  let lines: readonly number[] | undefined;
  // File order = tag order: the kept prefixes indexed by their tag.
  const keptByTag = (): Int32Array => {
    const at = new Int32Array(lineOf.n).fill(-1);
    for (let i = 0; i < map.size; i++) at[tagAt(i)] = i;
    return at;
  };
  const materialise = (): void => {
    const at = keptByTag();
    const e: (readonly [string, string])[] = [];
    const l: number[] = [];
    for (let k = 0; k < at.length; k++) {
      const i = at[k]!;
      if (i < 0) continue;
      e.push(Object.freeze([map.prefixAt(i), strings[valueOf.a[k]!]!] as const));
      l.push(lineOf.a[k]!);
    }
    entries = Object.freeze(e);
    lines = Object.freeze(l);
    origins.set(entries, { map, written: ranges === null ? null : writtenLines });
  };
  // Each line that kept a prefix, once, in file order: a range line as its key (its prefixes are contiguous tags),
  // any other line as its canonical prefix. Parsed again, these lines give the same map and the same range names.
  const writtenLines = (): ReadonlyArray<readonly [string, string]> => {
    const at = keptByTag();
    const r = ranges!;
    const out: (readonly [string, string])[] = [];
    let last = 0;
    for (let k = 0; k < at.length; k++) {
      const i = at[k]!;
      if (i < 0) continue;
      const id = r.of.a[k]!;
      if (id === 0) out.push(Object.freeze([map.prefixAt(i), strings[valueOf.a[k]!]!] as const));
      else if (id !== last) out.push(Object.freeze([r.keys[id - 1]!, strings[valueOf.a[k]!]!] as const));
      last = id;
    }
    return Object.freeze(out);
  };
  return Object.freeze({
    source,
    get entries() {
      if (entries === undefined) materialise();
      return entries!;
    },
    get lines() {
      if (lines === undefined) materialise();
      return lines!;
    },
    toMap: (): CidrMap<string> => map,
  });
}

/**
 * A list's own `entries` array, back to its map and lines: what the lines wrote (ranges) is not in the pairs. Holds
 * the map (which the pairs' user builds anyway) and, only for a list with ranges, what rebuilds its lines.
 */
const origins = new WeakMap<object, { map: CidrMap<string>; written: (() => ReadonlyArray<readonly [string, string]>) | null }>();

/**
 * @internal The map of the list whose own `entries` array (the same object, not a copy) `entries` is; undefined
 * for any other pairs. A fleet snapshot hands the sensor that map: it names the ranges the lines wrote, and is not
 * built a second time from the pairs.
 */
export function cidrMapOfEntries(entries: unknown): CidrMap<string> | undefined {
  return typeof entries === 'object' && entries !== null ? origins.get(entries)?.map : undefined;
}

/**
 * @internal The lines behind a list's own `entries` array as list text holds them — each line that kept a prefix
 * once, in file order, a range line as written (`192.0.2.5 - 192.0.2.20`) — or null when the list has no range
 * (its entries are its lines) or `entries` is not a list's own array. Parsed again they give the same map and the
 * same range names (a fleet snapshot stores these). Built on each call: O(entries).
 */
export function writtenLinesOf(entries: unknown): ReadonlyArray<readonly [string, string]> | null {
  const o = typeof entries === 'object' && entries !== null ? origins.get(entries) : undefined;
  return o?.written?.() ?? null;
}

/**
 * Loads a list from text (`string`) or a file (`{ path }`, UTF-8).
 * @throws {ListReadError} when the file cannot be read or is not valid UTF-8 text.
 * @throws {ListParseError} as {@link parseCidrList}.
 */
export async function loadCidrList(input: string | { path: string }, options: CidrListOptions = {}): Promise<CidrList> {
  if (typeof input === 'string') return parseCidrList(input, options);
  const source = options.source ?? input.path;
  return loadCidrFile(input.path, { ...options, source });
}

/** Bytes read at a time from a list file. */
const CHUNK_BYTES = 1 << 20;
/** Room for the start of a line carried to the next chunk: more than any line under MAX_LINE_CHARS. */
const CARRY_BYTES = 4096;

/**
 * A regular file that is plain ASCII with no NUL, read and parsed a chunk at a time in one reused buffer: a
 * 45 MB list costs 1 MB of text memory, not 45. Anything else — a pipe, a byte outside ASCII, a NUL, a line longer
 * than the carry room, a file that grows past the limit — goes back to the start through the whole-file reader,
 * which gives the same list or the same first error (read errors before line errors, as always); so does a file
 * that turns out to break that rule after a line was refused.
 * @internal `chunkBytes` is for tests.
 */
export async function loadCidrFile(path: string, options: CidrListOptions & { source: string }, chunkBytes: number = CHUNK_BYTES): Promise<CidrList> {
  const signal = options.signal;
  const whole = async (): Promise<CidrList> => {
    const units = await readListUnits(path, options.source);
    signal?.throwIfAborted();
    return parseUnits(units, options);
  };
  const o = await openListFile(path, options.source);
  const { fh, size } = o;
  let parser: ReturnType<typeof newParser>;
  try {
    // A pipe cannot be read twice: all of it, then the parse.
    if (!o.isFile) {
      const units = unitsOfListBytes(await readOpenList(o, options.source), options.source);
      signal?.throwIfAborted();
      return parseUnits(units, options);
    }
    const buf = Buffer.allocUnsafe(chunkBytes + CARRY_BYTES);
    const u = plain(buf);
    parser = newParser(u, size, options);
    let carry = 0;
    let total = 0;
    let scanning = true;
    for (;;) {
      const bytesRead = await readChunk(fh, buf, carry, chunkBytes, options.source);
      signal?.throwIfAborted();
      total += bytesRead;
      const n = carry + bytesRead;
      const last = bytesRead === 0;
      const fresh = buf.subarray(carry, n); // a Buffer: its indexOf is a memchr
      if (total > MAX_LIST_BYTES || !isAscii(fresh) || fresh.indexOf(0) >= 0) return await whole();
      if (scanning) {
        const cut = last ? n : afterLastLineEnd(u, n);
        scanning = parser.scan(cut, last);
        u.copyWithin(0, cut, n);
        carry = n - cut;
        if (carry > CARRY_BYTES) return await whole();
      } else carry = 0; // a line was refused: the rest is only checked to be text (read errors come first)
      if (last) break;
    }
  } finally {
    await fh.close();
  }
  return parser.finish();
}

async function readChunk(fh: OpenList['fh'], buf: Buffer, at: number, n: number, source: string): Promise<number> {
  try {
    return (await fh.read(buf, at, n, null)).bytesRead;
  } catch (e) {
    throw readError(e, source);
  }
}

/** The index just after the last line end in `u[0, n)` (0: none); a CR at the very end waits for a possible LF. */
function afterLastLineEnd(u: Uint8Array, n: number): number {
  let i = n - 1;
  if (i >= 0 && u[i] === 0x0d) i--;
  for (; i >= 0; i--) if (u[i] === 0x0a || u[i] === 0x0d) return i + 1;
  return 0;
}
