/**
 * Versioned list snapshots. A snapshot is immutable; `update` builds a new one aside (validating everything
 * first) and swaps one reference, so a verdict always sees one complete version of every list and a bad list
 * leaves the previous snapshot in force.
 */
import { CidrMap } from '../trie/cidr-map.js';
import { isCheckedCidrMap } from '../lists/cidr-list.js';
import { DomainSet } from '../lists/domains.js';
import { describeValue, InvalidArgumentError } from '../errors.js';
import { valueProblem } from '../lists/read-text.js';
import { quoteText } from '../text.js';

/** Anything accepted where a CIDR list is expected. */
export type CidrListInput =
  | CidrMap<string>
  | Iterable<readonly [string, string]>
  | { entries: Iterable<readonly [string, string]> };

/** Anything accepted where a domain list is expected. */
export type DomainListInput =
  | DomainSet<string>
  | Iterable<readonly [string, string]>
  | { entries: Iterable<readonly [string, string]> };

export interface ListSnapshot {
  readonly version: number;
  readonly registered: CidrMap<string> | null;
  readonly vpnEndpoints: CidrMap<string> | null;
  readonly vpnDomains: DomainSet<string> | null;
  /** Names of the lists, for evidence text (file names when loaded from files). */
  readonly names: { readonly registered: string; readonly vpnEndpoints: string; readonly vpnDomains: string };
}

export interface ListsInput {
  /** Each list: null removes it; left out or undefined keeps the one in force (createClassifier: none, or for vpnDomains the bundled list). */
  registered?: CidrListInput | null | undefined;
  vpnEndpoints?: CidrListInput | null | undefined;
  vpnDomains?: DomainListInput | null | undefined;
  /** Display names for evidence text. */
  names?: Partial<ListSnapshot['names']>;
  /**
   * Version of the new snapshot, e.g. a fleet-wide revision (tunnelscope/nats), so the same lists carry the same
   * `listVersion` on every machine. A positive safe integer above the version in force (versions only go
   * forward, so one number never names two snapshots). Default: the version in force + 1 (1 for a new classifier).
   */
  version?: number;
}

type ListName = 'registered' | 'vpnEndpoints' | 'vpnDomains';

function entriesOf(x: unknown, list: ListName): Iterable<unknown> {
  if (x && typeof x === 'object' && 'entries' in x && !(Symbol.iterator in x)) {
    const e = (x as { entries: unknown }).entries;
    if (e && typeof e === 'object' && Symbol.iterator in e) return e as Iterable<unknown>;
    throw new InvalidArgumentError(`${list}: { entries } must be an iterable of [entry, value] pairs, got ${describeValue(e)}`);
  }
  if (x && typeof x === 'object' && Symbol.iterator in x) return x as Iterable<unknown>;
  throw new InvalidArgumentError(`${list}: expected a list (a built map/set, an iterable of [entry, value] pairs, or { entries }), got ${describeValue(x)}`);
}

/** A value as lists accept it (a string, printable, bounded: see valueProblem), or the typed error naming the entry. */
function checkValue(v: unknown, list: ListName, i: number): string {
  if (typeof v !== 'string') throw new InvalidArgumentError(`${list} entry ${i}: the value must be a string, got ${describeValue(v)}`);
  const why = valueProblem(v);
  if (why !== null) throw new InvalidArgumentError(`${list} entry ${i}: value ${quoteText(v)}: ${why}`);
  return v;
}

/**
 * The pairs of a list input, each checked as it is read: a `[string, string]` pair with a value lists accept.
 * Entry texts are checked by the map/set builders (CidrError, InvalidArgumentError).
 */
function* checkedPairs(x: unknown, list: ListName): Generator<[string, string]> {
  let i = 0;
  for (const e of entriesOf(x, list)) {
    i++;
    if (!Array.isArray(e) || e.length < 2) throw new InvalidArgumentError(`${list} entry ${i}: expected an [entry, value] pair, got ${describeValue(e)}${Array.isArray(e) ? ` of length ${e.length}` : ''}`);
    const k: unknown = e[0];
    if (typeof k !== 'string') throw new InvalidArgumentError(`${list} entry ${i}: the entry must be a string, got ${describeValue(k)}`);
    yield [k, checkValue(e[1], list, i)];
  }
}

/** Distinct values remembered as checked while checking a built map. */
const CHECKED_VALUES_MAX = 65536;

