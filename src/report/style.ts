/**
 * The report's stylesheet (inlined once per page). Labels are told apart by texture as well as colour — solid for
 * registered VPN, diagonal hatch for unregistered VPN, horizontal lines for ordinary — in the charts (charts.ts texture())
 * and in the swatches and badges (CSS gradients here), and always by their name in text. The print rules drop the
 * interactive parts, keep backgrounds (swatches) and avoid breaking a chart across pages.
 */

/** Row height of the flow table in CSS pixels; the page script positions virtual rows with the same number. */
export const ROW_H = 30;

export const CSS = `
:root{--ink:#17202b;--muted:#566273;--line:#d9e0e8;--bg:#f4f6f9;--card:#fff;--accent:#0b57a4;--focus:#b45309;
--c0:#0072b2;--c1:#d55e00;--c2:#aab4bf;--c2dot:#56616e;--mono:ui-monospace,"SFMono-Regular","DejaVu Sans Mono",Menlo,Consolas,monospace;
--sans:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",Helvetica,Arial,sans-serif}
*{box-sizing:border-box}
html{background:var(--bg);color:var(--ink);font:14px/1.45 var(--sans);-webkit-text-size-adjust:100%}
body{margin:0}
a{color:var(--accent)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:var(--card);padding:8px 12px;z-index:10}
.skip:focus{left:8px;top:8px}
.vh{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.wrap{max-width:1240px;margin:0 auto;padding:0 24px}
header.top{background:#0f1c2b;color:#eef2f7;padding:22px 0 20px;border-bottom:4px solid var(--c0)}
header.top .brand{font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:#9fb3c8;margin:0 0 4px}
header.top h1{font-size:24px;line-height:1.2;margin:0 0 14px;font-weight:650;overflow-wrap:anywhere}
dl.meta{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px 24px;margin:0}
dl.meta div{min-width:0}
dl.meta dt{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:#9fb3c8}
dl.meta dd{margin:2px 0 0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
dl.meta .wide{grid-column:1/-1}
dl.meta .span2{grid-column:span 2}
main.wrap{padding-top:28px;padding-bottom:40px}
h2{font-size:17px;margin:0 0 12px;font-weight:650}
h3{font-size:14px;margin:0 0 2px;font-weight:650}
section{margin:0 0 26px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:14px;margin:0 0 14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px;min-width:0}
.card .k{font-size:12px;color:var(--muted);display:flex;align-items:center;gap:6px}
.card .v{font-size:28px;font-weight:650;font-variant-numeric:tabular-nums;line-height:1.15;margin:4px 0 2px}
.card .s{font-size:12.5px;color:var(--muted);font-variant-numeric:tabular-nums}
.card.lead{border-top:3px solid var(--ink)}
.panel{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 18px;min-width:0}
.share{display:grid;grid-template-columns:70px 1fr;gap:6px 12px;align-items:center;font-size:12.5px}
.share svg{width:100%;height:18px;display:block}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;list-style:none;margin:10px 0 0;padding:0;font-size:12.5px;color:var(--muted)}
.legend li{display:flex;align-items:center;gap:6px}
.sw{display:inline-block;width:14px;height:14px;border:1px solid rgba(0,0,0,.35);border-radius:2px;flex:none;print-color-adjust:exact;-webkit-print-color-adjust:exact}
.sw0{background:var(--c0)}
.sw1{background:repeating-linear-gradient(135deg,var(--c1) 0 3px,#fff 3px 5px)}
.sw2{background:repeating-linear-gradient(180deg,var(--c2) 0 2.6px,var(--c2dot) 2.6px 3.4px)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:14px}
figure.chart{margin:0;break-inside:avoid;page-break-inside:avoid}
figure.chart figcaption{font-size:12.5px;color:var(--muted);margin:0 0 8px}
.chart-svg{width:100%;height:auto;display:block;overflow:visible}
.chart-svg text{font:11px var(--sans);fill:var(--muted)}
.chart-svg .row-name{fill:var(--ink);font-size:12px}
.chart-svg .row-value{fill:var(--ink);font-variant-numeric:tabular-nums}
.chart-svg .axis-title{font-size:11.5px}
.chart-svg .grid{stroke:#e6ebf0;stroke-width:1}
.chart-svg .axis{stroke:#8a96a3;stroke-width:1}
.chart-svg rect{stroke:#fff;stroke-width:.5}
.chart-svg .col:hover rect,.chart-svg .row:hover rect{stroke:var(--ink);stroke-width:1}
.s0{fill:var(--c0)}.s1{fill:var(--c1)}.s2{fill:var(--c2)}
.h1,.h2{fill:none;pointer-events:none}.h1{stroke:#fff;stroke-width:1.7}.h2{stroke:var(--c2dot);stroke-width:.8}
details.data{margin-top:8px;font-size:12.5px}
details.data summary{cursor:pointer;color:var(--accent)}
details.data .scroll{max-height:260px;overflow:auto;margin-top:6px}
table.plain{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
table.plain th,table.plain td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
table.plain th{font-weight:600;color:var(--muted);font-size:12px;background:#f8fafc;position:sticky;top:0}
table.plain td.n,table.plain th.n{text-align:right}
.stats{font-size:12.5px;color:var(--muted);margin:8px 0 0}
.note{font-size:12.5px;color:var(--muted);margin:6px 0 0}
.warn{background:#fff7e6;border:1px solid #f0c36d;border-radius:6px;padding:8px 12px;font-size:13px;margin:0 0 14px}
.toolbar{display:flex;flex-wrap:wrap;gap:10px 14px;align-items:flex-end;margin:0 0 10px}
.toolbar label{display:flex;flex-direction:column;font-size:11.5px;color:var(--muted);gap:3px}
.toolbar select,.toolbar input,.toolbar button{font:inherit;font-size:13px;padding:5px 8px;border:1px solid #b8c2cd;border-radius:6px;background:#fff;color:var(--ink);min-height:32px}
.toolbar input[type=search]{width:210px}
.toolbar button{cursor:pointer}
.toolbar .status{margin-left:auto;font-size:13px;color:var(--muted);font-variant-numeric:tabular-nums;align-self:center}
.ft{border:1px solid var(--line);border-radius:8px;background:var(--card);overflow:hidden}
.ft .vp{height:min(68vh,620px);overflow:auto;position:relative}
.ft .in{min-width:1190px}
.ft.sensors{--sensor-col:120px}
.ft.sensors .in{min-width:1310px}
.ft .hd,.ft .r>.cells{display:grid;grid-template-columns:32px 158px 106px 44px minmax(172px,1.4fr) minmax(172px,1.4fr) 66px 80px minmax(90px,1fr) 132px 78px 52px var(--sensor-col,0px)}
.ft .hd{position:sticky;top:0;z-index:2;background:#eef2f6;border-bottom:1px solid var(--line);font-size:12px;font-weight:600;color:var(--muted)}
.ft .hd>div{padding:0 8px;height:34px;display:flex;align-items:center;white-space:nowrap}
.ft .hd .n{justify-content:flex-end}
.ft .hd button{font:inherit;color:inherit;background:none;border:0;padding:4px 0;cursor:pointer;display:flex;gap:4px;align-items:center}
.ft .hd button:hover{color:var(--ink)}
.ft .hd [aria-sort=ascending] button::after{content:"▲";font-size:9px}
.ft .hd [aria-sort=descending] button::after{content:"▼";font-size:9px}
.ft .sp{position:relative}
.ft .r{position:absolute;left:0;right:0;border-bottom:1px solid #edf0f4;background:#fff}
.ft .r:nth-child(even){background:#fafbfd}
.ft .r:hover{background:#f1f6fc}
.ft .r:focus{outline:none;box-shadow:inset 3px 0 0 var(--focus),inset 0 0 0 2px var(--focus)}
.ft .r.open{background:#f7fafe}
.ft .r>.cells>div{height:${ROW_H - 1}px;line-height:${ROW_H - 1}px;padding:0 8px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;font-variant-numeric:tabular-nums}
.ft .r .n{text-align:right}
.ft .r .m{font-family:var(--mono);font-size:12.5px}
.ft .tog{border:0;background:none;cursor:pointer;font-size:12px;color:var(--muted);width:100%;height:100%;padding:0}
.lab{display:inline-flex;align-items:center;gap:6px}
.lab .sw{width:12px;height:12px}
.ev{padding:4px 16px 14px 40px;border-top:1px dashed var(--line);white-space:normal}
.ev .facts{display:flex;flex-wrap:wrap;gap:2px 18px;font-size:12.5px;color:var(--muted);margin:8px 0}
.ev .facts b{color:var(--ink);font-weight:600}
.ev table{font-size:12.5px}
.ev td.reason{min-width:280px;overflow-wrap:anywhere}
.ev .str0{font-weight:650}
.empty{padding:28px;text-align:center;color:var(--muted)}
.print-only{display:none}
footer{border-top:1px solid var(--line);color:var(--muted);font-size:12.5px;padding:16px 0 28px}
footer p{margin:4px 0}
@media (max-width:640px){.wrap{padding:0 12px}.charts{grid-template-columns:1fr}header.top h1{font-size:20px}}
@media print{
  html{background:#fff;font-size:11px}
  .wrap{max-width:none;padding:0}
  header.top{background:#fff;color:#000;border-bottom:2px solid #000;padding:0 0 10px}
  header.top .brand,dl.meta dt{color:#333}
  .card,.panel,.ft{border-color:#999;box-shadow:none}
  .charts{grid-template-columns:1fr 1fr;gap:10px}
  .skip,.toolbar,.ft,#ft-help,details.data,noscript{display:none!important}
  #ft-print table{font-size:9.5px}
  #ft-print td{white-space:nowrap}
  #ft-print td:last-child{white-space:normal}
  .print-only{display:block}
  section{break-inside:auto}
  .cards,.panel,figure.chart{break-inside:avoid}
  svg,.sw{print-color-adjust:exact;-webkit-print-color-adjust:exact}
  table.plain th{position:static}
  a{color:#000;text-decoration:none}
}
`;
