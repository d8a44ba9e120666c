import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildReport, ReportBuilder } from '../../src/report/builder.js';
import { visible } from '../../src/report/escape.js';
import type { ReportRecord } from '../../src/report/types.js';
import { dataBlock, decodeRecords } from './decode.js';
import { HOSTILE } from './hostile.js';

const T = Date.parse('2026-01-01T00:00:00Z') * 1000;
const iso = (us: number): string => `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 23)}${String(us % 1000).padStart(3, '0')}Z`;

const text = fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 12 }) }, { weight: 1, arbitrary: fc.constantFrom(...HOSTILE) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) });
const endpoint = fc.oneof(
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 65535 })).map(([a, p]) => `${a}:${p}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 65535 })).map(([a, p]) => `[${a}]:${p}`),
  fc.ipV4(),
  text,
);
const evidence = fc.record(
  {
    source: text, protocol: text, strength: fc.constantFrom('strong', 'medium', 'weak'), rule: text, reason: text,
    packet: fc.nat(50), offset: fc.nat(1500), kind: fc.constantFrom('structure', 'name', 'list', 'relation'),
  },
  { requiredKeys: ['source', 'protocol', 'strength', 'rule', 'reason'] },
);
const record: fc.Arbitrary<ReportRecord> = fc
  .record({
    transport: fc.constantFrom('tcp', 'udp', 'esp', 'gre'), src: endpoint, dst: endpoint,
    label: fc.constantFrom('registered_vpn', 'unregistered_vpn', 'ordinary'), protocol: fc.option(text), confidence: fc.integer({ min: 0, max: 1000 }).map((x) => x / 1000),
    registrant: fc.option(text), evidence: fc.array(evidence, { maxLength: 4 }), packets: fc.nat(1e6), bytes: fc.nat(1e9),
    t: fc.integer({ min: 0, max: 3_600_000_000 }), d: fc.integer({ min: 0, max: 600_000_000 }), listVersion: fc.integer({ min: 1, max: 9 }),
    decidedAtPacket: fc.nat(60), vlan: fc.option(fc.nat(4095), { nil: undefined }), encap: fc.option(fc.constantFrom('vxlan', 'gtp-u'), { nil: undefined }),
    sensor: fc.option(text, { nil: undefined }), payloadCut: fc.option(fc.nat(8), { nil: undefined }),
    captureCapped: fc.option(fc.boolean(), { nil: undefined }),
  })
  .map(({ t, d, vlan, encap, sensor, payloadCut, captureCapped, ...r }) => {
    const out: ReportRecord = { ...r, firstSeen: iso(T + t), lastSeen: iso(T + t + d) } as ReportRecord;
    if (vlan !== undefined) out.vlan = vlan;
    if (encap !== undefined) out.encap = encap;
    if (sensor !== undefined) out.sensor = sensor;
    if (payloadCut !== undefined) out.payloadCut = payloadCut;
    if (captureCapped !== undefined) out.captureCapped = captureCapped;
    return out;
  });

/** What the page should carry for a record: every string made visible, evidence kind explicit. */
function expected(r: ReportRecord): ReportRecord {
  const v = (s: string | null): string | null => (s === null ? null : visible(s));
  const out: ReportRecord = {
    transport: visible(r.transport), src: visible(r.src), dst: visible(r.dst), label: r.label, protocol: v(r.protocol), confidence: r.confidence,
    registrant: v(r.registrant), packets: r.packets, bytes: r.bytes, firstSeen: r.firstSeen, lastSeen: r.lastSeen, listVersion: r.listVersion,
    decidedAtPacket: r.decidedAtPacket,
    evidence: r.evidence.map((e) => ({ source: visible(e.source), protocol: visible(e.protocol), strength: e.strength, rule: visible(e.rule), reason: visible(e.reason), kind: e.kind ?? 'structure', ...(e.packet !== undefined ? { packet: e.packet } : {}), ...(e.offset !== undefined ? { offset: e.offset } : {}) })),
  };
  if (r.vlan !== undefined) out.vlan = r.vlan;
  if (r.encap !== undefined) out.encap = r.encap;
  if (r.sensor !== undefined) out.sensor = visible(r.sensor);
  return out;
}

const canon = (rs: ReportRecord[]): string[] => rs.map((r) => JSON.stringify(r, Object.keys(r).sort())).sort();
const figure = (html: string, name: string): number => Number(new RegExp(`data-figure="${name}" data-value="([^"]+)"`).exec(html)![1]);

