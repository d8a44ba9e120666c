/**
 * `tunnelscope flows <capture|->`: list flows (transport, initiator, responder, counters, times) without
 * classification. Data on stdout (ndjson or table), everything else on stderr.
 *
 * Record: {"transport","src","dst","vlan"?,"encap"?,"packets","bytes","firstSeen","lastSeen","end"}
 *   src = initiator (TCP: the SYN sender), firstSeen/lastSeen = ISO-8601 UTC with microseconds,
 *   end = why the flow ended (idle | evicted | fin | rst | eof | stop).
 * Exit codes: 0 ok (also when stdout is closed early), 1 unexpected failure, 2 usage error, missing/unreadable
 * file, or a capture that is not pcap/pcapng or is corrupt (the message names the file and byte offset).
 */
import { statSync } from 'node:fs';
import { TunnelscopeError } from '../errors.js';
import { findCaptures, UNNAMED, type FoundCaptures } from '../batch/find.js';
import { safeText } from '../text.js';
import { Decoder, newPacketView } from '../trace/decode.js';
import { FlowTable } from '../trace/flow-table.js';
import { transportName } from '../trace/flow-format.js';
import type { ReaderStats } from '../trace/reader.js';
import { addReaderProblems } from '../trace/container.js';
import { ENCAP_NAMES, type EndReason, type FlowHandle, type RawPacket } from '../trace/types.js';
import type { Command } from 'commander';
import { cannotReadReason, choiceFlag, MAX_CAPTURE_SECONDS, numberFlag, traceFlags, UsageError, writeUnreadable } from './args.js';
import { fallbackNote } from './fallback-note.js';
import { defaultFormat, isBatchedOutput, isoMicros, OutputSink } from './output.js';
import { findFormat, formatsHelp, jsonFormat, ndjsonFormat, type OutputFormat } from './formats.js';
import { processIo, type CliIo } from './io.js';
import { QuietClock, readFileUntil, readStreamUntil, StopFlag, stopOnSignals, TimedFlush } from './live.js';
import { orderPieces, piecesNote, readPiecesUntil, type PiecesRead } from './pieces.js';
import { action, subcommand, type CliContext, type Subcommand } from './program.js';
import { TableWriter } from './table.js';

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
  /** The capture file, when several were listed in one run. */
  capture?: string;
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

export type { CliIo } from './io.js';

/** Thrown from the packet callback to stop reading once stdout is gone. */
class StopReading extends Error {}

const NAME = 'flows';

const AFTER_HELP = `
Output: one record per flow, in the order flows end:
  {"transport","src","dst","vlan"?,"encap"?,"packets","bytes","firstSeen","lastSeen","end"}
  src = initiator (TCP: the SYN sender), endpoints ip:port / [ipv6]:port / bare ip for portless transports,
  times ISO-8601 UTC with microseconds (capture time), end = idle | evicted | fin | rst | eof | stop.
  A summary (packets read, malformed skipped by reason, flows emitted, tunnelled packets counted as their
  carrier flow) goes to stderr.
  SIGINT/SIGTERM stop the run: live flows end with reason stop, records and summary are written, exit 0 (a
  second signal exits at once, 130/143). A live capture on stdin (packet times within a minute of this clock)
  ends idle flows while it is quiet, and its flows end with stop when its input closes.

Exit codes: 0 ok (also after a stop signal), 1 unexpected failure, 2 usage error, missing file, or corrupt/unknown
capture format.

Examples:
  tunnelscope flows trace.pcapng --format table
  tcpdump -i eth0 -U -w - | tunnelscope flows - | jq 'select(.transport == "udp")'
`;

const FLOW_COLUMNS = [
  { header: 'TRANSPORT', min: 4, cell: (r: FlowRecordOut) => r.transport },
  { header: 'SRC', min: 15, cell: (r: FlowRecordOut) => r.src },
  { header: 'DST', min: 15, cell: (r: FlowRecordOut) => r.dst },
  { header: 'VLAN', align: 'right' as const, cell: (r: FlowRecordOut) => (r.vlan === undefined ? '-' : String(r.vlan)) },
  { header: 'ENCAP', cell: (r: FlowRecordOut) => r.encap ?? '-' },
  { header: 'PKTS', min: 5, align: 'right' as const, cell: (r: FlowRecordOut) => String(r.packets) },
  { header: 'BYTES', min: 6, align: 'right' as const, cell: (r: FlowRecordOut) => String(r.bytes) },
  { header: 'FIRST', cell: (r: FlowRecordOut) => r.firstSeen },
  { header: 'LAST', cell: (r: FlowRecordOut) => r.lastSeen },
  { header: 'END', cell: (r: FlowRecordOut) => r.end },
];

