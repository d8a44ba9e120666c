/**
 * Zeek `conn.log` in Zeek's TSV form (`--format zeek`): the `#separator … #types` header, one tab-separated line per
 * flow, and `#close` at the end, readable by zeek-cut, Zeek's own input framework, and every tool that reads Zeek
 * logs. The columns are in zeek-fields.ts.
 *
 * Escaping follows Zeek's ASCII writer, so no value can break the line or the column structure: bytes outside
 * printable ASCII, the tab separator and the backslash become `\xNN` (UTF-8 bytes, lower-case hex); inside a
 * set or vector the set separator `,` becomes `\x2c`; an empty string is `(empty)`; a string that would read as the
 * unset or empty marker (`-`, `(empty)`) gets its first character escaped.
 */
import type { FlowRecord } from '../classify/record.js';
import type { RecordFormat, FormatContext } from './types.js';
import { ZEEK_FIELDS, zeekRow, type ZeekValue } from './zeek-fields.js';

const SEPARATOR = '\t';
const SET_SEPARATOR = ',';
const EMPTY_FIELD = '(empty)';
const UNSET_FIELD = '-';

const HEX = '0123456789abcdef';
const hexByte = (b: number): string => `\\x${HEX[b >> 4]}${HEX[b & 15]}`;

/** Zeek's escaping of one string (see the module comment); `inSet` also escapes the set separator. */
export function zeekEscape(s: string, inSet = false): string {
  if (s === '') return EMPTY_FIELD;
  let out = '';
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x5c || (inSet && c === 0x2c)) {
      plain = false;
      break;
    }
  }
  if (plain) out = s;
  else {
    for (const b of Buffer.from(s, 'utf8')) {
      out += b < 0x20 || b >= 0x7f || b === 0x5c || (inSet && b === 0x2c) ? hexByte(b) : String.fromCharCode(b);
    }
  }
  if (out === UNSET_FIELD || out === EMPTY_FIELD) return hexByte(out.charCodeAt(0)) + out.slice(1);
  return out;
}

function cell(v: ZeekValue): string {
  if (v === null) return UNSET_FIELD;
  if ('num' in v) return v.num;
  if ('bool' in v) return v.bool ? 'T' : 'F';
  if ('text' in v) return zeekEscape(v.text);
  return v.list.length === 0 ? EMPTY_FIELD : v.list.map((x) => zeekEscape(x, true)).join(SET_SEPARATOR);
}

/** Zeek's `#open`/`#close` stamp: `YYYY-MM-DD-HH-MM-SS` (UTC here). */
export function zeekStamp(time: number | Date): string {
  const iso = new Date(time).toISOString();
  return `${iso.slice(0, 10)}-${iso.slice(11, 13)}-${iso.slice(14, 16)}-${iso.slice(17, 19)}`;
}

/** The header: separators, path, open time, field names and types. */
export function zeekHeader(ctx: FormatContext): string {
  return (
    `#separator \\x09\n` +
    `#set_separator${SEPARATOR}${SET_SEPARATOR}\n` +
    `#empty_field${SEPARATOR}${EMPTY_FIELD}\n` +
    `#unset_field${SEPARATOR}${UNSET_FIELD}\n` +
    `#path${SEPARATOR}conn\n` +
    `#open${SEPARATOR}${zeekStamp(ctx.time)}\n` +
    `#fields${SEPARATOR}${ZEEK_FIELDS.map((f) => f.name).join(SEPARATOR)}\n` +
    `#types${SEPARATOR}${ZEEK_FIELDS.map((f) => f.type).join(SEPARATOR)}\n`
  );
}

/** One conn.log line (with its newline). */
export function zeekLine(r: FlowRecord): string {
  const row = zeekRow(r);
  let out = '';
  for (let i = 0; i < ZEEK_FIELDS.length; i++) out += (i === 0 ? '' : SEPARATOR) + cell(ZEEK_FIELDS[i]!.value(r, row));
  return `${out}\n`;
}

/** The closing line. */
export function zeekFooter(ctx: FormatContext): string {
  return `#close${SEPARATOR}${zeekStamp(ctx.time)}\n`;
}

export const zeekFormat: RecordFormat = {
  name: 'zeek',
  description: 'Zeek conn.log, TSV with the #fields/#types header',
  header: zeekHeader,
  record: zeekLine,
  footer: zeekFooter,
};
