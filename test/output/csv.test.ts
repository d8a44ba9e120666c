/**
 * CSV: RFC 4180 framing checked by Python's csv module (a real reader) and by a naive RFC 4180 parser
 * (property-tested), control characters escaped, and spreadsheet formula injection neutralised.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/classify/record.js';
import { CSV_COLUMNS, csvHeader, csvLine, csvText } from '../../src/output/index.js';
import { render, sampleRecords } from './sample-records.js';

/** RFC 4180 parser, written the obvious way: fields, quotes doubled inside quoted fields, CRLF records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], field = '', i = 0, quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"' && field === '') { quoted = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 2; continue; }
    field += c; i++;
  }
  if (field !== '' || row.length) throw new Error('CSV does not end with CRLF');
  return rows;
}

/** Reverses csvText's escapes and formula guard (what a reader must do to get the original back). */
function unescapeCell(s: string): string {
  const t = /^'[=+\-@]/.test(s) ? s.slice(1) : s;
  return t.replace(/\\x([0-9a-f]{2})|\\u([0-9a-f]{4})/g, (_, x?: string, u?: string) => String.fromCharCode(parseInt((x ?? u)!, 16)));
}

describe('CSV', () => {
  let records: FlowRecord[] = [];
  let text = '';
  beforeAll(async () => {
    records = await sampleRecords();
    text = render('csv', records);
  });

  it('Python\'s csv module reads the sample: a header and one full row per flow', () => {
    const py = 'import csv,sys,json\nrows=list(csv.reader(open(sys.argv[1],newline="",encoding="utf-8")))\nprint(json.dumps(rows))';
    const dir = mkdtempSync(join(tmpdir(), 'tunnelscope-csv-'));
    writeFileSync(join(dir, 'sample.csv'), text);
    const rows = JSON.parse(execFileSync('python3', ['-c', py, join(dir, 'sample.csv')], { encoding: 'utf8' })) as string[][];
    rmSync(dir, { recursive: true });
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows.length).toBe(records.length + 1);
    expect(rows).toEqual(parseCsv(text));
    rows.slice(1).forEach((row, i) => {
      const r = records[i]!;
      const o = Object.fromEntries(CSV_COLUMNS.map((c, k) => [c, row[k]]));
      expect(o.label).toBe(r.label);
      expect(Number(o.packets)).toBe(r.packets);
      expect(Number(o.srcBytes) + Number(o.dstBytes)).toBe(r.bytes);
      expect(o.registrant).toBe(r.registrant ?? '');
      expect(o.srcPort === '').toBe(r.transport === 'esp');
    });
  });

  it('neutralises formulas and control characters; hostile rows keep their columns', () => {
    const cases: [string | null, string][] = [
      ['=HYPERLINK("http://x")', '"\'=HYPERLINK(""http://x"")"'], ['+1', "'+1"], ['-2', "'-2"], ['@SUM(A1)', "'@SUM(A1)"],
      ['\t=1', '\\x09=1'], ['a\r\nb', 'a\\x0d\\x0ab'], ['back\\slash', 'back\\x5cslash'], ['rtl\u202eevil', 'rtl\\u202eevil'],
      ['a,b', '"a,b"'], [null, ''], ['Ac\u200bme', 'Ac\\u200bme'], ['\u061cx', '\\u061cx'], ['t\u{e0041}', 't\\udb40\\udc41'],
    ];
    expect(cases.map(([i]) => csvText(i))).toEqual(cases.map(([, o]) => o));
    const r = { ...records[0]!, registrant: '=cmd|\' /C calc\'!A0', evidence: [{ source: 's', protocol: 'p', strength: 'strong' as const, rule: '@r', reason: 'x,"y"\nz' }] };
    const rows = parseCsv(csvHeader() + csvLine(r));
    expect(rows[1]!.length).toBe(CSV_COLUMNS.length);
    const o = Object.fromEntries(CSV_COLUMNS.map((c, k) => [c, rows[1]![k]!]));
    expect(o.registrant!.startsWith("'=")).toBe(true);
    expect(o.rule).toBe("'@r");
    expect(unescapeCell(o.reason!)).toBe('x,"y"\nz');
  });

  it('any text survives as one cell: no raw control character, no formula start, reversible', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ maxLength: 5 }), (s, other) => {
        const cell = csvText(s);
        const rows = parseCsv(`${cell},${csvText(other)}\r\n`);
        if (rows.length !== 1 || rows[0]!.length !== 2) return false;
        const got = rows[0]![0]!;
        if (/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]/.test(got) || /^[=+\-@]/.test(got)) return false;
        // A text that itself starts with ' and a formula character reads back as guarded: the guard is one-way.
        return /^'[=+\-@]/.test(s) || unescapeCell(got) === s;
      }),
    );
  });
});