/** The formats `flows --format` offers. */
export const FLOWS_FORMATS: OutputFormat<FlowRecordOut>[] = [
  ndjsonFormat('one JSON record per flow, in the order flows end'),
  {
    name: 'table',
    description: 'aligned columns',
    human: true,
    open: (sink, ctx) => {
      const columns = ctx.meta.several === true ? [...FLOW_COLUMNS, { header: 'CAPTURE', cell: (r: FlowRecordOut) => r.capture ?? '-' }] : FLOW_COLUMNS;
      const t = new TableWriter(sink, columns, { holdRows: ctx.live ? 1 : 5000, empty: '(no flows)' });
      return { record: (r) => t.write(r), flush: () => t.flush(), end: () => t.end() };
    },
  },
  jsonFormat('flows', 'one document {flows, summary} at the end'),
];

interface FlowsOpts {
  format?: string;
  idleTimeout?: string;
  tcpIdleTimeout?: string;
  maxFlows?: string;
  tcpLinger?: string;
  reassemblyTimeout?: string;
  maxReassemblies?: string;
  reassemblyMaxBytes?: string;
  oneTrace?: boolean;
  quiet?: boolean;
}

export const flowsCommand: Subcommand = {
  name: NAME,
  define(program: Command, ctx: CliContext): Command {
    return subcommand(program, ctx, NAME, 'list flows (5-tuple, counters, times) without classification')
      .argument('[captures...]', "pcap or pcapng captures and directories of them (searched recursively, by content); '-' reads stdin")
      .option('--format <F>', `${formatsHelp(FLOWS_FORMATS)}; default: table on a terminal, else ndjson`)
      .option('--idle-timeout <S>', 'end non-TCP flows idle for S seconds of capture time (default 120)')
      .option('--tcp-idle-timeout <S>', 'end TCP flows idle for S seconds of capture time (default 300)')
      .option('--max-flows <N>', 'live flow cap; the least recently active flow is evicted beyond it (default 1000000)')
      .option('--tcp-linger <S>', 'a closed TCP connection (RST, or FIN both ways) absorbs its trailing packets for S capture seconds after its last one (default 5; 0: ends at the close)')
      .option('--reassembly-timeout <S>', 'an IP datagram must arrive whole within S capture seconds of its first fragment (default 30)')
      .option('--max-reassemblies <N>', 'IP datagrams reassembled at once, oldest dropped beyond it (default 1024; 0 turns reassembly off)')
      .option('--reassembly-max-bytes <B>', 'fragment bytes held for reassembly at once, oldest datagram dropped beyond it (default 4194304, at least 131072)')
      .option('--one-trace', 'the captures are pieces of one recording (tcpdump -G/-C, a dumpcap ring buffer): read them as one trace, in the order of their first packets, so flows go on across pieces')
      .option('-q, --quiet', 'no summary on stderr')
      .addHelpText('after', AFTER_HELP)
      .action(action(ctx, NAME, (captures: string[], opts: FlowsOpts) => flows(captures, opts, ctx.io)));
  },
};

/** Run `flows` with its arguments (without the command name); resolves to the exit code. */
export async function run(argv: string[], io: CliIo = processIo()): Promise<number> {
  const { main } = await import('./main.js');
  return main([NAME, ...argv], io);
}

