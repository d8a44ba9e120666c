/**
 * classify's output: the formats its records can be written in (CLASSIFY_FORMATS), and the tally behind
 * `--summary` and the end-of-run line. Formats write through the batched stdout sink, so a closed stdout
 * (`| head`) stops output quietly.
 */
import type { FlowRecord } from '../classify/record.js';
import type { Label } from '../classify/types.js';
import { jsonFormat, ndjsonFormat, type OutputFormat } from './formats.js';
import { TableWriter, type TableColumn } from './table.js';

const LABELS: readonly Label[] = ['registered_vpn', 'unregistered_vpn', 'ordinary'];

/** The item that decided a flow's label: strongest first, registration last. */
export function decidingEvidence(r: FlowRecord): string {
  const items = r.evidence.filter((x) => x.source !== 'registered');
  const e = items.find((x) => x.strength === 'strong') ?? items.find((x) => x.strength === 'medium') ?? items[0];
  return e ? `${e.rule} (${e.strength}): ${e.reason}` : '-';
}

const COLUMNS: readonly TableColumn<FlowRecord>[] = [
  { header: 'LABEL', min: 8, cell: (r) => r.label },
  { header: 'PROTOCOL', min: 8, max: 16, cell: (r) => r.protocol ?? '-' },
  { header: 'CONF', align: 'right', cell: (r) => r.confidence.toFixed(2) },
  { header: 'L4', min: 4, cell: (r) => r.transport },
  { header: 'SRC', min: 15, cell: (r) => r.src },
  { header: 'DST', min: 15, cell: (r) => r.dst },
  { header: 'PKTS', align: 'right', min: 5, cell: (r) => String(r.packets) },
  { header: 'BYTES', align: 'right', min: 6, cell: (r) => String(r.bytes) },
  { header: 'REGISTRANT', min: 10, max: 24, cell: (r) => r.registrant ?? '-' },
  { header: 'EVIDENCE', cell: decidingEvidence },
];

const tableFormat: OutputFormat<FlowRecord> = {
  name: 'table',
  description: 'aligned columns, the deciding evidence last',
  human: true,
  open: (sink, ctx) => {
    const out = ctx.io.stdout;
    const t = new TableWriter(sink, COLUMNS, {
      // A live run shows rows as they come (widths fitted to the first and widened as needed).
      holdRows: ctx.live ? 1 : 5000,
      lineWidth: out.isTTY === true && typeof out.columns === 'number' ? out.columns : 0,
      empty: '(no flows)',
    });
    return { record: (r) => t.write(r), flush: () => t.flush(), end: () => t.end() };
  },
};

/** The formats `classify --format` offers. */
export const CLASSIFY_FORMATS: OutputFormat<FlowRecord>[] = [
  ndjsonFormat('one JSON record per flow, in the order flows end'),
  tableFormat,
  jsonFormat('flows', 'one document {flows, summary} at the end'),
];

/** Counts per label and per VPN protocol, for `--summary` and the end-of-run line. */
export class Tally {
  flows = 0;
  vpn = 0;
  readonly byLabel: Record<Label, number> = { registered_vpn: 0, unregistered_vpn: 0, ordinary: 0 };
  readonly byProtocol = new Map<string, number>();

  add(r: FlowRecord): void {
    this.flows++;
    this.byLabel[r.label]++;
    if (r.label !== 'ordinary') {
      this.vpn++;
      const p = r.protocol ?? 'unknown';
      this.byProtocol.set(p, (this.byProtocol.get(p) ?? 0) + 1);
    }
  }

  /** The summary as data: every label is present, zero or not, as in the text form. */
  toJSON(): { flows: number; byLabel: Record<Label, number>; vpnByProtocol: Record<string, number> } {
    return { flows: this.flows, byLabel: { ...this.byLabel }, vpnByProtocol: Object.fromEntries(this.sortedProtocols()) };
  }

  text(): string {
    const lines = [`flows: ${this.flows}`];
    for (const l of LABELS) lines.push(`  ${l.padEnd(18)} ${this.byLabel[l]}`);
    if (this.byProtocol.size) {
      lines.push('VPN flows by protocol:');
      for (const [p, n] of this.sortedProtocols()) lines.push(`  ${p.padEnd(18)} ${n}`);
    }
    return `${lines.join('\n')}\n`;
  }

  private sortedProtocols(): [string, number][] {
    return [...this.byProtocol].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}
