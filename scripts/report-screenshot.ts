/**
 * Makes the README's pictures of the HTML report: the sample capture's report as the built CLI writes it, opened
 * in Debian's chromium (playwright-core, the system browser), captured whole (docs/report-sample.png) and with
 * its flow table filtered to VPN flows and one flow's evidence open (docs/report-sample-evidence.png).
 *
 *   npm run report:sample        (builds dist/ first)
 *
 * The command it runs is printed; the README quotes it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, systemChromium } from '../test/helpers/browser.js';

const ROOT = resolve(import.meta.dirname, '..');
const DOCS = join(ROOT, 'docs');
const dir = mkdtempSync(join(tmpdir(), 'ts-report-shot-'));
const html = join(dir, 'report.html');

const browser = systemChromium();
if (!browser.path) {
  console.error(browser.why);
  process.exit(1);
}
const args = ['report', 'fixtures/sample.pcap', '--registered', 'fixtures/sample-registered.txt', '--out', html];
console.log(`$ tunnelscope ${args.join(' ').replace(html, 'report.html')}`);
execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), ...args], { cwd: ROOT, stdio: 'inherit' });

const ctx = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: browser.path, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
const page = await ctx.newPage();
await page.goto(pathToFileURL(html).href);
await page.waitForSelector('#flows[data-ready="1"]');
mkdirSync(DOCS, { recursive: true });
await page.screenshot({ path: join(DOCS, 'report-sample.png'), fullPage: true });

await page.selectOption('#f-label', 'vpn');
await page.focus('#ft-sp .r[data-p="0"]');
await page.keyboard.press('Enter');
await page.locator('#flows').screenshot({ path: join(DOCS, 'report-sample-evidence.png') });
await ctx.close();
rmSync(dir, { recursive: true, force: true });
console.log(`wrote ${join('docs', 'report-sample.png')} and ${join('docs', 'report-sample-evidence.png')}`);
