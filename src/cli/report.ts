/**
 * `tunnelscope report <capture|records.ndjson|-> --out report.html`: one self-contained HTML page per capture or
 * record file. A capture (pcap/pcapng) is classified here with the same list options as `classify`; a record file
 * is read as it is. Which one the input is, is decided by its first bytes, never by its name.
 */
import { closeSync, createReadStream, openSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { createClassifier, type ClassifierOptions } from '../classify/classifier.js';
import type { FlowRecord } from '../classify/record.js';
import { PoolError, RecordParseError, TunnelscopeError } from '../errors.js';
import { safeText } from '../text.js';
import { createClassifierPool } from '../pool/index.js';
import { ReportBuilder } from '../report/builder.js';
import { ndjsonRecords, toReportRecord } from '../report/ndjson.js';
import type { ReportList, ReportMeta } from '../report/types.js';
import type { RawPacket } from '../trace/types.js';
import { cannotReadReason, cannotWriteReason, MAX_CAPTURE_SECONDS, numberFlag, numberListFlag, UsageError } from './args.js';
import { processIo, type CliIo } from './io.js';
import { isBrokenPipe } from './output.js';
import { loadListFiles } from './lists.js';
import { readFileUntil, readStreamUntil, StopFlag, stopOnSignals } from './live.js';
import { natsAuthOf, natsAuthOptions, type NatsAuthOpts } from './fleet-options.js';
import { Progress } from './progress.js';
import { action, packageVersion, subcommand, type CliContext, type Subcommand } from './program.js';

const NAME = 'report';

const AFTER_HELP = `
The input is a pcap/pcapng capture (classified here, with classify's list and flow options) or the NDJSON records
'tunnelscope classify --format ndjson' writes; which one is told from its first bytes. Records carrying a
"sensor" field get a per-sensor breakdown. The page needs no network: scripts, styles and data are inline.
SIGINT/SIGTERM while a capture is read (e.g. from tcpdump on stdin) stop reading and write the page of what was
read, exit 0; a second signal exits at once.

Exit codes: 0 success; 2 bad usage, an unreadable or corrupt input (the message names the byte offset or
file:line), or a bad list; 1 an unexpected failure.

Examples:
  tunnelscope report fixtures/sample.pcap --registered fixtures/sample-registered.txt --out report.html
  tunnelscope classify trace.pcap --format ndjson > flows.ndjson && tunnelscope report flows.ndjson --out report.html
  tunnelscope report --nats nats://10.0.0.5:4222 --since 24h --out fleet.html     (every sensor's records, by sensor)
`;

/** Parsed options, as commander hands them over (camelCase keys). */
interface ReportOpts extends NatsAuthOpts {
  out?: string;
  title?: string;
  maxTableFlows?: string;
  quiet?: boolean;
  registered?: string;
  vpnEndpoints?: string;
  vpnDomains?: string;
  defaultDomains: boolean;
  idleTimeout?: string;
  maxFlows?: string;
  companionWindow?: string;
  sslVpnEspPorts?: string;
  workers?: string;
  nats?: string;
  stream?: string;
  since?: string;
  filter?: string;
  listVersion?: string;
}

/** Options that only mean something when the input is a capture to classify. */
const CAPTURE_ONLY: ReadonlyArray<[keyof ReportOpts, string]> = [
  ['registered', 'registered'], ['vpnEndpoints', 'vpn-endpoints'], ['vpnDomains', 'vpn-domains'], ['idleTimeout', 'idle-timeout'],
  ['maxFlows', 'max-flows'], ['companionWindow', 'companion-window'], ['sslVpnEspPorts', 'ssl-vpn-esp-ports'], ['workers', 'workers'],
];

export const reportCommand: Subcommand = {
  name: NAME,
  define(program: Command, ctx: CliContext): Command {
    const cmd = subcommand(program, ctx, NAME, 'write a self-contained HTML report of a capture or of flow records')
      .argument('[input]', "pcap/pcapng capture or NDJSON flow records; '-' reads stdin")
      .option('-o, --out <FILE>', "the HTML file to write (required; '-' writes it to stdout)")
      .option('--title <TEXT>', "the page title (default 'tunnelscope report')")
      .option('--max-table-flows <N>', 'flows kept for the flow table and time charts (default 1000000; the figures count all)')
      .option('--registered <FILE>', "capture input: registration list, lines 'CIDR,registrant'")
      .option('--vpn-endpoints <FILE>', "capture input: operator VPN endpoint list, lines 'CIDR[,label]'")
      .option('--vpn-domains <FILE>', "capture input: VPN-provider domain list, lines 'domain[,provider]' (adds to the bundled list)")
      .option('--no-default-domains', 'capture input: do not load the bundled data/vpn-domains.txt')
      .option('--idle-timeout <S>', 'capture input: flow idle timeout in capture seconds (default 120; TCP at least 300)')
      .option('--max-flows <N>', 'capture input: cap on live flows (default 1000000)')
      .option('--companion-window <S>', 'capture input: SSL-VPN data channel window in capture seconds (default 10)')
      .option('--ssl-vpn-esp-ports <P,...>', 'capture input: UDP ports of the Pulse-style ESP companion rule (default 4500)')
      .option('--workers <N>', 'capture input: classify on N worker threads (default 1)')
      .option('--nats <URL>', "instead of an input: the fleet's records from the NATS JetStream records stream (needs the optional @nats-io packages)")
      .option('--stream <S>', 'with --nats: records stream (default TUNNELSCOPE_RECORDS)')
      .option('--since <T>', 'with --nats: only records stored since T: an ISO time or a duration back from now (15m, 2h, 7d)')
      .option('--filter <SUBJECT>', "with --nats: subjects to read (default 'tunnelscope.records.*': every sensor)")
      .option('--list-version <N>', 'with --nats: only records whose listVersion is at least N')
      .option('-q, --quiet', 'no progress bar and no end-of-run line on stderr');
    for (const o of natsAuthOptions()) cmd.addOption(o);
    cmd.addHelpText('after', AFTER_HELP);
    cmd.action(action(ctx, NAME, (input: string | undefined, opts: ReportOpts) => report(input, opts, ctx.io)));
    return cmd;
  },
};

/** Run `report` with its arguments (without the command name); resolves to the exit code. */
export async function run(argv: string[], io: CliIo = processIo()): Promise<number> {
  const { main } = await import('./main.js');
  return main([NAME, ...argv], io);
}

/** What the first bytes of an input say it is. */
export type InputKind = 'capture' | 'records' | 'unknown';

/**
 * pcap (either byte order, µs or ns) and pcapng by their magic numbers; NDJSON records by a first non-blank
 * character `{` (after an optional UTF-8 BOM).
 */
export function sniffInput(head: Uint8Array): InputKind {
  if (head.length >= 4) {
    const be = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
    if (be === 0xa1b2c3d4 || be === 0xd4c3b2a1 || be === 0xa1b23c4d || be === 0x4d3cb2a1 || be === 0x0a0d0d0a) return 'capture';
  }
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
  return head[i] === 0x7b /* { */ ? 'records' : 'unknown';
}

async function report(input: string | undefined, opts: ReportOpts, io: CliIo): Promise<number> {
  const { stderr } = io;
  const fleet = opts.nats !== undefined;
  if (fleet && input !== undefined) throw new UsageError(`--nats reads the fleet's records stream; give no input (got ${JSON.stringify(input.slice(0, 60))})`);
  natsAuthOf(opts); // the credentials options need --nats
  const natsOnly = (['stream', 'since', 'filter', 'listVersion'] as const).find((k) => opts[k] !== undefined);
  if (!fleet && natsOnly !== undefined) throw new UsageError(`--${natsOnly === 'listVersion' ? 'list-version' : natsOnly} needs --nats`);
  if (input === undefined && !fleet) throw new UsageError('missing input (capture, NDJSON records, or - for stdin), or --nats URL');
  const out = opts.out;
  if (out === undefined || out === '') throw new UsageError('missing --out FILE (the HTML report to write; - for stdout)');
  const maxTable = numberFlag('max-table-flows', opts.maxTableFlows, { min: 1, max: 1 << 28, integer: true });
  const idle = numberFlag('idle-timeout', opts.idleTimeout, { min: 1, max: MAX_CAPTURE_SECONDS });
  const maxFlows = numberFlag('max-flows', opts.maxFlows, { min: 1, max: 1 << 28, integer: true });
  const companionWindow = numberFlag('companion-window', opts.companionWindow, { min: 0, max: MAX_CAPTURE_SECONDS });
  const espPorts = numberListFlag('ssl-vpn-esp-ports', opts.sslVpnEspPorts, { min: 1, max: 65535, integer: true });
  const workers = numberFlag('workers', opts.workers, { min: 1, max: 256, integer: true }) ?? 1;
  const quiet = opts.quiet === true;
  try {
    if (fleet) return await fleetReport(opts, out, maxTable, io);
    input = input!;
    const { kind, open, stream } = await openInput(input, io);
    if (kind === 'unknown') {
      stderr.write(`tunnelscope report: ${input === '-' ? 'stdin' : safeText(input, 256)}: neither a pcap/pcapng capture nor NDJSON flow records (by its first bytes)\n`);
      return 2;
    }
    const builder = new ReportBuilder(maxTable !== undefined ? { maxFlows: maxTable } : {});
    const meta: ReportMeta = { capture: input === '-' ? 'stdin' : input, tool: `tunnelscope ${packageVersion()}`, generatedAt: new Date() };
    if (opts.title !== undefined) meta.title = opts.title;
    const t0 = process.hrtime.bigint();
    if (kind === 'records') {
      const stray = CAPTURE_ONLY.find(([k]) => opts[k] !== undefined)?.[1] ?? (opts.defaultDomains === false ? 'no-default-domains' : undefined);
      if (stray !== undefined) throw new UsageError(`--${stray} applies to a capture; ${input} holds flow records, already classified`);
      for await (const r of ndjsonRecords(open(), input === '-' ? 'stdin' : input)) builder.add(r);
    } else {
      const progress = new Progress(stream !== null ? 0 : statSync(input).size, quiet, stderr);
      // SIGINT/SIGTERM as in classify: reading stops, live flows end with 'stop', and the page of what was read is
      // written (a second signal exits at once).
      const stop = new StopFlag();
      const control = stopOnSignals(io, NAME, stop);
      // A sniffed stream (stdin, a named pipe) is read through a generator: ending the stream itself is what ends a
      // read waiting for data.
      if (stream !== null) stop.onRequest(() => (stream as { destroy?: () => void }).destroy?.());
      try {
        progress.phase('loading lists');
        const options = await loadListFiles({ registered: opts.registered, vpnEndpoints: opts.vpnEndpoints, vpnDomains: opts.vpnDomains, defaultDomains: opts.defaultDomains });
        progress.phase(null);
        if (companionWindow !== undefined) options.companionWindowS = companionWindow;
        if (espPorts !== undefined) options.sslVpnEspPorts = espPorts;
        const flow = {
          ...(idle !== undefined ? { idleTimeoutSec: idle, tcpIdleTimeoutSec: Math.max(idle, 300) } : {}),
          ...(maxFlows !== undefined ? { maxFlows } : {}),
        };
        const st = await classify(options, input, open, { flow, workers, progress, stop, streamed: stream !== null }, (r) => builder.add(r));
        if (stop.requested && !quiet) stderr.write(stop.note(`tunnelscope ${NAME}`));
        meta.packets = st.packets;
        meta.skipped = st.malformed;
        meta.tunnelFallback = st.fallback;
        meta.lists = listsOf(options);
      } finally {
        progress.done();
        control?.dispose();
      }
    }
    return await emitReport(builder, meta, out, io, quiet, t0, '');
  } catch (e) {
    // A pool's failure (a worker thread died) is no fault of the input: exit 1, as for a bug.
    if (e instanceof TunnelscopeError && !(e instanceof PoolError)) {
      stderr.write(`tunnelscope report: ${e.message}\n`);
      return 2;
    }
    const why = cannotReadReason(e);
    if (why !== null) {
      stderr.write(`tunnelscope report: cannot read ${safeText((e as { path?: string }).path ?? input ?? '', 256)}: ${why}\n`);
      return 2;
    }
    throw e;
  }
}

/** `report --nats`: the fleet's merged records (every sensor's, in stream order) as one page, with the per-sensor breakdown. */
async function fleetReport(opts: ReportOpts, out: string, maxTable: number | undefined, io: CliIo): Promise<number> {
  const stray = CAPTURE_ONLY.find(([k]) => opts[k] !== undefined)?.[1] ?? (opts.defaultDomains === false ? 'no-default-domains' : undefined);
  if (stray !== undefined) throw new UsageError(`--${stray} applies to a capture; the fleet's records are already classified`);
  const t0 = process.hrtime.bigint();
  const builder = new ReportBuilder(maxTable !== undefined ? { maxFlows: maxTable } : {});
  // Loaded only here: the NATS client packages are optional (a missing one is a NatsError naming what to install).
  const { fleetRecords } = await import('./fleet-run.js');
  let bad = 0;
  const got = await fleetRecords(opts as ReportOpts & { nats: string }, (r, seq) => {
    // Checked field by field as records from a file are; a message that is not a whole record is counted, not fatal.
    try {
      builder.add(toReportRecord(r, 'stream', seq));
    } catch (e) {
      if (!(e instanceof RecordParseError)) throw e;
      bad++;
    }
  });
  const span = got.first === null ? 'no records' : `stored ${got.first} .. ${got.last}`;
  const meta: ReportMeta = { capture: `NATS stream ${got.stream} (${span})`, tool: `tunnelscope ${packageVersion()}`, generatedAt: new Date() };
  if (opts.title !== undefined) meta.title = opts.title;
  const skipped = got.skipped + bad > 0 ? `, ${got.skipped + bad} messages skipped (not flow records)` : '';
  return emitReport(builder, meta, out, io, opts.quiet === true, t0, ` from ${safeText(got.stream, 256)}${skipped}`);
}

/**
 * Build the page, write it to `out` ('-': stdout) and, unless quiet, say so on stderr (`what`: where the flows came
 * from). 2 when it cannot be written.
 */
async function emitReport(builder: ReportBuilder, meta: ReportMeta, out: string, io: CliIo, quiet: boolean, t0: bigint, what: string): Promise<number> {
  const html = await builder.build(meta);
  const where = out === '-' ? 'stdout' : safeText(out, 256);
  try {
    await writeOut(out, html, io.stdout);
  } catch (e) {
    // The reader of a pipe went away (`| head`): nothing is wrong with the run, as for classify's records.
    if ((e as { code?: unknown } | null)?.code === 'EPIPE') return 0;
    const why = cannotWriteReason(e);
    if (why === null) throw e;
    io.stderr.write(`tunnelscope report: cannot write ${where}: ${why}\n`);
    return 2;
  }
  if (!quiet) {
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    io.stderr.write(`tunnelscope report: ${builder.flows} flows${what} → ${where} (${(html.length / 1e6).toFixed(2)} MB, ${secs.toFixed(2)} s)\n`);
  }
  return 0;
}

/** The input's kind from its first bytes, and a stream of all of it (stdin: the peeked bytes put back first). */
async function openInput(input: string, io: CliIo): Promise<{ kind: InputKind; open: () => AsyncIterable<Uint8Array>; stream: Readable | null }> {
  if (input !== '-') {
    const st = statSync(input);
    if (st.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR', path: input });
    // A named pipe (report <(classify …)) or a device can be read once, from its start, and not at an offset:
    // sniffed from the stream and read on from it, as stdin is.
    if (!st.isFile()) {
      const stream = createReadStream(input);
      return { ...(await sniffStream(stream)), stream };
    }
    const fd = openSync(input, 'r');
    const head = new Uint8Array(SNIFF_MAX);
    let n: number;
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
    return { kind: sniffInput(head.subarray(0, n)), open: () => createReadStream(input), stream: null };
  }
  return { ...(await sniffStream(io.stdin as AsyncIterable<Uint8Array | string>)), stream: io.stdin as Readable };
}

/**
 * The kind of a stream's data by its first bytes (64, or as many as it takes to pass the blank lines records may
 * start with, up to SNIFF_MAX), and all of its data (those bytes first).
 */
async function sniffStream(source: AsyncIterable<Uint8Array | string>): Promise<{ kind: InputKind; open: () => AsyncIterable<Uint8Array> }> {
  const it = source[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < 64 || (size < SNIFF_MAX && blankOnly(Buffer.concat(chunks)))) {
    const r = await it.next();
    if (r.done) break;
    const c = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    chunks.push(c);
    size += c.length;
  }
  const head = Buffer.concat(chunks);
  async function* all(): AsyncGenerator<Uint8Array> {
    if (head.length) yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
  }
  return { kind: sniffInput(head.subarray(0, SNIFF_MAX)), open: all };
}

/**
 * Bytes read to tell a capture from records: NDJSON is told by its first non-blank character, which blank lines
 * can push past the 64 bytes a capture's magic needs.
 */
const SNIFF_MAX = 64 * 1024;

/** True when `b` holds nothing but an optional UTF-8 BOM and blanks (so far). */
function blankOnly(b: Uint8Array): boolean {
  for (let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0; i < b.length; i++) if (b[i] !== 0x20 && b[i] !== 0x09 && b[i] !== 0x0a && b[i] !== 0x0d) return false;
  return true;
}

interface ClassifyRun {
  flow: { idleTimeoutSec?: number; tcpIdleTimeoutSec?: number; maxFlows?: number };
  /** The capture comes through `open()` (stdin, a named pipe), not from a file that can be opened again. */
  streamed: boolean;
  workers: number;
  progress: Progress;
  stop: StopFlag;
}

/** Classify a capture in-process (one session, or a worker pool for a file with --workers > 1). */
async function classify(
  options: ClassifierOptions,
  input: string,
  open: () => AsyncIterable<Uint8Array>,
  o: ClassifyRun,
  onRecord: (r: FlowRecord) => void,
): Promise<{ packets: number; malformed: Record<string, number>; fallback: Record<string, number> }> {
  let flows = 0;
  const count = (r: FlowRecord): void => {
    flows++;
    onRecord(r);
  };
  if (o.workers > 1 && !o.streamed) {
    const pool = createClassifierPool({ ...options, workers: o.workers, flow: o.flow });
    try {
      return await pool.classifyFile(input, count, { onProgress: ({ bytes }) => o.progress.update({ bytes, packets: 0, flows }), signal: o.stop.controller.signal });
    } finally {
      await pool.close();
    }
  }
  const session = createClassifier(options).session({ flow: o.flow });
  session.on('flow', count);
  let bytes = 0, packets = 0;
  const onPacket = (p: RawPacket): void => {
    session.pushRaw(p);
    bytes += p.capLen + 16;
    if ((++packets & 0xffff) === 0) o.progress.update({ bytes, packets, flows });
  };
  let complete = false;
  try {
    complete = (o.streamed ? await readStreamUntil(Readable.from(open()), input === '-' ? 'stdin' : input, onPacket, o.stop) : await readFileUntil(input, onPacket, o.stop)).complete;
  } finally {
    session.end(complete || !o.stop.requested ? 'eof' : 'stop');
  }
  return session.stats;
}

function listsOf(o: ClassifierOptions): ReportList[] {
  const lists: ReportList[] = [];
  const names = o.names ?? {};
  if (o.registered && 'size' in o.registered) lists.push({ role: 'registered', name: names.registered ?? 'registered', entries: o.registered.size });
  if (o.vpnEndpoints && 'size' in o.vpnEndpoints) lists.push({ role: 'vpn-endpoints', name: names.vpnEndpoints ?? 'vpn-endpoints', entries: o.vpnEndpoints.size });
  // The CLI's lists give a DomainSet (a size), the library also takes an array of entries.
  const d = o.vpnDomains as { size?: unknown; length?: unknown } | null | undefined;
  const domains = d === null || d === undefined ? undefined : typeof d.size === 'number' ? d.size : Array.isArray(d) ? d.length : undefined;
  if (domains !== undefined) lists.push({ role: 'vpn-domains', name: names.vpnDomains ?? 'vpn-domains', entries: domains });
  return lists;
}

/**
 * Write the page whole or not at all: a temporary file beside the target, renamed over it. A path that is not a
 * regular file (a FIFO, a device, /dev/stdout) is written through instead: renamed over, it would be replaced by a
 * file (as root, a device node in /dev). A symlink's target gets the page; the link stays.
 */
async function writeOut(out: string, html: string, stdout: NodeJS.WritableStream): Promise<void> {
  if (out === '-') {
    await new Promise<void>((resolve, reject) => {
      // A reader that goes away (| head) ends the page quietly, as a closed stdout ends classify's output. The
      // listener stays: the stream may also emit the EPIPE after the write's callback, and unhandled it would throw.
      const onError = (err: unknown): void => (isBrokenPipe(err) ? resolve() : reject(err));
      stdout.on('error', onError);
      stdout.write(html, (err) => (err ? onError(err) : resolve()));
    });
    return;
  }
  let target = out;
  const st = statSync(out, { throwIfNoEntry: false });
  if (st !== undefined && !st.isFile()) {
    writeFileSync(out, html);
    return;
  }
  if (st !== undefined) target = realpathSync(out);
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, html);
    renameSync(tmp, target);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    throw e;
  }
}
