/** `tunnelscope classify <capture|->`: label every flow of a capture. */
import { accessSync, constants, statSync } from 'node:fs';
import type { Command } from 'commander';
import { createClassifier, type Classifier, type ClassifierOptions } from '../classify/classifier.js';
import { autoJobs, autoWorkers, createClassifierPool, frameShard, type ClassifierPool } from '../pool/index.js';
import { sharedLists } from '../pool/protocol.js';
import type { ListsInput } from '../classify/lists.js';
import { classifyCaptures, findCaptures, type CaptureRecord, type FoundCaptures } from '../batch/index.js';
import { UNNAMED } from '../batch/find.js';
import type { RawPacket } from '../trace/types.js';
import type { FlowRecord } from '../classify/record.js';
import type { VerdictEvent } from '../classify/session.js';
import { CERT_STREAM_MAX_BYTES, DEFAULT_MAX_CERT_STREAMS, type CertStreamStats } from '../detect/names/cert-stream.js';
import type { RunMetrics } from '../metrics/index.js';
import { PoolError, TraceFormatError, TunnelscopeError } from '../errors.js';
import { escapeText, safeText } from '../text.js';
import type { ReaderStats } from '../trace/reader.js';
import { addReaderProblems } from '../trace/container.js';
import { fallbackNote } from './fallback-note.js';
import { Progress } from './progress.js';
import { CLASSIFY_FORMATS, Tally } from './records.js';
import { processIo, type CliIo } from './io.js';
import { cannotReadReason, choiceFlag, EMIT_VALUES, MAX_CAPTURE_SECONDS, numberFlag, numberListFlag, traceFlags, UsageError, writeUnreadable } from './args.js';
import type { FlowTableOptions } from '../trace/flow-table.js';
import { defaultFormat, isBatchedOutput, OutputSink } from './output.js';
import { findFormat, formatsHelp, type OutputFormat } from './formats.js';
import { loadListFiles, type ListFiles } from './lists.js';
import { FLUSH_MS, QuietClock, readFileUntil, readStreamUntil, StopFlag, stopOnSignals, TimedFlush } from './live.js';
import { orderPieces, piecesNote, readPiecesUntil, type Piece, type PiecesRead } from './pieces.js';
import { ListReloader } from './reload.js';
import { action, subcommand, type CliContext, type Subcommand } from './program.js';
import { SINK_PLUGINS, type ListsProvider, type ListsTarget, type RecordSink } from './sinks.js';

const NAME = 'classify';

const AFTER_HELP = `
Lists: registration and endpoint lists are 'CIDR[,value]' per line (or an address range 'FIRST-LAST[,value]'),
domain lists 'domain[,provider]'; '#' comments and blank lines are allowed. One bad line fails the run with 'file:line: reason'.

Live capture: output to a pipe or terminal, or from stdin, reaches stdout within ${2 * FLUSH_MS} ms of each record or
verdict; SIGINT/SIGTERM, and a live capture's input closing, end every live flow (end reason 'stop'), print the
summary and exit 0 (a second signal exits at once); SIGHUP reloads the list files (so does --watch-lists when
they change): a bad file is reported as file:line and the lists in force stay. tcpdump needs -U (write each
packet at once) and --immediate-mode (else libpcap hands packets over in blocks, up to a second late); dumpcap
writes pcapng: dumpcap -i eth0 -w -. Packets a firewall rule logs: tcpdump -i nflog:GROUP (the rule with
queue-threshold 1, else the kernel holds them up to a second); on pf, tcpdump -i pflog0.

Exit codes: 0 success (also after a stop signal); 2 bad usage, an unreadable or corrupt capture (the message
names the byte offset) or a bad list (file:line); 1 an unexpected failure; 130/143 a second SIGINT/SIGTERM. A
closed stdout ('| head') exits 0 quietly.

Examples:
  tunnelscope classify trace.pcap --registered registered.txt --format table --summary
  tunnelscope classify captures/ more.pcapng --only vpn     (each capture its own flows; records name their capture)
  tunnelscope classify --one-trace /var/spool/tcpdump/    (tcpdump -G/-C pieces: one trace, flows go on across pieces)
  tcpdump -i eth0 -U --immediate-mode -w - | tunnelscope classify - --emit verdicts --only vpn
`;

/** Parsed options, as commander hands them over (camelCase keys). */
interface ClassifyOpts {
  registered?: string;
  vpnEndpoints?: string;
  vpnDomains?: string;
  defaultDomains: boolean;
  format?: string;
  only?: string;
  summary?: boolean;
  idleTimeout?: string;
  maxFlows?: string;
  companionWindow?: string;
  sslVpnEspPorts?: string;
  tcpLinger?: string;
  maxLongInspections?: string;
  reassemblyTimeout?: string;
  maxReassemblies?: string;
  reassemblyMaxBytes?: string;
  workers?: string;
  jobs?: string;
  oneTrace?: boolean;
  shard?: string;
  quiet?: boolean;
  emit?: string;
  watchLists?: boolean;
  metrics?: string;
  [plugin: string]: unknown;
}

type Emit = (typeof EMIT_VALUES)[number];

