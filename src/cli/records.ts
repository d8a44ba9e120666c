/**
 * classify's output: the formats its records can be written in (CLASSIFY_FORMATS), and the tally behind
 * `--summary` and the end-of-run line. Formats write through the batched stdout sink, so a closed stdout
 * (`| head`) stops output quietly.
 */
import type { FlowRecord } from '../classify/record.js';
import type { Label } from '../classify/types.js';
import { jsonFormat, ndjsonFormat, type OutputFormat } from './formats.js';
import { TableWriter, type TableColumn } from './table.js';
import { PIPELINE_FORMATS } from './record-formats.js';
import { decidingEvidence as decidingItem } from '../output/fields.js';

const LABELS: readonly Label[] = ['registered_vpn', 'unregistered_vpn', 'ordinary'];

/** The item that decided a flow's label (strongest first, registration last), as the table shows it. */
export function decidingEvidence(r: FlowRecord): string {
  const e = decidingItem(r);
  const notes: string[] = [];
  if (r.payloadCut) notes.push(`payload of ${r.payloadCut} inspected packet(s) cut short by the capture`);
  if (r.captureCapped) notes.push('inspection cut short by the flow table\'s cap');
  const cut = notes.join('; ');
  if (!e) return cut || '-';
  return `${e.rule} (${e.strength}): ${e.reason}${cut ? `; ${cut}` : ''}`;
}

/**
 * Columns whose values are known in advance start at their widest value: a table flushed early (a live run's timed
 * flush, after one row) would otherwise widen them at the first longer label or protocol, and the rows above would
 * no longer line up. Endpoints start at the widest IPv4 one (IPv6 rows still widen them).
 */
const COLUMNS: readonly TableColumn<FlowRecord>[] = [
  { header: 'LABEL', min: Math.max(...LABELS.map((l) => l.length)), cell: (r) => r.label },
  { header: 'PROTOCOL', min: 16, max: 16, cell: (r) => r.protocol ?? '-' },
  { header: 'CONF', align: 'right', cell: (r) => r.confidence.toFixed(2) },
  { header: 'L4', min: 5, cell: (r) => r.transport },
  { header: 'SRC', min: 21, cell: (r) => r.src },
  { header: 'DST', min: 21, cell: (r) => r.dst },
  { header: 'PKTS', align: 'right', min: 5, cell: (r) => String(r.packets) },
  { header: 'BYTES', align: 'right', min: 6, cell: (r) => String(r.bytes) },
  { header: 'REGISTRANT', min: 10, max: 24, cell: (r) => r.registrant ?? '-' },
  { header: 'EVIDENCE', cell: decidingEvidence },
];

const tableFormat: OutputFormat<FlowRecord> = {
  name: 'table',
  description: 'aligned columns, the deciding evidence last',
  human: true,
  verdicts: true,
  open: (sink, ctx) => {
    const out = ctx.io.stdout;
    // Several captures: which one a row came from, before the evidence (the last column, which may run long).
    const columns = ctx.meta.several === true ? [...COLUMNS.slice(0, -1), { header: 'CAPTURE', cell: (r: FlowRecord) => r.capture ?? '-' }, COLUMNS.at(-1)!] : COLUMNS;
    const t = new TableWriter(sink, columns, {
      // Rows are held to fit the widths; a live run's timed flush releases them within the output bound.
      holdRows: 5000,
      lineWidth: out.isTTY === true && typeof out.columns === 'number' ? out.columns : 0,
      empty: '(no flows)',
    });
    // A verdict is a row like a record's (its counters so far).
    return { record: (r) => t.write(r), verdict: (r) => t.write(r), flush: () => t.flush(), end: () => t.end() };
  },
};

/** The formats `classify --format` offers. */
export const CLASSIFY_FORMATS: OutputFormat<FlowRecord>[] = [
  ndjsonFormat('one JSON record per flow, in the order flows end'),
  tableFormat,
  jsonFormat('flows', 'one document {flows, summary} at the end'),
  ...PIPELINE_FORMATS,
];

/** Counts per label and per VPN protocol, for `--summary` and the end-of-run line. */
export class Tally {
  flows = 0;
  vpn = 0;
  /** Flows whose inspected payload the capture cut short, and how many of them are ordinary. */
  cut = 0;
  cutOrdinary = 0;
  /** Flows a flow-table cap stopped recording early (FlowRecord.captureCapped), and how many of them are ordinary. */
  capped = 0;
  cappedOrdinary = 0;
  /** Flows ended by eviction at the live-flow cap (a later packet of the same connection starts a new flow). */
  evicted = 0;
  readonly byLabel: Record<Label, number> = { registered_vpn: 0, unregistered_vpn: 0, ordinary: 0 };
  readonly byProtocol = new Map<string, number>();

  add(r: FlowRecord): void {
    this.flows++;
    this.byLabel[r.label]++;
    if (r.payloadCut) {
      this.cut++;
      if (r.label === 'ordinary') this.cutOrdinary++;
    }
    if (r.end === 'evicted') this.evicted++;
    if (r.captureCapped) {
      this.capped++;
      if (r.label === 'ordinary') this.cappedOrdinary++;
    }
    if (r.label !== 'ordinary') {
      this.vpn++;
      const p = r.protocol ?? 'unknown';
      this.byProtocol.set(p, (this.byProtocol.get(p) ?? 0) + 1);
    }
  }

  /** For the end-of-run line on stderr: flows judged on less than their detectors asked for, and why ('' if none). */
  shortNote(): string {
    return (
      (this.cut > 0 ? `${this.cut} flows inspected on payload the capture cut short, ` : '') +
      (this.capped > 0 ? `${this.capped} flows inspected short by the table's cap (--max-long-inspections), ` : '') +
      (this.evicted > 0 ? `${this.evicted} flows evicted at the live-flow cap (--max-flows), ` : '')
    );
  }

  /** The summary as data: every label is present, zero or not, as in the text form. */
  toJSON(): {
    flows: number;
    byLabel: Record<Label, number>;
    vpnByProtocol: Record<string, number>;
    payloadCut?: { flows: number; ordinary: number };
    captureCapped?: { flows: number; ordinary: number };
  } {
    return {
      flows: this.flows,
      byLabel: { ...this.byLabel },
      vpnByProtocol: Object.fromEntries(this.sortedProtocols()),
      ...(this.cut > 0 ? { payloadCut: { flows: this.cut, ordinary: this.cutOrdinary } } : {}),
      ...(this.capped > 0 ? { captureCapped: { flows: this.capped, ordinary: this.cappedOrdinary } } : {}),
    };
  }

  text(): string {
    const lines = [`flows: ${this.flows}`];
    for (const l of LABELS) lines.push(`  ${l.padEnd(18)} ${this.byLabel[l]}`);
    if (this.byProtocol.size) {
      lines.push('VPN flows by protocol:');
      for (const [p, n] of this.sortedProtocols()) lines.push(`  ${p.padEnd(18)} ${n}`);
    }
    if (this.cut > 0) lines.push(`payload cut by the capture (snap length): ${this.cut} flows, ${this.cutOrdinary} of them ordinary at confidence 0.6`);
    if (this.capped > 0) {
      lines.push(`inspection cut by a flow-table cap (--max-long-inspections): ${this.capped} flows, ${this.cappedOrdinary} of them ordinary at confidence 0.6`);
    }
    return `${lines.join('\n')}\n`;
  }

  private sortedProtocols(): [string, number][] {
    return [...this.byProtocol].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}
