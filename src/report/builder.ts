/**
 * ReportBuilder: flow records in (one at a time, from any source), one self-contained HTML page out.
 *
 * What it owns: the streaming aggregates behind the headline figures and charts (exact over every record), and
 * column-oriented per-flow data for the flow table (bounded by `maxFlows`: one typed-array slot per field, every
 * string interned once). What it must never do: hold record objects, touch the file system or the network, or
 * write a string from a record into the page without escaping it (escape.ts).
 */
import { describeValue, InvalidArgumentError } from '../errors.js';
import { floatColumn, intColumn, splitEndpoint, StringTable, type FloatColumn, type IntColumn } from './columns.js';
import { isoToMicros, niceBinUs } from './format.js';
import { renderPage, type PageModel, type Tally } from './page.js';
import type { ReportMeta, ReportOptions, ReportRecord } from './types.js';
import { LABELS } from './labels.js';

// Looked up by record text: without a prototype, so '__proto__', 'constructor' or 'toString' find nothing and take the
// default, as any unknown word does (with Object.prototype they found an object or a function, which made totals
// vanish and a flow count as registered VPN).
const table = (entries: Record<string, number>): Readonly<Record<string, number>> => Object.freeze(Object.assign(Object.create(null) as Record<string, number>, entries));
const LABEL_INDEX = table({ registered_vpn: 0, unregistered_vpn: 1, ordinary: 2 });
const STRENGTHS = table({ strong: 0, medium: 1, weak: 2 });
const KINDS = table({ structure: 0, name: 1, list: 2, relation: 3 });

const DEFAULT_MAX_FLOWS = 1_000_000;
const DEFAULT_TIME_BINS = 72;
/** Most time bins a page draws (one per pixel column of a very wide chart is far fewer). */
const MAX_TIME_BINS = 100_000;
const COMPRESS_AUTO_CHARS = 256 * 1024;

const newTally = (): Tally => ({ flows: [0, 0, 0], bytes: [0, 0, 0], packets: [0, 0, 0] });

/**
 * Builds a report from flow records. Feed it with {@link ReportBuilder.add} (e.g. from a session's `flow` event)
 * or use {@link buildReport} with any iterable or async iterable of records.
 *
 * @example
 * const b = new ReportBuilder();
 * session.on('flow', (r) => b.add(r));
 * // … push packets, session.end() …
 * const html = await b.build({ capture: 'trace.pcap', packets: session.stats.packets });
 */
export class ReportBuilder {
  private readonly maxFlows: number;
  private readonly maxTimeBins: number;
  private readonly compress: boolean | 'auto';
  private readonly S = new StringTable();
  // Evidence reasons: most of the text, needed only when a flow's evidence is opened, so a block of their own.
  private readonly R = new StringTable();
  // Per kept flow.
  private readonly lab = intColumn();
  private readonly pr = intColumn();
  private readonly tr = intColumn();
  private readonly sh = intColumn();
  private readonly sp = intColumn();
  private readonly dh = intColumn();
  private readonly dp = intColumn();
  private readonly pk = floatColumn();
  private readonly by = floatColumn();
  private readonly rg = intColumn();
  private readonly t = floatColumn();
  private readonly du = floatColumn();
  private readonly dec = intColumn();
  private readonly cf = intColumn();
  // Float64: list versions are unsigned 32-bit (IPFIX listVersion), past what an Int32Array holds.
  private readonly lv = floatColumn();
  private readonly vl = intColumn();
  private readonly en = intColumn();
  private readonly sn = intColumn();
  private readonly ec = intColumn();
  private readonly ei = intColumn();
  private hasVlan = false;
  private hasEncap = false;
  // Evidence items, deduplicated: one row per distinct item, flows refer to rows.
  private readonly itemIds = new Map<string, number>();
  private readonly eso = intColumn();
  private readonly epr = intColumn();
  private readonly est = intColumn();
  private readonly eru = intColumn();
  private readonly ere = intColumn();
  private readonly epk = intColumn();
  private readonly eof = intColumn();
  private readonly eki = intColumn();
  // Over every record, kept or not.
  private n = 0;
  private readonly total = newTally();
  private readonly byProtocol = new Map<string, Tally>();
  private readonly byRegistrant = new Map<string, Tally>();
  private readonly byRule = new Map<string, Tally>();
  private readonly bySensor = new Map<string, Tally & { first: number; last: number }>();
  private readonly verdictAt: Map<number, number>[] = [new Map(), new Map(), new Map()];
  private readonly listVersions = new Set<number>();
  private first = Infinity;
  private last = -Infinity;
  private untimed = 0;
  /** Flows judged on payload the capture cut short (FlowRecord.payloadCut), all labels and ordinary ones. */
  private cut = 0;
  private cutOrdinary = 0;
  /** Flows whose inspection a flow-table cap cut short (FlowRecord.captureCapped), all labels and ordinary ones. */
  private capped = 0;
  private cappedOrdinary = 0;

