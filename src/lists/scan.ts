/**
 * The shared grammar of list files, scanned in place: one `KEY[,VALUE]` per line (lines end with LF, CRLF or a bare
 * CR), `#` starts a comment, blank lines and surrounding blanks (exactly the characters String.prototype.trim
 * removes) are ignored. The limits of read-text.ts hold here: at most MAX_LINE_CHARS characters a line and
 * MAX_LIST_ENTRIES entry lines; a value is at most MAX_VALUE_CHARS characters with no character that acts on a
 * terminal (valueProblem). Each line is reported as index ranges into the text, so a loader can parse a million lines without a
 * string per line (see cidr-list.ts, which parses prefixes in place into the trie builder).
 * Never: reads past a line's end, allocates per line (except the text of an error message).
 */
import { ListParseError } from '../errors.js';
import { isTrimSpace } from './intern.js';
import { MAX_LINE_CHARS, MAX_LIST_ENTRIES, MAX_VALUE_CHARS, quoteForMessage, valueProblem } from './read-text.js';

/**
 * One entry line: the key is `text[ks, ke)`; the value `text[vs, ve)`, or `vs = ve = -1` when the line has no
 * value (no comma, or only blanks after it). Both ranges are trimmed and non-empty.
 */
export type ListLineSink = (lineNo: number, ks: number, ke: number, vs: number, ve: number) => void;

/**
 * Scan every entry line of `text` in order. A line with a comma but nothing before it fails with
 * `source:line: missing <key noun> before ","`; the sink may throw its own error to stop the scan.
 * @throws {ListParseError}
 */
export function scanListLines(
  text: string,
  source: string,
  nouns: { readonly key: string; readonly value: string },
  sink: ListLineSink,
  maxEntries: number = MAX_LIST_ENTRIES,
): void {
  new ListScanner(source, nouns, maxEntries).scan(text, true, sink);
}

/**
 * The scanner of {@link scanListLines} over a text given in pieces (see listTextPieces): line numbers and the
 * entry count carry from one piece to the next, so the lines seen are those of the joined text.
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
   * Scans the lines of the next piece. A piece other than the `last` must end with a line end, and its end does
   * not start a line of its own. Ranges handed to `sink` index this piece.
   * @throws {ListParseError}
   */
  scan(text: string, last: boolean, sink: ListLineSink): void {
    const { source, nouns, maxEntries } = this;
    const n = text.length;
    let lineNo = this.#lineNo;
    let entries = this.#entries;
    let pos = 0;
    while (pos < n || (last && pos === n)) {
      lineNo++;
      let end = pos;
      let comma = -1;
      let cut = -1; // '#' or end of line
      for (; end < n; end++) {
        const c = text.charCodeAt(end);
        // A bare CR ends a line too (old Mac editors): such a file is many lines, not one.
        if (c === 0x0a || c === 0x0d) break;
        if (c === 0x23 && cut < 0) cut = end;
        if (c === 0x2c && comma < 0 && cut < 0) comma = end;
      }
      if (end - pos > MAX_LINE_CHARS) throw new ListParseError(source, lineNo, `line of ${end - pos} characters is over the limit of ${MAX_LINE_CHARS}`);
      let ls = pos;
      let le = cut < 0 ? end : cut;
      pos = end + (end + 1 < n && text.charCodeAt(end) === 0x0d && text.charCodeAt(end + 1) === 0x0a ? 2 : 1);
      while (ls < le && isTrimSpace(text.charCodeAt(ls))) ls++;
      while (le > ls && isTrimSpace(text.charCodeAt(le - 1))) le--;
      if (ls === le) continue;
      let ke = comma < 0 ? le : comma;
      while (ke > ls && isTrimSpace(text.charCodeAt(ke - 1))) ke--;
      if (ke === ls) throw new ListParseError(source, lineNo, `missing ${nouns.key} before "," in ${quoteForMessage(text.slice(ls, le))}`);
      let vs = -1;
      let ve = -1;
      if (comma >= 0) {
        vs = comma + 1;
        ve = le;
        while (vs < ve && isTrimSpace(text.charCodeAt(vs))) vs++;
        if (vs === ve) vs = ve = -1;
        else if (ve - vs > MAX_VALUE_CHARS || !plainAscii(text, vs, ve)) {
          // Rare (long or non-ASCII values): the string is built only to check and report it.
          const value = text.slice(vs, ve);
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

/** `text[s, e)` is printable ASCII (U+0020–U+007E): nothing in it can act on a terminal. */
function plainAscii(text: string, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}
