/**
 * The report page: server-rendered header, headline figures, charts and sensor table (readable without script,
 * printable), the flow table's shell, the flow data block and the page script. Every untrusted string is escaped
 * here or was made visible when interned; the data block is escaped for a script element; a Content Security
 * Policy allows no network access at all and only this page's own script and style (by hash), so even a string
 * that escaped escaping could neither run nor load anything.
 */
import { LABELS, LABEL_TEXT } from './labels.js';
import { stackedColumns, stackedRows, texture, type ChartSeries } from './charts.js';
import { clientMain } from './client.js';
import { base64, escapeHtml, escapeJsonText, visible } from './escape.js';
import { formatBinWidth, formatBytes, formatCount, formatDuration, formatShare, formatTime } from './format.js';
import { CSS, ROW_H } from './style.js';
import { joinEndpoint } from './columns.js';
import type { ReportMeta } from './types.js';

/** Flows, bytes and packets per label (index as in LABELS). */
export interface Tally {
  flows: number[];
  bytes: number[];
  packets: number[];
}

export interface PageModel {
  meta: ReportMeta;
  flows: number;
  kept: number;
  untimed: number;
  first: number;
  last: number;
  total: Tally;
  listVersions: number[];
  byProtocol: Array<[string, Tally]>;
  byRegistrant: Array<[string, Tally]>;
  /** VPN flows by the rule of their deciding evidence item. */
  byRule: Array<[string, Tally]>;
  bySensor: Array<[string, Tally & { first: number; last: number }]>;
  /** Per label: decidedAtPacket value → flows. */
  verdictAt: Map<number, number>[];
  /** Flows whose inspected payload the capture cut short, and how many of them are ordinary. */
  payloadCut: { flows: number; ordinary: number };
  /** Flows whose inspection a flow-table cap cut short, and how many of them are ordinary. */
  captureCapped: { flows: number; ordinary: number };
  time: { t0: number; binUs: number; bins: number; flows: Float64Array[]; bytes: Float64Array[] };
  /** true/false: forced; null: by size (`compressAutoChars`). */
  compress: boolean | null;
  compressAutoChars: number;
  dataJson: () => string;
  /** The evidence reasons (`e.re` indexes them), a block of its own: the page reads it after the table is up. */
  reasonsJson: () => string;
}

const VPN_SERIES = [
  { cls: 0, name: LABEL_TEXT[0]! },
  { cls: 1, name: LABEL_TEXT[1]! },
];
const TOP_ROWS = 12;

const h = escapeHtml;
const t = (s: string): string => escapeHtml(visible(s));
const sum = (a: readonly number[]): number => a.reduce((x, y) => x + y, 0);

function swatch(cls: number): string {
  return `<span class="sw sw${cls}" aria-hidden="true"></span>`;
}

function legend(classes: readonly number[]): string {
  return `<ul class="legend">${classes.map((c) => `<li>${swatch(c)}${h(LABEL_TEXT[c]!)}</li>`).join('')}</ul>`;
}

export async function renderPage(m: PageModel): Promise<string> {
  const title = m.meta.title ?? 'tunnelscope report';
  // The page script and the formatters it shares with this file travel as their own source text (client.ts).
  const body =
    `(${clientMain.toString()})({rowH:${ROW_H},formatCount:${formatCount.toString()},formatBytes:${formatBytes.toString()},` +
    `formatDuration:${formatDuration.toString()},joinEndpoint:${joinEndpoint.toString()}});`;
  // A transpiler run with keepNames (tsx, some test runners) wraps functions in its `__name` helper, which the
  // page does not have: give it an identity stand-in rather than depend on how this module was compiled.
  const script = body.includes('__name(') ? `var __name=function(f){return f};${body}` : body;
  // A page script that could end its own element would be a bug here, not an input problem.
  if (/<\/script|<!--/i.test(script)) throw new Error('report page script contains </script or <!--');
  const data = await dataBlock(m);
  const csp =
    `default-src 'none'; script-src '${await sha256(script)}'; style-src '${await sha256(CSS)}'; ` +
    `img-src 'none'; base-uri 'none'; form-action 'none'`;
  const hasSensors = m.bySensor.length > 0;
  return [
    '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
    `<meta http-equiv="Content-Security-Policy" content="${h(csp)}">\n`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n<meta name="color-scheme" content="light">\n',
    `<meta name="generator" content="tunnelscope report">\n<title>${t(title)} — ${t(m.meta.capture)}</title>\n`,
    `<style>${CSS}</style>\n</head>\n<body>\n`,
    '<a class="skip" href="#flows">Skip to the flow table</a>\n',
    header(m, title),
    '<main class="wrap">\n',
    warnings(m),
    headline(m),
    charts(m),
    hasSensors ? sensors(m) : '',
    flowTable(m, hasSensors),
    '</main>\n',
    footer(m),
    data,
    `<script>${script}</script>\n</body>\n</html>\n`,
  ].join('');
}