  constructor(options: ReportOptions = {}) {
    this.maxFlows = options.maxFlows ?? DEFAULT_MAX_FLOWS;
    this.maxTimeBins = options.maxTimeBins ?? DEFAULT_TIME_BINS;
    this.compress = options.compress ?? 'auto';
    // Both size what the builder keeps and the page draws: past these they are memory, not a setting.
    if (!Number.isInteger(this.maxFlows) || this.maxFlows < 0 || this.maxFlows > 1 << 28) throw new InvalidArgumentError(`maxFlows must be an integer in [0, ${1 << 28}], got ${this.maxFlows}`);
    if (!Number.isInteger(this.maxTimeBins) || this.maxTimeBins < 1 || this.maxTimeBins > MAX_TIME_BINS) throw new InvalidArgumentError(`maxTimeBins must be an integer in [1, ${MAX_TIME_BINS}], got ${this.maxTimeBins}`);
  }

  /** Records added so far. */
  get flows(): number {
    return this.n;
  }

  /**
   * Add one flow record. O(evidence items). Fields outside the record type's ranges are not checked here (the
   * NDJSON reader checks records from files); a label outside the three is counted as ordinary.
   */
  add(r: ReportRecord): void {
    if (r === null || typeof r !== 'object') throw new InvalidArgumentError(`ReportBuilder.add: a record must be an object, got ${describeValue(r)}`);
    this.n++;
    const li = LABEL_INDEX[r.label] ?? 2;
    const bytes = count53(r.bytes);
    const packets = count53(r.packets);
    count(this.total, li, bytes, packets);
    const first = isoToMicros(r.firstSeen);
    let last = isoToMicros(r.lastSeen);
    if (Number.isFinite(first)) {
      if (!(last >= first)) last = first;
      if (first < this.first) this.first = first;
      if (last > this.last) this.last = last;
    } else this.untimed++;
    if (li < 2) {
      const p = r.protocol ?? 'unknown';
      count(tallyOf(this.byProtocol, p), li, bytes, packets);
      const at = this.verdictAt[li]!;
      const d = Math.max(0, Math.trunc(finite(r.decidedAtPacket)));
      at.set(d, (at.get(d) ?? 0) + 1);
      count(tallyOf(this.byRule, decidingRule(r.evidence ?? [])), li, bytes, packets);
    }
    if (li === 0) count(tallyOf(this.byRegistrant, r.registrant ?? '(none named)'), li, bytes, packets);
    if (r.sensor !== undefined) {
      const s = this.bySensor.get(r.sensor) ?? { ...newTally(), first: Infinity, last: -Infinity };
      this.bySensor.set(r.sensor, s);
      count(s, li, bytes, packets);
      if (Number.isFinite(first)) {
        s.first = Math.min(s.first, first);
        s.last = Math.max(s.last, last);
      }
    }
    this.listVersions.add(finite(r.listVersion));
    if (finite(r.payloadCut ?? 0) > 0) {
      this.cut++;
      if (li === 2) this.cutOrdinary++;
    }
    if (r.captureCapped === true) {
      this.capped++;
      if (li === 2) this.cappedOrdinary++;
    }
    if (this.lab.length >= this.maxFlows) return;

    const S = this.S;
    this.lab.push(li);
    this.pr.push(S.id(r.protocol));
    this.tr.push(S.id(r.transport));
    const [shost, sport] = splitEndpoint(String(r.src));
    const [dhost, dport] = splitEndpoint(String(r.dst));
    this.sh.push(S.id(shost));
    this.sp.push(sport);
    this.dh.push(S.id(dhost));
    this.dp.push(dport);
    this.pk.push(packets);
    this.by.push(bytes);
    this.rg.push(S.id(r.registrant));
    this.t.push(Number.isFinite(first) ? first : NaN);
    this.du.push(Number.isFinite(first) ? last - first : 0);
    this.dec.push(int32(r.decidedAtPacket));
    this.cf.push(int32(Math.round(finite(r.confidence) * 1000)));
    this.lv.push(Math.trunc(finite(r.listVersion)));
    this.vl.push(r.vlan === undefined ? -1 : int32(r.vlan));
    if (r.vlan !== undefined) this.hasVlan = true;
    this.en.push(S.id(r.encap));
    if (r.encap !== undefined) this.hasEncap = true;
    this.sn.push(S.id(r.sensor));
    const ev = r.evidence ?? [];
    this.ec.push(ev.length);
    for (const e of ev) this.ei.push(this.itemId(e));
  }

