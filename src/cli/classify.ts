/** `tunnelscope classify <capture|->`: label every flow of a capture. */
import { accessSync, constants, statSync } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import { createClassifier, type Classifier, type ClassifierOptions } from '../classify/classifier.js';
import { createClassifierPool, frameShard } from '../pool/index.js';
import type { RawPacket } from '../trace/types.js';
import type { FlowRecord } from '../classify/record.js';
import { readCaptureFile, readCaptureFileSync, readCaptureStream } from '../trace/reader.js';
import { TunnelscopeError } from '../errors.js';
import { Progress } from './progress.js';
import { CLASSIFY_FORMATS, Tally } from './records.js';
import { processIo, type CliIo } from './io.js';
import { cannotReadReason, choiceFlag, numberFlag, numberListFlag, UsageError } from './args.js';
import { defaultFormat, OutputSink } from './output.js';
import { findFormat, formatsHelp, type OutputFormat } from './formats.js';
import { loadListFiles } from './lists.js';
import { action, subcommand, type CliContext, type Subcommand } from './program.js';
import { SINK_PLUGINS, type ListsProvider, type ListsTarget, type RecordSink } from './sinks.js';

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
  shard?: string;
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
      .option('--shard <I/N>', "classify only shard I of N (0-based) of the flows, split by address pair as the worker pool splits them; other frames are read for DNS answers only (one sensor's share of a trace)")
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
  /** Records go to the sinks only. */
  quietRecords: boolean;
  /** This run's shard of the flows (`--shard I/N`), or null for all. */
  shard: { i: number; n: number } | null;
  /** Called with the classifier or pool once it exists (a lists provider keeps it current). */
  attach: ((t: ListsTarget) => Promise<void>) | null;
  /** Back-pressure from the sinks, awaited between input chunks (null: nothing waits). */
  wait: (() => Promise<void> | null) | null;
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
  const shard = shardFlag(opts.shard);
  if (shard !== null && workers > 1) throw new UsageError('--shard works with --workers 1 (the pool splits by the same hash)');
  if (capture !== '-') {
    const why = unreadable(capture);
    if (why !== null) {
      stderr.write(`tunnelscope classify: cannot read ${capture}: ${why}\n`);
      return 2;
    }
  }
  const sinks: RecordSink[] = [];
  const providers: ListsProvider[] = [];
  const o: RunOptions = {
    onlyVpn: opts.only === 'vpn',
    quietRecords: false,
    shard,
    attach: null,
    wait: null,
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
    const sinkCtx = { io, input: capture };
    for (const p of SINK_PLUGINS) {
      const l = (await p.lists?.(opts, sinkCtx)) ?? null;
      if (l !== null) providers.push(l);
    }
    if (providers.length > 1) throw new UsageError('two options provide the lists; use one');
    const options: ClassifierOptions =
      providers.length === 1
        ? { ...providers[0]!.input }
        : await loadListFiles({
            registered: opts.registered,
            vpnEndpoints: opts.vpnEndpoints,
            vpnDomains: opts.vpnDomains,
            defaultDomains: opts.defaultDomains,
          });
    progress.phase(null);
    if (companionWindow !== undefined) options.companionWindowS = companionWindow;
    if (espPorts !== undefined) options.sslVpnEspPorts = espPorts;
    for (const p of SINK_PLUGINS) {
      const s = await p.create(opts, sinkCtx);
      if (s !== null) sinks.push(s);
    }
    if (providers.length === 1) o.attach = (t) => providers[0]!.attach(t);
    o.quietRecords = sinks.some((s) => s.replacesStdout === true);
    const waits = sinks.filter((s) => s.wait !== undefined);
    if (waits.length > 0) o.wait = () => waits.map((s) => s.wait!()).find((w) => w !== null) ?? null;
    const code = await classifyInput(options, capture, format, sinks, progress, o);
    // Closed here, not in finally, so that what they report (after delivering what was pending) is printed.
    const closed = await closeAll(sinks, providers);
    if (!o.quiet) for (const l of closed.reports) stderr.write(`tunnelscope: ${l}\n`);
    return Math.max(code, closed.code);
  } catch (e) {
    progress.done();
    if (e instanceof TunnelscopeError) {
      stderr.write(`tunnelscope classify: ${e.message}\n`);
      return 2;
    }
    throw e;
  } finally {
    await closeAll(sinks, providers).catch(() => undefined);
  }
}

