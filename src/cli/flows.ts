/**
 * `tunnelscope flows <capture|->`: list flows (transport, initiator, responder, counters, times) without
 * classification. Data on stdout (ndjson or table), everything else on stderr.
 *
 * Record: {"transport","src","dst","vlan"?,"encap"?,"packets","bytes","firstSeen","lastSeen","end"}
 *   src = initiator (TCP: the SYN sender), firstSeen/lastSeen = ISO-8601 UTC with microseconds,
 *   end = why the flow ended (idle | evicted | fin | rst | eof).
 * Exit codes: 0 ok (also when stdout is closed early), 1 unexpected failure, 2 usage error, missing/unreadable
 * file, or a capture that is not pcap/pcapng or is corrupt (the message names the file and byte offset).
 */
import { TunnelscopeError } from '../errors.js';
import { Decoder, newPacketView } from '../trace/decode.js';
import { FlowTable } from '../trace/flow-table.js';
import { transportName } from '../trace/flow-format.js';
import { readCaptureFileSync, readCaptureStream, type ReaderStats } from '../trace/reader.js';
import { ENCAP_NAMES, type EndReason, type FlowHandle, type RawPacket } from '../trace/types.js';
import { cannotReadReason, choiceFlag, numberFlag, parseCli, reportUsage, UsageError } from './args.js';
import { defaultFormat, isoMicros, NdjsonWriter, OutputSink, TableWriter } from './output.js';

export const FLOWS_USAGE =
  'usage: tunnelscope flows <capture|-> [--format ndjson|table] [--idle-timeout S] [--tcp-idle-timeout S] [--max-flows N] [--quiet]';

const HELP = `${FLOWS_USAGE}

List the bidirectional flows of a pcap/pcapng capture ('-' reads stdin).

options:
  --format ndjson|table   output format (default: table on a terminal, else ndjson)
  --idle-timeout S        end non-TCP flows idle for S seconds of capture time (default 120)
  --tcp-idle-timeout S    end TCP flows idle for S seconds of capture time (default 300)
  --max-flows N           live flow cap; the least recently active flow is evicted beyond it (default 1000000)
  -q, --quiet             no summary on stderr
  -h, --help              this text

output: one record per flow, in the order flows end:
  {"transport","src","dst","vlan"?,"encap"?,"packets","bytes","firstSeen","lastSeen","end"}
  src = initiator (TCP: the SYN sender), endpoints ip:port / [ipv6]:port / bare ip for portless transports,
  times ISO-8601 UTC with microseconds (capture time), end = idle | evicted | fin | rst | eof.
  A summary (packets read, malformed skipped by reason, flows emitted) goes to stderr.

exit codes: 0 ok, 1 unexpected failure, 2 usage error, missing file, or corrupt/unknown capture format

examples:
  tunnelscope flows trace.pcapng --format table
  tcpdump -w - -i eth0 | tunnelscope flows - | jq 'select(.transport == "udp")'
`;

/** One output record. */
export interface FlowRecordOut {
  transport: string;
  src: string;
  dst: string;
  vlan?: number;
  encap?: string;
  packets: number;
  bytes: number;
  firstSeen: string;
  lastSeen: string;
  end: EndReason;
}

/** Build the output record of a flow (at its end: allocates). */
export function flowRecord(f: FlowHandle, reason: EndReason): FlowRecordOut {
  const r: FlowRecordOut = {
    transport: transportName(f.transport),
    src: f.srcText(),
    dst: f.dstText(),
    packets: f.packetsFwd + f.packetsRev,
    bytes: f.bytesFwd + f.bytesRev,
    firstSeen: isoMicros(f.firstSeenUs),
    lastSeen: isoMicros(f.lastSeenUs),
    end: reason,
  };
  if (f.vlan >= 0) r.vlan = f.vlan;
  const encap = ENCAP_NAMES[f.encap];
  if (encap) r.encap = encap;
  // Key order as documented.
  return {
    transport: r.transport, src: r.src, dst: r.dst,
    ...(r.vlan !== undefined ? { vlan: r.vlan } : {}),
    ...(r.encap !== undefined ? { encap: r.encap } : {}),
    packets: r.packets, bytes: r.bytes, firstSeen: r.firstSeen, lastSeen: r.lastSeen, end: r.end,
  };
}

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
}

/** Thrown from the packet callback to stop reading once stdout is gone. */
class StopReading extends Error {}