  private itemId(e: ReportRecord['evidence'][number]): number {
    const pkt = e.packet ?? -1, off = e.offset ?? -1, kind = e.kind ?? 'structure';
    const key = `${e.source}\u0000${e.protocol}\u0000${e.strength}\u0000${e.rule}\u0000${pkt}\u0000${off}\u0000${kind}\u0000${e.reason}`;
    let id = this.itemIds.get(key);
    if (id === undefined) {
      id = this.eso.length;
      this.itemIds.set(key, id);
      const S = this.S;
      this.eso.push(S.id(e.source));
      this.epr.push(S.id(e.protocol));
      this.est.push(STRENGTHS[e.strength] ?? 2);
      this.eru.push(S.id(e.rule));
      this.ere.push(this.R.id(e.reason));
      this.epk.push(Number.isFinite(pkt) ? int32(pkt) : -1);
      this.eof.push(Number.isFinite(off) ? int32(off) : -1);
      this.eki.push(KINDS[kind] ?? 0);
    }
    return id;
  }

  /** The page. Async only for the optional gzip step (the platform's CompressionStream) and the CSP hashes. */
  async build(meta: ReportMeta): Promise<string> {
    return renderPage(this.model(meta));
  }

  /** Everything the page shows, computed from the columns and aggregates (exposed for tests). */
  model(meta: ReportMeta): PageModel {
    const kept = this.lab.length;
    const t0 = Number.isFinite(this.first) ? this.first : 0;
    const span = Number.isFinite(this.first) ? Math.max(0, this.last - this.first) : 0;
    const sensors = new Map(this.bySensor);
    for (const s of meta.sensors ?? []) if (!sensors.has(s)) sensors.set(s, { ...newTally(), first: Infinity, last: -Infinity });
    return {
      meta,
      flows: this.n,
      kept,
      untimed: this.untimed,
      first: this.first,
      last: this.last,
      total: this.total,
      listVersions: [...this.listVersions].sort((a, b) => a - b),
      byProtocol: sortTallies(this.byProtocol),
      byRegistrant: sortTallies(this.byRegistrant),
      byRule: sortTallies(this.byRule),
      bySensor: [...sensors].sort((a, b) => a[0].localeCompare(b[0])),
      verdictAt: this.verdictAt,
      payloadCut: { flows: this.cut, ordinary: this.cutOrdinary },
      captureCapped: { flows: this.capped, ordinary: this.cappedOrdinary },
      time: timeSeries(this.lab, this.t, this.du, this.by, t0, span, this.maxTimeBins),
      compress: this.compress === 'auto' ? null : this.compress,
      compressAutoChars: COMPRESS_AUTO_CHARS,
      dataJson: () => this.dataJson(t0),
      reasonsJson: () => JSON.stringify(this.R.strings),
    };
  }

  /**
   * Column-oriented JSON for the page script: one array per field, one string table, one evidence-item table.
   * Flows go out in first-seen order, which is the table's default order, and their times as deltas from the
   * flow before: small numbers that compress ~3x better than absolute times (untimed flows last, `nt` timed).
   */
  private dataJson(t0: number): string {
    const n = this.lab.length;
    const t = this.t.data;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => {
      const ta = t[a]!, tb = t[b]!;
      if (Number.isNaN(ta)) return Number.isNaN(tb) ? a - b : 1;
      if (Number.isNaN(tb)) return -1;
      return ta - tb || a - b;
    });
    const deltas: number[] = [];
    let prev = t0;
    for (const i of order) {
      const v = t[i]!;
      if (Number.isNaN(v)) break;
      deltas.push(v - prev);
      prev = v;
    }
    const off = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) off[i + 1] = off[i]! + this.ec.data[i]!;
    const ei: number[] = [];
    for (const i of order) for (let k = off[i]!; k < off[i + 1]!; k++) ei.push(this.ei.data[k]!);
    // A column holding one value for every flow (list version, sensor, transport of a one-protocol capture…) is
    // written as that number alone; the page script expands it.
    const perm = (c: IntColumn | FloatColumn): string => {
      const out = new Array<number>(n);
      let same = true;
      for (let k = 0; k < n; k++) {
        out[k] = c.data[order[k]!]!;
        same &&= out[k] === out[0];
      }
      return same && n > 0 ? String(out[0]) : `[${out.join(',')}]`;
    };
    const cols: Array<[string, string]> = [
      ['lab', perm(this.lab)], ['pr', perm(this.pr)], ['tr', perm(this.tr)], ['sh', perm(this.sh)], ['sp', perm(this.sp)],
      ['dh', perm(this.dh)], ['dp', perm(this.dp)], ['pk', perm(this.pk)], ['by', perm(this.by)], ['rg', perm(this.rg)],
      ['t', `[${deltas.join(',')}]`], ['du', perm(this.du)], ['dec', perm(this.dec)], ['cf', perm(this.cf)],
      ['lv', perm(this.lv)], ['ec', perm(this.ec)], ['ei', `[${ei.join(',')}]`], ['sn', perm(this.sn)],
    ];
    if (this.hasVlan) cols.push(['vl', perm(this.vl)]);
    if (this.hasEncap) cols.push(['en', perm(this.en)]);
    const items: Array<[string, IntColumn]> = [
      ['so', this.eso], ['pr', this.epr], ['st', this.est], ['ru', this.eru], ['re', this.ere], ['pk', this.epk],
      ['of', this.eof], ['ki', this.eki],
    ];
    return (
      `{"v":1,"n":${n},"nt":${deltas.length},"t0":${t0},"S":${JSON.stringify(this.S.strings)},` +
      `"c":{${cols.map(([k, c]) => `"${k}":${c}`).join(',')}},` +
      `"e":{${items.map(([k, c]) => `"${k}":${c.json()}`).join(',')}}}`
    );
  }
}

