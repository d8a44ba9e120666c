/**
 * Dev-corpus helpers shared by the golden flow test and the accuracy test: truth loading, the matching rules
 * of /work/shared/corpus/README.md (RFC 5952 normalisation, IPv4-mapped IPv6 as IPv4, ports only for tcp/udp,
 * transport names or numbers, vlan disambiguation), and a runner that pushes one capture through
 * reader + decoder + flow table and returns one record per flow.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ipaddr from 'ipaddr.js';
import { Decoder, newPacketView, type DecodeStats } from '../../src/trace/decode.js';
import { FlowTable, type FlowTableOptions, type FlowTableStats } from '../../src/trace/flow-table.js';
import { transportName } from '../../src/trace/flow-format.js';
import { readCaptureFile, type ReaderStats } from '../../src/trace/reader.js';
import { ENCAP_NAMES, type EndReason } from '../../src/trace/types.js';

/** The dev corpus: $TUNNELSCOPE_CORPUS, else ../shared/corpus beside the project root (as in CI's clone). */
export const CORPUS_DIR =
  process.env['TUNNELSCOPE_CORPUS'] ??
  [resolve(import.meta.dirname, '..', '..', '..', 'shared', 'corpus'), '/work/shared/corpus'].find((d) => existsSync(d)) ??
  resolve(import.meta.dirname, '..', '..', '..', 'shared', 'corpus');
export const PCAP_DIR = join(CORPUS_DIR, 'pcap');
export const TRUTH_FILE = join(CORPUS_DIR, 'truth.ndjson');

export function corpusAvailable(): boolean {
  return existsSync(TRUTH_FILE) && existsSync(PCAP_DIR);
}

export interface TruthFlow {
  pcap: string;
  transport: string;
  src: string;
  dst: string;
  ndpi: string;
  category: string;
  expect: 'vpn' | 'ordinary' | 'exclude';
  confidence: string;
  vlan?: number;
  encap?: string;
  uni?: boolean;
  note?: string;
}

/** All truth records, in file order. */
export function loadTruth(file: string = TRUTH_FILE): TruthFlow[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as TruthFlow);
}

/** Capture file names in the corpus folder, sorted. */
export function listCaptures(dir: string = PCAP_DIR): string[] {
  return readdirSync(dir).filter((f) => /\.(pcap|pcapng|cap)$/i.test(f)).sort();
}

const TRANSPORT_ALIASES: Record<string, string> = { 'ipv6-icmp': 'icmpv6', 'icmp6': 'icmpv6' };

/** Canonical transport name: `50` -> `esp`, `ipv6-icmp` -> `icmpv6`, names lower-cased. */
export function normaliseTransport(t: string | number): string {
  const s = String(t).trim().toLowerCase();
  if (/^\d+$/.test(s)) return transportName(Number(s));
  return TRANSPORT_ALIASES[s] ?? s;
}

function normaliseIp(text: string): string {
  const a = ipaddr.parse(text);
  if (a.kind() === 'ipv6') {
    const v6 = a as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
    return v6.toRFC5952String();
  }
  return a.toString();
}

/**
 * Normalised endpoint text: `ip:port` / `[ipv6]:port` for tcp/udp, the bare normalised address otherwise
 * (ports, if present, are dropped for other transports).
 */
export function normaliseEndpoint(text: string, transport: string | number): string {
  const t = normaliseTransport(transport);
  const withPort = t === 'tcp' || t === 'udp';
  let ip = text.trim(), port: string | null = null;
  const br = /^\[([^\]]+)\](?::(\d+))?$/.exec(ip);
  if (br) {
    ip = br[1]!;
    port = br[2] ?? null;
  } else if (/^[\d.]+:\d+$/.test(ip)) {
    const k = ip.lastIndexOf(':');
    port = ip.slice(k + 1);
    ip = ip.slice(0, k);
  }
  const n = normaliseIp(ip);
  if (!withPort || port === null) return n;
  return n.includes(':') ? `[${n}]:${Number(port)}` : `${n}:${Number(port)}`;
}