async function sha256(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return `sha256-${base64(d)}`;
}

/**
 * The flow data and the evidence reasons, each in a data block: JSON text escaped for a script element, or gzip +
 * base64 (only [A-Za-z0-9+/=]) when the flow data is large.
 */
async function dataBlock(m: PageModel): Promise<string> {
  const json = m.dataJson(), reasons = m.reasonsJson();
  const gz = m.compress ?? json.length + reasons.length > m.compressAutoChars;
  return (await block('ts-data', json, gz)) + (await block('ts-reasons', reasons, gz));
}

async function block(id: string, json: string, gz: boolean): Promise<string> {
  if (!gz) return `<script type="application/json" id="${id}" data-encoding="json">${escapeJsonText(json)}</script>\n`;
  const stream = new Blob([json]).stream().pipeThrough(new CompressionStream('gzip'));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  return `<script type="application/json" id="${id}" data-encoding="gzip-base64" data-json-bytes="${json.length}">${base64(bytes)}</script>\n`;
}

function header(m: PageModel, title: string): string {
  const meta = m.meta;
  const firstText = formatTime(m.first), lastText = formatTime(m.last);
  const span = Number.isFinite(m.first)
    ? `${firstText.replace(' UTC', '')} – ${lastText.startsWith(firstText.slice(0, 11)) ? lastText.slice(11) : lastText}`
    : 'no timed flows';
  const packets = meta.packets ?? sum(m.total.packets);
  const lists = (meta.lists ?? []).map((l) => `${t(l.role)}: ${t(l.name)}${l.entries !== undefined ? ` (${formatCount(l.entries)} entries)` : ''}`);
  if (m.listVersions.length) lists.push(`snapshot ${m.listVersions.map((v) => `v${v}`).join(', ')}`);
  const skipped = Object.entries(meta.skipped ?? {}).filter(([, n]) => n > 0);
  const fallback = Object.entries(meta.tunnelFallback ?? {}).filter(([, n]) => n > 0);
  const flowsText = meta.flows !== undefined && meta.flows !== m.flows ? `${formatCount(m.flows)} in this report (${formatCount(meta.flows)} in the run)` : formatCount(m.flows);
  const items = [
    ['Time span', span, 'time-span'],
    ['Duration', Number.isFinite(m.first) ? formatDuration(m.last - m.first) : '–', 'duration'],
    ['Packets', formatCount(packets), 'packets'],
    ['Flows', flowsText, 'flows'],
    ['Bytes', formatBytes(sum(m.total.bytes)), 'bytes'],
    ...(m.bySensor.length ? [['Sensors', formatCount(m.bySensor.length), 'sensors']] : []),
    ['Lists', lists.length ? lists.join(' · ') : 'none', 'lists'],
    ...(skipped.length ? [['Skipped packets', skipped.map(([k, n]) => `${t(k)} ${formatCount(n)}`).join(', '), 'skipped']] : []),
    ...(fallback.length
      ? [["Counted as their tunnel's carrier (inner packet cut or malformed)", fallback.map(([k, n]) => `${t(k)} ${formatCount(n)}`).join(', '), 'tunnel-fallback']]
      : []),
    ...(m.payloadCut.flows > 0
      ? [['Payload cut by the capture', `${formatCount(m.payloadCut.flows)} flows (${formatCount(m.payloadCut.ordinary)} ordinary, at confidence 0.6)`, 'payload-cut']]
      : []),
    ...(m.captureCapped.flows > 0
      ? [['Inspection cut by a table cap', `${formatCount(m.captureCapped.flows)} flows (${formatCount(m.captureCapped.ordinary)} ordinary, at confidence 0.6)`, 'capture-capped']]
      : []),
  ];
  return (
    `<header class="top"><div class="wrap">\n<p class="brand">${t(title)}</p>\n<h1>${t(meta.capture)}</h1>\n<dl class="meta">` +
    items.map(([k, v, id]) => `<div${id === 'lists' || id === 'skipped' || id === 'tunnel-fallback' || id === 'payload-cut' || id === 'capture-capped' ? ' class="wide"' : id === 'time-span' ? ' class="span2"' : ''}><dt>${k}</dt><dd data-meta="${id}">${v}</dd></div>`).join('') +
    '</dl>\n</div></header>\n'
  );
}

