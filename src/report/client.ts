/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The page script of the HTML report: reads the flow data block, fills the filter lists, and runs the flow table —
 * virtualised rows (only the rows in view exist in the DOM, so 100k flows scroll like 40), filters, sorts,
 * keyboard navigation and the evidence panel of one open flow.
 *
 * This function is shipped as its own source text (`clientMain.toString()`), so it must stay self-contained: no
 * imports, no names from this module's scope. The formatters it shares with the builder arrive as arguments, as
 * their own source text too. It writes page text only through `textContent` (never `innerHTML`), and the strings
 * in the data were made visible (escape.ts) by the builder.
 */

/** What the builder passes in. */
export interface ClientArgs {
  rowH: number;
  formatCount: (n: number, digits?: number) => string;
  formatBytes: (n: number) => string;
  formatDuration: (us: number) => string;
  joinEndpoint: (host: string, port: number) => string;
}

/** The flow data block (builder.ts dataJson). */
export interface ReportData {
  v: number;
  n: number;
  nt: number;
  t0: number;
  S: string[];
  /** One array per field, or one number when every flow has the same value. */
  c: Record<string, number[] | number>;
  e: Record<string, number[]>;
}

export function clientMain(args: ClientArgs): void {
  const { rowH: ROW_H, formatCount, formatBytes, formatDuration, joinEndpoint } = args;
  const LABELS = ['registered_vpn', 'unregistered_vpn', 'ordinary'];
  const LABEL_TEXT = ['Registered VPN', 'Unregistered VPN', 'Ordinary'];
  const STRENGTH = ['strong', 'medium', 'weak'];
  const KIND = ['structure', 'name', 'list', 'relation'];
  const PRINT_ROWS = 1000;
  const byId = <T extends HTMLElement>(id: string): T | null => document.getElementById(id) as T | null;
  const status0 = byId('f-status'), vp0 = byId<HTMLDivElement>('ft-vp'), sp0 = byId<HTMLDivElement>('ft-sp');
  const dataEl0 = byId('ts-data'), reasonsEl = byId('ts-reasons');
  if (!status0 || !vp0 || !sp0 || !dataEl0) return;
  const status: HTMLElement = status0, vp: HTMLDivElement = vp0, sp: HTMLDivElement = sp0, dataEl: HTMLElement = dataEl0;
  const say = (text: string): void => {
    status.textContent = text;
  };

  load(dataEl).then((d) => start(d as ReportData)).catch((err: unknown) => say(`Could not read the flow data: ${err instanceof Error ? err.message : String(err)}`));

  /** A data block's JSON: as it is, or gzip + base64 inflated with the browser's own DecompressionStream. */
  async function load(el: HTMLElement): Promise<unknown> {
    const text = el.textContent ?? '';
    if (el.dataset.encoding !== 'gzip-base64') return JSON.parse(text);
    if (typeof DecompressionStream !== 'function') throw new Error('this browser cannot decompress (no DecompressionStream); open the report in a current browser');
    const bin = atob(text);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).json();
  }

  function start(d: ReportData): void {
    performance.mark('ts-decoded');
    const n = d.n, S = d.S, c = d.c, e = d.e;
    const col = (k: string): number[] => {
      const v = c[k];
      return Array.isArray(v) ? v : new Array<number>(n).fill(v ?? -1);
    };
    const lab = Int8Array.from(col('lab'));
    const pr = Int32Array.from(col('pr')), tr = Int32Array.from(col('tr'));
    const sh = Int32Array.from(col('sh')), spt = Int32Array.from(col('sp'));
    const dh = Int32Array.from(col('dh')), dpt = Int32Array.from(col('dp'));
    const pk = Float64Array.from(col('pk')), by = Float64Array.from(col('by'));
    const rg = Int32Array.from(col('rg')), du = Float64Array.from(col('du'));
    // Times arrive as deltas in first-seen order (builder.ts); flows past `nt` have no time (-1).
    const tm = new Float64Array(n).fill(-1);
    const deltas = col('t').slice(0, d.nt);
    for (let i = 0, acc = 0; i < deltas.length && i < n; i++) tm[i] = acc += deltas[i]!;
    const dec = Int32Array.from(col('dec')), cf = Int32Array.from(col('cf')), lv = Int32Array.from(col('lv'));
    const sn = Int32Array.from(col('sn')), vl = Int32Array.from(col('vl')), en = Int32Array.from(col('en'));
    const ec = col('ec'), ei = Array.isArray(c.ei) ? c.ei : [];
    const eoff = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) eoff[i + 1] = eoff[i]! + (ec[i] ?? 0);
    const str = (i: number): string => (i >= 0 ? S[i] ?? '' : '');
    // Evidence reasons are most of the text and only needed in an open evidence panel: read after the table is up.
    let reasons: string[] | null = null;
    let reasonsLoading: Promise<void> | null = null;
    const loadReasons = (): Promise<void> =>
      (reasonsLoading ??= (reasonsEl ? load(reasonsEl) : Promise.resolve([])).then((r) => {
        reasons = r as string[];
        if (expanded >= 0) render();
      }));
    const reasonText = (i: number): string => (reasons ? reasons[i] ?? '' : 'loading…');
    const keys: Record<string, ArrayLike<number>> = { t: tm, by, pk, dec, cf };
    let span = 0;
    for (let i = 0; i < n; i++) if (tm[i]! > span) span = tm[i]!;
    const multiDay = new Date(Math.floor(d.t0 / 1000)).toISOString().slice(0, 10) !== new Date(Math.floor((d.t0 + span) / 1000)).toISOString().slice(0, 10);

    const isoAt = (rel: number): string => {
      if (rel < 0) return '–';
      const us = d.t0 + rel;
      return `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 23)}${String(((us % 1000) + 1000) % 1000).padStart(3, '0')}Z`;
    };
    const clock = (rel: number): string => {
      if (rel < 0) return '–';
      const iso = new Date(Math.floor((d.t0 + rel) / 1000)).toISOString();
      return multiDay ? `${iso.slice(5, 10)} ${iso.slice(11, 19)}` : iso.slice(11, 23);
    };
    const srcText = (i: number): string => joinEndpoint(str(sh[i]!), spt[i]!);
    const dstText = (i: number): string => joinEndpoint(str(dh[i]!), dpt[i]!);

    performance.mark('ts-columns');
    // Filter lists, most frequent first; -1 is "(none)".
    const fill = (id: string, column: Int32Array, noneText: string, only?: (i: number) => boolean): void => {
      const sel = byId<HTMLSelectElement>(id);
      if (!sel) return;
      const counts = new Map<number, number>();
      for (let i = 0; i < n; i++) if (!only || only(i)) counts.set(column[i]!, (counts.get(column[i]!) ?? 0) + 1);
      const rows = [...counts].sort((a, b) => b[1] - a[1] || str(a[0]).localeCompare(str(b[0])));
      for (const [v, k] of rows) {
        const o = document.createElement('option');
        o.value = String(v);
        o.textContent = `${v < 0 ? noneText : str(v)} (${formatCount(k)})`;
        sel.appendChild(o);
      }
    };
    fill('f-protocol', pr, '(none: ordinary)');
    fill('f-registrant', rg, '(none)');
    fill('f-sensor', sn, '(no sensor)');
    performance.mark('ts-filters');

    const ui = {
      label: byId<HTMLSelectElement>('f-label')!,
      protocol: byId<HTMLSelectElement>('f-protocol')!,
      registrant: byId<HTMLSelectElement>('f-registrant')!,
      sensor: byId<HTMLSelectElement>('f-sensor'),
      addr: byId<HTMLInputElement>('f-addr')!,
      sort: byId<HTMLSelectElement>('f-sort')!,
      reset: byId<HTMLButtonElement>('f-reset')!,
    };

    // Sorted permutations, built once per key; a filter walks one in O(n).
    const sorted: Record<string, Uint32Array> = {};
    const permutation = (key: string): Uint32Array => {
      let p = sorted[key];
      if (!p) {
        const k = keys[key]!;
        p = new Uint32Array(n);
        for (let i = 0; i < n; i++) p[i] = i;
        p.sort((a, b) => k[a]! - k[b]! || a - b);
        sorted[key] = p;
      }
      return p;
    };
    let srcLower: string[] | null = null, dstLower: string[] | null = null;

    let order = new Uint32Array(n);
    let m = 0;
    let sortKey = 't', sortDir = 1;
    let expanded = -1, expPos = -1, extra = 0, focusPos = 0;

    function applyFilter(): void {
      const t = performance.now();
      const lf = ui.label.value;
      const li = LABELS.indexOf(lf);
      const pf = ui.protocol.value === '' ? null : Number(ui.protocol.value);
      const rf = ui.registrant.value === '' ? null : Number(ui.registrant.value);
      const sf = !ui.sensor || ui.sensor.value === '' ? null : Number(ui.sensor.value);
      const q = ui.addr.value.trim().toLowerCase();
      // Address text is host + port. A query without ':' or brackets lies within the host or within the port, so it
      // is tested once per distinct host and once per port number rather than once per flow; only a query that
      // spans the two (`10.0.0.1:443`, `[2001:db8::1]`) needs each flow's whole endpoint text.
      const spans = /[:[\]]/.test(q);
      let hostHit: Uint8Array | null = null, portHit: Uint8Array | null = null;
      if (q && spans && !srcLower) {
        srcLower = new Array<string>(n);
        dstLower = new Array<string>(n);
        for (let i = 0; i < n; i++) {
          srcLower[i] = srcText(i).toLowerCase();
          dstLower[i] = dstText(i).toLowerCase();
        }
      } else if (q && !spans) {
        hostHit = new Uint8Array(S.length);
        for (let h = 0; h < S.length; h++) if (S[h]!.toLowerCase().includes(q)) hostHit[h] = 1;
        portHit = new Uint8Array(65536);
        if (/^\d+$/.test(q)) for (let p = 0; p < 65536; p++) if (String(p).includes(q)) portHit[p] = 1;
      }
      const addrMatch = (i: number): boolean =>
        spans
          ? srcLower![i]!.includes(q) || dstLower![i]!.includes(q)
          : hostHit![sh[i]!] === 1 || hostHit![dh[i]!] === 1 || (spt[i]! >= 0 && portHit![spt[i]!] === 1) || (dpt[i]! >= 0 && portHit![dpt[i]!] === 1);
      const perm = permutation(sortKey);
      const out = new Uint32Array(n);
      let k = 0;
      let bytes = 0;
      for (let j = 0; j < n; j++) {
        const i = perm[sortDir > 0 ? j : n - 1 - j]!;
        if (li >= 0 ? lab[i] !== li : lf === 'vpn' && lab[i] === 2) continue;
        if (pf !== null && pr[i] !== pf) continue;
        if (rf !== null && rg[i] !== rf) continue;
        if (sf !== null && sn[i] !== sf) continue;
        if (q && !addrMatch(i)) continue;
        out[k++] = i;
        bytes += by[i]!;
      }
      order = out;
      m = k;
      expanded = -1;
      expPos = -1;
      extra = 0;
      focusPos = 0;
      vp.scrollTop = 0;
      vp.setAttribute('aria-rowcount', String(m + 1));
      say(`${formatCount(m)} of ${formatCount(n)} flows · ${formatBytes(bytes)}`);
      status.dataset.count = String(m);
      render();
      performance.measure('ts-filter', { start: t, end: performance.now() });
    }

    const header = vp.querySelector<HTMLElement>('.hd');
    const headerH = (): number => (header ? header.offsetHeight : 0);
    const rowTop = (p: number): number => p * ROW_H + (expPos >= 0 && p > expPos ? extra : 0);
    const posAt = (y: number): number => {
      if (expPos < 0 || y < (expPos + 1) * ROW_H) return Math.floor(y / ROW_H);
      if (y < (expPos + 1) * ROW_H + extra) return expPos;
      return Math.floor((y - extra) / ROW_H);
    };

    function cell(cls: string, text: string, title?: string): HTMLDivElement {
      const el = document.createElement('div');
      el.setAttribute('role', 'gridcell');
      if (cls) el.className = cls;
      el.textContent = text;
      if (title) el.title = title;
      return el;
    }

    function labelCell(li: number): HTMLDivElement {
      const el = cell('', '');
      const b = document.createElement('span');
      b.className = 'lab';
      const sw = document.createElement('span');
      sw.className = `sw sw${li}`;
      sw.setAttribute('aria-hidden', 'true');
      b.appendChild(sw);
      b.appendChild(document.createTextNode(LABEL_TEXT[li] ?? ''));
      el.appendChild(b);
      return el;
    }

    function makeRow(p: number): HTMLDivElement {
      const i = order[p]!;
      const r = document.createElement('div');
      r.className = 'r';
      r.setAttribute('role', 'row');
      r.setAttribute('aria-rowindex', String(p + 2));
      r.tabIndex = p === focusPos ? 0 : -1;
      r.dataset.p = String(p);
      r.dataset.i = String(i);
      r.dataset.label = LABELS[lab[i]!] ?? '';
      r.style.top = `${rowTop(p)}px`;
      const open = i === expanded;
      r.setAttribute('aria-expanded', String(open));
      if (open) r.classList.add('open');
      const cells = document.createElement('div');
      cells.className = 'cells';
      const tog = cell('', '');
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.className = 'tog';
      btn.tabIndex = -1;
      btn.textContent = open ? '▾' : '▸';
      btn.setAttribute('aria-label', `${open ? 'Hide' : 'Show'} evidence (${ec[i] ?? 0} items)`);
      tog.appendChild(btn);
      const src = srcText(i), dst = dstText(i);
      cells.append(
        tog,
        labelCell(lab[i]!),
        cell('', str(pr[i]!) || '–'),
        cell('', str(tr[i]!)),
        cell('m', src, src),
        cell('m', dst, dst),
        cell('n', formatCount(pk[i]!)),
        cell('n', formatBytes(by[i]!), `${formatCount(by[i]!)} bytes`),
        cell('', str(rg[i]!) || '–', str(rg[i]!)),
        cell('m', clock(tm[i]!), isoAt(tm[i]!)),
        cell('n', String(dec[i]!)),
        cell('n', (cf[i]! / 1000).toFixed(2)),
      );
      if (ui.sensor) cells.append(cell('', str(sn[i]!) || '–', str(sn[i]!)));
      r.appendChild(cells);
      if (open) r.appendChild(evidencePanel(i));
      return r;
    }

    const listEntry = (reason: string): string => {
      // A domain entry and a range (as its line wrote it, blanks and all) are quoted; a prefix is one word.
      const m1 = /(?:list entry|list range|registered range) '([^']*)'/.exec(reason) ?? /(?:list entry|registered prefix) (\S+)/.exec(reason);
      return m1 ? m1[1]! : '';
    };
    const listName = (reason: string): string => {
      const m2 = / of (\S+) v(\d+)\b/.exec(reason);
      return m2 ? `${m2[1]} v${m2[2]}` : '';
    };

    function evidencePanel(i: number): HTMLDivElement {
      const ev = document.createElement('div');
      ev.className = 'ev';
      ev.setAttribute('role', 'gridcell');
      ev.setAttribute('aria-colspan', String(ui.sensor ? 13 : 12));
      const facts = document.createElement('div');
      facts.className = 'facts';
      const fact = (k: string, v: string): void => {
        const s = document.createElement('span');
        const b = document.createElement('b');
        b.textContent = `${k} `;
        s.append(b, document.createTextNode(v));
        facts.appendChild(s);
      };
      fact('Flow', `${str(tr[i]!)} ${srcText(i)} → ${dstText(i)}`);
      fact('First seen', isoAt(tm[i]!));
      fact('Last seen', tm[i]! < 0 ? '–' : isoAt(tm[i]! + du[i]!));
      fact('Duration', formatDuration(du[i]!));
      fact('Confidence', (cf[i]! / 1000).toFixed(2));
      fact('Verdict at payload packet', String(dec[i]!));
      fact('List snapshot', `v${lv[i]}`);
      if (vl[i]! >= 0) fact('VLAN', String(vl[i]));
      if (en[i]! >= 0) fact('Encapsulation', str(en[i]!));
      if (sn[i]! >= 0) fact('Sensor', str(sn[i]!));
      ev.appendChild(facts);
      const a = eoff[i]!, b = eoff[i + 1]!;
      if (a === b) {
        const p = document.createElement('p');
        p.className = 'note';
        p.textContent = 'No evidence items: nothing argued for a tunnel.';
        ev.appendChild(p);
        return ev;
      }
      const table = document.createElement('table');
      table.className = 'plain';
      const cap = document.createElement('caption');
      cap.className = 'vh';
      cap.textContent = `Evidence for flow ${srcText(i)} to ${dstText(i)}`;
      table.appendChild(cap);
      const head = document.createElement('tr');
      for (const hText of ['Rule', 'Strength', 'Kind', 'Source', 'Protocol', 'Packet', 'Offset', 'List entry', 'List and version', 'Reason']) {
        const th = document.createElement('th');
        th.scope = 'col';
        th.textContent = hText;
        head.appendChild(th);
      }
      const thead = document.createElement('thead');
      thead.appendChild(head);
      const tbody = document.createElement('tbody');
      for (let k = a; k < b; k++) {
        const it = ei[k]!;
        const reason = reasonText(e.re![it]!);
        const tr1 = document.createElement('tr');
        const td = (text: string, cls?: string): void => {
          const x = document.createElement('td');
          x.textContent = text;
          if (cls) x.className = cls;
          tr1.appendChild(x);
        };
        const st = e.st![it]!;
        td(str(e.ru![it]!), 'm');
        td(STRENGTH[st] ?? '', `str${st}`);
        td(KIND[e.ki![it]!] ?? '');
        td(str(e.so![it]!));
        td(str(e.pr![it]!));
        td(e.pk![it]! >= 0 ? String(e.pk![it]) : '–');
        td(e.of![it]! >= 0 ? String(e.of![it]) : '–');
        td(listEntry(reason) || '–');
        td(listName(reason) || '–');
        td(reason, 'reason');
        tbody.appendChild(tr1);
      }
      table.append(thead, tbody);
      ev.appendChild(table);
      return ev;
    }

    let measuring = false;
    /**
     * The rows of the last render, by position, with what they show. A row still showing the same flow in the same
     * state is kept, not rebuilt: a click is a mousedown and a mouseup on one element, and a render between them
     * that replaced the row (a scroll or resize frame) made the browser drop the click.
     */
    let shown = new Map<number, { el: HTMLDivElement; key: string }>();
    function render(): void {
      sp.style.height = `${m * ROW_H + (expPos >= 0 ? extra : 0)}px`;
      if (m === 0) {
        sp.textContent = '';
        const empty = document.createElement('div');
        empty.className = 'empty';
        empty.textContent = 'No flow matches these filters.';
        sp.appendChild(empty);
        return;
      }
      const top = vp.scrollTop;
      const bottom = top + vp.clientHeight - headerH();
      const p0 = Math.max(0, posAt(top) - 6);
      const p1 = Math.min(m - 1, posAt(bottom) + 6);
      const active = document.activeElement;
      const hadFocus = active instanceof HTMLElement && sp.contains(active) && active.classList.contains('r');
      const rows: HTMLDivElement[] = [];
      let openRow: HTMLDivElement | null = null;
      const next = new Map<number, { el: HTMLDivElement; key: string }>();
      for (let p = p0; p <= p1; p++) {
        const i = order[p]!;
        const key = `${i}:${i === expanded ? (reasons ? 2 : 1) : 0}`;
        const kept = shown.get(p);
        let r: HTMLDivElement;
        if (kept !== undefined && kept.key === key) {
          r = kept.el;
          r.style.top = `${rowTop(p)}px`;
          r.tabIndex = p === focusPos ? 0 : -1;
        } else r = makeRow(p);
        next.set(p, { el: r, key });
        if (p === expPos) openRow = r;
        rows.push(r);
      }
      shown = next;
      // Kept rows stay attached (a row taken out and put back loses a click in progress too); the others go, and
      // new rows go in at their place in position order.
      const keep = new Set<Element>(rows);
      for (const child of [...sp.children]) if (!keep.has(child)) child.remove();
      let at = sp.firstElementChild;
      for (const r of rows) {
        if (r === at) at = at.nextElementSibling;
        else sp.insertBefore(r, at);
      }
      if (openRow && !measuring) {
        const h = openRow.offsetHeight - ROW_H;
        if (h !== extra) {
          extra = h;
          measuring = true;
          render();
          measuring = false;
          return;
        }
      }
      if (hadFocus) focusRow(false);
    }

    function focusRow(scroll: boolean): void {
      if (m === 0) return;
      if (scroll) ensureVisible(focusPos);
      const el = sp.querySelector<HTMLElement>(`.r[data-p="${focusPos}"]`);
      if (el) {
        for (const r of sp.querySelectorAll<HTMLElement>('.r[tabindex="0"]')) if (r !== el) r.tabIndex = -1;
        el.tabIndex = 0;
        el.focus({ preventScroll: true });
      }
    }

    function ensureVisible(p: number): void {
      const visibleH = vp.clientHeight - headerH();
      const top = rowTop(p), bottom = top + ROW_H + (p === expPos ? extra : 0);
      if (top < vp.scrollTop) vp.scrollTop = top;
      else if (bottom > vp.scrollTop + visibleH) vp.scrollTop = Math.min(top, bottom - visibleH);
      render();
    }

    function toggle(p: number): void {
      const i = order[p]!;
      if (expanded === i) {
        expanded = -1;
        expPos = -1;
        extra = 0;
      } else {
        expanded = i;
        expPos = p;
        extra = 0;
        void loadReasons();
      }
      focusPos = p;
      render();
      focusRow(true);
    }

    let frame = 0;
    vp.addEventListener('scroll', () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        render();
      });
    });
    window.addEventListener('resize', () => render());

    sp.addEventListener('click', (ev) => {
      const target = ev.target as HTMLElement;
      if (target.closest('.ev')) return; // reading or selecting evidence text
      const row = target.closest<HTMLElement>('.r');
      if (!row) return;
      toggle(Number(row.dataset.p));
    });

    sp.addEventListener('keydown', (ev) => {
      const row = (ev.target as HTMLElement).closest<HTMLElement>('.r');
      if (!row || m === 0) return;
      const p = Number(row.dataset.p);
      const page = Math.max(1, Math.floor((vp.clientHeight - headerH()) / ROW_H) - 1);
      let next = p;
      switch (ev.key) {
        case 'ArrowDown': next = p + 1; break;
        case 'ArrowUp': next = p - 1; break;
        case 'PageDown': next = p + page; break;
        case 'PageUp': next = p - page; break;
        case 'Home': next = 0; break;
        case 'End': next = m - 1; break;
        case 'Enter':
        case ' ':
          ev.preventDefault();
          toggle(p);
          return;
        case 'Escape':
          if (expanded >= 0) {
            ev.preventDefault();
            expanded = -1;
            expPos = -1;
            extra = 0;
            focusPos = p;
            render();
            focusRow(true);
          }
          return;
        default:
          return;
      }
      ev.preventDefault();
      focusPos = Math.max(0, Math.min(m - 1, next));
      focusRow(true);
    });

    const updateSortUi = (): void => {
      for (const hc of vp.querySelectorAll<HTMLElement>('[role=columnheader][aria-sort]')) {
        hc.setAttribute('aria-sort', hc.dataset.col === sortKey ? (sortDir > 0 ? 'ascending' : 'descending') : 'none');
      }
      const v = `${sortKey}:${sortDir > 0 ? 'asc' : 'desc'}`;
      if ([...ui.sort.options].some((o) => o.value === v)) ui.sort.value = v;
    };
    vp.querySelector('.hd')?.addEventListener('click', (ev) => {
      const b = (ev.target as HTMLElement).closest<HTMLElement>('button[data-sort]');
      if (!b) return;
      const k = b.dataset.sort!;
      sortDir = k === sortKey ? -sortDir : k === 't' ? 1 : -1;
      sortKey = k;
      updateSortUi();
      applyFilter();
    });
    ui.sort.addEventListener('change', () => {
      const [k, dir] = ui.sort.value.split(':');
      sortKey = k!;
      sortDir = dir === 'asc' ? 1 : -1;
      updateSortUi();
      applyFilter();
    });
    for (const s of [ui.label, ui.protocol, ui.registrant, ui.sensor]) s?.addEventListener('change', applyFilter);
    let typing = 0;
    ui.addr.addEventListener('input', () => {
      clearTimeout(typing);
      typing = window.setTimeout(applyFilter, 120);
    });
    ui.addr.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        clearTimeout(typing);
        applyFilter();
      }
    });
    ui.reset.addEventListener('click', () => {
      for (const s of [ui.label, ui.protocol, ui.registrant, ui.sensor]) if (s) s.value = '';
      ui.addr.value = '';
      sortKey = 't';
      sortDir = 1;
      updateSortUi();
      applyFilter();
    });

    // Print: the virtual table cannot print; a static copy of the first rows of the current view can.
    const printBox = byId('ft-print');
    window.addEventListener('beforeprint', () => {
      if (!printBox) return;
      printBox.textContent = '';
      const p = document.createElement('p');
      p.className = 'note';
      p.textContent = m > PRINT_ROWS ? `First ${formatCount(PRINT_ROWS)} of ${formatCount(m)} flows in the current view (${status.textContent}).` : `${status.textContent}`;
      const t = document.createElement('table');
      t.className = 'plain';
      const hr = document.createElement('tr');
      for (const x of ['Label', 'Protocol', 'L4', 'Source', 'Destination', 'Packets', 'Bytes', 'Registrant', 'First seen', 'Deciding evidence']) {
        const th = document.createElement('th');
        th.textContent = x;
        hr.appendChild(th);
      }
      t.appendChild(hr);
      for (let p2 = 0; p2 < Math.min(m, PRINT_ROWS); p2++) {
        const i = order[p2]!;
        const tr1 = document.createElement('tr');
        let deciding = '';
        for (let k = eoff[i]!; k < eoff[i + 1]!; k++) {
          const it = ei[k]!;
          if (str(e.so![it]!) !== 'registered' && (deciding === '' || e.st![it] === 0)) deciding = `${str(e.ru![it]!)} (${STRENGTH[e.st![it]!]})`;
        }
        for (const x of [LABEL_TEXT[lab[i]!]!, str(pr[i]!) || '–', str(tr[i]!), srcText(i), dstText(i), formatCount(pk[i]!), formatBytes(by[i]!), str(rg[i]!) || '–', clock(tm[i]!), deciding || '–']) {
          const td = document.createElement('td');
          td.textContent = x;
          tr1.appendChild(td);
        }
        t.appendChild(tr1);
      }
      printBox.append(p, t);
    });
    window.addEventListener('afterprint', () => {
      if (printBox) printBox.textContent = '';
    });

    applyFilter();
    document.getElementById('flows')?.setAttribute('data-ready', '1');
    performance.mark('ts-ready');
    setTimeout(() => void loadReasons().catch((err: unknown) => say(`Could not read the evidence text: ${err instanceof Error ? err.message : String(err)}`)), 0);
  }
}