describe('report builder', () => {
  it('the page carries every record exactly (oracle decoder), JSON or gzip, hostile strings included', async () => {
    await fc.assert(fc.asyncProperty(fc.array(record, { maxLength: 25 }), fc.boolean(), async (recs, compress) => {
      const html = await buildReport(recs, { capture: 'x' }, { compress });
      expect(dataBlock(html).encoding).toBe(compress ? 'gzip-base64' : 'json');
      expect(canon(decodeRecords(html))).toEqual(canon(recs.map(expected)));
      // Flows go out in first-seen order (the table's default).
      const times = decodeRecords(html).map((r) => r.firstSeen);
      expect(times).toEqual([...times].sort());
    }), { numRuns: 40 });
  });

  it('a column whose values are all 0 (VLAN 0 on every flow) survives: it is sent as the number 0', async () => {
    const r: ReportRecord = {
      transport: 'tcp', src: '[::]:0', dst: '0.0.0.0:0', label: 'registered_vpn', protocol: null, confidence: 0, registrant: null, evidence: [],
      packets: 0, bytes: 0, listVersion: 1, decidedAtPacket: 0, firstSeen: iso(T), lastSeen: iso(T), vlan: 0,
    };
    for (const compress of [false, true]) {
      const html = await buildReport([r, { ...r, src: '10.0.0.1:1' }], { capture: 'x' }, { compress });
      expect(decodeRecords(html).map((x) => x.vlan)).toEqual([0, 0]);
    }
  });

  it('headline figures equal the counts of the records', async () => {
    await fc.assert(fc.asyncProperty(fc.array(record, { maxLength: 40 }), async (recs) => {
      const html = await buildReport(recs, { capture: 'x' });
      const n = (l: string): number => recs.filter((r) => r.label === l).length;
      const bytes = (f: (r: ReportRecord) => boolean): number => recs.filter(f).reduce((a, r) => a + r.bytes, 0);
      expect(figure(html, 'vpn-flows')).toBe(n('registered_vpn') + n('unregistered_vpn'));
      expect(figure(html, 'registered-vpn')).toBe(n('registered_vpn'));
      expect(figure(html, 'unregistered-vpn')).toBe(n('unregistered_vpn'));
      expect(figure(html, 'ordinary')).toBe(n('ordinary'));
      expect(figure(html, 'vpn-bytes')).toBe(bytes((r) => r.label !== 'ordinary'));
      // Flows judged on payload the capture cut: named in the header only when there are some.
      const cut = recs.filter((r) => (r.payloadCut ?? 0) > 0);
      const meta = /data-meta="payload-cut">([^<]*)</.exec(html)?.[1];
      if (cut.length === 0) expect(meta).toBeUndefined();
      else expect(meta).toBe(`${cut.length} flows (${cut.filter((r) => r.label === 'ordinary').length} ordinary, at confidence 0.6)`);
      // Flows whose inspection a table cap cut short: the same.
      const capped = recs.filter((r) => r.captureCapped === true);
      const cappedMeta = /data-meta="capture-capped">([^<]*)</.exec(html)?.[1];
      if (capped.length === 0) expect(cappedMeta).toBeUndefined();
      else expect(cappedMeta).toBe(`${capped.length} flows (${capped.filter((r) => r.label === 'ordinary').length} ordinary, at confidence 0.6)`);
    }), { numRuns: 30 });
  });

  it('keeps at most maxFlows in the table but counts every record in the figures', async () => {
    const recs = fc.sample(record, { numRuns: 30, seed: 7 });
    const b = new ReportBuilder({ maxFlows: 10 });
    for (const r of recs) b.add(r);
    const html = await b.build({ capture: 'cap' });
    expect(dataBlock(html).data.n).toBe(10);
    expect(b.flows).toBe(30);
    expect(figure(html, 'vpn-flows') + figure(html, 'ordinary')).toBe(30);
    expect(html).toContain('hold the first 10 of 30 flows');
  });

  it('a per-sensor breakdown from records carrying a sensor field, plus listed sensors without records', async () => {
    const base = fc.sample(record, { numRuns: 60, seed: 3 });
    const sensors = ['gw-a', 'gw-b', '<b>gw-c</b>'];
    const recs = base.map((r, i) => ({ ...r, sensor: sensors[i % 3]! }));
    const html = await buildReport(recs, { capture: 'fleet', sensors: [...sensors, 'gw-idle'] });
    expect(html).toContain('<h2 id="h-sensors">Sensors</h2>');
    for (const s of sensors) {
      const mine = recs.filter((r) => r.sensor === s);
      const vpn = mine.filter((r) => r.label !== 'ordinary').length;
      const row = new RegExp(`<tr data-sensor="${s.replace(/</g, '&lt;').replace(/>/g, '&gt;')}"><th scope="row">[^<]*</th>((?:<td class="n">[^<]*</td>){4})`).exec(html);
      expect(row, s).not.toBeNull();
      const cells = [...row![1]!.matchAll(/<td class="n">([^<]*)<\/td>/g)].map((m) => Number(m[1]!.replace(/,/g, '')));
      expect(cells).toEqual([mine.length, vpn, mine.filter((r) => r.label === 'registered_vpn').length, mine.filter((r) => r.label === 'unregistered_vpn').length]);
    }
    expect(html).toContain('<tr data-sensor="gw-idle">');
    expect(html).toContain('id="f-sensor"');
    expect(html).not.toContain('<b>gw-c</b>');
    // No sensor field anywhere: no sensor section, no sensor filter.
    const plain = await buildReport(base.map(({ sensor: _s, ...r }) => r), { capture: 'one' });
    expect(plain).not.toContain('h-sensors');
    expect(plain).not.toContain('id="f-sensor"');
  });

  it('hostile names: nothing in the markup or the data block can end an element, open a comment or run', async () => {
    const recs = HOSTILE.map((h, i): ReportRecord => ({
      transport: 'tcp', src: `10.0.0.${i}:4000`, dst: `${h}:443`, label: i % 2 ? 'unregistered_vpn' : 'registered_vpn', protocol: h, confidence: 0.7,
      registrant: h, evidence: [{ source: h, protocol: h, strength: 'medium', rule: h, reason: `SNI ${h} matched list entry '${h}' of ${h} v1`, kind: 'name' }],
      packets: 3, bytes: 300, firstSeen: iso(T + i), lastSeen: iso(T + i + 5), listVersion: 1, decidedAtPacket: 1, sensor: h,
    }));
    for (const compress of [false, true]) {
      const html = await buildReport(recs, { capture: HOSTILE.join(' '), title: HOSTILE[0]!, lists: [{ role: HOSTILE[1]!, name: HOSTILE[5]! }], skipped: { [HOSTILE[2]!]: 1 }, tool: HOSTILE[3]!, generatedAt: HOSTILE[6]! }, { compress });
      expect(html.match(/<script/gi)).toHaveLength(3);
      expect(html.match(/<\/script/gi)).toHaveLength(3);
      expect(html).not.toContain('<!--');
      expect(html).not.toMatch(/[\u2028\u2029\u202e\u0000]/);
      expect(html).not.toMatch(/<(img|svg onload|style>\*)/i);
      expect(html).not.toContain('__pwned=1>');
      expect(canon(decodeRecords(html))).toEqual(canon(recs.map(expected)));
    }
  });

  it('a Content Security Policy that allows no network and only this page\'s own script and style', async () => {
    const html = await buildReport(fc.sample(record, { numRuns: 5, seed: 1 }), { capture: 'c' });
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)![1]!.replace(/&#39;/g, "'");
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    const hash = (s: string): string => `sha256-${createHash('sha256').update(s).digest('base64')}`;
    expect(csp).toBe(`default-src 'none'; script-src '${hash(script)}'; style-src '${hash(style)}'; img-src 'none'; base-uri 'none'; form-action 'none'`);
    // Every tag outside the page script (text has no raw `<`): no inline style, no event handler, no link out.
    const tags = html.replace(/<script>[\s\S]*<\/script>/, '').match(/<[a-z][^>]*>/gi)!;
    expect(tags.length).toBeGreaterThan(100);
    expect(tags.filter((t) => /\s(style|on[a-z]+)=|\s(src|href|action|xlink:href)="(?!#)/i.test(t))).toEqual([]);
  });

  it('reproducible: the same records and metadata give the same bytes; an empty report renders', async () => {
    const recs = fc.sample(record, { numRuns: 20, seed: 5 });
    expect(await buildReport(recs, { capture: 'c' })).toBe(await buildReport(recs, { capture: 'c' }));
    const empty = await buildReport([], { capture: 'nothing' });
    expect(figure(empty, 'vpn-flows')).toBe(0);
    expect(dataBlock(empty).data.n).toBe(0);
  });

  it('200,000 VPN flows with distinct verdict packets: the page builds and names the largest (a spread overflowed the stack)', async () => {
    const b = new ReportBuilder({ maxFlows: 0 });
    const base = fc.sample(record, { numRuns: 1, seed: 3 })[0]!;
    for (let i = 0; i < 200_000; i++) b.add({ ...base, label: 'unregistered_vpn', decidedAtPacket: i });
    const html = await b.build({ capture: 'c' });
    expect(html).toMatch(/median 99999, p90 179999, p99 197999, max 199999 payload packets/);
  });

  it('numbers past 32 bits reach the page unchanged or clamped, never wrapped around', async () => {
    const base = fc.sample(record, { numRuns: 1, seed: 4 })[0]!;
    const r: ReportRecord = {
      ...base, listVersion: 2 ** 32 - 1, decidedAtPacket: 2 ** 40, confidence: 1,
      evidence: [{ source: 's', protocol: 'p', strength: 'strong', rule: 'r', reason: 'x', packet: 2 ** 31, offset: 2 ** 33 }],
    };
    const html = await buildReport([r], { capture: 'c' }, { compress: false });
    const [got] = decodeRecords(html);
    expect(got!.listVersion).toBe(2 ** 32 - 1);
    expect(html).toContain(`snapshot v${2 ** 32 - 1}`);
    expect(got!.decidedAtPacket).toBe(2 ** 31 - 1);
    expect([got!.evidence[0]!.packet, got!.evidence[0]!.offset]).toEqual([2 ** 31 - 1, 2 ** 31 - 1]);
  });

  it('byte and packet counts near Number.MAX_VALUE: sums stay finite, no NaN reaches the charts', async () => {
    const recs = fc.sample(record, { numRuns: 6, seed: 8 }).map((r) => ({ ...r, bytes: 1.7e308, packets: 1e308 }));
    const html = await buildReport(recs, { capture: 'c' }, { compress: false });
    expect(html).not.toMatch(/NaN|Infinity/);
  });

  it('a long registrant outside the BMP is cut for its chart row without splitting a surrogate pair', async () => {
    const base = fc.sample(record, { numRuns: 1, seed: 6 })[0]!;
    const html = await buildReport([{ ...base, label: 'registered_vpn', registrant: `ab${'😀'.repeat(30)}` }], { capture: 'c' });
    expect(html).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    expect(html).toContain(`>ab${'😀'.repeat(11)}…</text>`);
  });

  it('a label, strength or kind named like an Object.prototype member counts as the documented default', async () => {
    const base = fc.sample(record, { numRuns: 1, seed: 10 })[0]!;
    const odd = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
    const recs = odd.map((w) => ({ ...base, label: w, evidence: [{ source: 's', protocol: 'p', strength: w, rule: 'r', reason: 'x', kind: w }] }) as unknown as ReportRecord);
    const html = await buildReport(recs, { capture: 'c' }, { compress: false });
    expect(figure(html, 'ordinary')).toBe(odd.length);
    expect(figure(html, 'vpn-flows')).toBe(0);
    const d = dataBlock(html).data as unknown as { c: { lab: number | number[] }; e: { st: number[]; ki: number[] } };
    expect(d.c.lab).toBe(2); // ordinary, every flow
    expect(d.e.st).toEqual(odd.map(() => 2)); // weak
    expect(d.e.ki).toEqual(odd.map(() => 0)); // structure
  });

  it('takes records from an async iterable (a stream) as from an array', async () => {
    const recs = fc.sample(record, { numRuns: 15, seed: 9 });
    async function* stream(): AsyncGenerator<ReportRecord> {
      for (const r of recs) yield r;
    }
    expect(await buildReport(stream(), { capture: 'c' })).toBe(await buildReport(recs, { capture: 'c' }));
  });
});