function warnings(m: PageModel): string {
  const w: string[] = [];
  if (m.kept < m.flows) w.push(`The flow table and the time charts hold the first ${formatCount(m.kept)} of ${formatCount(m.flows)} flows (the builder's flow cap); the figures and the other charts count all of them.`);
  if (m.untimed > 0) w.push(`${formatCount(m.untimed)} flow${m.untimed === 1 ? '' : 's'} had no readable first-seen time and are left out of the time charts.`);
  return w.map((x) => `<p class="warn" role="note">${x}</p>\n`).join('');
}

function figure(key: string, value: number, text: string, sub: string, cls: number | null, lead = false): string {
  return (
    `<div class="card${lead ? ' lead' : ''}"><div class="k">${cls === null ? '' : swatch(cls)}${h(key)}</div>` +
    `<div class="v" data-figure="${h(key.toLowerCase().replace(/ /g, '-'))}" data-value="${value}">${text}</div><div class="s">${sub}</div></div>`
  );
}

function headline(m: PageModel): string {
  const f = m.total.flows, b = m.total.bytes;
  const flows = sum(f), bytes = sum(b);
  const vpnF = f[0]! + f[1]!, vpnB = b[0]! + b[1]!;
  const cards = [
    figure('VPN flows', vpnF, formatCount(vpnF), `${formatShare(vpnF, flows)} of ${formatCount(flows)} flows`, null, true),
    figure('VPN bytes', vpnB, formatBytes(vpnB), `${formatShare(vpnB, bytes)} of ${formatBytes(bytes)} · <span data-figure="vpn-bytes-exact" data-value="${vpnB}">${formatCount(vpnB)} bytes</span>`, null, true),
    figure('Registered VPN', f[0]!, formatCount(f[0]!), `flows · ${formatBytes(b[0]!)} (${formatShare(b[0]!, bytes)} of bytes)`, 0),
    figure('Unregistered VPN', f[1]!, formatCount(f[1]!), `flows · ${formatBytes(b[1]!)} (${formatShare(b[1]!, bytes)} of bytes)`, 1),
    figure('Ordinary', f[2]!, formatCount(f[2]!), `flows · ${formatBytes(b[2]!)} (${formatShare(b[2]!, bytes)} of bytes)`, 2),
  ];
  const bar = (id: string, vals: readonly number[]): string => {
    const tot = sum(vals);
    let x = 0;
    const clips: string[][] = [];
    const rects = vals.map((v, i) => {
      if (!(tot > 0) || v <= 0) return '';
      const w = (100 * v) / tot;
      // Percentages, not a stretched viewBox, so the textures keep their shape at any width.
      const geom = `x="${x.toFixed(3)}%" y="0" width="${w.toFixed(3)}%" height="100%"`;
      (clips[i] ??= []).push(`<rect ${geom}/>`);
      x += w;
      return `<rect class="s${i}" ${geom}/>`;
    });
    return `<svg aria-hidden="true">${rects.join('')}${texture(id, clips, { x: 0, y: 0, w: 2400, h: 18 })}</svg>`;
  };
  const shareText = (vals: readonly number[], fmt: (n: number) => string): string =>
    LABEL_TEXT.map((l, i) => `${l} ${fmt(vals[i]!)} (${formatShare(vals[i]!, sum(vals))})`).join(', ');
  return (
    '<section aria-labelledby="h-figures">\n<h2 id="h-figures">Headline figures</h2>\n' +
    `<div class="cards">${cards.join('')}</div>\n` +
    '<div class="panel"><div class="share">' +
    `<span>Flows</span><div role="img" aria-label="${h(`Share of flows: ${shareText(f, formatCount)}`)}">${bar('share-flows', f)}</div>` +
    `<span>Bytes</span><div role="img" aria-label="${h(`Share of bytes: ${shareText(b, formatBytes)}`)}">${bar('share-bytes', b)}</div>` +
    `</div>${legend([0, 1, 2])}</div>\n</section>\n`
  );
}

