/**
 * VPN-provider / operator domain lists (reference part 3 §"VPN-provider names").
 *
 * Owns: name normalisation, the `DomainSet<V>` suffix matcher and the list-file format. Matching is by whole
 * labels: a name matches entry `E` when it equals `E` or ends with `"." + E`; the longest matching entry wins.
 * No substrings, no regular expressions. Must never: accept a single-label entry (a public suffix such as
 * `com` would match the whole TLD) or put a half-parsed list into service.
 *
 * Wildcards: an entry may start with one `*.` label, meaning "strictly below": `*.vpn.example` matches
 * `a.vpn.example` and `b.a.vpn.example` but not `vpn.example` itself. A bare entry `vpn.example` matches the
 * name and everything below it, so `*.` is only needed to exclude the apex. `*` anywhere else is an error.
 *
 * Structure: one `Map` keyed by each listed suffix (plus one for `*.` entries). `match` probes the name, then
 * each shorter suffix obtained by dropping the leftmost label, so the first hit is the longest. Cost
 * O(labels) Map probes; allocation only for the suffix slices. IDNA names are compared in their `xn--` A-label
 * form exactly as written (no Unicode conversion here).
 *
 * File format: one `domain[,provider]` per line; `#` starts a comment (whole-line or trailing); blank lines and
 * CRLF are fine. One bad line fails the whole load with `source:line: reason` (ListParseError); a file that
 * cannot be read is a ListReadError.
 */
import { quoteForMessage, readListUnits } from './read-text.js';
import { RangeInterner } from './intern.js';
import { scanListLines, separatorHint } from './scan.js';
import { unitsOf, unitsText, type ListUnits } from './units.js';
import { describeValue, InvalidArgumentError, ListParseError } from '../errors.js';

/** RFC 1035 §2.3.4: 63 bytes per label, 253 characters in text form (255 on the wire). */
export const MAX_LABEL = 63;
export const MAX_NAME = 253;

/** Why a domain text is invalid, or null when valid. `name` must already be lower case without a trailing dot. */
export function domainProblem(name: string): string | null {
  if (name.length === 0) return 'empty name';
  if (name.length > MAX_NAME) return `name longer than ${MAX_NAME} characters`;
  let start = 0;
  for (let i = 0; i <= name.length; i++) {
    const c = i < name.length ? name.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      const len = i - start;
      if (len === 0) return 'empty label';
      if (len > MAX_LABEL) return `label longer than ${MAX_LABEL} characters`;
      if (name.charCodeAt(start) === 0x2d || name.charCodeAt(i - 1) === 0x2d) return 'label starts or ends with "-"';
      start = i + 1;
      continue;
    }
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
    if (!ok) {
      if (c === 0x2a) return 'wildcard "*" allowed only as a leading "*." label';
      if (c > 0x7f) return 'non-ASCII character (write internationalised names in their xn-- A-label form)';
      return `invalid character ${JSON.stringify(name[i])}`;
    }
  }
  return null;
}

/** Lower case, surrounding space and one trailing dot removed. */
export function normaliseDomain(name: string): string {
  let n = name.trim().toLowerCase();
  if (n.endsWith('.')) n = n.slice(0, -1);
  return n;
}

/** Normalised entry text (`*.` kept) and whether it is a wildcard; throws a string reason when invalid. */
function parseEntry(raw: string): { key: string; wildcard: boolean } | string {
  const n = normaliseDomain(raw);
  const wildcard = n.startsWith('*.');
  const key = wildcard ? n.slice(2) : n;
  const why = domainProblem(key);
  if (why) return why;
  if (key.indexOf('.') < 0) return 'a single label is not a provider domain (public suffixes are never listed)';
  return { key, wildcard };
}

/**
 * A frozen set of domain suffixes with a value each.
 * @example
 * const s = DomainSet.from([['nordvpn.com', 'NordVPN']]);
 * s.match('api.nordvpn.com'); // { suffix: 'nordvpn.com', value: 'NordVPN' }
 * s.match('notnordvpn.com');  // undefined
 */
export class DomainSet<V> {
  private readonly exact: Map<string, V>;
  private readonly below: Map<string, V>;

  private constructor(exact: Map<string, V>, below: Map<string, V>) {
    this.exact = exact;
    this.below = below;
    Object.freeze(this);
  }

  /**
   * Build from `[domain, value]` pairs (`*.` prefix allowed, see the module comment). A later pair for the
   * same entry replaces an earlier one (operators override bundled entries this way).
   * @throws {InvalidArgumentError} for an entry that is not a valid multi-label DNS name.
   */
  static from<V>(entries: Iterable<readonly [string, V]>): DomainSet<V> {
    const exact = new Map<string, V>();
    const below = new Map<string, V>();
    for (const [raw, value] of entries) {
      const e = typeof raw === 'string' ? parseEntry(raw) : 'not a string';
      if (typeof e === 'string') throw new InvalidArgumentError(`invalid domain entry ${JSON.stringify(raw)}: ${e}`);
      (e.wildcard ? below : exact).set(e.key, value);
    }
    return new DomainSet(exact, below);
  }

