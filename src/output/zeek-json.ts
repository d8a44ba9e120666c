/**
 * Zeek `conn.log` in Zeek's JSON form (`--format zeek-json`, as `LogAscii::use_json=T` writes it): one object per
 * line, dotted field names (`id.orig_h`), `ts` as epoch seconds, unset fields left out, sets and vectors as arrays.
 * Same columns as the TSV form (zeek-fields.ts). Strings are JSON-escaped by JSON.stringify, so no value can break
 * the line, and the characters it leaves raw (C1, DEL, bidi marks, U+2028/9) are written as `\u` escapes
 * (escapeJson), so a capture or list path cannot reorder or break what a terminal or log viewer shows.
 */
import type { FlowRecord } from '../classify/record.js';
import { escapeJson } from '../text.js';
import { lineFormat, type RecordFormat } from './types.js';
import { ZEEK_FIELDS, zeekRow } from './zeek-fields.js';

/** One JSON line (with its newline). */
export function zeekJsonLine(r: FlowRecord): string {
  const row = zeekRow(r);
  let out = '';
  for (const f of ZEEK_FIELDS) {
    const v = f.value(r, row);
    if (v === null) continue;
    // Numbers are already in Zeek's rendering (six decimals for time and interval), which is valid JSON.
    const json = 'num' in v ? v.num : 'bool' in v ? String(v.bool) : 'text' in v ? JSON.stringify(v.text) : JSON.stringify(v.list);
    out += `${out === '' ? '{' : ','}${JSON.stringify(f.name)}:${json}`;
  }
  return `${escapeJson(out)}}\n`;
}

export const zeekJsonFormat: RecordFormat = lineFormat('zeek-json', "Zeek conn.log in Zeek's JSON form", zeekJsonLine);