export const classifyCommand: Subcommand = {
  name: NAME,
  define(program: Command, ctx: CliContext): Command {
    const cmd = subcommand(program, ctx, NAME, 'label every flow as registered_vpn, unregistered_vpn or ordinary')
      .argument('[captures...]', "pcap or pcapng captures and directories of them (searched recursively, by content); '-' reads stdin")
      .option('--registered <FILE>', "registration list: lines 'CIDR,registrant'")
      .option('--vpn-endpoints <FILE>', "operator VPN endpoint list: lines 'CIDR[,label]'")
      .option('--vpn-domains <FILE>', "VPN-provider domain list: lines 'domain[,provider]' (adds to the bundled list)")
      .option('--no-default-domains', 'do not load the bundled data/vpn-domains.txt')
      .option('--format <F>', `${formatsHelp(CLASSIFY_FORMATS)}; default: table on a terminal, else ndjson`)
      .option('--only <vpn>', 'print only flows labelled registered_vpn or unregistered_vpn')
      .option('--summary', 'print counts per label and VPN protocol at the end (stdout after a table, else stderr)')
      .option('--idle-timeout <S>', 'flow idle timeout in capture seconds (default 120; TCP at least 300)')
      .option('--max-flows <N>', 'cap on live flows; the least recently active are evicted (default 1000000)')
      .option('--companion-window <S>', 'an SSL-VPN data channel is tied to its TLS flow when it starts within S capture seconds of it, or while it is open (default 10)')
      .option('--ssl-vpn-esp-ports <P,...>', 'UDP ports where ESP next to a TLS flow with no IKE is an SSL VPN data channel (default 4500)')
      .option('--max-long-inspections <N>', 'flows inspected past their 8th payload packet at once (a medium clue pending: a tunnel seen mid-stream); beyond it a flow is judged on 8 and its record says captureCapped (default 16384)')
      .option('--tcp-linger <S>', 'a closed TCP connection (RST, or FIN both ways) absorbs its trailing packets for S capture seconds after its last one (default 5; 0: ends at the close)')
      .option('--reassembly-timeout <S>', 'an IP datagram must arrive whole within S capture seconds of its first fragment (default 30)')
      .option('--max-reassemblies <N>', 'IP datagrams reassembled at once (per worker), oldest dropped beyond it (default 1024; 0 turns reassembly off)')
      .option('--reassembly-max-bytes <B>', 'fragment bytes held for reassembly at once (per worker), oldest datagram dropped beyond it (default 4194304, at least 131072)')
      .option('--workers <N>', 'classify one capture on N worker threads, or auto: what pays on this machine for this input (default auto; 1 on 2 CPUs)')
      .option('--one-trace', 'the captures are pieces of one recording (tcpdump -G/-C, a dumpcap ring buffer): read them as one trace, in the order of their first packets, so flows go on across pieces')
      .option('--jobs <N>', 'with several captures: classify N captures at a time, each on its own worker thread, or auto (default auto; 1 on 2 CPUs)')
      .option('--emit <WHAT>', "records (one per flow, when it ends), verdicts (one per flow, the moment its label is final: '\"event\":\"verdict\"' and the record's fields so far) or both; default records")
      .option('--watch-lists', 'reload the list files when they change (as SIGHUP does)')
      .option('--metrics <HOST:PORT>', 'serve Prometheus metrics on http://HOST:PORT/metrics (port 0: any free port; needs the optional package prom-client)')
      .option('--shard <I/N>', "classify only shard I of N (0-based) of the flows, split by address pair as the worker pool splits them; other frames are read for DNS answers only (one sensor's share of a trace)")
      .option('-q, --quiet', 'no progress bar and no end-of-run diagnostics on stderr');
    for (const p of SINK_PLUGINS) for (const o of p.options()) cmd.addOption(o);
    cmd.addHelpText('after', AFTER_HELP);
    cmd.action(action(ctx, NAME, (captures: string[], opts: ClassifyOpts) => classify(captures, opts, ctx.io)));
    return cmd;
  },
};

/** Run `classify` with its arguments (without the command name); resolves to the exit code. */
export async function run(argv: string[], io: CliIo = processIo()): Promise<number> {
  const { main } = await import('./main.js');
  return main([NAME, ...argv], io);
}

interface RunOptions {
  onlyVpn: boolean;
  /** This run's shard of the flows (`--shard I/N`), or null for all. */
  shard: { i: number; n: number } | null;
  /** Set once the sinks exist: records go to the sinks only; the lists provider to attach; back-pressure. */
  hooks?: RunHooks;
  summary: boolean;
  quiet: boolean;
  flow: FlowTableOptions;
  workers: number;
  io: CliIo;
  emit: Emit;
  watchLists: boolean;
  metrics: { host: string; port: number } | null;
  listFiles: ListFiles;
  /** --one-trace: the pieces to read as the input, in order (null: the input named). */
  pieces: Piece[] | null;
}

/** What the sinks and a lists provider ask of a run. */
interface RunHooks {
  /** Records go to the sinks only (stdout carries none). */
  quietRecords: boolean;
  /** Called with the classifier or pool once it exists (a lists provider keeps it current). */
  attach: ((t: ListsTarget) => Promise<void>) | null;
  /** Back-pressure from the sinks, awaited between input chunks (null: nothing waits). */
  wait: (() => Promise<void> | null) | null;
  /** Lists providers, closed with the sinks. */
  providers: ListsProvider[];
}

/** What a run reports at its end. */
interface RunStats {
  packets: number;
  flows: number;
  malformed: Record<string, number>;
  /** Packets counted as their tunnel's carrier flow, by reason (SessionStats.fallback). */
  fallback: Record<string, number>;
  /** Payload packets not inspected as copies of the one before them (a mirror port's duplicates). */
  duplicatesSkipped: number;
  certificates: CertStreamStats;
  /** --one-trace: how the pieces were read. */
  pieces?: PiecesRead;
}

/**
 * For the end-of-run line: packets and certificates the detectors did not get whole, and why ('' if none): tunnelled
 * packets judged as their carrier, payload copies not inspected, certificates read from one segment.
 */
/**
 * The run's problem counts for a JSON summary, under the report's names: packets skipped and packets counted as
 * their tunnel's carrier flow, by reason (only reasons that occurred), as the end-of-run line says them.
 */