export function toCidrMap(x: CidrListInput | null | undefined, list: ListName = 'registered'): CidrMap<string> | null {
  if (x === null || x === undefined) return null;
  if (x instanceof CidrMap) {
    // A map the list loader built has had every value checked already (a million values cost ~0.1 s to check).
    if (isCheckedCidrMap(x)) return x as CidrMap<string>;
    // A list's values repeat (a registrant on many prefixes): each distinct string is checked once. The set is
    // bounded; past it every value is checked, as all were before.
    const m = x as CidrMap<unknown>;
    const ok = new Set<unknown>();
    for (let i = 0; i < m.size; i++) {
      const v = m.valueAt(i);
      if (ok.has(v)) continue;
      checkValue(v, list, i + 1);
      if (ok.size < CHECKED_VALUES_MAX) ok.add(v);
    }
    return x as CidrMap<string>;
  }
  return CidrMap.from(checkedPairs(x, list));
}

export function toDomainSet(x: DomainListInput | null | undefined): DomainSet<string> | null {
  if (x === null || x === undefined) return null;
  if (x instanceof DomainSet) return x as DomainSet<string>;
  return DomainSet.from(checkedPairs(x, 'vpnDomains'));
}

const LIST_NAMES = ['registered', 'vpnEndpoints', 'vpnDomains'] as const;
/** The keys of a ListsInput. */
const INPUT_KEYS = [...LIST_NAMES, 'names', 'version'] as const;

/** The input object and its `names`, checked (the lists themselves are checked as they are built). */
function checkInput(input: unknown): asserts input is ListsInput {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidArgumentError(`lists: expected an object { registered?, vpnEndpoints?, vpnDomains?, names? }, got ${describeValue(input)}`);
  }
  const names: unknown = (input as ListsInput).names;
  if (names === undefined) return;
  if (names === null || typeof names !== 'object') throw new InvalidArgumentError(`lists: names must be an object, got ${describeValue(names)}`);
  for (const k of LIST_NAMES) {
    const n: unknown = (names as Record<string, unknown>)[k];
    if (n !== undefined && typeof n !== 'string') throw new InvalidArgumentError(`lists: names.${k} must be a string, got ${describeValue(n)}`);
  }
}

/**
 * Build the next snapshot: fields not given are carried over from `prev`. Throws before anything changes.
 * @throws {InvalidArgumentError} not an object, a list that is not a list, an entry that is not a [string, string]
 *   pair, a value with a control character or over MAX_VALUE_CHARS; {CidrError} a bad prefix; the domain set's
 *   InvalidArgumentError for a bad domain
 */
export function nextSnapshot(prev: ListSnapshot | null, input: ListsInput): ListSnapshot {
  checkInput(input);
  // An update names only lists (createClassifier's options also carry its other settings): a key that is none of
  // them is a misspelt list, which would otherwise be ignored while the version moves on as if it had been applied.
  if (prev !== null) {
    for (const k of Object.keys(input)) {
      if (!(INPUT_KEYS as readonly string[]).includes(k)) throw new InvalidArgumentError(`lists: unknown key ${quoteText(k, 64)} (expected ${INPUT_KEYS.join(', ')})`);
    }
  }
  const last = prev?.version ?? 0;
  const version = input.version ?? last + 1;
  if (!Number.isSafeInteger(version) || version <= last) {
    throw new InvalidArgumentError(`list version must be an integer above the version in force (${last}), got ${String(version)}`);
  }
  // A list given as undefined is left out, as it is for createClassifier (where it means the default): an update
  // written `{ registered: config.registered }` with nothing configured must not drop the registered list (every
  // registered VPN would become unregistered). null is the one way to remove a list.
  const registered = input.registered !== undefined ? toCidrMap(input.registered, 'registered') : (prev?.registered ?? null);
  const vpnEndpoints = input.vpnEndpoints !== undefined ? toCidrMap(input.vpnEndpoints, 'vpnEndpoints') : (prev?.vpnEndpoints ?? null);
  const vpnDomains = input.vpnDomains !== undefined ? toDomainSet(input.vpnDomains) : (prev?.vpnDomains ?? null);
  const names = {
    registered: input.names?.registered ?? prev?.names.registered ?? 'registered',
    vpnEndpoints: input.names?.vpnEndpoints ?? prev?.names.vpnEndpoints ?? 'vpn-endpoints',
    vpnDomains: input.names?.vpnDomains ?? prev?.names.vpnDomains ?? 'vpn-domains',
  };
  return Object.freeze({ version, registered, vpnEndpoints, vpnDomains, names: Object.freeze(names) });
}
