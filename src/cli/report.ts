/**
 * `tunnelscope report <capture|records.ndjson|-> --out report.html`: one self-contained HTML page per capture or
 * record file. A capture (pcap/pcapng) is classified here with the same options as `classify`; a record file is
 * read as it is. Which one the input is, is decided by its first bytes, never by its name.
 */
import { createReadStream, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { createClassifier, type ClassifierOptions } from '../classify/classifier.js';
import type { FlowRecord } from '../classify/record.js';
import { TunnelscopeError } from '../errors.js';
import { createClassifierPool } from '../pool/index.js';
import { ReportBuilder } from '../report/builder.js';
import { ndjsonRecords } from '../report/ndjson.js';
import type { ReportList, ReportMeta } from '../report/types.js';
import { readCaptureFileSync, readCaptureStream } from '../trace/reader.js';
import type { RawPacket } from '../trace/types.js';
import { cannotReadReason, numberFlag, parseCli, reportUsage, UsageError } from './args.js';
import { buildOptions } from './classify.js';
import type { CliIo } from './flows.js';
import { Progress } from './progress.js';

export const HELP = `usage: tunnelscope report <capture|records.ndjson|-> --out FILE [options]

Write one self-contained HTML report (no network access; opens from disk in any current browser): headline
figures, charts over time, by protocol, registrant and time to verdict, and a flow table with each verdict's
evidence. The input is a pcap/pcapng capture (classified here, with classify's options) or the NDJSON records
'tunnelscope classify --format ndjson' writes (records carrying a "sensor" field get a per-sensor breakdown);
which one is told from the first bytes.

options:
  --out FILE              the HTML file to write (required; '-' writes it to stdout)
  --title TEXT            the page title (default 'tunnelscope report')
  --max-table-flows N     flows kept for the flow table and time charts (default 1000000; figures count all)
  --quiet                 no progress bar and no end-of-run line on stderr
  -h, --help              this text

capture input only (as for classify):
  --registered FILE       registration list: lines 'CIDR,registrant'
  --vpn-endpoints FILE    operator VPN endpoint list: lines 'CIDR[,label]'
  --vpn-domains FILE      VPN-provider domain list (adds to the bundled list)
  --no-default-domains    do not load the bundled data/vpn-domains.txt
  --idle-timeout S        flow idle timeout in capture seconds (default 120)
  --max-flows N           cap on live flows (default 1000000)
  --companion-window S    SSL-VPN data channel window in capture seconds (default 10)
  --ssl-vpn-esp-ports P,… UDP ports of the Pulse-style ESP companion rule (default 4500)
  --workers N             classify on N worker threads (default 1)

exit codes: 0 success; 2 bad usage, unreadable or corrupt input, a bad record line or a bad list.

examples:
  tunnelscope report fixtures/sample.pcap --registered fixtures/sample-registered.txt --out report.html
  tunnelscope classify trace.pcap --format ndjson > flows.ndjson && tunnelscope report flows.ndjson --out report.html
`;

const OPTIONS = {
  out: { type: 'string', short: 'o' },
  title: { type: 'string' },
  'max-table-flows': { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  registered: { type: 'string' },
  'vpn-endpoints': { type: 'string' },
  'vpn-domains': { type: 'string' },
  'no-default-domains': { type: 'boolean' },
  'idle-timeout': { type: 'string' },
  'max-flows': { type: 'string' },
  'companion-window': { type: 'string' },
  'ssl-vpn-esp-ports': { type: 'string' },
  workers: { type: 'string' },
} as const;

const CAPTURE_ONLY = ['registered', 'vpn-endpoints', 'vpn-domains', 'no-default-domains', 'idle-timeout', 'max-flows', 'companion-window', 'ssl-vpn-esp-ports', 'workers'] as const;

const USAGE_LINE = 'usage: tunnelscope report <capture|records.ndjson|-> --out FILE [options]   (tunnelscope report --help)';

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

export async function run(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }): Promise<number> {
  const { stdout, stderr } = io;
  try {
    const { values, positionals } = parseCli(argv, OPTIONS, { min: 0, max: 1, name: 'input (capture, NDJSON records, or - for stdin)' });
    if (values.help) {
      stdout.write(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('missing input (capture, NDJSON records, or - for stdin)');
    const out = values.out;
    if (out === undefined || out === '') throw new UsageError('missing --out FILE (the HTML report to write; - for stdout)');
    const input = positionals[0]!;
    const maxTable = numberFlag('max-table-flows', values['max-table-flows'], { min: 1, integer: true });
    const idle = numberFlag('idle-timeout', values['idle-timeout'], { min: 1 });
    const maxFlows = numberFlag('max-flows', values['max-flows'], { min: 1, integer: true });
    const companionWindow = numberFlag('companion-window', values['companion-window'], { min: 0 });
    const espPortsText = values['ssl-vpn-esp-ports'];
    const espPorts = espPortsText === undefined ? undefined : espPortsText.split(',').map((p) => numberFlag('ssl-vpn-esp-ports', p.trim(), { min: 1, max: 65535, integer: true })!);
    const workers = numberFlag('workers', values.workers, { min: 1, max: 256, integer: true }) ?? 1;

    const { kind, stream } = await openInput(input, io);
    if (kind === 'unknown') {
      stderr.write(`tunnelscope report: ${input}: neither a pcap/pcapng capture nor NDJSON flow records (by its first bytes)\n`);
      return 2;
    }
    const builder = new ReportBuilder(maxTable !== undefined ? { maxFlows: maxTable } : {});
    const meta: ReportMeta = { capture: input === '-' ? 'stdin' : input, tool: `tunnelscope ${version()}`, generatedAt: new Date() };
    if (values.title !== undefined) meta.title = values.title;
    const t0 = process.hrtime.bigint();
    if (kind === 'records') {
      const stray = CAPTURE_ONLY.filter((k) => values[k] !== undefined);
      if (stray.length) throw new UsageError(`--${stray[0]} applies to a capture; ${input} holds flow records, already classified`);
      for await (const r of ndjsonRecords(stream, input === '-' ? 'stdin' : input)) builder.add(r);
    } else {
      const options = await buildOptions(values);
      if (companionWindow !== undefined) options.companionWindowS = companionWindow;
      if (espPorts !== undefined) options.sslVpnEspPorts = espPorts;
      const flow = {
        ...(idle !== undefined ? { idleTimeoutSec: idle, tcpIdleTimeoutSec: Math.max(idle, 300) } : {}),
        ...(maxFlows !== undefined ? { maxFlows } : {}),
      };
      const progress = new Progress(input === '-' ? 0 : statSync(input).size, values.quiet === true, stderr);
      try {
        const st = await classify(options, input, stream, { flow, workers, progress }, (r) => builder.add(r));
        meta.packets = st.packets;
        meta.skipped = st.malformed;
      } finally {
        progress.done();
      }
      meta.lists = listsOf(options);
    }
    const html = await builder.build(meta);
    try {
      await writeOut(out, html, stdout);
    } catch (e) {
      const why = cannotReadReason(e);
      if (why === null) throw e;
      stderr.write(`tunnelscope report: cannot write ${out}: ${why}\n`);
      return 2;
    }
    if (!values.quiet) {
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      stderr.write(`tunnelscope report: ${builder.flows} flows → ${out === '-' ? 'stdout' : out} (${(html.length / 1e6).toFixed(2)} MB, ${secs.toFixed(2)} s)\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) return reportUsage(stderr, 'report', e, USAGE_LINE);
    if (e instanceof TunnelscopeError) {
      stderr.write(`tunnelscope report: ${e.message}\n`);
      return 2;
    }
    const why = cannotReadReason(e);
    if (why !== null) {
      stderr.write(`tunnelscope report: cannot read ${(e as { path?: string }).path ?? 'input'}: ${why}\n`);
      return 2;
    }
    throw e;
  }
}

/** The input's kind from its first bytes, and a stream of all of it (stdin: the peeked bytes put back first). */
async function openInput(input: string, io: CliIo): Promise<{ kind: InputKind; stream: AsyncIterable<Uint8Array> }> {
  if (input !== '-') {
    if (statSync(input).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR', path: input });
    const fd = openSync(input, 'r');
    const head = new Uint8Array(64);
    let n: number;
    try {
      n = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
    return { kind: sniffInput(head.subarray(0, n)), stream: createReadStream(input) };
  }
  const it = (io.stdin as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < 64) {
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
  return { kind: sniffInput(head.subarray(0, 64)), stream: all() };
}

interface ClassifyRun {
  flow: { idleTimeoutSec?: number; maxFlows?: number };
  workers: number;
  progress: Progress;
}

async function classify(
  options: ClassifierOptions,
  input: string,
  stream: AsyncIterable<Uint8Array>,
  o: ClassifyRun,
  onRecord: (r: FlowRecord) => void,
): Promise<{ packets: number; malformed: Record<string, number> }> {
  if (o.workers > 1 && input !== '-') {
    const pool = createClassifierPool({ ...options, workers: o.workers, flow: o.flow });
    try {
      return await pool.classifyFile(input, onRecord, { onProgress: ({ bytes }) => o.progress.update(bytes) });
    } finally {
      await pool.close();
    }
  }
  const session = createClassifier(options).session({ flow: o.flow });
  session.on('flow', onRecord);
  let bytes = 0, n = 0;
  const onPacket = (p: RawPacket): void => {
    session.pushRaw(p);
    bytes += p.capLen + 16;
    if ((++n & 0xffff) === 0) o.progress.update(bytes);
  };
  try {
    if (input === '-') await readCaptureStream(Readable.from(stream), 'stdin', onPacket);
    else readCaptureFileSync(input, onPacket);
  } finally {
    session.end();
  }
  return session.stats;
}

function listsOf(o: ClassifierOptions): ReportList[] {
  const lists: ReportList[] = [];
  const names = o.names ?? {};
  if (o.registered && 'size' in o.registered) lists.push({ role: 'registered', name: names.registered ?? 'registered', entries: o.registered.size });
  if (o.vpnEndpoints && 'size' in o.vpnEndpoints) lists.push({ role: 'vpn-endpoints', name: names.vpnEndpoints ?? 'vpn-endpoints', entries: o.vpnEndpoints.size });
  if (Array.isArray(o.vpnDomains)) lists.push({ role: 'vpn-domains', name: names.vpnDomains ?? 'vpn-domains', entries: o.vpnDomains.length });
  return lists;
}

/** Write the page whole or not at all: a temporary file beside the target, renamed over it. */
async function writeOut(out: string, html: string, stdout: NodeJS.WritableStream): Promise<void> {
  if (out === '-') {
    await new Promise<void>((resolve, reject) => stdout.write(html, (err) => (err ? reject(err) : resolve())));
    return;
  }
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, html);
    renameSync(tmp, out);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    throw e;
  }
}

function version(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tunnelscope' && pkg.version) return pkg.version;
    } catch {
      // try the next place
    }
  }
  return '';
}
