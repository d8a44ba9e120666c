/**
 * The fleet's list snapshot as bytes: the three lists (registration, VPN endpoints, VPN-provider domains) in one
 * object, so one object-store revision names one complete set of lists. Owns the encoding and its validation;
 * never touches the network.
 *
 * Layout: the line `tunnelscope-lists 1`, one line of JSON (the header: publication time, publisher, the
 * revision it was based on, and per list its name, entry count and byte length), then each list's canonical
 * text in header order — `key,value` lines exactly as the list parsers produce them, which the same parsers read
 * back. A CIDR list's range line (`FIRST-LAST`) is stored as its line wrote it, not as the prefixes it stands
 * for, so a sensor's evidence names the range as a local load of the file does; the entry count is still of
 * prefixes (snapshots without ranges are as before, and any reader that knows ranges reads these). A snapshot
 * read from the store is hostile input like any list file: the reader checks the header, the lengths and every
 * line (a bad line is `name (fleet revision R):line: reason`) before anything goes into service.
 * Cost: O(text) to encode and decode; decoding parses as `parseCidrList` / `parseDomainList` do, and the sensor
 * uses the map that parse built (no second build from pairs).
 */
import { TunnelscopeError } from '../errors.js';
import { cidrMapOfEntries, parseCidrList, writtenLinesOf, type CidrList } from '../lists/cidr-list.js';
import type { CidrMap } from '../trie/cidr-map.js';
import { parseDomainList } from '../lists/domains.js';
import { listTextProblem } from '../lists/read-text.js';
import type { ListsInput } from '../classify/lists.js';
import { quoteText } from '../text.js';

/** The lists a snapshot holds, in the order they are stored. */
export const FLEET_LISTS = ['registered', 'vpnEndpoints', 'vpnDomains'] as const;
export type FleetListName = (typeof FLEET_LISTS)[number];

/**
 * One list of a snapshot: a display name (the file it came from) and its validated `[key, value]` entries. For a
 * CIDR list, `entries` should be the list's own array (`loadCidrList(...).entries`, as `loadListFiles` and a
 * decoded snapshot give it): the snapshot then keeps its range lines as written, which a copy of the pairs cannot
 * tell (a copy is stored as its prefixes).
 */
export interface NamedList {
  readonly name: string;
  readonly entries: ReadonlyArray<readonly [string, string]>;
}

export type FleetLists = Readonly<Record<FleetListName, NamedList>>;

export interface SnapshotMeta {
  /** ISO-8601 time of publication (the publisher's clock). */
  readonly published: string;
  /** Who published it (host name or the operator's `--publisher`). */
  readonly publisher: string;
  /** Revision of the snapshot this one replaced (lists not given on publication were carried over from it). */
  readonly basedOn: number | null;
}

export interface ListSnapshotContent {
  readonly lists: FleetLists;
  readonly meta: SnapshotMeta;
}

const MAGIC = 'tunnelscope-lists 1\n';
/** The header is a few hundred bytes; a cap keeps a hostile object from making us parse megabytes of JSON. */
const MAX_HEADER = 64 * 1024;
const MAX_NAME = 512;

/** A stored snapshot that is not one (bad magic, header, lengths). Code `TS_LIST_SNAPSHOT`. */
export class ListSnapshotError extends TunnelscopeError {
  readonly source: string;
  constructor(source: string, detail: string, options?: { cause?: unknown }) {
    super('TS_LIST_SNAPSHOT', `${source}: ${detail}`, options);
    this.source = source;
  }
}

