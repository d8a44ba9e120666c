/** `tunnelscope classify <capture|->`: label every flow of a capture. */
import { accessSync, constants, statSync } from 'node:fs';
import { createClassifier, type Classifier, type ClassifierOptions } from '../classify/classifier.js';
import { createClassifierPool } from '../pool/index.js';
import type { RawPacket } from '../trace/types.js';
import type { FlowRecord } from '../classify/record.js';
import { loadCidrList } from '../lists/cidr-list.js';
import { loadDomainList } from '../lists/domains.js';
import { defaultVpnDomainsPath } from '../lists/default-domains.js';
import { readCaptureFileSync, readCaptureStream } from '../trace/reader.js';
import { TunnelscopeError } from '../errors.js';
import { Progress } from './progress.js';
import { RecordWriter } from './records.js';
import type { CliIo } from './flows.js';
import { cannotReadReason, choiceFlag, numberFlag, parseCli, reportUsage, UsageError } from './args.js';
import { defaultFormat, type OutputFormat } from './output.js';

export const HELP = `usage: tunnelscope classify <capture|-> [options]

Label every flow of a pcap/pcapng capture ('-' reads stdin) as registered_vpn, unregistered_vpn or ordinary.

options:
  --registered FILE       registration list: lines 'CIDR,registrant' (# comments)
  --vpn-endpoints FILE    operator VPN endpoint list: lines 'CIDR[,label]'
  --vpn-domains FILE      VPN-provider domain list: lines 'domain[,provider]' (adds to the bundled list)
  --no-default-domains    do not load the bundled data/vpn-domains.txt
  --format F              ndjson | table | json (default: table on a TTY, else ndjson)
  --only vpn              print only flows labelled registered_vpn or unregistered_vpn
  --summary               print counts per label and protocol at the end
  --idle-timeout S        flow idle timeout in capture seconds (default 120)
  --max-flows N           cap on live flows; least recently active are evicted (default 1000000)
  --companion-window S    an SSL-VPN data channel (DTLS, GlobalProtect ESP) is tied to its TLS flow when it
                          starts within S capture seconds of it, or while it is open (default 10)
  --ssl-vpn-esp-ports P,… UDP ports where ESP next to a TLS flow with no IKE is an SSL VPN's data channel
                          (Ivanti/Pulse pattern; default 4500)
  --workers N             classify on N worker threads (default 1)
  --quiet                 no progress bar and no end-of-run diagnostics on stderr
  -h, --help              this text

exit codes: 0 success; 2 bad usage, unreadable or corrupt input, or a bad list (message names file:line).

examples:
  tunnelscope classify trace.pcap --registered registered.txt --format table --summary
  tcpdump -w - -i eth0 | tunnelscope classify - --only vpn
`;