/** Clock text for a time-bin start: seconds when bins are under a minute, the date when the span passes a day. */
function binLabel(us: number, binUs: number, spanUs: number): string {
  const iso = new Date(Math.floor(us / 1000)).toISOString();
  if (spanUs >= 86_400e6) return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
  if (binUs < 1e6) return iso.slice(11, 23);
  return binUs < 60e6 ? iso.slice(11, 19) : iso.slice(11, 16);
}

function dataTable(caption: string, head: readonly string[], rows: ReadonlyArray<readonly string[]>, numericFrom = 1): string {
  return (
    `<details class="data"><summary>${h(caption)}</summary><div class="scroll"><table class="plain"><thead><tr>` +
    head.map((x, i) => `<th scope="col"${i >= numericFrom ? ' class="n"' : ''}>${h(x)}</th>`).join('') +
    '</tr></thead><tbody>' +
    rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${c}</th>` : `<td${i >= numericFrom ? ' class="n"' : ''}>${c}</td>`)).join('')}</tr>`).join('') +
    '</tbody></table></div></details>'
  );
}

function chartFigure(id: string, title: string, caption: string, svg: string, legendClasses: readonly number[] | null, table: string, extra = ''): string {
  return (
    `<figure class="chart panel" id="${id}" aria-labelledby="${id}-h"><h3 id="${id}-h">${h(title)}</h3>` +
    `<figcaption>${caption}</figcaption>${svg}${legendClasses ? legend(legendClasses) : ''}${extra}${table}</figure>\n`
  );
}

function charts(m: PageModel): string {
  const out: string[] = ['<section aria-labelledby="h-charts">\n<h2 id="h-charts">Charts</h2>\n<div class="charts">\n'];
  const tm = m.time;
  const span = Number.isFinite(m.first) ? m.last - m.first : 0;
  const cats = Array.from({ length: tm.bins }, (_, i) => binLabel(tm.t0 + i * tm.binUs, tm.binUs, span));
  const every = Math.max(1, Math.ceil(tm.bins / 6));
  const ticks = cats.map((_, i) => i).filter((i) => i % every === 0);
  const series = (vals: Float64Array[]): ChartSeries[] => LABELS.map((_, i) => ({ cls: i, name: LABEL_TEXT[i]!, values: vals[i]! }));
  const binText = formatBinWidth(tm.binUs);
  const timeRows = (vals: Float64Array[], fmt: (n: number) => string): string[][] =>
    cats.map((c, i) => [h(c), ...vals.map((v) => fmt(v[i]!)), fmt(vals.reduce((a, v) => a + v[i]!, 0))]);
  const head = ['Bin start (UTC)', ...LABEL_TEXT, 'All'];

  out.push(chartFigure('ch-flows-time', 'Flows over time',
    `New flows per ${h(binText)} (by first-seen time, UTC), stacked by label.`,
    stackedColumns({ id: 'svg-flows-time', title: 'Flows over time by label', desc: `New flows per ${binText}, stacked: registered VPN (solid), unregistered VPN (hatched), ordinary (lined).`, categories: cats, ticks, series: series(tm.flows) }),
    [0, 1, 2], dataTable('Data table', head, timeRows(tm.flows, (n) => formatCount(n)))));
  out.push(chartFigure('ch-bytes-time', 'Bytes over time',
    `Bytes per ${h(binText)}, each flow's bytes spread evenly over its lifetime, stacked by label.`,
    stackedColumns({ id: 'svg-bytes-time', title: 'Bytes over time by label', desc: `Bytes per ${binText}, stacked: registered VPN (solid), unregistered VPN (hatched), ordinary (lined).`, categories: cats, ticks, series: series(tm.bytes), bytes: true }),
    [0, 1, 2], dataTable('Data table', head, timeRows(tm.bytes, (n) => formatBytes(n)))));

  out.push(vpnRowsFigure('protocols', 'VPN flows by protocol', 'Protocol', m.byProtocol, 'Flows labelled registered or unregistered VPN, by the protocol their evidence names; bytes after the count.'));

  // Registered VPN by registrant.
  const regRows = topRows(m.byRegistrant, (tl) => [tl.flows[0]!], (tl) => tl.bytes[0]!);
  out.push(chartFigure('ch-registrants', 'Registered VPN by registrant',
    'Registered VPN flows per registrant (the most specific registered prefix covering an endpoint); bytes after the count.',
    stackedRows({ id: 'svg-registrants', title: 'Registered VPN flows by registrant', desc: 'Registered VPN flows per registrant.', rows: regRows, series: [VPN_SERIES[0]!] }),
    null,
    dataTable('Data table', ['Registrant', 'Flows', 'Bytes', 'Packets'],
      m.byRegistrant.map(([r, tl]) => [t(r), formatCount(tl.flows[0]!), formatBytes(tl.bytes[0]!), formatCount(tl.packets[0]!)]))));

  out.push(verdictChart(m));

  // Which rules decided: the strongest non-registration item of each VPN flow.
  out.push(vpnRowsFigure('rules', 'Deciding evidence', 'Rule', m.byRule, 'VPN flows by the rule of their strongest evidence item (registration items aside): what each verdict rests on; bytes after the count.'));
  out.push('</div>\n</section>\n');
  return out.join('');
}