/**
 * Close every sink, then every lists provider, and empty both arrays (so a second call does nothing). Resolves to
 * the worst exit code the sinks ask for and the lines they report.
 */
async function closeAll(sinks: RecordSink[], providers: ListsProvider[]): Promise<{ code: number; reports: string[] }> {
  let code = 0;
  const reports: string[] = [];
  for (const s of sinks.splice(0)) {
    await s.close();
    code = Math.max(code, s.exitCode?.() ?? 0);
    const r = s.report?.() ?? null;
    if (r !== null) reports.push(r);
  }
  for (const p of providers.splice(0)) {
    await p.close();
    const r = p.report?.() ?? null;
    if (r !== null) reports.push(r);
  }
  return { code, reports };
}

/** `--shard I/N`: 0 <= I < N. */
function shardFlag(text: string | undefined): { i: number; n: number } | null {
  if (text === undefined) return null;
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const i = m ? Number(m[1]) : NaN, n = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1 && n <= 1 << 16) || !(i < n)) throw new UsageError(`--shard must be I/N with 0 <= I < N, got ${JSON.stringify(text)}`);
  return { i, n };
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
  await o.attach?.(classifier);
  let bytesSeen = 0;
  let n = 0;
  const shard = o.shard;
  // A shard's session sees every frame's time (idle flows expire as in the whole run, as in a pool worker) and
  // every other frame's DNS answers (address bindings do not depend on which sensor owns the flow).
  let nextAdvanceUs = -Infinity;
  const onPacket = (p: RawPacket): void => {
    if (shard === null || frameShard(p.data, p.offset, p.capLen, p.linkType, shard.n) === shard.i) session.pushRaw(p);
    else {
      if (p.tsUs >= nextAdvanceUs) {
        nextAdvanceUs = p.tsUs + 1_000_000;
        session.advance(p.tsUs);
      }
      session.observeForeign(p);
    }
    bytesSeen += p.capLen + 16;
    if ((++n & 0xffff) === 0) progress.update({ bytes: bytesSeen, packets: n, flows });
  };
  const wait = o.wait;
  const afterChunk = wait === null ? undefined : () => wait() ?? undefined;
  try {
    if (input === '-') await readCaptureStream(o.io.stdin, 'stdin', onPacket, afterChunk ? { afterChunk } : {});
    // One session on one thread: nothing to overlap the reads with, unless a sink must send while we read.
    else if (afterChunk) await readCaptureFile(input, onPacket, { afterChunk });
    else readCaptureFileSync(input, onPacket);
  } finally {
    session.end();
  }
  return session.stats;
}

/** A worker pool: packets sharded by address pair over `o.workers` threads; records merged in a fixed order. */
async function runPool(options: ClassifierOptions, input: string, o: RunOptions, onRecord: (r: FlowRecord) => void, progress: Progress): Promise<RunStats> {
  const pool = createClassifierPool({ ...options, workers: o.workers, flow: o.flow });
  let flows = 0;
  const count = (r: FlowRecord): void => {
    flows++;
    onRecord(r);
  };
  await o.attach?.(pool);
  try {
    const wait = o.wait;
    if (wait !== null) {
      // Sinks that need back-pressure: the live path for files too, frames pushed, 'drain' and the sinks awaited.
      pool.on('flow', count);
      let full = false;
      const afterChunk = async (): Promise<void> => {
        if (full) {
          full = false;
          await once(pool, 'drain');
        }
        const w = wait();
        if (w) await w;
      };
      const push = (raw: RawPacket): void => {
        if (!pool.pushRaw(raw)) full = true;
      };
      if (input === '-') await readCaptureStream(o.io.stdin, 'stdin', push, { afterChunk });
      else await readCaptureFile(input, push, { afterChunk });
      return await pool.end();
    }
    if (input === '-') {
      pool.on('flow', count);
      await readCaptureStream(o.io.stdin, 'stdin', (raw) => void pool.pushRaw(raw));
      return await pool.end();
    }
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
    if (!o.quietRecords && !(o.onlyVpn && r.label === 'ordinary')) writer.record(r);
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
    stderr.write(
      `tunnelscope: ${st.packets} packets, ${st.flows} flows, ${tally.vpn} VPN flows, ` +
        `${bad.length ? `skipped: ${bad.join(', ')}, ` : ''}${secs.toFixed(2)} s (${Math.round(st.packets / Math.max(secs, 1e-9))} packets/s)\n`,
    );
  }
  return 0;
}