export function problemCounts(malformed: Readonly<Record<string, number>>, fallback: Readonly<Record<string, number>>): { skipped: Record<string, number>; tunnelFallback: Record<string, number> } {
  const nonZero = (r: Readonly<Record<string, number>>): Record<string, number> => Object.fromEntries(Object.entries(r).filter(([, n]) => n > 0));
  return { skipped: nonZero(malformed), tunnelFallback: nonZero(fallback) };
}

function inspectionNote(st: RunStats): string {
  const c = st.certificates;
  const certs = c.tooLong + c.noSlot;
  const fallback = fallbackNote(st.fallback);
  return (
    (fallback !== '' ? `${fallback}, ` : '') +
    (st.duplicatesSkipped > 0 ? `${st.duplicatesSkipped} payload packets not inspected as copies of the one before them (mirror-port duplicates), ` : '') +
    (certs > 0
      ? `${certs} server certificates read from their first segment only (${[
          c.tooLong > 0 ? `${c.tooLong} past ${CERT_STREAM_MAX_BYTES} bytes` : '',
          c.noSlot > 0 ? `${c.noSlot} with all ${DEFAULT_MAX_CERT_STREAMS} buffers lent` : '',
        ].filter((x) => x !== '').join(', ')}), `
      : '')
  );
}

/** `--workers`/`--jobs`: a count, or auto (undefined = auto). */
function countFlag(flag: string, text: string | undefined): number | 'auto' {
  if (text === undefined || text.trim() === 'auto') return 'auto';
  return numberFlag(flag, text, { min: 1, max: 256, integer: true })!;
}

async function classify(captures: string[], opts: ClassifyOpts, io: CliIo): Promise<number> {
  const { stderr } = io;
  if (captures.length === 0) throw new UsageError('missing capture file (or - for stdin)');
  if (captures.length > 1 && captures.includes('-')) throw new UsageError("'-' (stdin) cannot be mixed with other captures");
  const capture = captures[0]!;
  const several = captures.length > 1 || (capture !== '-' && isDirectory(capture));
  const format = findFormat(CLASSIFY_FORMATS, choiceFlag('format', opts.format, CLASSIFY_FORMATS.map((f) => f.name), defaultFormat(io.stdout)))!;
  choiceFlag('only', opts.only, ['vpn'], 'vpn');
  const idle = numberFlag('idle-timeout', opts.idleTimeout, { min: 1, max: MAX_CAPTURE_SECONDS });
  const maxFlows = numberFlag('max-flows', opts.maxFlows, { min: 1, max: 1 << 28, integer: true });
  const companionWindow = numberFlag('companion-window', opts.companionWindow, { min: 0, max: MAX_CAPTURE_SECONDS });
  const espPorts = numberListFlag('ssl-vpn-esp-ports', opts.sslVpnEspPorts, { min: 1, max: 65535, integer: true });
  const trace = traceFlags(opts);
  const workersFlag = countFlag('workers', opts.workers);
  const jobsFlag = countFlag('jobs', opts.jobs);
  const emit = choiceFlag<Emit>('emit', opts.emit, EMIT_VALUES, 'records');
  if (emit !== 'records' && !format.verdicts) {
    throw new UsageError(`--emit ${emit} needs a format that streams (${CLASSIFY_FORMATS.filter((f) => f.verdicts).map((f) => f.name).join(', ')}), not ${format.name}`);
  }
  const metricsAddr = opts.metrics === undefined ? null : parseHostPort(opts.metrics);
  if (opts.metrics !== undefined && metricsAddr === null) throw new UsageError(`--metrics must be HOST:PORT (IPv6 as [addr]:port), got ${JSON.stringify(opts.metrics)}`);
  const listFiles = listFilesOf(opts);
  if (opts.watchLists === true && [opts.registered, opts.vpnEndpoints, opts.vpnDomains].every((f) => f === undefined)) {
    throw new UsageError('--watch-lists needs a list file to watch (--registered, --vpn-endpoints or --vpn-domains)');
  }
  const shard = shardFlag(opts.shard);
  let pieces: Piece[] | null = null;
  let unreadablePieces = false;
  if (opts.oneTrace === true) {
    if (captures.includes('-')) throw new UsageError('--one-trace reads capture files; stdin is one stream already');
    if (opts.jobs !== undefined) throw new UsageError('--jobs runs separate captures at a time; --one-trace reads the captures as one trace');
    const found = findCaptures(captures);
    for (const p of found.unnamed) stderr.write(`tunnelscope classify: ${safeText(p, 256)}: ${UNNAMED}\n`);
    writeUnreadable(stderr, NAME, found.unreadable);
    unreadablePieces = found.unnamed.length > 0 || found.unreadable.length > 0;
    if (found.files.length === 0) {
      if (!unreadablePieces) stderr.write(`tunnelscope classify: no pcap or pcapng captures in ${captures.map((i) => safeText(i, 256)).join(', ')}\n`);
      return 2;
    }
    pieces = orderPieces(found.files, (l) => stderr.write(`tunnelscope classify: ${l}\n`));
  } else if (several) {
    // The live-capture options follow one input as it grows; several captures are a batch job.
    const live = emit !== 'records' ? `--emit ${emit}` : opts.watchLists === true ? '--watch-lists' : metricsAddr !== null ? '--metrics' : null;
    if (live !== null) throw new UsageError(`${live} takes one capture or stdin, not several captures or a directory`);
    if (shard !== null || opts.nats !== undefined) {
      throw new UsageError(`${shard !== null ? '--shard' : '--nats'} works with one capture (for many: tunnelscope fleet submit / fleet work)`);
    }
    return classifySeveral(captures, opts, io, { format, idle, maxFlows, trace, companionWindow, espPorts, jobsFlag, workersFlag });
  }
  if (shard !== null && workersFlag !== 'auto' && workersFlag > 1) throw new UsageError('--shard works with --workers 1 (the pool splits by the same hash)');
  const inputBytes = pieces !== null ? pieces.reduce((n, p) => n + (fileSize(p.path) ?? 0), 0) : capture === '-' ? null : fileSize(capture);
  const advice = autoWorkers(inputBytes);
  const workers = shard !== null ? 1 : workersFlag === 'auto' ? advice.workers : workersFlag;
  if (workersFlag !== 'auto' && workersFlag > advice.workers && opts.quiet !== true) {
    stderr.write(`tunnelscope classify: --workers ${workersFlag} is not expected to be faster here (${advice.reason}); --workers auto would use ${advice.workers}\n`);
  }
  if (capture !== '-' && pieces === null) {
    const why = unreadable(capture);
    if (why !== null) {
      stderr.write(`tunnelscope classify: cannot read ${safeText(capture, 256)}: ${why}\n`);
      return 2;
    }
  }
  const o: RunOptions = {
    onlyVpn: opts.only === 'vpn',
    shard,
    summary: opts.summary === true,
    quiet: opts.quiet === true,
    flow: {
      ...(idle !== undefined ? { idleTimeoutSec: idle, tcpIdleTimeoutSec: Math.max(idle, 300) } : {}),
      ...(maxFlows !== undefined ? { maxFlows } : {}),
      ...trace,
    },
    workers,
    io,
    emit,
    watchLists: opts.watchLists === true,
    metrics: metricsAddr,
    listFiles,
    pieces,
  };
  const progress = new Progress(inputBytes ?? 0, o.quiet, stderr);
  // Signals are handled from here on: a stop during start-up still ends the run cleanly.
  const stop = new StopFlag();
  const hup: { fn: (() => void) | null } = { fn: null };
  const control = stopOnSignals(io, NAME, stop, () => hup.fn?.());
  let metrics: RunMetrics | null = null;
  let closeMetrics: (() => Promise<void>) | null = null;
  try {
    if (metricsAddr !== null) {
      const m = await loadMetrics();
      if (typeof m === 'string') {
        stderr.write(`tunnelscope classify: --metrics: ${m}\n`);
        return 2;
      }
      metrics = m.createRunMetrics();
      try {
        const srv = await metrics.serve(metricsAddr.host, metricsAddr.port);
        closeMetrics = () => srv.close();
        if (!o.quiet) stderr.write(`tunnelscope classify: metrics on ${srv.url}\n`);
      } catch (e) {
        stderr.write(`tunnelscope classify: --metrics ${safeText(opts.metrics ?? '', 80)}: cannot listen: ${safeText((e as Error).message)}\n`);
        return 2;
      }
    }
    const m = metrics;
    return await withListsAndSinks(opts, io, progress, { companionWindow, espPorts, metrics: m, input: capture, stop }, (options, sinks, hooks) =>
      classifyInput(options, capture, format, sinks, progress, { ...o, hooks }, m, stop, hup),
    ).then((code) => (unreadablePieces ? Math.max(code, 2) : code));
  } finally {
    control?.dispose();
    await closeMetrics?.();
  }
}