/** Registered and unregistered VPN flows per name (protocol, rule, sensor) as stacked rows, with a data table. */
function vpnRowsFigure(key: string, title: string, nameHead: string, entries: Array<[string, Tally]>, caption: string, table = true): string {
  const rows = topRows(entries, (tl) => [tl.flows[0]!, tl.flows[1]!], (tl) => tl.bytes[0]! + tl.bytes[1]!);
  const per = nameHead.toLowerCase();
  return chartFigure(`ch-${key}`, title, caption,
    stackedRows({ id: `svg-${key}`, title, desc: `Registered (solid) and unregistered (hatched) VPN flows per ${per}.`, rows, series: VPN_SERIES }),
    [0, 1],
    table
      ? dataTable('Data table', [nameHead, 'Registered VPN flows', 'Unregistered VPN flows', 'Bytes'],
        entries.map(([name, tl]) => [t(name), formatCount(tl.flows[0]!), formatCount(tl.flows[1]!), formatBytes(tl.bytes[0]! + tl.bytes[1]!)]))
      : '');
}

/** Rows for a bar chart: the top names, then one "other" row adding up the rest. */
function topRows(entries: Array<[string, Tally]>, values: (t: Tally) => number[], bytes: (t: Tally) => number): Array<{ name: string; values: number[]; note: string }> {
  const rows = entries.slice(0, TOP_ROWS).map(([name, tl]) => ({ name: visible(name), values: values(tl), note: formatBytes(bytes(tl)) }));
  const rest = entries.slice(TOP_ROWS);
  if (rest.length) {
    const vals = values(rest[0]![1]).map((_, i) => rest.reduce((a, [, tl]) => a + values(tl)[i]!, 0));
    rows.push({ name: `${rest.length} more`, values: vals, note: formatBytes(rest.reduce((a, [, tl]) => a + bytes(tl), 0)) });
  }
  return rows;
}

const VERDICT_BUCKETS: Array<[number, number, string]> = [
  ...Array.from({ length: 11 }, (_, i): [number, number, string] => [i, i, String(i)]),
  [11, 20, '11–20'],
  [21, 50, '21–50'],
  [51, Infinity, '51+'],
];