/**
 * Build a report from any iterable or async iterable of records (an array, a generator over an NDJSON file,
 * a message stream).
 */
export async function buildReport(
  records: Iterable<ReportRecord> | AsyncIterable<ReportRecord>,
  meta: ReportMeta,
  options: ReportOptions = {},
): Promise<string> {
  const b = new ReportBuilder(options);
  for await (const r of records) b.add(r);
  return b.build(meta);
}

/** The item that decided a VPN verdict, as the table output shows it: strongest first, registration never. */
function decidingRule(ev: ReportRecord['evidence']): string {
  let medium: string | null = null, any: string | null = null;
  for (const e of ev) {
    if (e.source === 'registered') continue;
    if (e.strength === 'strong') return e.rule;
    if (e.strength === 'medium') medium ??= e.rule;
    any ??= e.rule;
  }
  return medium ?? any ?? '(no item)';
}

function finite(x: number): number {
  return typeof x === 'number' && Number.isFinite(x) ? x : 0;
}

/**
 * A byte or packet count as a sum can take it: a count past 2^53 (no capture holds one) is clamped there, so a
 * million of them still add up to a finite total and the charts' shares stay numbers (1.7e308 twice is Infinity,
 * and Infinity / Infinity drew NaN-wide bars).
 */
function count53(x: number): number {
  return Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, finite(x)));
}

/**
 * A number for an Int32 column: truncated and clamped, because a typed array stores 2^31 as -2^31 and 2^32 + 5 as
 * 5, and a wrapped value would be shown as if it were the record's.
 */
function int32(x: number): number {
  return Math.max(-0x8000_0000, Math.min(0x7fff_ffff, Math.trunc(finite(x))));
}

function count(t: Tally, li: number, bytes: number, packets: number): void {
  t.flows[li]!++;
  t.bytes[li]! += bytes;
  t.packets[li]! += packets;
}

function tallyOf(m: Map<string, Tally>, k: string): Tally {
  let t = m.get(k);
  if (!t) m.set(k, (t = newTally()));
  return t;
}

function sortTallies(m: Map<string, Tally>): Array<[string, Tally]> {
  const sum = (t: Tally): number => t.flows[0]! + t.flows[1]! + t.flows[2]!;
  return [...m].sort((a, b) => sum(b[1]) - sum(a[1]) || a[0].localeCompare(b[0]));
}

/** Flows (by first-seen bin) and bytes (spread evenly over each flow's lifetime) per time bin and label. */
function timeSeries(lab: IntColumn, t: FloatColumn, du: FloatColumn, by: FloatColumn, t0: number, span: number, maxBins: number): PageModel['time'] {
  const binUs = niceBinUs(span, maxBins);
  const nb = Math.max(1, Math.ceil((span + 1) / binUs));
  const flows = LABELS.map(() => new Float64Array(nb));
  const bytes = LABELS.map(() => new Float64Array(nb));
  for (let i = 0; i < lab.length; i++) {
    const first = t.data[i]!;
    if (Number.isNaN(first)) continue;
    const li = lab.data[i]!;
    const s = first - t0, d = du.data[i]!, b = by.data[i]!;
    const b0 = Math.min(nb - 1, Math.floor(s / binUs));
    flows[li]![b0]!++;
    const b1 = Math.min(nb - 1, Math.floor((s + d) / binUs));
    if (b1 === b0 || d <= 0) {
      bytes[li]![b0]! += b;
      continue;
    }
    for (let k = b0; k <= b1; k++) {
      const lo = Math.max(s, k * binUs), hi = Math.min(s + d, (k + 1) * binUs);
      if (hi > lo) bytes[li]![k]! += (b * (hi - lo)) / d;
    }
  }
  return { t0, binUs, bins: nb, flows, bytes };
}

