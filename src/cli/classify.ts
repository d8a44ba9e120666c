/** `tunnelscope classify <capture|->`: label every flow of a capture. */
import { accessSync, constants, statSync } from 'node:fs';
import type { Command } from 'commander';
import { createClassifier, type Classifier, type ClassifierOptions } from '../classify/classifier.js';
import { createClassifierPool } from '../pool/index.js';
import type { RawPacket } from '../trace/types.js';
import type { FlowRecord } from '../classify/record.js';
import { readCaptureFileSync, readCaptureStream } from '../trace/reader.js';
import { TunnelscopeError } from '../errors.js';
import { safeText } from '../text.js';
import type { ReaderStats } from '../trace/reader.js';
import { Progress } from './progress.js';
import { CLASSIFY_FORMATS, Tally } from './records.js';
import { processIo, type CliIo } from './io.js';
import { cannotReadReason, choiceFlag, numberFlag, numberListFlag, UsageError } from './args.js';
import { defaultFormat, OutputSink } from './output.js';
import { findFormat, formatsHelp, type OutputFormat } from './formats.js';
import { loadListFiles } from './lists.js';
import { action, subcommand, type CliContext, type Subcommand } from './program.js';
import { SINK_PLUGINS, type RecordSink } from './sinks.js';

const NAME = 'classify';

const AFTER_HELP = `
Lists: registration and endpoint lists are 'CIDR[,value]' per line, domain lists 'domain[,provider]';
'#' comments and blank lines are allowed. One bad line fails the run with 'file:line: reason'.

Exit codes: 0 success; 2 bad usage, an unreadable or corrupt capture (the message names the byte offset) or a
bad list (file:line); 1 an unexpected failure. A closed stdout ('| head') exits 0 quietly.

Examples:
  tunnelscope classify trace.pcap --registered registered.txt --format table --summary
  tcpdump -i eth0 -U -w - | tunnelscope classify - --only vpn
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
  workers?: string;
  quiet?: boolean;
  [plugin: string]: unknown;
}

export const classifyCommand: Subcommand = {
  name: NAME,
  define(program: Command, ctx: CliContext): Command {
    const cmd = subcommand(program, ctx, NAME, 'label every flow as registered_vpn, unregistered_vpn or ordinary')
      .argument('[capture]', "pcap or pcapng capture; '-' reads stdin")
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
      .option('--workers <N>', 'classify on N worker threads (default 1)')
      .option('-q, --quiet', 'no progress bar and no end-of-run diagnostics on stderr');
    for (const p of SINK_PLUGINS) for (const o of p.options()) cmd.addOption(o);
    cmd.addHelpText('after', AFTER_HELP);
    cmd.action(action(ctx, NAME, (capture: string | undefined, opts: ClassifyOpts) => classify(capture, opts, ctx.io)));
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
  summary: boolean;
  quiet: boolean;
  flow: { idleTimeoutSec?: number; tcpIdleTimeoutSec?: number; maxFlows?: number };
  workers: number;
  io: CliIo;
}

/** What a run reports at its end. */
interface RunStats {
  packets: number;
  flows: number;
  malformed: Record<string, number>;
}

async function classify(capture: string | undefined, opts: ClassifyOpts, io: CliIo): Promise<number> {
  const { stderr } = io;
  if (capture === undefined) throw new UsageError('missing capture file (or - for stdin)');
  const format = findFormat(CLASSIFY_FORMATS, choiceFlag('format', opts.format, CLASSIFY_FORMATS.map((f) => f.name), defaultFormat(io.stdout)))!;
  choiceFlag('only', opts.only, ['vpn'], 'vpn');
  const idle = numberFlag('idle-timeout', opts.idleTimeout, { min: 1 });
  const maxFlows = numberFlag('max-flows', opts.maxFlows, { min: 1, max: 1 << 28, integer: true });
  const companionWindow = numberFlag('companion-window', opts.companionWindow, { min: 0 });
  const espPorts = numberListFlag('ssl-vpn-esp-ports', opts.sslVpnEspPorts, { min: 1, max: 65535, integer: true });
  const workers = numberFlag('workers', opts.workers, { min: 1, max: 256, integer: true }) ?? 1;
  if (capture !== '-') {
    const why = unreadable(capture);
    if (why !== null) {
      stderr.write(`tunnelscope classify: cannot read ${safeText(capture, 256)}: ${why}\n`);
      return 2;
    }
  }
  const sinks: RecordSink[] = [];
  const o: RunOptions = {
    onlyVpn: opts.only === 'vpn',
    summary: opts.summary === true,
    quiet: opts.quiet === true,
    flow: {
      ...(idle !== undefined ? { idleTimeoutSec: idle, tcpIdleTimeoutSec: Math.max(idle, 300) } : {}),
      ...(maxFlows !== undefined ? { maxFlows } : {}),
    },
    workers,
    io,
  };
  const progress = new Progress(capture === '-' ? 0 : statSync(capture).size, o.quiet, stderr);
  try {
    progress.phase('loading lists');
    const options = await loadListFiles({
      registered: opts.registered,
      vpnEndpoints: opts.vpnEndpoints,
      vpnDomains: opts.vpnDomains,
      defaultDomains: opts.defaultDomains,
    });
    progress.phase(null);
    if (companionWindow !== undefined) options.companionWindowS = companionWindow;
    if (espPorts !== undefined) options.sslVpnEspPorts = espPorts;
    for (const p of SINK_PLUGINS) {
      const s = await p.create(opts, { io });
      if (s !== null) sinks.push(s);
    }
    return await classifyInput(options, capture, format, sinks, progress, o);
  } catch (e) {
    progress.done();
    if (e instanceof TunnelscopeError) {
      stderr.write(`tunnelscope classify: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    for (const s of sinks) await s.close().catch(() => {});
  }
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

