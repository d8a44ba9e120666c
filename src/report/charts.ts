/**
 * Inline SVG charts, drawn by hand: stacked columns (time series, histograms) and stacked horizontal bars
 * (protocols, registrants, sensors). Each series has a colour (CSS class `s0`…`s2`) and a texture — none for
 * registered VPN, a white diagonal hatch for unregistered VPN, thin horizontal lines for ordinary ({@link texture}) — so a chart
 * reads in greyscale and in print. Every
 * chart carries a `<title>`/`<desc>` and the caller adds a data table, so the numbers are there without the
 * picture. All text passes through escapeHtml. Pure string building; no DOM.
 *
 * Why by hand: the charts are four kinds of bars; the small charting libraries that would draw them either need a
 * DOM at build time or ship ~50–200 kB of script into every page, and none adds textures for colour-blind
 * readers without the same amount of code as drawing the bars.
 */
import { cutText, escapeHtml } from './escape.js';
import { formatAxis, formatBytes, formatCount, niceTicks } from './format.js';

/**
 * The diagonal hatch (series 1) and horizontal lines (series 2) over a series' bars: one path of lines across the
 * plot, clipped to that series' rectangles. Plain unbroken lines, because Chromium's print-to-PDF turns SVG
 * `<pattern>` fills into images and splits dashed strokes into one path per dash: the sample report's two pages
 * took 22 MB with patterns, 1 MB with dotted lines, 0.1 MB this way.
 */
export function texture(id: string, rects: readonly string[][], box: { x: number; y: number; w: number; h: number }): string {
  let out = '';
  for (const cls of [1, 2]) {
    const rs = rects[cls];
    if (!rs?.length) continue;
    let d = '';
    if (cls === 1) for (let k = -box.h; k < box.w; k += 6) d += `M${n(box.x + k)} ${n(box.y + box.h)}l${n(box.h)} ${n(-box.h)}`;
    else for (let y = box.y + 2; y < box.y + box.h; y += 4) d += `M${n(box.x)} ${n(y)}h${n(box.w)}`;
    out += `<clipPath id="${id}-c${cls}">${rs.join('')}</clipPath><path class="h${cls}" clip-path="url(#${id}-c${cls})" d="${d}"/>`;
  }
  return out;
}

/** A bar: its filled rectangle, and its shape for the series' texture clip. */
function bar(cls: number, x: string, y: string, w: string, h: string, rects: string[][]): string {
  const geom = `x="${x}" y="${y}" width="${w}" height="${h}"`;
  (rects[cls] ??= []).push(`<rect ${geom}/>`);
  return `<rect class="s${cls}" ${geom}/>`;
}

export interface ChartSeries {
  /** Series class index: 0 registered, 1 unregistered, 2 ordinary. */
  cls: number;
  name: string;
  values: ArrayLike<number>;
}

const FONT = 12;