  /** @internal Entries already validated and normalised by the list parser (`*.` kept), value by index. */
  static _fromValid<V>(keys: readonly string[], valueAt: (i: number) => V): DomainSet<V> {
    const exact = new Map<string, V>();
    const below = new Map<string, V>();
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (k.charCodeAt(0) === 0x2a) below.set(k.slice(2), valueAt(i));
      else exact.set(k, valueAt(i));
    }
    return new DomainSet(exact, below);
  }

  /** Number of entries (wildcard and bare entries counted separately). */
  get size(): number {
    return this.exact.size + this.below.size;
  }

  /**
   * Longest listed suffix of `name` by whole labels, or undefined. `name` is normalised (lower case, one
   * trailing dot removed). `suffix` is the entry as listed (`*.x` for wildcard entries).
   * Complexity: O(number of labels) Map probes.
   */
  match(name: string): { suffix: string; value: V } | undefined {
    let n = name;
    if (n.length && n.charCodeAt(n.length - 1) === 0x2e) n = n.slice(0, -1);
    for (let i = 0; i < n.length; i++) {
      const c = n.charCodeAt(i);
      if (c >= 0x41 && c <= 0x5a) {
        n = n.toLowerCase();
        break;
      }
    }
    let proper = false; // true once at least one label has been dropped
    for (;;) {
      if (n.length === 0) return undefined;
      if (this.exact.has(n)) return { suffix: n, value: this.exact.get(n) as V };
      if (proper && this.below.has(n)) return { suffix: '*.' + n, value: this.below.get(n) as V };
      const dot = n.indexOf('.');
      if (dot < 0) return undefined;
      n = n.slice(dot + 1);
      proper = true;
    }
  }

  /** `[entry, value]` pairs (wildcards as `*.x`), sorted by entry text. */
  entries(): Array<[string, V]> {
    const out: Array<[string, V]> = [...this.exact];
    for (const [k, v] of this.below) out.push(['*.' + k, v]);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}

/** A parsed, validated domain list. Frozen. */
export interface DomainList {
  /** Where the list came from (for messages and evidence). */
  readonly source: string;
  /** `[normalised entry, provider]` in file order, exact duplicates dropped. */
  readonly entries: ReadonlyArray<readonly [domain: string, provider: string]>;
  /** 1-based line number of each entry, parallel to `entries`. */
  readonly lines: readonly number[];
  /** The entries as a DomainSet (built once, then cached). */
  toSet(): DomainSet<string>;
}

export interface DomainListOptions {
  /** Name used in error messages (`source:line: reason`). Default: the path, or `<input>`. */
  source?: string;
}

/**
 * Parses list text synchronously.
 * @throws {ListParseError} for the first bad line: invalid name (bad character, empty label, label > 63,
 *   name > 253, single label, `*` other than a leading `*.`), missing domain, or the same entry with a
 *   different provider (names both lines).
 * @example parseDomainList('nordvpn.com,NordVPN # [W]\n*.vpn.example,Example', { source: 'domains.txt' })
 */
export function parseDomainList(text: string, options: DomainListOptions = {}): DomainList {
  if (typeof text !== 'string') throw new InvalidArgumentError(`parseDomainList: the list must be a string, got ${describeValue(text)}`);
  return parseUnits(unitsOf(text), options);
}

/** {@link parseDomainList} over the text's code units (see units.ts). */
function parseUnits(u: ListUnits, options: DomainListOptions): DomainList {
  const source = options.source ?? '<input>';
  const values = new RangeInterner(u);
  const noValue = values.internText('');
  const keyed = new Map<string, number>(); // entry text -> entry index: duplicates, in one probe per line
  const keys: string[] = [];
  const valueOf: number[] = [];
  const lineOf: number[] = [];
  const nouns = { key: 'domain', value: 'provider' };
  scanListLines(u, source, nouns, (lineNo, ks, ke, vs, ve) => {
    const raw = unitsText(u, ks, ke);
    const e = parseEntry(raw);
    if (typeof e === 'string') throw new ListParseError(source, lineNo, `${e}: ${JSON.stringify(raw)}${separatorHint(raw, nouns)}`);
    const key = e.wildcard ? '*.' + e.key : e.key;
    const v = vs < 0 ? noValue : values.intern(vs, ve);
    const prev = keyed.get(key);
    if (prev !== undefined) {
      if (valueOf[prev] === v) return;
      const q = (id: number): string => quoteForMessage(values.strings[id]!);
      throw new ListParseError(source, lineNo, `duplicate entry ${key} with provider ${q(v)}; line ${lineOf[prev]} has ${q(valueOf[prev]!)}`);
    }
    keyed.set(key, keys.length);
    keys.push(key);
    valueOf.push(v);
    lineOf.push(lineNo);
  });
  const strings = values.strings;
  let entries: ReadonlyArray<readonly [string, string]> | undefined;
  let lines: readonly number[] | undefined;
  let set: DomainSet<string> | undefined;
  return Object.freeze({
    source,
    get entries() {
      return (entries ??= Object.freeze(keys.map((k, i) => Object.freeze([k, strings[valueOf[i]!]!] as const))));
    },
    get lines() {
      return (lines ??= Object.freeze(lineOf.slice()));
    },
    // Entries are valid and distinct already: straight into the set's maps, no second validation.
    toSet: (): DomainSet<string> => (set ??= DomainSet._fromValid(keys, (i) => strings[valueOf[i]!]!)),
  });
}

/**
 * Loads a domain list from text (`string`) or a UTF-8 file (`{ path }`).
 * @throws {ListReadError} when the file cannot be read, is not UTF-8 or is binary.
 * @throws {ListParseError} as {@link parseDomainList}.
 */
export async function loadDomainList(input: string | { path: string }, options: DomainListOptions = {}): Promise<DomainList> {
  if (typeof input === 'string') return parseDomainList(input, options);
  const source = options.source ?? input.path;
  return parseUnits(await readListUnits(input.path, source), { ...options, source });
}