/** One in-process session: the fastest path on one core. */
async function runSession(classifier: Classifier, input: string, o: RunOptions, onRecord: (r: FlowRecord) => void, progress: Progress): Promise<RunStats> {
  const session = classifier.session({ flow: o.flow });
  let flows = 0;
  session.on('flow', (r: FlowRecord) => {
    flows++;
    onRecord(r);
  });
  let bytesSeen = 0;
  let n = 0;
  const onPacket = (p: RawPacket): void => {
    session.pushRaw(p);
    bytesSeen += p.capLen + 16;
    if ((++n & 0xffff) === 0) progress.update({ bytes: bytesSeen, packets: n, flows });
  };
  let rs: ReaderStats;
  try {
    if (input === '-') rs = await readCaptureStream(o.io.stdin, 'stdin', onPacket);
    else rs = readCaptureFileSync(input, onPacket); // one session on one thread: nothing to overlap the reads with
  } finally {
    // Also at a corrupt capture: the flows read before the corruption point end and their records go out.
    session.end();
  }
  const st = session.stats;
  if (rs.badTimestamps > 0) st.malformed['bad-timestamp'] = (st.malformed['bad-timestamp'] ?? 0) + rs.badTimestamps;
  return st;
}

/** A worker pool: packets sharded by address pair over `o.workers` threads; records merged in a fixed order. */
async function runPool(options: ClassifierOptions, input: string, o: RunOptions, onRecord: (r: FlowRecord) => void, progress: Progress): Promise<RunStats> {
  const pool = createClassifierPool({ ...options, workers: o.workers, flow: o.flow });
  let flows = 0;
  const count = (r: FlowRecord): void => {
    flows++;
    onRecord(r);
  };
  try {
    // Records of flows read before a corrupt point are delivered before the error (any worker count).
    if (input === '-') return await pool.classifyStream(o.io.stdin, 'stdin', count);
    return await pool.classifyFile(input, count, { onProgress: ({ bytes }) => progress.update({ bytes, packets: 0, flows }) });
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
): Promise<number> {
  const { stdout, stderr } = o.io;
  const out = new OutputSink(stdout);
  const writer = format.open(out, { io: o.io, meta: { command: NAME, inputs: [input], startedMs: Date.now() }, live: input === '-' });
  const tally = new Tally();
  const onRecord = (r: FlowRecord): void => {
    tally.add(r);
    if (!(o.onlyVpn && r.label === 'ordinary')) writer.record(r);
    for (const s of sinks) s.record(r);
  };
  const finish = async (): Promise<void> => {
    progress.done();
    writer.end(tally.toJSON());
    if (o.summary) {
      // A format for people: the summary is part of the data. Machine formats: keep stdout parseable.
      if (format.human) out.write(`\n${tally.text()}`);
      else stderr.write(tally.text());
    }
    await out.end();
  };
  const t0 = process.hrtime.bigint();
  let st: RunStats;
  try {
    st = o.workers > 1 ? await runPool(options, input, o, onRecord, progress) : await runSession(createClassifier(options), input, o, onRecord, progress);
  } catch (e) {
    await finish();
    throw e;
  }
  await finish();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!o.quiet) {
    const bad = Object.entries(st.malformed).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
    const extra = sinks.map((s) => s.report?.() ?? null).filter((x): x is string => x !== null);
    stderr.write(
      `tunnelscope: ${st.packets} packets, ${st.flows} flows, ${tally.vpn} VPN flows, ` +
        `${bad.length ? `skipped: ${bad.join(', ')}, ` : ''}${secs.toFixed(2)} s (${Math.round(st.packets / Math.max(secs, 1e-9))} packets/s)\n` +
        extra.map((l) => `tunnelscope: ${l}\n`).join(''),
    );
  }
  return 0;
}

