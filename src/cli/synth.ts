/**
 * `tunnelscope synth`: write a deterministic synthetic capture plus its truth (`<base>.truth.ndjson`, one line
 * per flow) and the matching registration list (`<base>.registered.txt`). Same arguments → byte-identical
 * files. The capture is streamed to disk in chunks; a one-line summary goes to stderr.
 */
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { TunnelscopeError } from '../errors.js';
import { quoteText, safeText } from '../text.js';
import { defaultVpnDomainsPath } from '../lists/default-domains.js';
import { SEED_MAX, seedFromText } from '../synth/rng.js';
import { formatRegistrations, formatTruth, MAX_SYNTH_FLOWS, MAX_SYNTH_PACKETS, synthesize, type SynthOptions } from '../synth/generate.js';
import type { Command } from 'commander';
import { cannotWriteReason, numberFlag, UsageError } from './args.js';
import { processIo, type CliIo } from './io.js';
import { action, subcommand, type CliContext, type Subcommand } from './program.js';

const NAME = 'synth';

const AFTER_HELP = `
Writes a deterministic synthetic Ethernet pcap with a known truth: TLS (SNI), DNS, QUIC (protected Initials),
HTTP, SSH, STUN, WebRTC/DTLS, game UDP and NTP as ordinary traffic; WireGuard, OpenVPN UDP/TCP, IKEv2,
ESP, AH, L2TP, PPTP (+ enhanced GRE) and TLS to VPN-provider domains as VPN traffic. Also writes
  <out without .pcap>.truth.ndjson     one line per flow: transport, src, dst, expect, protocol, registered,
                                       registrant, packets, kind
  <out without .pcap>.registered.txt   registration list (CIDR,registrant-id) covering the registered clients
Same arguments give byte-identical files.

Exit codes: 0 ok, 1 write failure, 2 usage error.

Examples:
  tunnelscope synth --packets 2000000 --flows 50000 --vpn-share 0.24 --registered-share 0.5 --seed 7 --out perf.pcap
  tunnelscope synth --packets 5000 --flows 200 --seed 3 --out small.pcap && tunnelscope classify small.pcap
`;

interface SynthOpts {
  out?: string;
  packets?: string;
  flows?: string;
  vpnShare?: string;
  registeredShare?: string;
  seed?: string;
  ipv6Share?: string;
  meanSize?: string;
  vpnDomains?: string;
  quiet?: boolean;
}

export const synthCommand: Subcommand = {
  name: NAME,
  define(program: Command, ctx: CliContext): Command {
    return subcommand(program, ctx, NAME, 'write a deterministic synthetic capture with its truth and registration list')
      .option('-o, --out <FILE>', 'capture to write (required)')
      .option('--packets <N>', 'total packets, exact (default 200000)')
      .option('--flows <N>', 'flows, exact (default 5000)')
      .option('--vpn-share <X>', 'fraction of flows that are VPN (default 0.24)')
      .option('--registered-share <Y>', 'fraction of VPN flows whose client lies in a registered prefix (default 0.5)')
      .option('--seed <S>', 'PRNG seed: an integer in [0, 4294967295], or text (hashed; default 1)')
      .option('--ipv6-share <Z>', 'fraction of flows over IPv6 (default 0.2)')
      .option('--mean-size <B>', 'target mean frame size in bytes (default 620)')
      .option('--vpn-domains <FILE>', 'provider domains for VPN TLS SNI (default data/vpn-domains.txt if present, else built in)')
      .option('-q, --quiet', 'no summary on stderr')
      .addHelpText('after', AFTER_HELP)
      .action(action(ctx, NAME, (opts: SynthOpts) => synth(opts, ctx.io)));
  },
};

/** Domain names from a list file: first token of each non-comment line that looks like a domain. */
export function readDomainList(path: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const t = line.replace(/#.*/, '').trim().split(/[\s,]+/)[0]?.toLowerCase().replace(/^\*\./, '').replace(/^\./, '') ?? '';
    if (/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(t)) out.push(t);
  }
  return out;
}

/**
 * `--seed`: decimal digits up to 2^32 - 1 are the seed itself, other text is hashed. Text that reads as a number
 * but is not such an integer (`1e308`, `-5`, `1.5`, `0x10`, `4294967296`) was hashed as text, so it named a seed the
 * user did not mean (the summary printed another number): refused, as any other out-of-range number is.
 */
function seedFlag(text: string): number {
  const t = text.trim();
  if (t === '') throw new UsageError('--seed must not be empty');
  if (Number.isNaN(Number(t))) return seedFromText(t);
  if (/^\d+$/.test(t) && Number(t) <= SEED_MAX) return Number(t);
  throw new UsageError(`--seed must be an integer in [0, ${SEED_MAX}] or text that does not read as a number, got ${quoteText(text)}`);
}

