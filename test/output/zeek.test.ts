/**
 * Zeek conn.log (TSV and JSON): Zeek's header shape, Zeek's own conn.log field names and types
 * (base/protocols/conn/main.zeek), every value valid for its declared type, Zeek's escaping (property-tested
 * against an unescaper), hostile strings kept inside their column, bro-cut (zeek-cut) reading the log by its
 * header, and the JSON form carrying the same values as the TSV form.
 */
import { execFileSync } from 'node:child_process';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FlowRecord } from '../../src/classify/record.js';
import { ZEEK_FIELDS, zeekEscape, zeekFooter, zeekHeader, zeekJsonLine, zeekLine } from '../../src/output/index.js';
import { ensureTools } from '../helpers/tools.js';
import { render, sampleRecords } from './sample-records.js';

/** Zeek's unescaping of one value (\xNN byte sequences, then UTF-8), the inverse of its ASCII writer. */
function zeekUnescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === 'x' && /^[0-9a-f]{2}$/.test(s.slice(i + 2, i + 4))) {
      bytes.push(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else bytes.push(...Buffer.from(s[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** A TSV value parsed by its declared type, as Zeek's reader would (null = unset). */
function parseValue(type: string, v: string): unknown {
  if (v === '-') return null;
  switch (type) {
    case 'time':
    case 'interval':
      expect(v, type).toMatch(/^\d+\.\d{6}$/);
      return Number(v);
    case 'addr':
      expect(isIP(v), `addr ${v}`).toBeGreaterThan(0);
      return v;
    case 'port':
    case 'count':
      expect(v, type).toMatch(/^\d+$/);
      if (type === 'port') expect(Number(v)).toBeLessThanOrEqual(65535);
      return Number(v);
    case 'int':
      expect(v).toMatch(/^-?\d+$/);
      return Number(v);
    case 'double':
      expect(Number.isFinite(Number(v)), `double ${v}`).toBe(true);
      return Number(v);
    case 'bool':
      expect(v).toMatch(/^[TF]$/);
      return v === 'T';
    case 'set[string]':
    case 'vector[string]':
      return v === '(empty)' ? [] : v.split(',').map(zeekUnescape);
    default:
      return v === '(empty)' ? '' : zeekUnescape(v);
  }
}

/** Rows of a TSV log as objects keyed by field name. */
function parseTsv(text: string): { meta: string[]; rows: Record<string, unknown>[] } {
  const lines = text.split('\n');
  expect(lines.pop()).toBe('');
  const meta = lines.filter((l) => l.startsWith('#'));
  const fields = meta.find((l) => l.startsWith('#fields\t'))!.split('\t').slice(1);
  const types = meta.find((l) => l.startsWith('#types\t'))!.split('\t').slice(1);
  expect(types.length).toBe(fields.length);
  const rows = lines
    .filter((l) => !l.startsWith('#'))
    .map((l) => {
      const cells = l.split('\t');
      expect(cells.length, l).toBe(fields.length);
      return Object.fromEntries(cells.map((c, i) => [fields[i], parseValue(types[i]!, c)]));
    });
  return { meta, rows };
}

/** A record whose every free-text field is hostile. */
function hostile(base: FlowRecord): FlowRecord {
  return {
    ...base,
    registrant: 'evil\tcolumn\n#fields\tx,y\\x41 "q" =1+2',
    protocol: '-',
    evidence: [
      { source: 'x', protocol: 'p', strength: 'strong', rule: 'r,1\t2', reason: 'line\r\nbreak \u0000\u001b[31m é 中 \u202e' },
      { source: 'y', protocol: 'p', strength: 'medium', rule: '(empty)', reason: '' },
    ],
  };
}

describe('Zeek conn.log', () => {
  let records: FlowRecord[] = [];
  let tsv = '';
  beforeAll(async () => {
    records = await sampleRecords();
    tsv = render('zeek', records);
  });

  it("has Zeek's header: separators, path, open/close stamps, #fields and #types of equal length", () => {
    const lines = tsv.split('\n');
    expect(lines.slice(0, 6)).toEqual(['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', '#path\tconn', '#open\t2026-01-01-00-00-00']);
    expect(lines[6]!.startsWith('#fields\t')).toBe(true);
    expect(lines[7]!.startsWith('#types\t')).toBe(true);
    expect(lines.at(-2)).toBe('#close\t2026-01-01-00-00-00');
    expect(zeekHeader({ time: 0 })).toContain('#open\t1970-01-01-00-00-00\n');
    expect(zeekFooter({ time: new Date(Date.UTC(2024, 1, 29, 23, 59, 58)) })).toBe('#close\t2024-02-29-23-59-58\n');
  });

  it("starts with Zeek's own conn.log fields, names and types as Conn::Info declares them", () => {
    const zeek: [string, string][] = [
      ['ts', 'time'], ['uid', 'string'], ['id.orig_h', 'addr'], ['id.orig_p', 'port'], ['id.resp_h', 'addr'], ['id.resp_p', 'port'],
      ['proto', 'enum'], ['service', 'string'], ['duration', 'interval'], ['orig_bytes', 'count'], ['resp_bytes', 'count'],
      ['conn_state', 'string'], ['local_orig', 'bool'], ['local_resp', 'bool'], ['missed_bytes', 'count'], ['history', 'string'],
      ['orig_pkts', 'count'], ['orig_ip_bytes', 'count'], ['resp_pkts', 'count'], ['resp_ip_bytes', 'count'],
      ['tunnel_parents', 'set[string]'], ['ip_proto', 'count'], ['community_id', 'string'], ['vlan', 'int'],
    ];
    expect(ZEEK_FIELDS.slice(0, zeek.length).map((f) => [f.name, f.type])).toEqual(zeek);
    for (const f of ZEEK_FIELDS.slice(zeek.length)) expect(f.name).toMatch(/^tunnelscope\.[a-z_]+$/);
  });

  it('every value of the sample log is valid for its type and carries the record', () => {
    const { rows } = parseTsv(tsv);
    expect(rows.length).toBe(records.length);
    rows.forEach((row, i) => {
      const r = records[i]!;
      expect(row['id.orig_h']).toBe(r.src.replace(/^\[/, '').replace(/\]?:\d+$/, ''));
      expect(row['orig_pkts']).toBe(r.srcPackets);
      expect(row['resp_pkts']).toBe(r.dstPackets);
      expect(row['tunnelscope.orig_wire_bytes']).toBe(r.srcBytes);
      expect(row['tunnelscope.label']).toBe(r.label);
      expect(row['tunnelscope.registrant']).toBe(r.registrant);
      expect(row['tunnelscope.rules']).toEqual(r.evidence.map((e) => `${e.rule}:${e.strength}`));
      expect(row['uid']).toMatch(/^C[0-9A-Za-z]{11}$/);
    });
    expect(new Set(rows.map((r) => r['uid'])).size).toBe(rows.length);
    const udp = rows.filter((r) => r['proto'] === 'udp').map((r) => r['conn_state']);
    expect(udp).toContain('SF');
    for (const st of udp) expect(['SF', 'S0', 'SHR']).toContain(st);
    expect(rows.filter((r) => r['proto'] === 'tcp').every((r) => r['conn_state'] === null)).toBe(true);
    expect(rows.find((r) => r['ip_proto'] === 50)!['proto']).toBe('unknown_transport');
  });

  it('escapes as Zeek does: no raw tab, newline or non-printable; reserved values escaped; reversible', () => {
    const cases: [string, boolean, string][] = [
      ['', false, '(empty)'], ['-', false, '\\x2d'], ['(empty)', false, '\\x28empty)'], ['a\tb\nc\\d', false, 'a\\x09b\\x0ac\\x5cd'],
      ['é', false, '\\xc3\\xa9'], ['a,b', false, 'a,b'], ['a,b', true, 'a\\x2cb'],
    ];
    expect(cases.map(([s, inSet]) => zeekEscape(s, inSet))).toEqual(cases.map(([, , o]) => o));
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.boolean(), (s, inSet) => {
        const e = zeekEscape(s, inSet);
        if (!/^[\x20-\x7e]+$/.test(e) || (inSet && e.includes(','))) return false;
        if (s === '') return e === '(empty)';
        // Lone surrogates are not text: UTF-8 has no form for them.
        return e !== '-' && e !== '(empty)' && (Buffer.from(s, 'utf8').toString('utf8') !== s || zeekUnescape(e) === s);
      }),
    );
  });

  it('a hostile record stays one line with every column in place, in TSV and JSON', () => {
    const r = hostile(records.find((x) => x.label !== 'ordinary')!);
    const { rows } = parseTsv(zeekHeader({ time: 0 }) + zeekLine(r));
    expect(rows[0]!['tunnelscope.registrant']).toBe(r.registrant);
    expect(rows[0]!['tunnelscope.protocol']).toBe('-');
    expect(rows[0]!['tunnelscope.rules']).toEqual(['r,1\t2:strong', '(empty):medium']);
    const json = zeekJsonLine(r);
    expect(json.indexOf('\n')).toBe(json.length - 1);
    expect(JSON.parse(json)['tunnelscope.registrant']).toBe(r.registrant);
  });

  it('an ICMP flow leaves its conn id ports unset (Zeek puts type and code there); ESP keeps 0 as Zeek logs it', () => {
    const esp = records.find((x) => x.transport === 'esp')!;
    for (const transport of ['icmp', 'icmpv6'] as const) {
      const r = { ...esp, transport };
      const { rows } = parseTsv(zeekHeader({ time: 0 }) + zeekLine(r));
      expect(rows[0]!['proto']).toBe('icmp');
      expect([rows[0]!['id.orig_p'], rows[0]!['id.resp_p']]).toEqual([null, null]);
      const json = JSON.parse(zeekJsonLine(r)) as Record<string, unknown>;
      expect('id.orig_p' in json || 'id.resp_p' in json).toBe(false);
    }
    const { rows } = parseTsv(zeekHeader({ time: 0 }) + zeekLine(esp));
    expect([rows[0]!['id.orig_p'], rows[0]!['id.resp_p']]).toEqual([0, 0]);
  });

  it('zeek-json carries the same values as the TSV form, unset fields left out', () => {
    const { rows } = parseTsv(tsv);
    const json = render('zeek-json', records).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json.length).toBe(rows.length);
    json.forEach((obj, i) => {
      const fromTsv = Object.fromEntries(Object.entries(rows[i]!).filter(([, v]) => v !== null));
      expect(obj).toEqual(fromTsv);
      expect(typeof obj['ts']).toBe('number');
    });
  });

  const noTools = ensureTools('bro-cut');
  it.skipIf(noTools !== null)(`bro-cut (zeek-cut) reads the columns by name from the header${noTools ? ` — skipped: ${noTools}` : ''}`, () => {
    const out = execFileSync('bro-cut', ['id.orig_h', 'id.resp_p', 'proto', 'orig_pkts', 'tunnelscope.label', 'tunnelscope.registrant'], { input: tsv, encoding: 'utf8' });
    const want = records.map((r) => {
      const dst = r.dst.match(/:(\d+)$/) && r.transport !== 'esp' ? r.dst.replace(/^.*:/, '') : '0';
      const src = r.src.startsWith('[') ? r.src.slice(1, r.src.indexOf(']')) : r.src.replace(/:\d+$/, '');
      const proto = r.transport === 'tcp' || r.transport === 'udp' ? r.transport : 'unknown_transport';
      return [src, dst, proto, r.srcPackets, r.label, r.registrant ?? '-'].join('\t');
    });
    expect(out.trimEnd().split('\n')).toEqual(want);
    // -d turns the `time` column into a date: bro-cut found ts by its declared type.
    const ts = execFileSync('bro-cut', ['-u', '-d', 'ts'], { input: tsv, encoding: 'utf8' }).split('\n')[0];
    expect(ts).toBe(`${records[0]!.firstSeen.slice(0, 19)}+0000`);
  });
});
