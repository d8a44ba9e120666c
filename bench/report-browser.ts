/**
 * The HTML report at scale, in the real browser: a synthetic capture (`synth`, default 100k flows), reported by the
 * built CLI, then opened in Debian's chromium (playwright-core, the system browser) `--runs` times on fresh pages.
 * Prints the report's size and bytes per flow, the CLI's time, and per run: load (navigation start to the table
 * ready, the page's `ts-ready` mark; and the CPU time all browser processes spent to that point), the filter to unregistered_vpn (the page's `ts-filter` measure, and the wall
 * time from the select to the updated count), a sort by bytes and an address filter; the JS heap after load.
 *
 *   npm run bench:report -- [--flows 100000] [--packets 600000] [--runs 5] [--keep DIR]
 *
 * With --keep DIR the capture and report stay in DIR, and a capture already there is reused (synth is
 * deterministic, so the same arguments give the same file).
 *
 * Not a test: times on this shared 2-vCPU machine swing with the load printed in the header.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, systemChromium } from '../test/helpers/browser.js';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: string): string => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1]! : dflt);
const flows = Number(flag('flows', '100000'));
const packets = Number(flag('packets', String(flows * 6)));
const runs = Number(flag('runs', '5'));
const keep = argv.includes('--keep') ? flag('keep', '') : '';
const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const dir = keep || mkdtempSync(join(tmpdir(), 'ts-report-bench-'));
mkdirSync(dir, { recursive: true });
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => `${x.toFixed(0)} ms`;

const browserPath = systemChromium();
if (!browserPath.path) {
  console.error(browserPath.why);
  process.exit(1);
}
const version = spawnSync(browserPath.path, ['--version'], { encoding: 'utf8' }).stdout.trim();
console.log(`# report in the browser — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${version}, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);

const pcap = join(dir, 'synth.pcap'), html = join(dir, 'report.html');
const synthCmd = ['synth', '--out', pcap, '--packets', String(packets), '--flows', String(flows)];
console.log(`\n$ tunnelscope ${synthCmd.join(' ')}`);
// synth is deterministic: a kept directory's capture from an earlier run with the same arguments is the same file.
if (keep && existsSync(pcap)) console.log('(kept from an earlier run)');
else execFileSync(process.execPath, [CLI, ...synthCmd], { stdio: ['ignore', 'ignore', 'inherit'] });
const reportCmd = ['report', pcap, '--registered', join(dir, 'synth.registered.txt'), '--out', html];
console.log(`$ tunnelscope ${reportCmd.join(' ')}`);
const t0 = performance.now();
execFileSync(process.execPath, [CLI, ...reportCmd], { stdio: ['ignore', 'ignore', 'inherit'] });
const cliMs = performance.now() - t0;
const size = statSync(html).size;
const n = Number(/data-kept="(\d+)"/.exec(readFileSync(html, 'utf8'))![1]);
const page0 = readFileSync(html, 'utf8');
const blocks = [...page0.matchAll(/id="(ts-[a-z]+)" data-encoding="gzip-base64" data-json-bytes="(\d+)">([^<]*)</g)].map((m) => `${m[1]} ${(Number(m[2]) / n).toFixed(1)} → ${(m[3]!.length / n).toFixed(1)}`);
console.log(`\nreport: ${n} flows, ${(size / 1e6).toFixed(2)} MB, ${(size / n).toFixed(1)} bytes/flow (data blocks, JSON → gzip+base64 bytes per flow: ${blocks.join('; ') || 'not compressed'}); classify + report CLI ${ms(cliMs)}`);

// launch() (not a persistent context): a fresh temporary profile, and a browser-level CDP session that reports
// each process's CPU time (SystemInfo.getProcessInfo).
const browser = await chromium.launch({ executablePath: browserPath.path, headless: true, args: CHROMIUM_ARGS });
const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const sys = await browser.newBrowserCDPSession();
const cpuSeconds = async (): Promise<number> => {
  const { processInfo } = (await sys.send('SystemInfo.getProcessInfo')) as { processInfo: Array<{ type: string; cpuTime: number }> };
  return processInfo.reduce((a, p) => a + p.cpuTime, 0);
};
const rows: Array<Record<string, number>> = [];
const url = pathToFileURL(html).href;
for (let k = 0; k < runs; k++) {
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  // CPU time of all the browser's processes from navigation to the ready mark (plus the harness's polling): a
  // figure the machine's load inflates far less than wall time, since waiting for a core is not counted.
  const c0 = await cpuSeconds();
  const w0 = performance.now();
  await page.goto(url);
  await page.waitForSelector('#flows[data-ready="1"]', { timeout: 120_000 });
  const loadWall = performance.now() - w0;
  const busy = 1000 * ((await cpuSeconds()) - c0);
  const load = await page.evaluate(() => performance.getEntriesByName('ts-ready')[0]!.startTime);
  const heap = await page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? NaN);
  const timed = async (act: () => Promise<unknown>): Promise<[number, number]> => {
    const before = await page.evaluate(() => performance.getEntriesByName('ts-filter').length);
    const f0 = performance.now();
    await act();
    await page.waitForFunction((b) => performance.getEntriesByName('ts-filter').length > b, before);
    const wall = performance.now() - f0;
    return [await page.evaluate(() => performance.getEntriesByName('ts-filter').at(-1)!.duration), wall];
  };
  const [filter, filterWall] = await timed(() => page.selectOption('#f-label', 'unregistered_vpn'));
  const shown = Number(await page.$eval('#f-status', (e) => (e as HTMLElement).dataset.count));
  const [sortBytes, sortWall] = await timed(() => page.click('button[data-sort="by"]'));
  const [addr, addrWall] = await timed(async () => {
    await page.fill('#f-addr', '10.1');
    await page.press('#f-addr', 'Enter');
  });
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  rows.push({ load, loadWall, busy, filter, filterWall, shown, sortBytes, sortWall, addr, addrWall, heapMB: heap / 1e6 });
  await page.close();
}
await ctx.close();
await browser.close();

console.log('\n| run | load (ready mark) | load (wall) | browser CPU to ready | filter unregistered_vpn | (wall) | sort by bytes | address filter | JS heap |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
rows.forEach((r, i) => console.log(`| ${i + 1} | ${ms(r.load!)} | ${ms(r.loadWall!)} | ${ms(r.busy!)} | ${ms(r.filter!)} (${r.shown} rows) | ${ms(r.filterWall!)} | ${ms(r.sortBytes!)} | ${ms(r.addr!)} | ${r.heapMB!.toFixed(0)} MB |`));
const med = (k: string): number => median(rows.map((r) => r[k]!));
console.log(`| median | ${ms(med('load'))} | ${ms(med('loadWall'))} | ${ms(med('busy'))} | ${ms(med('filter'))} | ${ms(med('filterWall'))} | ${ms(med('sortBytes'))} | ${ms(med('addr'))} | ${med('heapMB').toFixed(0)} MB |`);
console.log(`\nload + filter (median, wall): ${ms(med('loadWall') + med('filterWall'))}; load average now ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
if (!keep) rmSync(dir, { recursive: true, force: true });