function optionsFrom(values: SynthOpts): { opts: SynthOptions; out: string; quiet: boolean } {
  if (values.out === undefined || values.out === '') throw new UsageError('missing --out FILE');
  const seed = seedFlag(values.seed ?? '1');
  let vpnDomains: string[] | undefined;
  const domPath = values.vpnDomains ?? (existsSync(defaultVpnDomainsPath()) ? defaultVpnDomainsPath() : undefined);
  if (domPath !== undefined) {
    try {
      vpnDomains = readDomainList(domPath);
    } catch (err) {
      throw new UsageError(`cannot read --vpn-domains ${domPath}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const opts: SynthOptions = {
    packets: numberFlag('packets', values.packets, { min: 1, max: MAX_SYNTH_PACKETS, integer: true }) ?? 200000,
    flows: numberFlag('flows', values.flows, { min: 1, max: MAX_SYNTH_FLOWS, integer: true }) ?? 5000,
    vpnShare: numberFlag('vpn-share', values.vpnShare, { min: 0, max: 1 }) ?? 0.24,
    registeredShare: numberFlag('registered-share', values.registeredShare, { min: 0, max: 1 }) ?? 0.5,
    seed,
    ipv6Share: numberFlag('ipv6-share', values.ipv6Share, { min: 0, max: 1 }) ?? 0.2,
    meanSize: numberFlag('mean-size', values.meanSize, { min: 60, max: 1514 }) ?? 620,
  };
  if (vpnDomains !== undefined && vpnDomains.length > 0) opts.vpnDomains = vpnDomains;
  return { opts, out: values.out, quiet: values.quiet === true };
}

/** Base name for the side files: the capture path without a trailing .pcap. */
export function sideFileBase(out: string): string {
  return out.replace(/\.pcap$/i, '');
}

/** Run `synth` with its arguments (without the command name); resolves to the exit code. */
export async function run(argv: string[], io: CliIo = processIo()): Promise<number> {
  const { main } = await import('./main.js');
  return main([NAME, ...argv], io);
}

async function synth(values: SynthOpts, io: CliIo): Promise<number> {
  const { stderr } = io;
  const parsed = optionsFrom(values);
  const { opts, out, quiet } = parsed;
  const t0 = performance.now();
  let fd: number;
  // The file system's refusal (a missing directory, a full disk) is the environment's, not a fault of ours: exit 2.
  const cannotWrite = (path: string, err: unknown): number => {
    const why = cannotWriteReason(err);
    if (why === null) throw err;
    stderr.write(`tunnelscope synth: cannot write ${safeText(path, 256)}: ${why}\n`);
    return 2;
  };
  try {
    fd = openSync(out, 'w');
  } catch (err) {
    return cannotWrite(out, err);
  }
  let res: ReturnType<typeof synthesize>;
  try {
    res = synthesize(opts, (chunk) => {
      let o = 0;
      while (o < chunk.length) o += writeSync(fd, chunk, o, chunk.length - o);
    });
  } catch (err) {
    closeSync(fd);
    if (err instanceof TunnelscopeError && err.code === 'TS_INVALID_ARG') {
      throw new UsageError(err.message);
    }
    return cannotWrite(out, err);
  }
  closeSync(fd);
  const base = sideFileBase(out);
  const truthPath = `${base}.truth.ndjson`, regPath = `${base}.registered.txt`;
  try {
    writeFileSync(truthPath, res.truth.map((t) => `${formatTruth(t)}\n`).join(''));
  } catch (err) {
    return cannotWrite(truthPath, err);
  }
  try {
    const header = `tunnelscope synth registration list: seed ${opts.seed}, ${opts.flows} flows, vpn-share ${opts.vpnShare}, registered-share ${opts.registeredShare}`;
    writeFileSync(regPath, formatRegistrations(res.registrations, header));
  } catch (err) {
    return cannotWrite(regPath, err);
  }
  if (!quiet) {
    const s = (performance.now() - t0) / 1000;
    const vpn = res.truth.filter((t) => t.expect === 'vpn');
    const reg = vpn.filter((t) => t.registered).length;
    stderr.write(
      `synth: ${res.packets} packets, ${res.flows} flows (${vpn.length} vpn, ${reg} registered), ` +
      `${res.registrations.length} prefixes, mean frame ${(res.frameBytes / res.packets).toFixed(0)} B, ` +
      `${((res.lastUs - res.firstUs) / 1e6).toFixed(1)} s of traffic, ${res.fileBytes} bytes → ${safeText(out, 256)} in ${s.toFixed(2)} s ` +
      `(${Math.round(res.packets / s)} packets/s)\n`,
    );
  }
  return 0;
}