/** A value fits the one-line `key,value` form: no line break, no `#` (a comment), no surrounding blanks. */
const BAD_VALUE = /[\r\n#]|^\s|\s$/;
function checkValue(list: FleetListName, key: string, value: string): void {
  if (BAD_VALUE.test(value)) {
    throw new ListSnapshotError(list, `entry ${JSON.stringify(key)} has a value the list format cannot hold: ${JSON.stringify(value.slice(0, 60))}`);
  }
}

/**
 * Encode a snapshot. Entries should come from the list parsers (they are canonical then); values are checked to
 * round-trip.
 * @throws {ListSnapshotError} a value with a line break, `#` or surrounding blanks
 */
export function encodeListSnapshot(content: ListSnapshotContent): Uint8Array {
  const enc = new TextEncoder();
  const bodies: Uint8Array[] = [];
  const lists: Record<string, { name: string; entries: number; bytes: number }> = {};
  for (const l of FLEET_LISTS) {
    const nl = content.lists[l];
    // Which name and which fault: the publisher passed a path, and 'too long or has a line break' named neither.
    if (nl.name.length > MAX_NAME) throw new ListSnapshotError(l, `list name ${quoteText(nl.name)} is ${nl.name.length} characters, more than ${MAX_NAME}`);
    if (/[\r\n]/.test(nl.name)) throw new ListSnapshotError(l, `list name ${quoteText(nl.name)} has a line break (a list name is one line)`);
    // A range line as written (its prefixes are what the parse of it gives back; `entries` counts those).
    const stored = (l === 'vpnDomains' ? null : writtenLinesOf(nl.entries)) ?? nl.entries;
    const lines = new Array<string>(stored.length + 1);
    let i = 0;
    for (const [k, v] of stored) {
      checkValue(l, k, v);
      lines[i++] = `${k},${v}`;
    }
    lines[i] = '';
    const b = enc.encode(stored.length === 0 ? '' : lines.join('\n'));
    bodies.push(b);
    lists[l] = { name: nl.name, entries: nl.entries.length, bytes: b.length };
  }
  const header = enc.encode(
    MAGIC + JSON.stringify({ published: content.meta.published, publisher: content.meta.publisher, basedOn: content.meta.basedOn, lists }) + '\n',
  );
  const out = new Uint8Array(header.length + bodies.reduce((n, b) => n + b.length, 0));
  out.set(header, 0);
  let o = header.length;
  for (const b of bodies) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/**
 * Decode and validate a snapshot. `source` names it in errors (e.g. `tunnelscope-lists revision 57`).
 * @throws {ListSnapshotError} not a snapshot (magic, header, lengths, text encoding)
 * @throws {ListParseError} a bad line in one of its lists: `name (source):line: reason`
 */
export function decodeListSnapshot(bytes: Uint8Array, source: string): ListSnapshotContent {
  const magic = new TextEncoder().encode(MAGIC);
  if (bytes.length < magic.length || magic.some((c, i) => bytes[i] !== c)) throw new ListSnapshotError(source, 'not a tunnelscope list snapshot (bad magic)');
  let nl = bytes.indexOf(0x0a, magic.length);
  if (nl < 0 || nl - magic.length > MAX_HEADER) throw new ListSnapshotError(source, `header line missing or longer than ${MAX_HEADER} bytes`);
  const dec = new TextDecoder('utf-8', { fatal: true });
  let header: unknown;
  try {
    header = JSON.parse(dec.decode(bytes.subarray(magic.length, nl)));
  } catch (e) {
    throw new ListSnapshotError(source, 'header is not JSON text', { cause: e });
  }
  if (!isObject(header) || !isObject(header.lists)) throw new ListSnapshotError(source, 'header has no lists');
  const published = typeof header.published === 'string' ? header.published.slice(0, 64) : '';
  const publisher = typeof header.publisher === 'string' ? header.publisher.slice(0, MAX_NAME) : '';
  const basedOn = Number.isSafeInteger(header.basedOn) ? (header.basedOn as number) : null;
  let o = nl + 1;
  const lists = {} as Record<FleetListName, NamedList>;
  for (const l of FLEET_LISTS) {
    const h = (header.lists as Record<string, unknown>)[l];
    if (!isObject(h) || typeof h.name !== 'string' || h.name.length > MAX_NAME || !Number.isSafeInteger(h.bytes) || (h.bytes as number) < 0 || !Number.isSafeInteger(h.entries)) {
      throw new ListSnapshotError(source, `header entry for ${l} missing or malformed`);
    }
    const len = h.bytes as number;
    if (o + len > bytes.length) throw new ListSnapshotError(source, `${l}: ${len} bytes announced, ${bytes.length - o} left`);
    // Where the bad byte is, as for a list file: its line and byte offset within this list's text. (A NUL byte was
    // reported on line 1 whatever its line, and bad UTF-8 without any place.)
    const body = bytes.subarray(o, o + len);
    const problem = listTextProblem(body);
    if (problem !== null) throw new ListSnapshotError(source, `${l}: ${problem}`);
    const text = dec.decode(body);
    o += len;
    const where = `${h.name} (${source})`;
    const announced = (n: number): void => {
      if (n !== h.entries) throw new ListSnapshotError(source, `${l}: ${h.entries as number} entries announced, ${n} read`);
    };
    if (l === 'vpnDomains') {
      const parsed = parseDomainList(text, { source: where });
      announced(parsed.entries.length);
      lists[l] = { name: h.name, entries: parsed.entries };
    } else {
      const parsed = parseCidrList(text, { source: where });
      announced(parsed.toMap().size); // one map index per kept prefix: the entries' count
      lists[l] = decodedCidrList(h.name, parsed);
    }
  }
  if (o !== bytes.length) throw new ListSnapshotError(source, `${bytes.length - o} bytes after the last list`);
  return { lists, meta: { published, publisher, basedOn } };
}

/** The maps of decoded CIDR lists: what a sensor classifies with. */
const decodedMaps = new WeakMap<NamedList, CidrMap<string>>();

/**
 * A decoded CIDR list whose pairs are built only when read: a sensor needs the map alone, and a million prefixes'
 * pairs cost ~1 s and ~160 MiB, held for as long as the snapshot is (a sensor keeps its first one for the run).
 */
function decodedCidrList(name: string, list: CidrList): NamedList {
  const nl: NamedList = Object.freeze({
    name,
    get entries() {
      return list.entries;
    },
  });
  decodedMaps.set(nl, list.toMap());
  return nl;
}

/** @internal Entries (prefixes, domains) of a snapshot's list, without building a decoded list's pairs. */
export function listEntryCount(nl: NamedList): number {
  return decodedMaps.get(nl)?.size ?? nl.entries.length;
}

/**
 * The classifier input for a snapshot at a fleet revision: every list replaced (an empty list is no list), the
 * revision as `listVersion`.
 */
export function snapshotListsInput(content: ListSnapshotContent, revision: number): ListsInput {
  const { registered, vpnEndpoints, vpnDomains } = content.lists;
  // The map the decoder's parse built (it names the ranges its lines wrote, as a local load's does), else the pairs.
  const cidr = (nl: NamedList): ListsInput['registered'] => {
    if (listEntryCount(nl) === 0) return null;
    return decodedMaps.get(nl) ?? cidrMapOfEntries(nl.entries) ?? nl.entries;
  };
  return {
    registered: cidr(registered),
    vpnEndpoints: cidr(vpnEndpoints),
    vpnDomains: vpnDomains.entries.length ? vpnDomains.entries : null,
    names: { registered: registered.name, vpnEndpoints: vpnEndpoints.name, vpnDomains: vpnDomains.name },
    version: revision,
  };
}
