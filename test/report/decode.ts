/**
 * Test oracle for the report's data block: reads the embedded flow data back out of a page (JSON or
 * gzip+base64) and rebuilds one plain record per flow, by a route independent of the page script (Node's zlib,
 * no DOM), so builder tests can compare what went in with what the page carries.
 */
import { gunzipSync } from 'node:zlib';
import type { ReportRecord } from '../../src/report/types.js';
import type { ReportData } from '../../src/report/client.js';

export type DataBlock = ReportData;

function block(html: string, id: string): { encoding: string; value: unknown } {
  const m = new RegExp(`<script type="application/json" id="${id}" data-encoding="([^"]+)"[^>]*>([^<]*)</script>`).exec(html);
  if (!m) throw new Error(`no ${id} block`);
  const text = m[1] === 'gzip-base64' ? gunzipSync(Buffer.from(m[2]!, 'base64')).toString('utf8') : m[2]!;
  return { encoding: m[1]!, value: JSON.parse(text) };
}

export function dataBlock(html: string): { encoding: string; data: DataBlock; reasons: string[] } {
  const d = block(html, 'ts-data'), r = block(html, 'ts-reasons');
  if (r.encoding !== d.encoding) throw new Error('data and reasons blocks differ in encoding');
  return { encoding: d.encoding, data: d.value as DataBlock, reasons: r.value as string[] };
}

const LABELS = ['registered_vpn', 'unregistered_vpn', 'ordinary'] as const;
const STRENGTH = ['strong', 'medium', 'weak'] as const;
const KIND = ['structure', 'name', 'list', 'relation'] as const;

function iso(us: number): string {
  return `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 23)}${String(us % 1000).padStart(3, '0')}Z`;
}

/** The flows of a page, in the page's order, as records (evidence `kind` always present). */
export function decodeRecords(html: string): ReportRecord[] {
  const { data: d, reasons } = dataBlock(html);
  const s = (i: number): string | null => (i < 0 ? null : d.S[i]!);
  const ep = (h: number, p: number): string => {
    const host = s(h)!;
    return p < 0 ? host : host.includes(':') ? `[${host}]:${p}` : `${host}:${p}`;
  };
  const out: ReportRecord[] = [];
  let t = d.t0, k = 0;
  const col = (f: string, i: number): number => {
    const v = d.c[f]!;
    return typeof v === 'number' ? v : v[i]!;
  };
  for (let i = 0; i < d.n; i++) {
    const c = (f: string): number => col(f, i);
    if (i < d.nt) t += col('t', i);
    const ev = [];
    for (let j = 0; j < c('ec'); j++) {
      const it = col('ei', k++);
      const item: Record<string, unknown> = {
        source: s(d.e.so![it]!), protocol: s(d.e.pr![it]!), strength: STRENGTH[d.e.st![it]!], rule: s(d.e.ru![it]!),
        reason: reasons[d.e.re![it]!], kind: KIND[d.e.ki![it]!],
      };
      if (d.e.pk![it]! >= 0) item.packet = d.e.pk![it];
      if (d.e.of![it]! >= 0) item.offset = d.e.of![it];
      ev.push(item);
    }
    const r: Record<string, unknown> = {
      transport: s(c('tr')), src: ep(c('sh'), c('sp')), dst: ep(c('dh'), c('dp')), label: LABELS[c('lab')],
      protocol: s(c('pr')), confidence: c('cf') / 1000, registrant: s(c('rg')), evidence: ev, packets: c('pk'),
      bytes: c('by'), firstSeen: i < d.nt ? iso(t) : null, lastSeen: i < d.nt ? iso(t + c('du')) : null,
      listVersion: c('lv'), decidedAtPacket: c('dec'),
    };
    // A column whose values are all equal is sent as that one number, which may be 0 (VLAN 0, string index 0).
    if (d.c.vl !== undefined && c('vl') >= 0) r.vlan = c('vl');
    if (d.c.en !== undefined && c('en') >= 0) r.encap = s(c('en'));
    if (c('sn') >= 0) r.sensor = s(c('sn'));
    out.push(r as unknown as ReportRecord);
  }
  return out;
}
