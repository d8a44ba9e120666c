/**
 * A real headless browser for tests: Debian's chromium (installed by scripts/ensure-tools.sh when missing), driven
 * by playwright-core pointed at it — never a browser of Playwright's own download. Every page is watched: console
 * errors, page errors and every request are recorded, and any request that is not the file under test is aborted.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Flags that work on this kind of machine (no sandbox for root, no GPU, nothing phoning home). */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** The system chromium's path, installing it first when missing; null (with the reason) when it cannot be had. */
export function systemChromium(): { path: string | null; why: string } {
  const r = spawnSync('bash', [join(ROOT, 'scripts', 'ensure-tools.sh'), 'chromium'], { encoding: 'utf8', timeout: 900_000 });
  const m = /^chromium: (\/\S+)$/m.exec(r.stdout ?? '');
  if (r.status === 0 && m) return { path: m[1]!, why: '' };
  return { path: null, why: `chromium is not installed and scripts/ensure-tools.sh could not install it: ${(r.stderr || r.stdout || '').trim()}` };
}

export interface Watched {
  page: Page;
  requests: string[];
  errors: string[];
}

export class Browser {
  private constructor(readonly ctx: BrowserContext, private readonly dir: string) {}

  static async launch(executablePath: string, viewport = { width: 1280, height: 900 }): Promise<Browser> {
    const { chromium } = await import('playwright-core');
    const dir = mkdtempSync(join(tmpdir(), 'ts-chromium-'));
    const ctx = await chromium.launchPersistentContext(dir, { executablePath, headless: true, args: CHROMIUM_ARGS, viewport, offline: true });
    return new Browser(ctx, dir);
  }

  /** A new page on `file` with console errors, page errors and requests recorded; other requests aborted. */
  async open(file: string): Promise<Watched> {
    const page = await this.ctx.newPage();
    const url = pathToFileURL(file).href;
    const w: Watched = { page, requests: [], errors: [] };
    page.on('request', (r) => w.requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') w.errors.push(`console.${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => w.errors.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => {
      w.errors.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    await page.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
    await page.goto(url);
    await page.waitForSelector('#flows[data-ready="1"]', { timeout: 60_000 });
    return w;
  }

  async close(): Promise<void> {
    await this.ctx.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Every flow row the table shows for its current filter: scrolls the virtual table from top to bottom and
 * collects each row once (by position), as `{ p, i, label, cells }`.
 */
export async function tableRows(page: Page): Promise<Array<{ p: number; label: string; cells: string[] }>> {
  return page.evaluate(async () => {
    const vp = document.getElementById('ft-vp')!;
    const seen = new Map<number, { p: number; label: string; cells: string[] }>();
    const grab = (): void => {
      for (const r of document.querySelectorAll<HTMLElement>('#ft-sp .r')) {
        const p = Number(r.dataset.p);
        if (!seen.has(p)) seen.set(p, { p, label: r.dataset.label!, cells: [...r.querySelectorAll('.cells > div')].map((c) => c.textContent ?? '') });
      }
    };
    vp.scrollTop = 0;
    await new Promise((r) => requestAnimationFrame(() => r(null)));
    for (;;) {
      grab();
      const before = vp.scrollTop;
      vp.scrollTop = before + vp.clientHeight / 2;
      vp.dispatchEvent(new Event('scroll'));
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(null))));
      if (vp.scrollTop === before) break;
    }
    grab();
    return [...seen.values()].sort((a, b) => a.p - b.p);
  });
}