export async function run(
  argv: string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
): Promise<number> {
  const { stdout, stderr } = io;
  let input: string, format: 'ndjson' | 'table', quiet: boolean;
  let idle: number | undefined, tcpIdle: number | undefined, maxFlows: number | undefined;
  try {
    const { values, positionals } = parseCli(
      argv,
      {
        format: { type: 'string' },
        'idle-timeout': { type: 'string' },
        'tcp-idle-timeout': { type: 'string' },
        'max-flows': { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
      { min: 0, max: 1, name: 'capture file (or - for stdin)' },
    );
    if (values.help === true) {
      stdout.write(HELP);
      return 0;
    }
    if (positionals.length === 0) throw new UsageError('missing capture file (or - for stdin)');
    input = positionals[0]!;
    format = choiceFlag('format', values.format, ['ndjson', 'table'] as const, defaultFormat(stdout));
    idle = numberFlag('idle-timeout', values['idle-timeout'], { min: 0 });
    tcpIdle = numberFlag('tcp-idle-timeout', values['tcp-idle-timeout'], { min: 0 });
    maxFlows = numberFlag('max-flows', values['max-flows'], { min: 1, max: 1 << 28, integer: true });
    quiet = values.quiet === true;
  } catch (err) {
    if (err instanceof UsageError) return reportUsage(stderr, 'flows', err, FLOWS_USAGE);
    throw err;
  }

  const sink = new OutputSink(stdout);
  const nd = new NdjsonWriter(sink);
  const table = new TableWriter<FlowRecordOut>(sink, [
    { header: 'TRANSPORT', width: 9, cell: (r) => r.transport },
    { header: 'SRC', width: 22, cell: (r) => r.src },
    { header: 'DST', width: 22, cell: (r) => r.dst },
    { header: 'VLAN', width: 4, align: 'right', cell: (r) => (r.vlan === undefined ? '-' : String(r.vlan)) },
    { header: 'ENCAP', width: 6, cell: (r) => r.encap ?? '-' },
    { header: 'PKTS', width: 8, align: 'right', cell: (r) => String(r.packets) },
    { header: 'BYTES', width: 11, align: 'right', cell: (r) => String(r.bytes) },
    { header: 'FIRST', width: 27, cell: (r) => r.firstSeen },
    { header: 'LAST', width: 27, cell: (r) => r.lastSeen },
    { header: 'END', width: 7, cell: (r) => r.end },
  ]);
  let emitted = 0;
  const flows = new FlowTable(
    {
      ...(idle !== undefined ? { idleTimeoutSec: idle } : {}),
      ...(tcpIdle !== undefined ? { tcpIdleTimeoutSec: tcpIdle } : {}),
      ...(maxFlows !== undefined ? { maxFlows } : {}),
      maxPayloadPackets: 0, // listing needs no payload snippets
    },
    {
      onEnd(f, reason) {
        emitted++;
        const r = flowRecord(f, reason);
        if (format === 'table') table.write(r);
        else nd.write(r);
      },
    },
  );
  const decoder = new Decoder();
  const view = newPacketView();
  let rawPackets = 0;
  const onPacket = (raw: RawPacket): void => {
    rawPackets++;
    if (decoder.decode(raw, view)) flows.add(view);
    if (sink.closed) throw new StopReading();
  };

  const source = input === '-' ? '<stdin>' : input;
  let readerStats: ReaderStats | null = null;
  try {
    readerStats = input === '-' ? await readCaptureStream(io.stdin, source, onPacket) : readCaptureFileSync(input, onPacket);
    flows.flush();
    await sink.end();
  } catch (err) {
    if (err instanceof StopReading || sink.closed) return 0;
    if (err instanceof TunnelscopeError) {
      // A corrupt tail (capture cut mid-record) still lists the flows read up to the bad offset.
      if (err.code === 'TS_CAPTURE_FORMAT' && rawPackets > 0) {
        try {
          flows.flush();
          await sink.end();
        } catch {
          /* the format error is what we report */
        }
      }
      stderr.write(`tunnelscope flows: ${err.message}\n`);
      return err.code === 'TS_CAPTURE_FORMAT' ? 2 : 1;
    }
    const why = cannotReadReason(err);
    if (why !== null) {
      stderr.write(`tunnelscope flows: cannot read ${source}: ${why}\n`);
      return 2;
    }
    stderr.write(`tunnelscope flows: ${source}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  if (sink.closed) return 0;
  if (!quiet) stderr.write(summary(source, rawPackets, readerStats, decoder, flows, emitted));
  return 0;
}

function summary(source: string, raw: number, rs: ReaderStats | null, d: Decoder, t: FlowTable, emitted: number): string {
  const mal = Object.entries(d.stats.malformed).filter(([, n]) => n > 0);
  const malTotal = mal.reduce((a, [, n]) => a + n, 0);
  const s = t.stats;
  let out = `tunnelscope flows: ${source}: ${raw} packets read, ${d.stats.decoded} decoded`;
  out += `, ${malTotal} malformed skipped${mal.length ? ` (${mal.map(([k, n]) => `${k}: ${n}`).join(', ')})` : ''}`;
  out += `; ${emitted} flows emitted (idle ${s.idle}, evicted ${s.evicted}, fin ${s.fin}, rst ${s.rst}, eof ${s.eof})`;
  if (s.fragmentsUnmatched > 0) out += `; ${s.fragmentsUnmatched} unmatched fragments`;
  if (rs !== null && rs.truncatedRecords > 0) out += `; ${rs.truncatedRecords} records cut by snaplen`;
  if (rs !== null && rs.skippedBlocks + rs.unknownBlocks > 0) out += `; ${rs.skippedBlocks + rs.unknownBlocks} blocks skipped`;
  return out + '\n';
}
