/**
 * Writes classify records as ndjson (streamed), a table (streamed, fixed-width columns) or json (one document
 * at the end), and keeps the per-label/protocol counts for --summary. Built on the shared output sink, so a
 * closed stdout (`| head`) stops output quietly.
 */
import type { FlowRecord } from '../classify/record.js';
import { NdjsonWriter, OutputSink, TableWriter, type OutputFormat, type TableColumn } from './output.js';

const COLUMNS: readonly TableColumn<FlowRecord>[] = [
  { header: 'LABEL', width: 16, cell: (r) => r.label },
  { header: 'PROTOCOL', width: 15, cell: (r) => r.protocol ?? '-' },
  { header: 'CONF', width: 4, align: 'right', cell: (r) => r.confidence.toFixed(2) },
  { header: 'L4', width: 4, cell: (r) => r.transport },
  { header: 'SRC', width: 21, cell: (r) => r.src },
  { header: 'DST', width: 21, cell: (r) => r.dst },
  { header: 'PKTS', width: 6, align: 'right', cell: (r) => String(r.packets) },
  { header: 'BYTES', width: 9, align: 'right', cell: (r) => String(r.bytes) },
  { header: 'REGISTRANT', width: 10, cell: (r) => r.registrant ?? '-' },
  {
    header: 'EVIDENCE',
    width: 0,
    cell: (r) => {
      // The item that decided: strongest first, registration last.
      const items = r.evidence.filter((x) => x.source !== 'registered');
      const e = items.find((x) => x.strength === 'strong') ?? items.find((x) => x.strength === 'medium') ?? items[0];
      return e ? `${e.rule} (${e.strength}): ${e.reason}` : '-';
    },
  },
];

export class RecordWriter {
  readonly counts = { flows: 0, vpn: 0, byLabel: new Map<string, number>(), byProtocol: new Map<string, number>() };
  private readonly sink: OutputSink;
  private readonly nd: NdjsonWriter;
  private readonly table: TableWriter<FlowRecord>;
  private buffered: FlowRecord[] = [];
  private rows = 0;

  constructor(
    stream: NodeJS.WritableStream,
    private readonly format: OutputFormat,
    private readonly opts: { onlyVpn: boolean; summary: boolean; stderr: NodeJS.WritableStream },
  ) {
    this.sink = new OutputSink(stream);
    this.nd = new NdjsonWriter(this.sink);
    this.table = new TableWriter(this.sink, COLUMNS);
  }

  /** True once the reader of stdout went away: producers may stop. */
  get closed(): boolean {
    return this.sink.closed;
  }

  write(r: FlowRecord): void {
    this.counts.flows++;
    this.counts.byLabel.set(r.label, (this.counts.byLabel.get(r.label) ?? 0) + 1);
    if (r.label !== 'ordinary') {
      this.counts.vpn++;
      const p = r.protocol ?? 'unknown';
      this.counts.byProtocol.set(p, (this.counts.byProtocol.get(p) ?? 0) + 1);
    }
    if (this.opts.onlyVpn && r.label === 'ordinary') return;
    this.rows++;
    if (this.format === 'ndjson') this.nd.write(r);
    else if (this.format === 'table') this.table.write(r);
    else this.buffered.push(r);
  }

  /** Summary text: counts per label and per VPN protocol. */
  summaryText(): string {
    const lines = [`flows: ${this.counts.flows}`];
    for (const l of ['registered_vpn', 'unregistered_vpn', 'ordinary']) lines.push(`  ${l.padEnd(18)} ${this.counts.byLabel.get(l) ?? 0}`);
    if (this.counts.byProtocol.size) {
      lines.push('VPN flows by protocol:');
      const rows = [...this.counts.byProtocol].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      for (const [p, n] of rows) lines.push(`  ${p.padEnd(18)} ${n}`);
    }
    return `${lines.join('\n')}\n`;
  }

  /** Finish output (json document, summary) and wait until stdout took it. */
  async end(): Promise<void> {
    if (this.format === 'json') {
      const summary = { flows: this.counts.flows, byLabel: Object.fromEntries(this.counts.byLabel), vpnByProtocol: Object.fromEntries(this.counts.byProtocol) };
      this.sink.write(`${JSON.stringify({ flows: this.buffered, summary })}\n`);
      this.buffered = [];
    } else if (this.format === 'table' && this.rows === 0) {
      this.sink.write('(no flows)\n');
    }
    if (this.opts.summary) {
      // Human format: the summary is part of the data. Machine formats: keep stdout parseable.
      if (this.format === 'table') this.sink.write(`\n${this.summaryText()}`);
      else this.opts.stderr.write(this.summaryText());
    }
    await this.sink.end();
  }
}