/** Direction-insensitive match key: transport + unordered normalised endpoint pair. */
export function matchKey(transport: string | number, a: string, b: string): string {
  const t = normaliseTransport(transport);
  const x = normaliseEndpoint(a, t), y = normaliseEndpoint(b, t);
  return x < y ? `${t} ${x} ${y}` : `${t} ${y} ${x}`;
}

/** A flow as produced by our pipeline (same fields as `tunnelscope flows` records). */
export interface OutFlow {
  transport: string;
  src: string;
  dst: string;
  vlan?: number;
  encap?: string;
  packets: number;
  packetsFwd: number;
  packetsRev: number;
  bytes: number;
  firstSeenUs: number;
  lastSeenUs: number;
  end: EndReason;
  /** OR of the TCP flags seen (0 for other transports). */
  tcpFlags: number;
}

export interface CaptureRun {
  flows: OutFlow[];
  reader: ReaderStats | null;
  decode: DecodeStats;
  table: FlowTableStats;
  /** A capture-format error that stopped reading (flows read before it are still listed). */
  error?: string;
}

/**
 * Run one capture through reader + decoder + flow table. Defaults use very long idle timeouts (one flow per
 * tuple, as nDPI's golden output mostly has) and no payload capture.
 */
export async function runCapture(path: string, opts: FlowTableOptions = {}): Promise<CaptureRun> {
  const flows: OutFlow[] = [];
  const table = new FlowTable(
    { idleTimeoutSec: 1e6, tcpIdleTimeoutSec: 1e6, maxPayloadPackets: 0, ...opts },
    {
      onEnd(f, end) {
        const o: OutFlow = {
          transport: transportName(f.transport), src: f.srcText(), dst: f.dstText(),
          packets: f.packetsFwd + f.packetsRev, packetsFwd: f.packetsFwd, packetsRev: f.packetsRev,
          bytes: f.bytesFwd + f.bytesRev, firstSeenUs: f.firstSeenUs, lastSeenUs: f.lastSeenUs, end, tcpFlags: f.tcpFlags,
        };
        if (f.vlan >= 0) o.vlan = f.vlan;
        const e = ENCAP_NAMES[f.encap];
        if (e) o.encap = e;
        flows.push(o);
      },
    },
  );
  const dec = new Decoder();
  const view = newPacketView();
  let reader: ReaderStats | null = null;
  let error: string | undefined;
  try {
    reader = await readCaptureFile(path, (raw) => {
      if (dec.decode(raw, view)) table.add(view);
    });
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  table.flush();
  return { flows, reader, decode: dec.stats, table: table.stats, ...(error !== undefined ? { error } : {}) };
}

export interface MatchResult {
  matched: TruthFlow[];
  missed: TruthFlow[];
}

/**
 * Match truth flows of one capture against output flows: same transport and unordered endpoint pair; when
 * several truth flows share that key, the output's vlan must equal the truth's.
 */
export function matchFlows(truth: readonly TruthFlow[], out: readonly OutFlow[]): MatchResult {
  const byKey = new Map<string, OutFlow[]>();
  for (const f of out) {
    const k = matchKey(f.transport, f.src, f.dst);
    let l = byKey.get(k);
    if (!l) byKey.set(k, (l = []));
    l.push(f);
  }
  const truthKeyCount = new Map<string, number>();
  for (const t of truth) {
    const k = matchKey(t.transport, t.src, t.dst);
    truthKeyCount.set(k, (truthKeyCount.get(k) ?? 0) + 1);
  }
  const matched: TruthFlow[] = [], missed: TruthFlow[] = [];
  for (const t of truth) {
    const k = matchKey(t.transport, t.src, t.dst);
    const cands = byKey.get(k) ?? [];
    const ok = truthKeyCount.get(k)! > 1 ? cands.some((f) => (f.vlan ?? -1) === (t.vlan ?? -1)) : cands.length > 0;
    (ok ? matched : missed).push(t);
  }
  return { matched, missed };
}
