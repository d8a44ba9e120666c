/**
 * The shared grammar of list files, scanned in place: one `KEY[,VALUE]` per line (lines end with LF, CRLF or a bare
 * CR), `#` starts a comment, blank lines and surrounding blanks (exactly the characters String.prototype.trim
 * removes) are ignored. The limits of read-text.ts hold here: at most MAX_LINE_CHARS characters a line and
 * MAX_LIST_ENTRIES entry lines; a value is at most MAX_VALUE_CHARS characters with no character that acts on a
 * terminal (valueProblem). The text is read as code units (units.ts) and each line is reported as index ranges
 * into them, so a loader can parse a million lines without a string per line (see cidr-list.ts, which parses
 * prefixes in place into typed columns).
 * Never: reads past a line's end, allocates per line (except the text of an error message).
 */
import { ListParseError } from '../errors.js';
import { isTrimSpace } from './intern.js';
import { MAX_LINE_CHARS, MAX_LIST_ENTRIES, MAX_VALUE_CHARS, quoteForMessage, valueProblem } from './read-text.js';
import { unitsText, type ListUnits } from './units.js';

/**
 * One entry line: the key is `u[ks, ke)`; the value `u[vs, ve)`, or `vs = ve = -1` when the line has no
 * value (no comma, or only blanks after it). Both ranges are trimmed and non-empty.
 */
export type ListLineSink = (lineNo: number, ks: number, ke: number, vs: number, ve: number) => void;

/**
 * What to add to a bad key's message when the key holds a blank, a tab or a semicolon: the line most likely used
 * another separator than the comma (`10.0.0.0/8 corp`, a spreadsheet's `;`), which the key's own reason ("prefix
 * length is not a decimal number") does not make plain.
 */
export function separatorHint(key: string, nouns: { readonly key: string; readonly value: string }): string {
  return /[ \t;]/.test(key) ? ` (a line is ${nouns.key}[,${nouns.value}]: the ${nouns.value} follows a comma)` : '';
}

/**
 * Scan every entry line of the text `u` (see unitsOf) in order. A line with a comma but nothing before it fails
 * with `source:line: missing <key noun> before ","`; the sink may throw its own error to stop the scan.
 * @throws {ListParseError}
 */
export function scanListLines(
  u: ListUnits,
  source: string,
  nouns: { readonly key: string; readonly value: string },
  sink: ListLineSink,
  maxEntries: number = MAX_LIST_ENTRIES,
): void {
  new ListScanner(source, nouns, maxEntries).scan(u, u.length, true, sink);
}

/**
 * The scanner of {@link scanListLines} over a text that comes in pieces (a file read a chunk at a time): line
 * numbers and the entry count carry from one piece to the next.
 */
export class ListScanner {
  #lineNo = 0;
  #entries = 0;
  constructor(
    readonly source: string,
    readonly nouns: { readonly key: string; readonly value: string },
    readonly maxEntries: number = MAX_LIST_ENTRIES,
  ) {}

  /**
   * Scans the lines of the next piece, `u[0, n)`. A piece other than the `last` must end with a line end (and
   * never between the CR and LF of a CRLF); its end starts no line of its own.
   * @throws {ListParseError}
   */
  scan(u: ListUnits, n: number, last: boolean, sink: ListLineSink): void {
    const { source, nouns, maxEntries } = this;
    let lineNo = this.#lineNo;
    let pos = 0;
    let entries = this.#entries;
    while (pos < n || (last && pos === n)) {
      lineNo++;
      let end = pos;
      let comma = -1;
      let cut = -1; // '#' or end of line
      for (; end < n; end++) {
        const c = u[end]!;
        // Every character the loop looks for is at most ',' (digits, letters, '.', '/', ':' are above it).
        if (c > 0x2c) continue;
        // A bare CR ends a line too (old Mac editors): such a file is many lines, not one.
        if (c === 0x0a || c === 0x0d) break;
        if (c === 0x23 && cut < 0) cut = end;
        if (c === 0x2c && comma < 0 && cut < 0) comma = end;
      }
      if (end - pos > MAX_LINE_CHARS) throw new ListParseError(source, lineNo, `line of ${end - pos} characters is over the limit of ${MAX_LINE_CHARS}`);
      let ls = pos;
      let le = cut < 0 ? end : cut;
      pos = end + (end + 1 < n && u[end] === 0x0d && u[end + 1] === 0x0a ? 2 : 1);
      while (ls < le && isTrimSpace(u[ls]!)) ls++;
      while (le > ls && isTrimSpace(u[le - 1]!)) le--;
      if (ls === le) continue;
      let ke = comma < 0 ? le : comma;
      while (ke > ls && isTrimSpace(u[ke - 1]!)) ke--;
      if (ke === ls) throw new ListParseError(source, lineNo, `missing ${nouns.key} before "," in ${quoteForMessage(unitsText(u, ls, le))}`);
      let vs = -1;
      let ve = -1;
      if (comma >= 0) {
        vs = comma + 1;
        ve = le;
        while (vs < ve && isTrimSpace(u[vs]!)) vs++;
        if (vs === ve) vs = ve = -1;
        else if (ve - vs > MAX_VALUE_CHARS || !plainAscii(u, vs, ve)) {
          // Rare (long or non-ASCII values): the string is built only to check and report it.
          const value = unitsText(u, vs, ve);
          const bad = valueProblem(value);
          if (bad !== null) throw new ListParseError(source, lineNo, `${nouns.value} ${quoteForMessage(value)}: ${bad}`);
        }
      }
      if (++entries > maxEntries) throw new ListParseError(source, lineNo, `more than ${maxEntries} entries (the limit of one list)`);
      sink(lineNo, ls, ke, vs, ve);
    }
    this.#lineNo = lineNo;
    this.#entries = entries;
  }
}

/** `u[s, e)` is printable ASCII (U+0020–U+007E): nothing in it can act on a terminal. */
function plainAscii(u: ListUnits, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = u[i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}