function listFilesOf(opts: ClassifyOpts): ListFiles {
  return { registered: opts.registered, vpnEndpoints: opts.vpnEndpoints, vpnDomains: opts.vpnDomains, defaultDomains: opts.defaultDomains };
}

/**
 * Load the lists and record sinks, run `body`, then close the sinks. A typed error (bad list, corrupt capture)
 * is printed as one line and exits 2.
 */
async function withListsAndSinks(
  opts: ClassifyOpts,
  io: CliIo,
  progress: Progress,
  extra: { companionWindow: number | undefined; espPorts: number[] | undefined; metrics?: RunMetrics | null; input?: string; stop?: StopFlag },
  body: (options: ClassifierOptions, sinks: RecordSink[], hooks: RunHooks) => Promise<number>,
): Promise<number> {
  const sinks: RecordSink[] = [];
  const providers: ListsProvider[] = [];
  try {
    progress.phase('loading lists');
    const t0 = performance.now();
    const sinkCtx = { io, input: extra.input ?? '', stop: extra.stop };
    // A plugin may provide the lists (a fleet snapshot) instead of the list files.
    for (const p of SINK_PLUGINS) {
      const l = (await p.lists?.(opts, sinkCtx)) ?? null;
      if (l !== null) providers.push(l);
    }
    if (providers.length > 1) throw new UsageError('two options provide the lists; use one');
    if (providers.length === 1 && opts.watchLists === true) throw new UsageError('--watch-lists reloads list files, but the lists come from the fleet here');
    const signal = extra.stop?.controller.signal;
    let options: ClassifierOptions;
    let loaded = true;
    try {
      options = providers.length === 1 ? { ...providers[0]!.input } : await loadListFiles(listFilesOf(opts), signal);
    } catch (e) {
      // A stop during the load (seconds for a big list): the run ends at once, as a stop before its first packet
      // does, without the lists it would not use.
      if (signal === undefined || !signal.aborted || e !== signal.reason) throw e;
      options = {};
      loaded = false;
    }
    progress.phase(null);
    if (loaded) extra.metrics?.lists({ ok: true, version: 1, seconds: (performance.now() - t0) / 1000 });
    if (extra.companionWindow !== undefined) options.companionWindowS = extra.companionWindow;
    if (extra.espPorts !== undefined) options.sslVpnEspPorts = extra.espPorts;
    for (const p of SINK_PLUGINS) {
      const s = await p.create(opts, sinkCtx);
      if (s !== null) sinks.push(s);
    }
    const waits = sinks.filter((s) => s.wait !== undefined);
    const hooks: RunHooks = {
      quietRecords: sinks.some((s) => s.replacesStdout === true),
      attach: providers.length === 1 ? (t) => providers[0]!.attach(t) : null,
      wait: waits.length > 0 ? () => waits.map((s) => s.wait!()).find((w) => w !== null) ?? null : null,
      providers,
    };
    const code = await body(options, sinks, hooks);
    // Sinks may ask for an exit code once closed (records lost): body closed them before its end-of-run line.
    return Math.max(code, ...sinks.map((s) => s.exitCode?.() ?? 0));
  } catch (e) {
    progress.done();
    // A pool's failure (a worker thread died) is no fault of the input: exit 1, as for a bug.
    if (e instanceof TunnelscopeError && !(e instanceof PoolError)) {
      io.stderr.write(`tunnelscope classify: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    for (const s of sinks) await s.close().catch(() => {});
    for (const p of providers) await p.close().catch(() => {});
  }
}

/** `--shard I/N`: 0 <= I < N. */
function shardFlag(text: string | undefined): { i: number; n: number } | null {
  if (text === undefined) return null;
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const i = m ? Number(m[1]) : NaN, n = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1 && n <= 1 << 16) || !(i < n)) throw new UsageError(`--shard must be I/N with 0 <= I < N, got ${JSON.stringify(text)}`);
  return { i, n };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function fileSize(path: string): number | null {
  try {
    return statSync(path).size;
  } catch {
    return null;
  }
}

interface SeveralFlags {
  format: OutputFormat<FlowRecord>;
  idle: number | undefined;
  maxFlows: number | undefined;
  /** TCP linger and IP reassembly options (traceFlags). */
  trace: FlowTableOptions;
  companionWindow: number | undefined;
  espPorts: number[] | undefined;
  jobsFlag: number | 'auto';
  workersFlag: number | 'auto';
}

/**
 * Several captures (files and directories): one warm process, each capture its own session, every record
 * tagged with `capture`. A capture that fails is reported and the others still run (exit 2 at the end).
 */
async function classifySeveral(inputs: string[], opts: ClassifyOpts, io: CliIo, f: SeveralFlags): Promise<number> {
  const { stderr } = io;
  const quiet = opts.quiet === true;
  const found = findCaptures(inputs);
  for (const p of found.unnamed) stderr.write(`tunnelscope classify: ${safeText(p, 256)}: ${UNNAMED}\n`);
  writeUnreadable(stderr, NAME, found.unreadable);
  if (found.files.length === 0) {
    if (found.unnamed.length === 0 && found.unreadable.length === 0) stderr.write(`tunnelscope classify: no pcap or pcapng captures in ${inputs.map((i) => safeText(i, 256)).join(', ')}\n`);
    return 2;
  }
  if (f.workersFlag !== 'auto' && f.workersFlag > 1 && !quiet) stderr.write('tunnelscope classify: with several captures each runs on one thread; use --jobs to run several at a time\n');
  const advice = autoJobs(found.files.length);
  const jobs = f.jobsFlag === 'auto' ? advice.workers : f.jobsFlag;
  if (f.jobsFlag !== 'auto' && f.jobsFlag > advice.workers && !quiet) {
    stderr.write(`tunnelscope classify: --jobs ${f.jobsFlag} is not expected to be faster here (${advice.reason}); --jobs auto would use ${advice.workers}\n`);
  }
  const progress = new Progress(0, true, stderr);
  // A batch answers Ctrl-C as one capture does: the captures being read end their flows with 'stop', records and
  // summary are written, exit 0; captures not started are left out; a second signal exits at once.
  const stop = new StopFlag();
  // SIGHUP reloads lists on a live run; a batch keeps the lists it started with (each capture is judged on one
  // version), and says so rather than dying of the signal's default action.
  let hupSaid = false;
  const control = stopOnSignals(io, NAME, stop, () => {
    if (!hupSaid) stderr.write(`tunnelscope classify: SIGHUP: a run over several captures keeps the lists it started with (reloads are for one capture or stdin)\n`);
    hupSaid = true;
  });
  try {
    const code = await classifySeveralRun(found, opts, io, f, jobs, progress, control === null ? null : stop);
    return found.unnamed.length > 0 || found.unreadable.length > 0 ? Math.max(code, 2) : code;
  } finally {
    control?.dispose();
  }
}

async function classifySeveralRun(
  found: FoundCaptures,
  opts: ClassifyOpts,
  io: CliIo,
  f: SeveralFlags,
  jobs: number,
  progress: Progress,
  stop: StopFlag | null,
): Promise<number> {
  const { stdout, stderr } = io;
  const quiet = opts.quiet === true;
  return withListsAndSinks(opts, io, progress, { companionWindow: f.companionWindow, espPorts: f.espPorts, ...(stop ? { stop } : {}) }, async (options, sinks) => {
    const out = new OutputSink(stdout);
    const writer = f.format.open(out, { io, meta: { command: NAME, inputs: found.files, startedMs: Date.now(), several: true }, live: false });
    out.onClosed = () => stopIfOutputGone(out, sinks, stop);
    const tally = new Tally();
    const onlyVpn = opts.only === 'vpn';
    const t0 = process.hrtime.bigint();
    const flow = {
      ...(f.idle !== undefined ? { idleTimeoutSec: f.idle, tcpIdleTimeoutSec: Math.max(f.idle, 300) } : {}),
      ...(f.maxFlows !== undefined ? { maxFlows: f.maxFlows } : {}),
      ...f.trace,
    };
    const res = await classifyCaptures(
      found.files,
      (r: CaptureRecord) => {
        tally.add(r);
        if (!(onlyVpn && r.label === 'ordinary')) writer.record(r);
        for (const s of sinks) s.record(r);
        stopIfOutputGone(out, sinks, stop); // the captures not started are then not read
      },
      { ...options, jobs, flow, ...(stop ? { signal: stop.controller.signal } : {}) },
    );
    // What one capture's line says about frames skipped and tunnels judged on their carrier, over all captures.
    const mal: Record<string, number> = {};
    const fb: Record<string, number> = {};
    for (const c of res.captures) {
      for (const [k, n] of Object.entries(c.malformed)) mal[k] = (mal[k] ?? 0) + n;
      for (const [k, n] of Object.entries(c.fallback)) fb[k] = (fb[k] ?? 0) + n;
    }
    writer.end({ ...tally.toJSON(), ...problemCounts(mal, fb) });
    if (opts.summary === true) {
      if (f.format.human) out.write(`\n${tally.text()}`);
      else stderr.write(tally.text());
    }
    await out.end();
    for (const c of res.captures) if (c.error) stderr.write(`tunnelscope classify: ${c.error instanceof TunnelscopeError ? c.error.message : `cannot read ${safeText(c.capture, 256)}: ${cannotReadReason(c.error) ?? safeText(c.error.message)}`}\n`);
    if (!quiet) {
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const skipped = found.skipped.length ? `, ${found.skipped.length} non-capture files skipped` : '';
      const failed = `${res.failed ? `, ${res.failed} failed` : ''}${found.unreadable.length ? `, ${found.unreadable.length} unreadable` : ''}`;
      const stopped = res.stopped ? ` (${found.files.length - res.captures.length} not read)` : '';
      const fallback = fallbackNote(fb);
      const bad = Object.entries(mal).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
      if (stop?.requested) stderr.write(stop.note('tunnelscope'));
      stderr.write(
        `tunnelscope: ${res.captures.length} captures${stopped}${failed}${skipped}, ${res.packets} packets, ${res.flows} flows, ${tally.vpn} VPN flows, ` +
          tally.shortNote() +
          (fallback !== '' ? `${fallback}, ` : '') +
          (bad.length ? `skipped: ${bad.join(', ')}, ` : '') +
          `${secs.toFixed(2)} s (${Math.round(res.packets / Math.max(secs, 1e-9))} packets/s, ${jobs} job${jobs === 1 ? '' : 's'})\n`,
      );
    }
    return res.failed > 0 ? 2 : 0;
  });
}

/** The metrics door, or why it cannot load (prom-client is an optional peer dependency). */
async function loadMetrics(): Promise<typeof import('../metrics/index.js') | string> {
  try {
    return await import('../metrics/index.js');
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return 'needs the optional package prom-client (npm install prom-client)';
    throw e;
  }
}

/** `HOST:PORT` (IPv6 as `[addr]:port`; port 0 = any free port), or null when malformed. */
export function parseHostPort(text: string): { host: string; port: number } | null {
  // `[fe80::1%eth0]:9464`: a scoped IPv6 address (a link-local management interface) keeps its zone.
  const m = /^(?:\[([0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]{1,64})?)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  return port > 65535 ? null : { host: m[1] ?? m[2]!, port };
}

/** Why `path` cannot be read as a capture (missing, a directory, no permission), or null. */
function unreadable(path: string): string | null {
  try {
    if (statSync(path).isDirectory()) return cannotReadReason({ code: 'EISDIR' });
    accessSync(path, constants.R_OK);
    return null;
  } catch (e) {
    return cannotReadReason(e) ?? 'no such file';
  }
}

/** What the packet loop reports to the output and the metrics. */
interface Handlers {
  onRecord(r: FlowRecord): void;
  /** Set when verdict events are wanted (--emit verdicts|both, or metrics). */
  onVerdict: ((v: VerdictEvent) => void) | null;
  /** Called every 1024 packets of a busy loop (the timed output flush). */
  tick(): void;
  /** The output's backlog (OutputSink.backlog): the input waits on it between chunks. */
  outputWait(): Promise<void> | null;
  metrics: RunMetrics | null;
}

/** One in-process session: the fastest path on one core. */
async function runSession(classifier: Classifier, input: string, o: RunOptions, h: Handlers, progress: Progress, stop: StopFlag): Promise<RunStats> {
  const session = classifier.session({ flow: o.flow });
  let flows = 0;
  session.on('flow', (r: FlowRecord) => {
    flows++;
    h.onRecord(r);
  });
  if (h.onVerdict !== null) session.on('verdict', h.onVerdict);
  await o.hooks?.attach?.(classifier);
  let bytesSeen = 0;
  let wireBytes = 0;
  let n = 0;
  h.metrics?.watch(() => {
    const st = session.stats;
    return { packets: n, bytes: wireBytes, skipped: st.malformed, tunnelFallback: st.fallback, liveFlows: session.liveFlows, evicted: st.evicted, duplicates: st.duplicatesSkipped };
  });
  const shard = o.shard;
  // A shard's session sees every frame's time (idle flows expire as in the whole run, as in a pool worker) and
  // every other frame's DNS answers (address bindings do not depend on which sensor owns the flow): observeForeign.
  // A live capture that goes quiet still ends idle flows and lingering connections (their records go out).
  const quiet = input === '-' ? new QuietClock((us) => session.advance(us)) : null;
  const onPacket = (p: RawPacket): void => {
    quiet?.saw(p.tsUs);
    if (shard === null || frameShard(p.data, p.offset, p.capLen, p.linkType, shard.n) === shard.i) session.pushRaw(p);
    else session.observeForeign(p);
    bytesSeen += p.capLen + 16;
    wireBytes += p.wireLen;
    if ((++n & 0x3ff) === 0) {
      h.tick();
      if ((n & 0xffff) === 0) progress.update({ bytes: bytesSeen, packets: n, flows });
    }
  };
  const wait = o.hooks?.wait ?? null;
  const afterChunk = async (): Promise<void> => {
    const w = wait?.() ?? h.outputWait();
    // A sink that cannot take more (NATS unreachable, its buffer full, a reader that stopped reading) must not hold
    // up a stop signal.
    if (w) await Promise.race([w, stop.requestedSoon]);
  };
  let rs: ReaderStats;
  let piecesRead: PiecesRead | undefined;
  try {
    if (o.pieces !== null) {
      piecesRead = await readPiecesUntil(o.pieces, onPacket, stop, afterChunk, o.io.stderr, NAME);
      rs = piecesRead.stats;
    } else if (input === '-') rs = (await readStreamUntil(o.io.stdin, 'stdin', onPacket, stop, afterChunk)).stats;
    else rs = (await readFileUntil(input, onPacket, stop, afterChunk)).stats;
  } finally {
    quiet?.stop();
    // Also at a corrupt capture: the flows read before the corruption point end and their records go out.
    // A live capture whose input closes (tcpdump exited) has stopped, as at a signal; a recording's end is 'eof'.
    session.end(stop.endReason(quiet?.endReason ?? 'eof'));
  }
  const st = session.stats;
  addReaderProblems(st.malformed, rs);
  return piecesRead === undefined ? st : { ...st, pieces: piecesRead };
}

/**
 * A reader that went away (`… | head`, a log shipper that died: EPIPE), with no other sink for the records: reading
 * on would classify for nobody, and a live capture would run on unseen. Stop as on SIGINT.
 */
function stopIfOutputGone(out: OutputSink, sinks: readonly RecordSink[], stop: StopFlag | null): void {
  if (out.closed && sinks.length === 0) stop?.request('the output closing');
}

/** A worker pool: packets sharded by address pair over `o.workers` threads; records merged in a fixed order. */
async function runPool(
  options: ClassifierOptions,
  input: string,
  o: RunOptions,
  h: Handlers,
  progress: Progress,
  stop: StopFlag,
  onPool: (pool: ClassifierPool) => void,
): Promise<RunStats> {
  const pool = createClassifierPool({ ...options, workers: o.workers, flow: o.flow });
  onPool(pool);
  let flows = 0;
  let packets = 0;
  let wireBytes = 0;
  const count = (r: FlowRecord): void => {
    flows++;
    h.onRecord(r);
  };
  h.metrics?.watch(() => {
    // From stdin the workers report their sessions' counters with every batch; a file run's come at its end.
    const c = pool.liveCounters();
    return { packets, bytes: wireBytes, liveFlows: c.liveFlows, evicted: c.evicted, duplicates: c.duplicatesSkipped, skipped: c.malformed, tunnelFallback: c.fallback };
  });
  await o.hooks?.attach?.(pool);
  try {
    const wait = o.hooks?.wait ?? null;
    // Records only, from a file, no sink that needs back-pressure: the workers read the file themselves (the fast
    // path; records of flows read before a corrupt point are delivered before the error, any worker count).
    if (input !== '-' && o.pieces === null && h.onVerdict === null && wait === null) {
      const st = await pool.classifyFile(input, count, {
        signal: stop.controller.signal,
        onProgress: (p) => {
          packets = p.packets;
          progress.update({ bytes: p.bytes, packets: p.packets, flows });
        },
      });
      // The pool ended the flows with 'stop' when the signal had come by the end of its reading (a stop in the
      // moment after that still reads as one here).
      stop.endReason('eof');
      return st;
    }
    // Live path (stdin, or verdicts wanted): frames go to the workers as they are read.
    pool.on('flow', count);
    if (h.onVerdict !== null) pool.on('verdict', h.onVerdict);
    let drained: Promise<void> | null = null;
    const quiet = input === '-' ? new QuietClock((us) => pool.advance(us)) : null;
    const onPacket = (raw: RawPacket): void => {
      packets++;
      wireBytes += raw.wireLen;
      quiet?.saw(raw.tsUs);
      if (!pool.pushRaw(raw) && drained === null) drained = new Promise((r) => pool.once('drain', () => r()));
      if ((packets & 0x3ff) === 0) h.tick();
    };
    const afterChunk = async (): Promise<void> => {
      // Input can be read faster than the workers classify: wait for them between chunks, and for the sinks.
      if (drained !== null) await drained;
      drained = null;
      const w = wait?.() ?? h.outputWait();
      if (w) await Promise.race([w, stop.requestedSoon]);
    };
    let readerStats: ReaderStats | null = null;
    let corrupt: TraceFormatError | null = null;
    let piecesRead: PiecesRead | undefined;
    try {
      if (o.pieces !== null) piecesRead = await readPiecesUntil(o.pieces, onPacket, stop, afterChunk, o.io.stderr, NAME);
      const r = piecesRead ?? (input === '-' ? await readStreamUntil(o.io.stdin, 'stdin', onPacket, stop, afterChunk) : await readFileUntil(input, onPacket, stop, afterChunk));
      readerStats = r.stats;
    } catch (e) {
      if (!(e instanceof TraceFormatError)) throw e;
      // The flows read before the corrupt point end and their records go out before the error, as with one session.
      corrupt = e;
    } finally {
      quiet?.stop();
    }
    const st = await pool.end({ reason: stop.endReason(quiet?.endReason ?? 'eof') });
    if (corrupt !== null) throw corrupt;
    if (readerStats !== null) addReaderProblems(st.malformed, readerStats);
    return piecesRead === undefined ? st : { ...st, pieces: piecesRead };
  } finally {
    await pool.close();
  }
}

async function classifyInput(
  options: ClassifierOptions,
  input: string,
  format: OutputFormat<FlowRecord>,
  sinks: readonly RecordSink[],
  progress: Progress,
  o: RunOptions,
  metrics: RunMetrics | null,
  stop: StopFlag,
  hup: { fn: (() => void) | null },
): Promise<number> {
  const { stdout, stderr } = o.io;
  const out = new OutputSink(stdout);
  // Live: a stream input, or output someone reads as it comes (pipe, terminal). File to file keeps big batches.
  const live = input === '-' || !isBatchedOutput(stdout);
  const writer = format.open(out, { io: o.io, meta: { command: NAME, inputs: o.pieces?.map((p) => p.path) ?? [input], startedMs: Date.now() }, live });
  const timed = live ? new TimedFlush(() => {
    writer.flush?.();
    out.flush();
  }, FLUSH_MS, metrics === null ? null : (ms) => metrics.outputLag(ms / 1000)) : null;
  const tally = new Tally();
  const outputGone = (): void => stopIfOutputGone(out, sinks, stop);
  out.onClosed = outputGone;
  const records = o.emit !== 'verdicts';
  const onRecord = (r: FlowRecord): void => {
    tally.add(r);
    metrics?.record(r);
    if (records && o.hooks?.quietRecords !== true && !(o.onlyVpn && r.label === 'ordinary')) {
      writer.record(r);
      timed?.wrote();
      outputGone();
    }
    for (const s of sinks) s.record(r);
  };
  const verdicts = o.emit !== 'records';
  const onVerdict = verdicts || metrics !== null
    ? (v: VerdictEvent): void => {
        metrics?.verdict(v.verdict);
        if (verdicts && !(o.onlyVpn && v.verdict.label === 'ordinary')) {
          writer.verdict!(v.record);
          timed?.wrote();
          outputGone();
        }
      }
    : null;
  const h: Handlers = {
    onRecord,
    onVerdict,
    tick: () => {
      timed?.tick();
      outputGone();
    },
    outputWait: () => out.backlog(),
    metrics,
  };
  const finish = async (st: RunStats | null): Promise<void> => {
    progress.done();
    timed?.stop();
    writer.end(st === null ? tally.toJSON() : { ...tally.toJSON(), ...problemCounts(st.malformed, st.fallback) });
    if (o.summary) {
      // A format for people: the summary is part of the data. Machine formats: keep stdout parseable.
      if (format.human) out.write(`\n${tally.text()}`);
      else stderr.write(tally.text());
    }
    await out.end();
    // Sinks deliver what they hold before the end-of-run line reports on them (close is idempotent).
    for (const s of sinks) await s.close();
    for (const p of o.hooks?.providers ?? []) await p.close();
  };
  // Reloads (SIGHUP, --watch-lists): what the lists are swapped in depends on the path.
  let target: { update(l: Parameters<Classifier['update']>[0]): number; readonly listVersion: number } | null = null;
  // A pool's shared tables are built a turn ahead of its switch (its update takes them as they are).
  const prepare = o.workers > 1 ? { prepare: (l: ListsInput) => sharedLists(l) } : {};
  const reloader = new ListReloader(o.listFiles, { ...prepare, update: (l) => target!.update(l), get listVersion() { return target!.listVersion; } }, stderr, o.quiet, {
    loaded: (version, seconds) => metrics?.lists({ ok: true, version, seconds }),
    failed: () => metrics?.lists({ ok: false }),
  });
  // Lists from the fleet are kept current by their provider; SIGHUP reloads list files only when they are the source.
  hup.fn = (o.hooks?.providers.length ?? 0) > 0 ? null : () => void (target && reloader.reload('SIGHUP'));
  const t0 = process.hrtime.bigint();
  let st: RunStats;
  try {
    if (o.workers > 1) {
      st = await runPool(options, input, o, h, progress, stop, (pool) => {
        target = pool;
        if (o.watchLists) reloader.watch();
      });
    } else {
      const classifier = createClassifier(options);
      target = classifier;
      if (o.watchLists) reloader.watch();
      st = await runSession(classifier, input, o, h, progress, stop);
    }
  } catch (e) {
    hup.fn = null;
    await reloader.close();
    await finish(null);
    throw e;
  }
  hup.fn = null;
  await reloader.close();
  await finish(st);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!o.quiet) {
    const bad = Object.entries(st.malformed).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
    const extra = [...sinks, ...(o.hooks?.providers ?? [])].map((s) => s.report?.() ?? null).filter((x): x is string => x !== null);
    stderr.write(
      stop.note('tunnelscope', stop.endedFlows) +
        (st.pieces !== undefined ? `tunnelscope: ${piecesNote(st.pieces, o.pieces!.length)}\n` : '') +
        `tunnelscope: ${st.packets} packets, ${st.flows} flows, ${tally.vpn} VPN flows, ` +
        tally.shortNote() +
        inspectionNote(st) +
        `${bad.length ? `skipped: ${bad.join(', ')}, ` : ''}${secs.toFixed(2)} s (${Math.round(st.packets / Math.max(secs, 1e-9))} packets/s)\n` +
        // A sink's line may quote what it was given or told (a collector's name, a server's error text).
        extra.map((l) => `tunnelscope: ${escapeText(l)}\n`).join(''),
    );
  }
  // A piece that could not be read or was corrupt was reported as it came; the run still fails for it.
  return (st.pieces?.failed ?? 0) > 0 ? 2 : 0;
}
