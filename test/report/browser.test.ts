/**
 * The report in a real browser (Debian's chromium through playwright-core): what a person sees and can do on
 * the page, checked against the records it was built from. Writes test-artifacts/report-sample.png (the sample
 * capture's report) and report-sample.pdf (its print layout).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as classify } from '../../src/cli/classify.js';
import { run as report } from '../../src/cli/report.js';
import { run as synth } from '../../src/cli/synth.js';
import { buildReport } from '../../src/report/builder.js';
import type { ReportRecord } from '../../src/report/types.js';
import { Browser, systemChromium, tableRows, type Watched } from '../helpers/browser.js';
import { Sink } from '../helpers/sink.js';
import { HOSTILE } from './hostile.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const dir = mkdtempSync(join(tmpdir(), 'ts-report-browser-'));
const chromium = systemChromium();
if (!chromium.path) console.warn(`report browser tests skipped: ${chromium.why}`);

async function cli(fn: typeof report, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Sink(), stderr = new Sink();
  const code = await fn(argv, { stdout, stderr, stdin: process.stdin });
  return { code, out: stdout.text, err: stderr.text };
}

const LABEL_TEXT: Record<string, string> = { registered_vpn: 'Registered VPN', unregistered_vpn: 'Unregistered VPN', ordinary: 'Ordinary' };
const pair = (src: string, dst: string): string => `${src} ${dst}`;

describe.skipIf(!chromium.path)('the report in a real browser (chromium)', () => {
  let browser: Browser;
  let records: ReportRecord[];
  const sampleHtml = join(dir, 'sample.html');

  beforeAll(async () => {
    const sample = join(ROOT, 'fixtures', 'sample.pcap'), reg = join(ROOT, 'fixtures', 'sample-registered.txt');
    const c = await cli(classify, [sample, '--registered', reg, '--format', 'ndjson', '--quiet']);
    expect(c.code).toBe(0);
    records = c.out.trim().split('\n').map((l) => JSON.parse(l) as ReportRecord);
    const r = await cli(report, ['fixtures/sample.pcap', '--registered', 'fixtures/sample-registered.txt', '--out', sampleHtml, '--quiet'].map((a) => (a.startsWith('fixtures/') ? join(ROOT, a) : a)));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    browser = await Browser.launch(chromium.path!);
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
  });

  const noTrouble = (w: Watched, file: string): void => {
    expect(w.errors).toEqual([]);
    expect(w.requests).toEqual([`file://${file}`]);
  };

  it('sample capture: headline figures equal the records\' counts; no console error, no request; screenshot', async () => {
    const w = await browser.open(sampleHtml);
    const fig = (name: string): Promise<number> => w.page.$eval(`[data-figure="${name}"]`, (e) => Number((e as HTMLElement).dataset.value));
    const n = (l: string): number => records.filter((r) => r.label === l).length;
    expect(records.length).toBe(40);
    expect(await fig('vpn-flows')).toBe(n('registered_vpn') + n('unregistered_vpn'));
    expect(await fig('registered-vpn')).toBe(n('registered_vpn'));
    expect(await fig('unregistered-vpn')).toBe(n('unregistered_vpn'));
    expect(await fig('ordinary')).toBe(n('ordinary'));
    expect(await fig('vpn-bytes')).toBe(records.filter((r) => r.label !== 'ordinary').reduce((a, r) => a + r.bytes, 0));
    expect(await w.page.textContent('[data-meta="packets"]')).toBe('1,200');
    expect(await w.page.textContent('[data-meta="flows"]')).toBe('40');
    expect(await w.page.textContent('#f-status')).toMatch(/^40 of 40 flows/);
    expect((await tableRows(w.page)).length).toBe(40);
    mkdirSync(ARTIFACTS, { recursive: true });
    await w.page.evaluate(() => document.getElementById('ft-vp')!.scrollTo(0, 0));
    await w.page.screenshot({ path: join(ARTIFACTS, 'report-sample.png'), fullPage: true });
    noTrouble(w, sampleHtml);
    await w.page.close();
  });

  it('filtering the table to unregistered_vpn shows exactly those flows; address, protocol and sort work', async () => {
    const w = await browser.open(sampleHtml);
    const want = records.filter((r) => r.label === 'unregistered_vpn').map((r) => pair(r.src, r.dst)).sort();
    await w.page.selectOption('#f-label', 'unregistered_vpn');
    const rows = await tableRows(w.page);
    expect(rows.map((r) => pair(r.cells[4]!, r.cells[5]!)).sort()).toEqual(want);
    expect(new Set(rows.map((r) => r.label))).toEqual(new Set(['unregistered_vpn']));
    expect(new Set(rows.map((r) => r.cells[1]))).toEqual(new Set(['Unregistered VPN']));
    expect(await w.page.$eval('#f-status', (e) => (e as HTMLElement).dataset.count)).toBe(String(want.length));

    // Any VPN + an address: both filters apply.
    await w.page.selectOption('#f-label', 'vpn');
    await w.page.fill('#f-addr', '10.24.46.');
    await w.page.press('#f-addr', 'Enter');
    const vpnHere = records.filter((r) => r.label !== 'ordinary' && (r.src.includes('10.24.46.') || r.dst.includes('10.24.46.')));
    expect(vpnHere.length).toBeGreaterThan(0);
    expect((await tableRows(w.page)).map((r) => pair(r.cells[4]!, r.cells[5]!)).sort()).toEqual(vpnHere.map((r) => pair(r.src, r.dst)).sort());

    // Address queries within a host, within a port, and across both: the same flows as a substring test.
    await w.page.selectOption('#f-label', '');
    for (const q of ['443', ':443', '51820', '188.111', '2001:db8', ']:', '.4']) {
      await w.page.fill('#f-addr', q);
      await w.page.press('#f-addr', 'Enter');
      const want = records.filter((r) => r.src.includes(q) || r.dst.includes(q)).map((r) => pair(r.src, r.dst)).sort();
      expect((await tableRows(w.page)).map((r) => pair(r.cells[4]!, r.cells[5]!)).sort(), q).toEqual(want);
    }

    // Protocol filter; then sort by bytes, most first, from the column header.
    await w.page.click('#f-reset');
    const wg = await w.page.$$eval('#f-protocol option', (os) => (os as HTMLOptionElement[]).find((o) => o.textContent!.startsWith('wireguard '))!.value);
    await w.page.selectOption('#f-protocol', wg);
    expect((await tableRows(w.page)).length).toBe(records.filter((r) => r.protocol === 'wireguard').length);
    await w.page.click('#f-reset');
    await w.page.click('button[data-sort="by"]');
    expect(await w.page.getAttribute('[data-col="by"]', 'aria-sort')).toBe('descending');
    const byRows = await tableRows(w.page);
    const sizes = records.map((r) => r.bytes).sort((a, b) => b - a);
    expect(byRows.map((r) => r.cells[7])).toEqual(sizes.map((b) => (b < 1000 ? `${b} B` : expect.stringMatching(/ (kB|MB)$/))));
    expect(byRows[0]!.cells[4]).toBe(records.find((r) => r.bytes === sizes[0])!.src);
    noTrouble(w, sampleHtml);
    await w.page.close();
  });

  it('keyboard: Tab reaches the table, arrows move, Enter opens the evidence (rule, strength, packet, offset, list entry and version), Escape closes', async () => {
    const w = await browser.open(sampleHtml);
    const { page } = w;
    await page.selectOption('#f-protocol', { label: await page.$$eval('#f-protocol option', (os) => (os as HTMLOptionElement[]).find((o) => o.textContent!.startsWith('vpn-provider '))!.textContent!) });
    await page.focus('#f-reset');
    // Past the column headers' sort buttons, the next Tab stop is the table's one roving row.
    const stops: string[] = [];
    for (let k = 0; k < 8 && stops[stops.length - 1] !== 'row'; k++) {
      await page.keyboard.press('Tab');
      stops.push(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.sort ?? (document.activeElement as HTMLElement).getAttribute('role') ?? ''));
    }
    expect(stops).toEqual(['pk', 'by', 't', 'dec', 'cf', 'row']);
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.p)).toBe('0');
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.p)).toBe('1');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).getAttribute('aria-expanded'))).toBe('true');
    const head = await page.$$eval('.r.open .ev thead th', (ths) => ths.map((t) => t.textContent));
    expect(head).toEqual(['Rule', 'Strength', 'Kind', 'Source', 'Protocol', 'Packet', 'Offset', 'List entry', 'List and version', 'Reason']);
    const cells = await page.$$eval('.r.open .ev tbody tr:first-child td', (tds) => tds.map((t) => t.textContent));
    const rec = records.filter((r) => r.protocol === 'vpn-provider').sort((a, b) => a.firstSeen.localeCompare(b.firstSeen))[0]!;
    const item = rec.evidence[0]!;
    expect(cells.slice(0, 7)).toEqual([item.rule, item.strength, item.kind ?? 'structure', item.source, item.protocol, String(item.packet ?? '–'), String(item.offset ?? '–')]);
    expect(cells[7]).toMatch(/^[a-z0-9.-]+\.[a-z]+$/); // the domain list entry, e.g. surfshark.com
    expect(cells[8]).toMatch(/^\S+ v1$/); // the list and its version
    expect(cells[9]).toBe(item.reason);
    await page.keyboard.press('Escape');
    expect(await page.$$('.r.open')).toHaveLength(0);
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.p)).toBe('0');
    await page.keyboard.press('End');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.p)).toBe(String(records.filter((r) => r.protocol === 'vpn-provider').length - 1));
    noTrouble(w, sampleHtml);
    await page.close();
  });

  it('print: the interactive parts go, a static table of the current view comes; charts keep their textures', async () => {
    const w = await browser.open(sampleHtml);
    const { page } = w;
    await page.selectOption('#f-label', 'registered_vpn');
    await page.evaluate(() => window.dispatchEvent(new Event('beforeprint')));
    await page.emulateMedia({ media: 'print' });
    expect(await page.isVisible('.toolbar')).toBe(false);
    expect(await page.isVisible('#ft-vp')).toBe(false);
    expect(await page.isVisible('#ft-print table')).toBe(true);
    expect(await page.$$eval('#ft-print tr', (trs) => trs.length)).toBe(1 + records.filter((r) => r.label === 'registered_vpn').length);
    expect(await page.isVisible('#ch-flows-time svg')).toBe(true);
    // Series are told apart by texture, not colour alone: unregistered bars carry a diagonal hatch and ordinary
    // bars horizontal lines, each clipped to exactly that series' bars; every series is named in a legend.
    const tex = await page.$eval('#ch-flows-time svg', (svg) => [1, 2].map((c) => {
      const path = svg.querySelector(`path.h${c}`)!;
      const clip = svg.querySelector(path.getAttribute('clip-path')!.slice(4, -1))!;
      const geom = (r: Element): string => ['x', 'y', 'width', 'height'].map((a) => r.getAttribute(a)).join(',');
      return {
        d: path.getAttribute('d')!.split('M').length - 1,
        diagonal: / \S+l[\d.]+ -[\d.]+/.test(path.getAttribute('d')!),
        same: [...clip.children].map(geom).join(';') === [...svg.querySelectorAll(`rect.s${c}`)].map(geom).join(';'),
      };
    }));
    expect(tex.map((t) => [t.diagonal, t.same])).toEqual([[true, true], [false, true]]);
    expect(tex.every((t) => t.d > 10)).toBe(true);
    expect(await page.$$eval('#ch-flows-time .legend li', (lis) => lis.map((l) => l.textContent))).toEqual(['Registered VPN', 'Unregistered VPN', 'Ordinary']);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.pdf({ path: join(ARTIFACTS, 'report-sample.pdf'), format: 'A4', printBackground: true });
    noTrouble(w, sampleHtml);
    await page.close();
  });

  it('a click survives a render between its mousedown and mouseup (a scroll or resize frame)', async () => {
    const w = await browser.open(sampleHtml);
    const { page } = w;
    for (const [p, rerender] of [[0, false], [2, true]] as const) {
      const tog = (await page.$(`.r[data-p="${p}"] .tog`))!;
      await tog.scrollIntoViewIfNeeded();
      const b = (await (await page.$(`.r[data-p="${p}"] .tog`))!.boundingBox())!;
      await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2);
      await page.mouse.down();
      // The table redraws its rows on resize (and on scroll frames): before, that replaced the row being clicked and
      // the browser dropped the click.
      if (rerender) await page.evaluate(() => window.dispatchEvent(new Event('resize')));
      await page.mouse.up();
      await page.waitForSelector(`.r.open[data-p="${p}"]`, { timeout: 5_000 });
    }
    noTrouble(w, sampleHtml);
    await page.close();
  });

  it('hostile names from packets and lists show as text; nothing they hold runs or loads', async () => {
    const recs: ReportRecord[] = HOSTILE.map((h, i) => ({
      transport: 'tcp', src: `10.0.0.${i}:4000`, dst: `${h}:443`, label: i % 2 ? 'unregistered_vpn' : 'registered_vpn', protocol: h, confidence: 0.7,
      registrant: h, evidence: [{ source: 'vpn-domains', protocol: 'vpn-provider', strength: 'medium', rule: 'sni.list', reason: `packet 0: TLS ClientHello SNI ${h} matched list entry '${h}' (${h}) of ${h} v1`, packet: 0, offset: 5, kind: 'name' }],
      packets: 3, bytes: 300 + i, firstSeen: `2026-01-01T00:00:${String(i).padStart(2, '0')}.000000Z`, lastSeen: `2026-01-01T00:00:${String(i).padStart(2, '0')}.500000Z`,
      listVersion: 1, decidedAtPacket: 1, sensor: h,
    }));
    for (const compress of [false, true]) {
      const file = join(dir, `hostile-${compress}.html`);
      writeFileSync(file, await buildReport(recs, { capture: HOSTILE.join(' | '), title: HOSTILE[0]!, lists: [{ role: 'registered', name: HOSTILE[6]! }], tool: HOSTILE[2]! }, { compress }));
      const w = await browser.open(file);
      const { page } = w;
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      expect(await page.$$('img, iframe, object, embed, body style, #flows script')).toHaveLength(0);
      expect(await page.textContent('h1')).toContain('</script><script>window.__pwned=1</script>');
      expect(await page.title()).toContain('</script><script>window.__pwned=1</script>');
      const regOptions = await page.$$eval('#f-registrant option', (os) => os.map((o) => o.textContent!));
      for (const h of ['<!--', '"><img src=x onerror=window.__pwned=1>', '<svg onload=window.__pwned=1>']) expect(regOptions).toContain(`${h} (1)`);
      expect(regOptions).toContain('\\u{202e}kcatta\\u{202c} (1)');
      const rows = await tableRows(page);
      expect(rows).toHaveLength(HOSTILE.length);
      expect(rows.map((r) => r.cells[8])).toContain('</SCRIPT >');
      await page.click('.r[data-p="0"] .tog');
      // Once in CI (stop 30, Node 20) the row did not open after this click: a render between mousedown and mouseup had
      // replaced the row, and the browser dropped the click (the test above; render keeps rows now). If it recurs,
      // the failure says what the table looked like instead of a bare timeout.
      const opened = await page.waitForSelector('.r.open .ev td.reason', { timeout: 15_000 }).then(() => true, () => false);
      if (!opened) {
        const state = await page.evaluate(() => ({
          rows: [...document.querySelectorAll('#flows .r')].slice(0, 3).map((r) => `${r.className} p=${(r as HTMLElement).dataset.p} expanded=${r.getAttribute('aria-expanded')}`),
          active: document.activeElement?.className ?? null,
          status: document.querySelector('[role="status"]')?.textContent ?? null,
        }));
        expect.fail(`compress ${compress}: the row did not open after its toggle was clicked: ${JSON.stringify(state)}`);
      }
      expect(await page.textContent('.r.open .ev td.reason')).toBe(`packet 0: TLS ClientHello SNI ${HOSTILE[0]} matched list entry '${HOSTILE[0]}' (${HOSTILE[0]}) of ${HOSTILE[0]} v1`);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
      noTrouble(w, file);
      await page.close();
    }
  });

  it('fleet: records carrying a sensor give a per-sensor breakdown and a sensor filter', async () => {
    const sensors = ['gw-north', 'gw-south', 'gw-east'];
    const recs = records.map((r, i) => ({ ...r, sensor: sensors[i % 3]! }));
    const ndjson = join(dir, 'fleet.ndjson'), file = join(dir, 'fleet.html');
    writeFileSync(ndjson, recs.map((r) => JSON.stringify(r)).join('\n'));
    const r = await cli(report, [ndjson, '--out', file, '--quiet']);
    expect(r.code).toBe(0);
    const w = await browser.open(file);
    const { page } = w;
    for (const s of sensors) {
      const mine = recs.filter((x) => x.sensor === s);
      const cells = await page.$$eval(`#sensor-table tr[data-sensor="${s}"] td`, (tds) => tds.map((t) => t.textContent));
      expect(cells.slice(0, 4)).toEqual([mine.length, mine.filter((x) => x.label !== 'ordinary').length, mine.filter((x) => x.label === 'registered_vpn').length, mine.filter((x) => x.label === 'unregistered_vpn').length].map(String));
    }
    const south = await page.$$eval('#f-sensor option', (os) => (os as HTMLOptionElement[]).find((o) => o.textContent!.startsWith('gw-south '))!.value);
    await page.selectOption('#f-sensor', south);
    const rows = await tableRows(page);
    expect(rows.map((x) => pair(x.cells[4]!, x.cells[5]!)).sort()).toEqual(recs.filter((x) => x.sensor === 'gw-south').map((x) => pair(x.src, x.dst)).sort());
    expect(new Set(rows.map((x) => x.cells[12]))).toEqual(new Set(['gw-south']));
    noTrouble(w, file);
    await page.close();
  });

  it('a larger synthetic capture (compressed data block) loads, filters to exactly its unregistered VPN flows', async () => {
    const pcap = join(dir, 'synth.pcap'), html = join(dir, 'synth.html'), nd = join(dir, 'synth.ndjson');
    expect((await cli(synth as typeof report, ['--out', pcap, '--packets', '30000', '--flows', '3000', '--seed', '4'])).code).toBe(0);
    const c = await cli(classify, [pcap, '--registered', `${pcap.replace(/\.pcap$/, '')}.registered.txt`, '--format', 'ndjson', '--quiet']);
    writeFileSync(nd, c.out);
    const recs = c.out.trim().split('\n').map((l) => JSON.parse(l) as ReportRecord);
    expect((await cli(report, [nd, '--out', html, '--quiet'])).code).toBe(0);
    expect(readFileSync(html, 'utf8')).toContain('data-encoding="gzip-base64"');
    const w = await browser.open(html);
    const { page } = w;
    expect(await page.$eval('#f-status', (e) => (e as HTMLElement).dataset.count)).toBe(String(recs.length));
    await page.selectOption('#f-label', 'unregistered_vpn');
    const rows = await tableRows(page);
    const want = recs.filter((r) => r.label === 'unregistered_vpn');
    expect(want.length).toBeGreaterThan(100);
    expect(rows.map((r) => pair(r.cells[4]!, r.cells[5]!)).sort()).toEqual(want.map((r) => pair(r.src, r.dst)).sort());
    expect(rows.every((r) => r.cells[1] === LABEL_TEXT.unregistered_vpn)).toBe(true);
    noTrouble(w, html);
    await page.close();
  }, 180_000);
});
