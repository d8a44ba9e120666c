/**
 * The shared grammar of list files, scanned in place: one `KEY[,VALUE]` per line, `#` starts a comment, blank
 * lines and surrounding blanks (CRLF's `\r` included, exactly the characters String.prototype.trim removes) are
 * ignored. Each line is reported as index ranges into the text, so a loader can parse a million lines without a
 * string per line (see cidr-list.ts, which parses prefixes in place into the trie builder).
 * Never: reads past a line's end, allocates per line (except the text of an error message).
 */
import { ListParseError } from '../errors.js';
import { isTrimSpace } from './intern.js';
import { quoteForMessage } from './read-text.js';

/**
 * One entry line: the key is `text[ks, ke)`; the value `text[vs, ve)`, or `vs = ve = -1` when the line has no
 * value (no comma, or only blanks after it). Both ranges are trimmed and non-empty.
 */
export type ListLineSink = (lineNo: number, ks: number, ke: number, vs: number, ve: number) => void;

/**
 * Scan every entry line of `text` in order. A line with a comma but nothing before it fails with
 * `source:line: missing <keyNoun> before ","`; the sink may throw its own error to stop the scan.
 * @throws {ListParseError}
 */
export function scanListLines(text: string, source: string, keyNoun: string, sink: ListLineSink): void {
  const n = text.length;
  let lineNo = 0;
  let pos = 0;
  while (pos <= n) {
    lineNo++;
    let end = pos;
    let comma = -1;
    let cut = -1; // '#' or end of line
    for (; end < n; end++) {
      const c = text.charCodeAt(end);
      if (c === 0x0a) break;
      if (c === 0x23) {
        cut = end;
        end = text.indexOf('\n', end);
        if (end < 0) end = n;
        break;
      }
      if (c === 0x2c && comma < 0) comma = end;
    }
    let ls = pos;
    let le = cut < 0 ? end : cut;
    pos = end + 1;
    while (ls < le && isTrimSpace(text.charCodeAt(ls))) ls++;
    while (le > ls && isTrimSpace(text.charCodeAt(le - 1))) le--;
    if (ls === le) continue;
    let ke = comma < 0 ? le : comma;
    while (ke > ls && isTrimSpace(text.charCodeAt(ke - 1))) ke--;
    if (ke === ls) throw new ListParseError(source, lineNo, `missing ${keyNoun} before "," in ${quoteForMessage(text.slice(ls, le))}`);
    let vs = -1;
    let ve = -1;
    if (comma >= 0) {
      vs = comma + 1;
      ve = le;
      while (vs < ve && isTrimSpace(text.charCodeAt(vs))) vs++;
      if (vs === ve) vs = ve = -1;
    }
    sink(lineNo, ls, ke, vs, ve);
  }
}
