/**
 * CIDR list files: one `CIDR[,value]` per line (value = registrant id or label), `#` comments (whole-line or
 * trailing), blank lines, CRLF. Owns reading and validating such lists; one bad line fails the whole load with
 * `source:line: reason` (ListParseError) so a half-loaded list never goes into service, and a file that cannot
 * be read at all is a ListReadError. Entries are canonicalised (IPv4-mapped -> IPv4, RFC 5952 IPv6) so the same
 * prefix written two ways is caught as a duplicate.
 *
 * Large lists: each line is parsed in place (no string per line) straight into the trie builder; values are
 * interned (a registrant on a million lines is one string); duplicates are found by the builder's sort, not a
 * Map of prefix texts. Cost: O(text) + the builder's O(n) sort and compile; memory ~13 bytes per line beside the
 * map. `entries` and `lines` are materialised only when read.
 */
import { quoteForMessage, readListText } from './read-text.js';
import { scanListLines } from './scan.js';
import { RangeInterner } from './intern.js';
import { CidrError, ListParseError } from '../errors.js';
import { newPrefixParts, parsePrefixInto } from '../ip/prefix.js';
import { CidrMap, CidrMapBuilder } from '../trie/cidr-map.js';

/** Options for {@link parseCidrList} / {@link loadCidrList}. */
export interface CidrListOptions {
  /** Name used in error messages and on the result (`source:line: reason`). Default: the path, or `<input>`. */
  source?: string;
  /** Clear host bits (`10.0.0.1/8` -> `10.0.0.0/8`) instead of failing the line. Default: false. */
  normalize?: boolean;
  /** Value for lines without `,value`. Default: `''`. */
  defaultValue?: string;
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

/** Growable Uint32Array column. */
class U32Column {
  a = new Uint32Array(1024);
  n = 0;
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
  const source = options.source ?? '<input>';
  const normalize = options.normalize ?? false;
  const values = new RangeInterner();
  const defaultId = values.intern(options.defaultValue ?? '', 0, (options.defaultValue ?? '').length);
  // Per added line (index = the builder's value): its line number and value id.
  const lineOf = new U32Column();
  const valueOf = new U32Column();
  // The first line (in file order) that repeats an earlier prefix with another value; the builder reports each
  // repeat against the group's first line, since merge keeps `existing`.
  type Dup = { line: number; prefix: string; value: string; firstLine: number; firstValue: string };
  let dup = null as Dup | null;
  const b = new CidrMapBuilder<number>({
    merge: (existing, incoming, prefix) => {
      if (valueOf.a[incoming] !== valueOf.a[existing] && (dup === null || lineOf.a[incoming]! < dup.line)) {
        dup = { line: lineOf.a[incoming]!, prefix, value: values.strings[valueOf.a[incoming]!]!, firstLine: lineOf.a[existing]!, firstValue: values.strings[valueOf.a[existing]!]! };
      }
      return existing;
    },
  });
  const p = newPrefixParts();
  let lineError: unknown = null;
  try {
    scanListLines(text, source, { key: 'CIDR', value: 'value' }, (lineNo, ks, ke, vs, ve) => {
      try {
        parsePrefixInto(text, p, normalize, ks, ke);
      } catch (e) {
        if (e instanceof CidrError) throw new ListParseError(source, lineNo, `${e.code}: ${e.message}`, { cause: e });
        throw e;
      }
      b._addParts(p, lineOf.n);
      lineOf.push(lineNo);
      valueOf.push(vs < 0 ? defaultId : values.intern(text, vs, ve));
    });
  } catch (e) {
    if (!(e instanceof ListParseError)) throw e;
    lineError = e; // a repeated prefix on an earlier line is the first bad line: checked below
  }
  const byLine = b.build();
  const d = dup as Dup | null; // assigned in the merge callback, which TypeScript cannot see
  if (d !== null) {
    throw new ListParseError(source, d.line, `duplicate prefix ${d.prefix} with value ${quoteForMessage(d.value)}; line ${d.firstLine} has ${quoteForMessage(d.firstValue)}`);
  }
  if (lineError !== null) throw lineError;
  const strings = values.strings;
  const map = byLine._mapValues((k) => strings[valueOf.a[k]!]!);
  let entries: ReadonlyArray<readonly [string, string]> | undefined;
  let lines: readonly number[] | undefined;
  const materialise = (): void => {
    // File order = the order lines were added: index the kept prefixes by their line index.
    const at = new Int32Array(lineOf.n).fill(-1);
    for (let i = 0; i < byLine.size; i++) at[byLine.valueAt(i)] = i;
    const e: (readonly [string, string])[] = [];
    const l: number[] = [];
    for (let k = 0; k < at.length; k++) {
      const i = at[k]!;
      if (i < 0) continue;
      e.push(Object.freeze([byLine.prefixAt(i), strings[valueOf.a[k]!]!] as const));
      l.push(lineOf.a[k]!);
    }
    entries = Object.freeze(e);
    lines = Object.freeze(l);
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
 * Loads a list from text (`string`) or a file (`{ path }`, UTF-8).
 * @throws {ListReadError} when the file cannot be read or is not valid UTF-8 text.
 * @throws {ListParseError} as {@link parseCidrList}.
 */
export async function loadCidrList(input: string | { path: string }, options: CidrListOptions = {}): Promise<CidrList> {
  if (typeof input === 'string') return parseCidrList(input, options);
  const source = options.source ?? input.path;
  const text = await readListText(input.path, source);
  return parseCidrList(text, { ...options, source });
}
