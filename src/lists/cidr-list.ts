/**
 * CIDR list files: one `CIDR[,value]` per line (value = registrant id or label), `#` comments (whole-line or
 * trailing), blank lines, CRLF. Owns reading and validating such lists; one bad line fails the whole load with
 * `source:line: reason` (ListParseError) so a half-loaded list never goes into service, and a file that cannot
 * be read at all is a ListReadError. Entries are canonicalised (IPv4-mapped -> IPv4, RFC 5952 IPv6) so the same
 * prefix written two ways is caught as a duplicate. Cost: O(total text) plus one Map entry per prefix.
 */
import { parseListLines, readListText } from './read-text.js';
import { CidrError, ListParseError } from '../errors.js';
import { formatPrefix, newPrefixParts, parsePrefixInto } from '../ip/prefix.js';
import { CidrMap } from '../trie/cidr-map.js';

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
  /** Compiles the entries into a CidrMap (built once, then cached). */
  toMap(): CidrMap<string>;
}

const CIDR_NOUNS = { key: 'CIDR', entry: 'prefix', value: 'value' } as const;

/**
 * Parses list text synchronously.
 * @throws {ListParseError} for the first bad line: invalid CIDR (with the CIDR error detail and text),
 *   missing CIDR, or the same prefix with a different value (names both lines).
 * @example parseCidrList('10.0.0.0/8,acme # corp\n2001:db8::/32,beta', { source: 'registered.txt' })
 */
export function parseCidrList(text: string, options: CidrListOptions = {}): CidrList {
  const source = options.source ?? '<input>';
  const normalize = options.normalize ?? false;
  const defaultValue = options.defaultValue ?? '';
  const p = newPrefixParts();
  const { entries, lines } = parseListLines(text, source, CIDR_NOUNS, defaultValue, (cidr, lineNo) => {
    try {
      parsePrefixInto(cidr, p, normalize);
    } catch (e) {
      if (e instanceof CidrError) throw new ListParseError(source, lineNo, `${e.code}: ${e.message}`, { cause: e });
      throw e;
    }
    return formatPrefix(p);
  });
  let map: CidrMap<string> | undefined;
  return Object.freeze({
    source,
    entries: Object.freeze(entries),
    lines: Object.freeze(lines),
    toMap(): CidrMap<string> {
      return (map ??= CidrMap.from(entries));
    },
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
