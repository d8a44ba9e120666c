/**
 * Versioned list snapshots. A snapshot is immutable; `update` builds a new one aside (validating everything
 * first) and swaps one reference, so a verdict always sees one complete version of every list and a bad list
 * leaves the previous snapshot in force.
 */
import { CidrMap } from '../trie/cidr-map.js';
import { DomainSet } from '../lists/domains.js';
import { InvalidArgumentError } from '../errors.js';

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
  registered?: CidrListInput | null;
  vpnEndpoints?: CidrListInput | null;
  vpnDomains?: DomainListInput | null;
  /** Display names for evidence text. */
  names?: Partial<ListSnapshot['names']>;
  /**
   * Version of the new snapshot, e.g. a fleet-wide revision (tunnelscope/nats), so the same lists carry the same
   * `listVersion` on every machine. A positive safe integer above the version in force (versions only go
   * forward, so one number never names two snapshots). Default: the version in force + 1 (1 for a new classifier).
   */
  version?: number;
}

function entriesOf(x: unknown): Iterable<readonly [string, string]> {
  if (x && typeof x === 'object' && 'entries' in x && !(Symbol.iterator in x)) {
    return (x as { entries: Iterable<readonly [string, string]> }).entries;
  }
  if (x && typeof x === 'object' && Symbol.iterator in x) return x as Iterable<readonly [string, string]>;
  throw new InvalidArgumentError('expected a list: a built map/set, an iterable of [entry, value] pairs, or { entries }');
}

export function toCidrMap(x: CidrListInput | null | undefined): CidrMap<string> | null {
  if (x === null || x === undefined) return null;
  if (x instanceof CidrMap) return x as CidrMap<string>;
  return CidrMap.from(entriesOf(x) as Iterable<[string, string]>);
}

export function toDomainSet(x: DomainListInput | null | undefined): DomainSet<string> | null {
  if (x === null || x === undefined) return null;
  if (x instanceof DomainSet) return x as DomainSet<string>;
  return DomainSet.from(entriesOf(x) as Iterable<[string, string]>);
}

/** Build the next snapshot: fields not given are carried over from `prev`. Throws before anything changes. */
export function nextSnapshot(prev: ListSnapshot | null, input: ListsInput): ListSnapshot {
  const last = prev?.version ?? 0;
  const version = input.version ?? last + 1;
  if (!Number.isSafeInteger(version) || version <= last) {
    throw new InvalidArgumentError(`list version must be an integer above the version in force (${last}), got ${String(version)}`);
  }
  const registered = 'registered' in input ? toCidrMap(input.registered) : (prev?.registered ?? null);
  const vpnEndpoints = 'vpnEndpoints' in input ? toCidrMap(input.vpnEndpoints) : (prev?.vpnEndpoints ?? null);
  const vpnDomains = 'vpnDomains' in input ? toDomainSet(input.vpnDomains) : (prev?.vpnDomains ?? null);
  const names = {
    registered: input.names?.registered ?? prev?.names.registered ?? 'registered',
    vpnEndpoints: input.names?.vpnEndpoints ?? prev?.names.vpnEndpoints ?? 'vpn-endpoints',
    vpnDomains: input.names?.vpnDomains ?? prev?.names.vpnDomains ?? 'vpn-domains',
  };
  return Object.freeze({ version, registered, vpnEndpoints, vpnDomains, names: Object.freeze(names) });
}