async function flows(captures: string[], opts: FlowsOpts, io: CliIo): Promise<number> {
  const { stdout, stderr } = io;
  if (captures.length === 0) throw new UsageError('missing capture file (or - for stdin)');
  if (captures.length > 1 && captures.includes('-')) throw new UsageError("'-' (stdin) cannot be mixed with other captures");
  const oneTrace = opts.oneTrace === true;
  if (oneTrace && captures.includes('-')) throw new UsageError('--one-trace reads capture files; stdin is one stream already');
  const several = oneTrace || captures.length > 1 || (captures[0] !== '-' && isDirectory(captures[0]!));
  let inputs = captures;
  let unnamed = 0;
  let unreadable: FoundCaptures['unreadable'] = [];
  if (several) {
    const found = findCaptures(captures);
    inputs = found.files;
    unnamed = found.unnamed.length;
    for (const p of found.unnamed) stderr.write(`tunnelscope flows: ${safeText(p, 256)}: ${UNNAMED}\n`);
    unreadable = found.unreadable;
    writeUnreadable(stderr, NAME, unreadable);
    if (inputs.length === 0) {
      if (unnamed === 0 && unreadable.length === 0) stderr.write(`tunnelscope flows: no pcap or pcapng captures in ${captures.map((c) => safeText(c, 256)).join(', ')}\n`);
      return 2;
    }
  }
  const format = findFormat(FLOWS_FORMATS, choiceFlag('format', opts.format, FLOWS_FORMATS.map((f) => f.name), defaultFormat(stdout)))!;
  const idle = numberFlag('idle-timeout', opts.idleTimeout, { min: 0, max: MAX_CAPTURE_SECONDS });
  const tcpIdle = numberFlag('tcp-idle-timeout', opts.tcpIdleTimeout, { min: 0, max: MAX_CAPTURE_SECONDS });
  const maxFlows = numberFlag('max-flows', opts.maxFlows, { min: 1, max: 1 << 28, integer: true });
  const trace = traceFlags(opts);
  const quiet = opts.quiet === true;

  const sink = new OutputSink(stdout);
  // Live, as in classify: a stream input, or output someone reads as it comes (pipe, terminal) gets every record
  // within the flush delay (FLUSH_MS); file to file keeps big batches.
  const live = inputs[0] === '-' || !isBatchedOutput(stdout);
  const writer = format.open(sink, { io, meta: { command: NAME, inputs, startedMs: Date.now(), several }, live });
  const timed = live
    ? new TimedFlush(() => {
        writer.flush?.();
        sink.flush();
      })
    : null;
  const ends: Record<EndReason, number> = { idle: 0, evicted: 0, fin: 0, rst: 0, eof: 0, stop: 0 };
  // The end summary names `stop` only for a stopped run (the five reasons of a run read to its end stay as they were).
  const endsOut = (): Partial<Record<EndReason, number>> => {
    const { stop: n, ...rest } = ends;
    return n > 0 ? ends : rest;
  };
  let emitted = 0;
  let packetsAll = 0;
  // What the end line says was skipped (by reason, the reader's per-record problems among them) and counted as a
  // tunnel's carrier flow, over every capture: the JSON summary carries them under classify's report names.
  const skippedAll: Record<string, number> = {};
  const fallbackAll: Record<string, number> = {};
  const addProblems = (d: Decoder, rs: ReaderStats | null): void => {
    const mal = { ...d.stats.malformed };
    if (rs !== null) addReaderProblems(mal, rs);
    for (const [k, n] of Object.entries(mal)) if (n > 0) skippedAll[k] = (skippedAll[k] ?? 0) + n;
    for (const [k, n] of Object.entries(d.stats.fallback)) if (n > 0) fallbackAll[k] = (fallbackAll[k] ?? 0) + n;
  };
  const endOutput = (): void => {
    timed?.stop();
    writer.end({ packets: packetsAll, flows: emitted, ends: endsOut(), skipped: skippedAll, tunnelFallback: fallbackAll });
  };
  let worst = unnamed > 0 || unreadable.length > 0 ? 2 : 0;
  // --one-trace: the pieces in time order, read into one flow table (src/cli/pieces.ts).
  const pieces = oneTrace ? orderPieces(inputs, (l) => stderr.write(`tunnelscope flows: ${l}\n`)) : null;
  // SIGINT/SIGTERM as in classify: the capture being read stops, its live flows end with `stop`, the records and the
  // summary are written, exit 0 (captures not started are not read); a second signal exits at once.
  const stop = new StopFlag();
  const control = stopOnSignals(io, NAME, stop);
  sink.onClosed = () => stop.request('the output closing');
  try {
    // Several captures: each its own flow table, records tagged with their capture; a bad one is reported and
    // the others still run (its exit code stands at the end).
    for (let k = 0; k < (pieces !== null ? 1 : inputs.length); k++) {
      const last = pieces !== null || k === inputs.length - 1 || stop.requested;
      const code = await flowsOf(inputs[k]!, several && pieces === null, last);
      if (code < 0) {
        // stdout closed: its reader went away (quietly, exit 0), or a write failed (a full disk: said, exit 2).
        if (sink.error !== null) throw sink.error;
        return 0;
      }
      worst = Math.max(worst, code);
      if (last) break;
    }
    if (stop.requested && !quiet) stderr.write(stop.note(`tunnelscope ${NAME}`));
    return worst;
  } finally {
    control?.dispose();
  }

  async function flowsOf(input: string, tag: boolean, last: boolean): Promise<number> {
  const decoder = new Decoder();
  const flows = new FlowTable(
    {
      ...(idle !== undefined ? { idleTimeoutSec: idle } : {}),
      ...(tcpIdle !== undefined ? { tcpIdleTimeoutSec: tcpIdle } : {}),
      ...(maxFlows !== undefined ? { maxFlows } : {}),
      ...trace,
      maxPayloadPackets: 0, // listing needs no payload snippets
    },
    {
      onEnd(f, reason) {
        emitted++;
        ends[reason]++;
        const r = flowRecord(f, reason);
        if (tag) r.capture = input;
        writer.record(r);
        timed?.wrote();
      },
    },
    decoder, // reassembled datagrams are decoded with the same settings
  );
  const view = newPacketView();
  let rawPackets = 0;
  const total0 = emitted;
  // As in classify: a live capture that goes quiet still ends idle flows and lingering connections, and when its
  // input closes (tcpdump exited) its flows end with `stop`.
  const clock = input === '-' ? new QuietClock((us) => flows.advance(us)) : null;
  const onPacket = (raw: RawPacket): void => {
    clock?.saw(raw.tsUs);
    rawPackets++;
    // A frame that does not decode still moves capture time, as in classify (one clock for every command).
    if (decoder.decode(raw, view)) flows.add(view);
    else flows.tick(raw.tsUs);
    if (sink.closed) throw new StopReading();
    if ((rawPackets & 0x3ff) === 0) timed?.tick();
  };

  const source = input === '-' ? 'stdin' : input;
  let piecesRead: PiecesRead | null = null;
  let readerStats: ReaderStats | null = null;
  try {
    // A reader that stopped reading: the input waits rather than every record queueing in memory.
    const afterChunk = async (): Promise<void> => {
      const w = sink.backlog();
      if (w) await Promise.race([w, stop.requestedSoon]);
    };
    if (pieces !== null) {
      piecesRead = await readPiecesUntil(pieces, onPacket, stop, afterChunk, stderr, NAME);
      if (piecesRead.failed > 0) worst = 2;
    }
    const r = piecesRead ?? (input === '-' ? await readStreamUntil(io.stdin, source, onPacket, stop, afterChunk) : await readFileUntil(input, onPacket, stop, afterChunk));
    readerStats = r.stats;
    flows.flush(r.complete ? (clock?.endReason ?? 'eof') : 'stop');
    packetsAll += rawPackets;
    addProblems(decoder, readerStats);
    if (last) {
      endOutput();
      await sink.end();
    }
  } catch (err) {
    if (err instanceof StopReading || sink.closed) return -1;
    if (err instanceof TunnelscopeError) {
      // A corrupt tail (capture cut mid-record) still lists the flows read up to the bad offset.
      if (err.code === 'TS_CAPTURE_FORMAT' && rawPackets > 0) {
        try {
          flows.flush();
          packetsAll += rawPackets;
          addProblems(decoder, null);
          if (last) {
            endOutput();
            await sink.end();
          }
        } catch {
          /* the format error is what we report */
        }
      } else if (last) {
        endOutput();
        await sink.end();
      }
      stderr.write(`tunnelscope flows: ${err.message}\n`);
      return err.code === 'TS_CAPTURE_FORMAT' ? 2 : 1;
    }
    const why = cannotReadReason(err);
    if (last) {
      endOutput();
      await sink.end();
    }
    if (why !== null) {
      stderr.write(`tunnelscope flows: cannot read ${safeText(source, 256)}: ${why}\n`);
      return 2;
    }
    stderr.write(`tunnelscope flows: ${safeText(source, 256)}: ${safeText(err instanceof Error ? err.message : String(err))}\n`);
    return 1;
  } finally {
    clock?.stop();
  }
  if (sink.closed) return -1;
  if (!quiet) {
    if (piecesRead !== null) stderr.write(`tunnelscope flows: ${piecesNote(piecesRead, pieces!.length)}\n`);
    stderr.write(summary(piecesRead !== null ? 'one trace' : source, rawPackets, readerStats, decoder, flows, emitted - total0));
  }
  return 0;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function summary(source: string, raw: number, rs: ReaderStats | null, d: Decoder, t: FlowTable, emitted: number): string {
  const mal = Object.entries(d.stats.malformed).filter(([, n]) => n > 0);
  const malTotal = mal.reduce((a, [, n]) => a + n, 0);
  const s = t.stats;
  let out = `tunnelscope flows: ${safeText(source, 256)}: ${raw} packets read, ${d.stats.decoded} decoded`;
  out += `, ${malTotal} malformed skipped${mal.length ? ` (${mal.map(([k, n]) => `${k}: ${n}`).join(', ')})` : ''}`;
  out += `; ${emitted} flows emitted (idle ${s.idle}, evicted ${s.evicted}, fin ${s.fin}, rst ${s.rst}, eof ${s.eof}${s.stop > 0 ? `, stop ${s.stop}` : ''})`;
  const fallback = fallbackNote(d.stats.fallback);
  if (fallback !== '') out += `; ${fallback}`;
  if (s.fragmentsUnmatched > 0) out += `; ${s.fragmentsUnmatched} unmatched fragments`;
  if (rs !== null && rs.truncatedRecords > 0) out += `; ${rs.truncatedRecords} records cut by snaplen`;
  if (rs !== null && rs.skippedBlocks + rs.unknownBlocks > 0) out += `; ${rs.skippedBlocks + rs.unknownBlocks} blocks skipped`;
  if (rs !== null && rs.badTimestamps > 0) out += `; ${rs.badTimestamps} records with an impossible time skipped`;
  return out + '\n';
}