function verdictChart(m: PageModel): string {
  const counts = [0, 1].map((li) => VERDICT_BUCKETS.map(([lo, hi]) => {
    let c = 0;
    for (const [v, n] of m.verdictAt[li]!) if (v >= lo && v <= hi) c += n;
    return c;
  }));
  let lastUsed = 0, firstUsed = VERDICT_BUCKETS.length - 1;
  VERDICT_BUCKETS.forEach((_, i) => {
    if (counts[0]![i]! + counts[1]![i]! > 0) {
      lastUsed = Math.max(lastUsed, i);
      firstUsed = Math.min(firstUsed, i);
    }
  });
  const lo = Math.min(firstUsed, 1), hi = Math.max(lastUsed, 5);
  const cats = VERDICT_BUCKETS.slice(lo, hi + 1).map((b) => b[2]);
  const series: ChartSeries[] = [0, 1].map((li) => ({ cls: li, name: LABEL_TEXT[li]!, values: counts[li]!.slice(lo, hi + 1) }));
  const all = new Map<number, number>();
  for (const li of [0, 1]) for (const [v, n] of m.verdictAt[li]!) all.set(v, (all.get(v) ?? 0) + n);
  const stats = quantiles(all, [0.5, 0.9, 0.99, 1]);
  const statText = stats
    ? `VPN flows: median ${stats[0]}, p90 ${stats[1]}, p99 ${stats[2]}, max ${stats[3]} payload packets to a final verdict.`
    : 'No VPN flows.';
  return chartFigure('ch-verdict', 'Time to verdict',
    'VPN flows by the number of payload packets seen when their label became final (<code>decidedAtPacket</code>; 0: decided by a list before any payload).',
    stackedColumns({ id: 'svg-verdict', title: 'Time to verdict of VPN flows', desc: `VPN flows per number of payload packets to a final verdict. ${statText}`, categories: cats, series, xTitle: 'payload packets seen at the verdict' }),
    [0, 1],
    dataTable('Data table', ['Payload packets', ...VPN_SERIES.map((s) => `${s.name} flows`)], cats.map((c, i) => [h(c), formatCount(series[0]!.values[i]!), formatCount(series[1]!.values[i]!)])),
    `<p class="stats" data-figure="verdict-stats">${h(statText)}</p>`);
}