const OPTIONS = {
  registered: { type: 'string' },
  'vpn-endpoints': { type: 'string' },
  'vpn-domains': { type: 'string' },
  'no-default-domains': { type: 'boolean' },
  format: { type: 'string' },
  only: { type: 'string' },
  summary: { type: 'boolean' },
  'idle-timeout': { type: 'string' },
  'max-flows': { type: 'string' },
  'companion-window': { type: 'string' },
  'ssl-vpn-esp-ports': { type: 'string' },
  workers: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const USAGE_LINE = 'usage: tunnelscope classify <capture|-> [options]   (tunnelscope classify --help)';

export async function run(
  argv: string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
): Promise<number> {
  const { stdout, stderr } = io;
  try {
    const { values, positionals } = parseCli(argv, OPTIONS, { min: 0, max: 1, name: 'capture file (or - for stdin)' });
    if (values.help) {
      stdout.write(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('missing capture file (or - for stdin)');
    const input = positionals[0]!;
    const format = choiceFlag<OutputFormat>('format', values.format, ['ndjson', 'table', 'json'], defaultFormat(stdout as { isTTY?: boolean }));
    choiceFlag('only', values.only, ['vpn'], 'vpn');
    const idle = numberFlag('idle-timeout', values['idle-timeout'], { min: 1 });
    const maxFlows = numberFlag('max-flows', values['max-flows'], { min: 1, integer: true });
    const companionWindow = numberFlag('companion-window', values['companion-window'], { min: 0 });
    const espPortsText = values['ssl-vpn-esp-ports'];
    const espPorts = espPortsText === undefined ? undefined : espPortsText.split(',').map((p) => numberFlag('ssl-vpn-esp-ports', p.trim(), { min: 1, max: 65535, integer: true })!);
    const workers = numberFlag('workers', values.workers, { min: 1, max: 256, integer: true }) ?? 1;
    if (input !== '-') {
      const why = unreadable(input);
      if (why !== null) {
        stderr.write(`tunnelscope classify: cannot read ${input}: ${why}\n`);
        return 2;
      }
    }
    const options = await buildOptions(values);
    if (companionWindow !== undefined) options.companionWindowS = companionWindow;
    if (espPorts !== undefined) options.sslVpnEspPorts = espPorts;
    const flow = {
      ...(idle !== undefined ? { idleTimeoutSec: idle, tcpIdleTimeoutSec: Math.max(idle, 300) } : {}),
      ...(maxFlows !== undefined ? { maxFlows } : {}),
    };
    return await classifyInput(options, input, {
      format,
      onlyVpn: values.only === 'vpn',
      summary: values.summary === true,
      quiet: values.quiet === true,
      flow,
      workers,
      io,
    });
  } catch (e) {
    if (e instanceof UsageError) return reportUsage(stderr, 'classify', e, USAGE_LINE);
    if (e instanceof TunnelscopeError) {
      stderr.write(`tunnelscope classify: ${e.message}\n`);
      return 2;
    }
    throw e;
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

async function buildOptions(values: { registered?: string | undefined; 'vpn-endpoints'?: string | undefined; 'vpn-domains'?: string | undefined; 'no-default-domains'?: boolean | undefined }): Promise<ClassifierOptions> {
  const reg = values.registered;
  const ep = values['vpn-endpoints'];
  const dom = values['vpn-domains'];
  // Never push(...entries): spreading a list into call arguments overflows the stack past ~130k entries.
  const domains = new Map<string, string>();
  if (!values['no-default-domains']) {
    const d = await loadDomainList({ path: defaultVpnDomainsPath() }, { source: 'data/vpn-domains.txt' });
    for (const [k, v] of d.entries) domains.set(k, v);
  }
  let domainsName = values['no-default-domains'] ? 'vpn-domains' : 'data/vpn-domains.txt';
  if (dom) {
    const d = await loadDomainList({ path: dom }, { source: dom });
    // Operator entries win over bundled ones for the same suffix.
    for (const [k, v] of d.entries) domains.set(k, v);
    domainsName = values['no-default-domains'] ? dom : `${dom}+data/vpn-domains.txt`;
  }
  const domainEntries = Array.from(domains);
  return {
    registered: reg ? (await loadCidrList({ path: reg }, { source: reg })).toMap() : null,
    vpnEndpoints: ep ? (await loadCidrList({ path: ep }, { source: ep })).toMap() : null,
    vpnDomains: domainEntries.length ? domainEntries : null,
    names: { registered: reg ?? 'registered', vpnEndpoints: ep ?? 'vpn-endpoints', vpnDomains: domainsName },
  };
}

interface RunOptions {
  format: OutputFormat;
  onlyVpn: boolean;
  summary: boolean;
  quiet: boolean;
  flow: { idleTimeoutSec?: number; maxFlows?: number };
  workers: number;
  io: CliIo;
}

interface RunSummary {
  packets: number;
  flows: number;
  malformed: Record<string, number>;
}

/** One in-process session: the fastest path on one core. */
async function runSession(classifier: Classifier, input: string, o: RunOptions, out: RecordWriter, progress: Progress): Promise<RunSummary> {
  const session = classifier.session({ flow: o.flow });
  session.on('flow', (r: FlowRecord) => out.write(r));
  let bytesSeen = 0;
  let n = 0;
  const onPacket = (p: RawPacket): void => {
    session.pushRaw(p);
    bytesSeen += p.capLen + 16;
    if ((++n & 0xffff) === 0) progress.update(bytesSeen);
  };
  try {
    if (input === '-') await readCaptureStream(o.io.stdin, 'stdin', onPacket);
    else readCaptureFileSync(input, onPacket); // one session on one thread: nothing to overlap the reads with
  } finally {
    session.end();
  }
  return session.stats;
}

/** A worker pool: packets sharded by address pair over `o.workers` threads; records merged in a fixed order. */
async function runPool(options: ClassifierOptions, input: string, o: RunOptions, out: RecordWriter, progress: Progress): Promise<RunSummary> {
  const pool = createClassifierPool({ ...options, workers: o.workers, flow: o.flow });
  try {
    if (input === '-') {
      pool.on('flow', (r: FlowRecord) => out.write(r));
      await readCaptureStream(o.io.stdin, 'stdin', (raw) => void pool.pushRaw(raw));
      return await pool.end();
    }
    return await pool.classifyFile(input, (r) => out.write(r), { onProgress: ({ bytes }) => progress.update(bytes) });
  } finally {
    await pool.close();
  }
}

async function classifyInput(options: ClassifierOptions, input: string, o: RunOptions): Promise<number> {
  const { stdout, stderr } = o.io;
  const out = new RecordWriter(stdout, o.format, { onlyVpn: o.onlyVpn, summary: o.summary, stderr });
  const size = input === '-' ? 0 : statSync(input).size;
  const progress = new Progress(size, o.quiet, stderr);
  const t0 = process.hrtime.bigint();
  let st: RunSummary;
  try {
    st = o.workers > 1 ? await runPool(options, input, o, out, progress) : await runSession(createClassifier(options), input, o, out, progress);
  } catch (e) {
    progress.done();
    await out.end();
    if (e instanceof TunnelscopeError) {
      stderr.write(`tunnelscope classify: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  progress.done();
  await out.end();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (!o.quiet) {
    const bad = Object.entries(st.malformed).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
    stderr.write(
      `tunnelscope: ${st.packets} packets, ${st.flows} flows, ${out.counts.vpn} VPN flows, ` +
        `${bad.length ? `skipped: ${bad.join(', ')}, ` : ''}${secs.toFixed(2)} s (${Math.round(st.packets / Math.max(secs, 1e-9))} packets/s)\n`,
    );
  }
  return 0;
}