function n(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

function valueText(v: number, bytes: boolean): string {
  return bytes ? formatBytes(v) : formatCount(v, Number.isInteger(v) ? 0 : 1);
}

/**
 * Stacked columns, one per category (time bin, histogram bucket). `ticks` are the category indices that get an
 * x-axis label (all when omitted).
 */
export function stackedColumns(o: {
  id: string;
  title: string;
  desc: string;
  categories: readonly string[];
  series: readonly ChartSeries[];
  bytes?: boolean;
  ticks?: readonly number[];
  width?: number;
  height?: number;
  xTitle?: string;
}): string {
  const W = o.width ?? 640, H = o.height ?? 230;
  const L = 58, R = 10, T = 10, B = o.xTitle ? 46 : 30;
  const nCat = o.categories.length;
  const totals = new Float64Array(nCat);
  for (const s of o.series) for (let i = 0; i < nCat; i++) totals[i]! += s.values[i] ?? 0;
  let max = 0;
  for (const t of totals) max = Math.max(max, t);
  const ticks = niceTicks(max, 4);
  const top = ticks[ticks.length - 1]!;
  const plotW = W - L - R, plotH = H - T - B;
  const y = (v: number): number => T + plotH - (v / top) * plotH;
  const step = plotW / Math.max(1, nCat);
  const barW = Math.max(1, step * (nCat > 40 ? 0.86 : 0.72));
  const out: string[] = [];
  out.push(`<svg class="chart-svg" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${o.id}-t ${o.id}-d" preserveAspectRatio="xMidYMid meet">`);
  out.push(`<title id="${o.id}-t">${escapeHtml(o.title)}</title><desc id="${o.id}-d">${escapeHtml(o.desc)}</desc>`);
  for (const t of ticks) {
    const yy = n(y(t));
    out.push(`<line class="grid" x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}"/>`);
    out.push(`<text class="tick" x="${L - 6}" y="${yy}" dy="0.32em" text-anchor="end">${escapeHtml(formatAxis(t, o.bytes === true))}</text>`);
  }
  const rects: string[][] = [];
  for (let i = 0; i < nCat; i++) {
    if (totals[i] === 0) continue;
    const x = L + i * step + (step - barW) / 2;
    let acc = 0;
    const tip: string[] = [];
    out.push('<g class="col">');
    for (const s of o.series) {
      const v = s.values[i] ?? 0;
      if (v <= 0) continue;
      const y0 = y(acc), y1 = y(acc + v);
      acc += v;
      tip.push(`${s.name} ${valueText(v, o.bytes === true)}`);
      out.push(bar(s.cls, n(x), n(y1), n(barW), n(Math.max(0.5, y0 - y1)), rects));
    }
    out.push(`<title>${escapeHtml(`${o.categories[i]}: ${tip.join(', ')}`)}</title></g>`);
  }
  out.push(texture(o.id, rects, { x: L, y: T, w: plotW, h: plotH }));
  out.push(`<line class="axis" x1="${L}" x2="${W - R}" y1="${T + plotH}" y2="${T + plotH}"/>`);
  for (const i of o.ticks ?? o.categories.map((_, k) => k)) {
    const x = L + i * step + step / 2;
    out.push(`<text class="tick" x="${n(x)}" y="${T + plotH + FONT + 4}" text-anchor="middle">${escapeHtml(o.categories[i] ?? '')}</text>`);
  }
  if (o.xTitle) out.push(`<text class="axis-title" x="${L + plotW / 2}" y="${H - 6}" text-anchor="middle">${escapeHtml(o.xTitle)}</text>`);
  out.push('</svg>');
  return out.join('');
}

/** Stacked horizontal bars, one row per name, with the row's total written after the bar. */
export function stackedRows(o: {
  id: string;
  title: string;
  desc: string;
  rows: ReadonlyArray<{ name: string; values: readonly number[]; note?: string }>;
  series: ReadonlyArray<{ cls: number; name: string }>;
  bytes?: boolean;
  width?: number;
}): string {
  const W = o.width ?? 640;
  const rowH = 24, T = 6, B = 6;
  const labelW = 170, valueW = 150;
  const H = T + B + rowH * Math.max(1, o.rows.length);
  const plotW = W - labelW - valueW - 8;
  let max = 0;
  for (const r of o.rows) max = Math.max(max, r.values.reduce((a, b) => a + b, 0));
  const out: string[] = [];
  out.push(`<svg class="chart-svg" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${o.id}-t ${o.id}-d" preserveAspectRatio="xMidYMid meet">`);
  out.push(`<title id="${o.id}-t">${escapeHtml(o.title)}</title><desc id="${o.id}-d">${escapeHtml(o.desc)}</desc>`);
  const rects: string[][] = [];
  if (o.rows.length === 0) out.push(`<text class="tick" x="${W / 2}" y="${T + rowH / 2}" dy="0.32em" text-anchor="middle">none</text>`);
  o.rows.forEach((r, k) => {
    const yTop = T + k * rowH;
    const total = r.values.reduce((a, b) => a + b, 0);
    const name = cutText(r.name, 26);
    out.push('<g class="row">');
    out.push(`<title>${escapeHtml(`${r.name}: ${o.series.map((s, i) => `${s.name} ${valueText(r.values[i] ?? 0, o.bytes === true)}`).join(', ')}`)}</title>`);
    out.push(`<text class="row-name" x="${labelW - 8}" y="${yTop + rowH / 2}" dy="0.32em" text-anchor="end">${escapeHtml(name)}</text>`);
    let acc = 0;
    r.values.forEach((v, i) => {
      if (v <= 0 || max <= 0) return;
      const x0 = labelW + (acc / max) * plotW;
      const w = Math.max(1, (v / max) * plotW);
      acc += v;
      out.push(bar(o.series[i]!.cls, n(x0), String(yTop + 4), n(w), String(rowH - 8), rects));
    });
    const endX = labelW + (acc / Math.max(max, 1e-9)) * plotW + 6;
    out.push(`<text class="row-value" x="${n(endX)}" y="${yTop + rowH / 2}" dy="0.32em">${escapeHtml(valueText(total, o.bytes === true) + (r.note ? ` · ${r.note}` : ''))}</text>`);
    out.push('</g>');
  });
  out.push(texture(o.id, rects, { x: labelW, y: T, w: plotW + 2, h: H - T - B }));
  out.push(`<line class="axis" x1="${labelW}" x2="${labelW}" y1="${T}" y2="${H - B}"/>`);
  out.push('</svg>');
  return out.join('');
}