/** Exact quantiles of a value → count histogram (nearest rank). */
function quantiles(hist: Map<number, number>, qs: number[]): number[] | null {
  const total = [...hist.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const keys = [...hist.keys()].sort((a, b) => a - b);
  return qs.map((q) => {
    const rank = Math.max(1, Math.ceil(q * total));
    let acc = 0;
    for (const k of keys) {
      acc += hist.get(k)!;
      if (acc >= rank) return k;
    }
    return keys[keys.length - 1]!;
  });
}

function sensors(m: PageModel): string {
  const rows = m.bySensor;
  const byVpn = [...rows].sort((a, b) => b[1].flows[0]! + b[1].flows[1]! - (a[1].flows[0]! + a[1].flows[1]!) || a[0].localeCompare(b[0]));
  const table =
    '<div class="scroll-x"><table class="plain" id="sensor-table"><thead><tr><th scope="col">Sensor</th>' +
    ['Flows', 'VPN flows', 'Registered', 'Unregistered', 'Bytes', 'VPN bytes', 'VPN share of bytes'].map((x) => `<th scope="col" class="n">${x}</th>`).join('') +
    '<th scope="col">First – last seen</th></tr></thead><tbody>' +
    rows.map(([s, tl]) => {
      const f = sum(tl.flows), b = sum(tl.bytes), vb = tl.bytes[0]! + tl.bytes[1]!;
      const cells = [formatCount(f), formatCount(tl.flows[0]! + tl.flows[1]!), formatCount(tl.flows[0]!), formatCount(tl.flows[1]!), formatBytes(b), formatBytes(vb), formatShare(vb, b)];
      const when = Number.isFinite(tl.first) ? `${formatTime(tl.first)} – ${formatTime(tl.last)}` : '–';
      return `<tr data-sensor="${t(s)}"><th scope="row">${t(s)}</th>${cells.map((c) => `<td class="n">${c}</td>`).join('')}<td>${when}</td></tr>`;
    }).join('') +
    '</tbody></table></div>';
  return (
    '<section aria-labelledby="h-sensors" id="sensors">\n<h2 id="h-sensors">Sensors</h2>\n<div class="charts">' +
    vpnRowsFigure('sensors', 'VPN flows by sensor', 'Sensor', byVpn, 'Registered and unregistered VPN flows seen by each sensor; VPN bytes after the count.', false) +
    `<div class="panel">${table}</div></div>\n</section>\n`
  );
}

function flowTable(m: PageModel, hasSensors: boolean): string {
  const cols: Array<[string, string, string?]> = [
    ['', 'tog'], ['Label', 'label'], ['Protocol', 'protocol'], ['L4', 'l4'], ['Source', 'src'], ['Destination', 'dst'],
    ['Packets', 'pk', 'n'], ['Bytes', 'by', 'n'], ['Registrant', 'rg'], ['First seen (UTC)', 't'], ['Verdict at', 'dec', 'n'], ['Conf.', 'cf', 'n'],
  ];
  if (hasSensors) cols.push(['Sensor', 'sn']);
  const sortable = new Set(['pk', 'by', 't', 'dec', 'cf']);
  const hd = cols
    .map(([label, key, cls], i) => {
      const inner = sortable.has(key) ? `<button type="button" data-sort="${key}" title="Sort by ${h(label.toLowerCase())}">${h(label)}</button>` : label ? h(label) : '<span class="vh">Evidence</span>';
      return `<div role="columnheader" aria-colindex="${i + 1}" data-col="${key}"${cls ? ` class="${cls}"` : ''}${sortable.has(key) ? ' aria-sort="none"' : ''}>${inner}</div>`;
    })
    .join('');
  const select = (id: string, label: string, opts: string): string => `<label for="${id}">${h(label)}<select id="${id}">${opts}</select></label>`;
  return (
    `<section id="flows" aria-labelledby="h-flows" data-kept="${m.kept}">\n<h2 id="h-flows">Flows</h2>\n` +
    '<div class="toolbar" role="search" aria-label="Filter and sort flows">' +
    select('f-label', 'Label', '<option value="">All labels</option><option value="vpn">Any VPN</option>' + LABELS.map((l, i) => `<option value="${l}">${h(LABEL_TEXT[i]!)}</option>`).join('')) +
    select('f-protocol', 'Protocol', '<option value="">All protocols</option>') +
    select('f-registrant', 'Registrant', '<option value="">All registrants</option>') +
    (hasSensors ? select('f-sensor', 'Sensor', '<option value="">All sensors</option>') : '') +
    '<label for="f-addr">Address or port<input id="f-addr" type="search" placeholder="e.g. 10.24.46. or :443" autocomplete="off" spellcheck="false"></label>' +
    select('f-sort', 'Sort by', '<option value="t:asc">First seen, earliest</option><option value="t:desc">First seen, latest</option><option value="by:desc">Bytes, most</option><option value="by:asc">Bytes, fewest</option><option value="pk:desc">Packets, most</option><option value="pk:asc">Packets, fewest</option><option value="dec:desc">Verdict at, latest</option><option value="dec:asc">Verdict at, earliest</option><option value="cf:desc">Confidence, highest</option><option value="cf:asc">Confidence, lowest</option>') +
    '<button type="button" id="f-reset">Reset</button>' +
    '<span class="status" id="f-status" role="status" aria-live="polite">Loading flows…</span></div>\n' +
    `<div class="ft${hasSensors ? ' sensors' : ''}"><div class="vp" id="ft-vp" role="grid" aria-label="Flows" aria-rowcount="1" aria-colcount="${cols.length}" aria-describedby="ft-help"><div class="in">` +
    `<div class="hd" role="row" aria-rowindex="1">${hd}</div><div class="sp" id="ft-sp" role="rowgroup"></div></div></div></div>\n` +
    '<p class="note" id="ft-help">Keys: ↑/↓, Page Up/Down, Home/End move between flows; Enter or Space opens a flow\'s evidence; Escape closes it. Click a column name to sort.</p>\n' +
    '<noscript><p class="warn">The flow table needs JavaScript; the figures and charts above do not.</p></noscript>\n' +
    '<div class="print-only" id="ft-print"></div>\n</section>\n'
  );
}

function footer(m: PageModel): string {
  const meta = m.meta;
  const made = [meta.tool ? `Records by ${t(meta.tool)}.` : '', meta.generatedAt !== undefined ? `Generated ${h(typeof meta.generatedAt === 'string' ? visible(meta.generatedAt) : meta.generatedAt.toISOString())}.` : ''].filter(Boolean).join(' ');
  return (
    '<footer><div class="wrap">' +
    `<p>${made ? `${made} ` : ''}This page is self-contained: it loads nothing from the network and keeps working offline.</p>` +
    '<p><b>Registered VPN</b>: a VPN flow with an endpoint in a registered prefix. <b>Unregistered VPN</b>: a VPN flow with no registered endpoint. <b>Ordinary</b>: no evidence of a tunnel. ' +
    'Every verdict lists its evidence (rule, strength, packet, offset, list entry and version); open a flow in the table to read it.</p>' +
    '</div></footer>\n'
  );
}
