/**
 * Deterministic synthetic capture generator (`tunnelscope synth`). Plans flows (kind, addresses, ports, packet
 * budget, timing) up front, then interleaves their packets in timestamp order with a binary heap and streams
 * pcap bytes to a sink in chunks, so memory is O(flows), not O(packets). All randomness comes from seeded
 * sfc32 streams: the same options give byte-identical output. No I/O here; the CLI owns files.
 */
import { PcapWriter } from '../trace/pcap-writer.js';
import { describeValue, InvalidArgumentError } from '../errors.js';
import { AddressPlan, addrText, type Client, type Registration } from './addresses.js';
import { nextFragment, payloadOffset, startFragments, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, writeHeaders } from './frames.js';
import { kindCounts } from './mix.js';
import { VPN_PROVIDER_DOMAINS, WEB_DOMAINS } from './names.js';
import type { FlowKind, SynthContext, SynthFlow } from './protocols/types.js';
import { Rng } from './rng.js';

/** Options of {@link synthesize}. */
export interface SynthOptions {
  /** Total packets written (exact). */
  packets: number;
  /** Number of flows (exact; each becomes one truth line). */
  flows: number;
  /** Fraction of flows that are VPN, in [0, 1]. */
  vpnShare: number;
  /** Fraction of VPN flows whose client lies in a registered prefix, in [0, 1]. */
  registeredShare: number;
  /**
   * PRNG seed: an integer in [0, 2^53 - 1] (the generator keys on all of its bits; a fraction, a negative or a
   * larger number would silently fold onto another seed, 1e308 onto 0).
   */
  seed: number;
  /** Fraction of flows over IPv6 (default 0.2). */
  ipv6Share?: number;
  /** Target mean frame size in bytes, Ethernet header included (default 620). */
  meanSize?: number;
  /** VPN-provider domains for provider TLS SNI (default: a built-in list of well-known providers). */
  vpnDomains?: readonly string[];
  /** Timestamp of the trace start, µs since the epoch (default 2026-01-01T00:00:00Z). */
  startUs?: number;
  /** Span over which flows start and run, seconds (default 120). Gaps inside a flow stay below 50 s. */
  durationS?: number;
}

/** One truth line (`*.truth.ndjson`). */
export interface TruthRecord {
  transport: string;
  src: string;
  dst: string;
  expect: 'vpn' | 'ordinary';
  protocol: string | null;
  registered: boolean;
  registrant: string | null;
  packets: number;
  /** Generator kind (finer than `protocol`; e.g. `dns`, `quic`, `pptp-gre`). */
  kind: string;
}

export interface SynthResult {
  packets: number;
  flows: number;
  /** Sum of frame lengths (bytes on the wire, without pcap record headers). */
  frameBytes: number;
  /** Bytes of the pcap file. */
  fileBytes: number;
  firstUs: number;
  lastUs: number;
  truth: TruthRecord[];
  registrations: Registration[];
}

const MAX_GAP_US = 50e6;
/** Bounds of `flows` and `packets` (the CLI's too). */
export const MAX_SYNTH_FLOWS = 1e7;
export const MAX_SYNTH_PACKETS = 1e9;
const DEFAULT_START_US = Date.UTC(2026, 0, 1) * 1000;

/** Smallest `packets` that the given flow count and VPN share allow (every flow needs its handshake). */
export function minimumPackets(flows: number, vpnShare: number): number {
  return kindCounts(flows, vpnShare).reduce((s, { kind, count }) => s + kind.minPackets * count, 0);
}

function validate(o: SynthOptions): void {
  const bad = (m: string): never => { throw new InvalidArgumentError(m); };
  // The CLI's bounds: flows are planned in memory, and more packets than this is a run that never ends.
  if (!Number.isInteger(o.flows) || o.flows < 1 || o.flows > MAX_SYNTH_FLOWS) bad(`flows must be an integer in [1, ${MAX_SYNTH_FLOWS}], got ${o.flows}`);
  if (!Number.isInteger(o.packets) || o.packets < 1 || o.packets > MAX_SYNTH_PACKETS) bad(`packets must be an integer in [1, ${MAX_SYNTH_PACKETS}], got ${o.packets}`);
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) bad(`seed must be an integer in [0, ${Number.MAX_SAFE_INTEGER}], got ${describeValue(o.seed)}`);
  for (const [n, v] of [['vpnShare', o.vpnShare], ['registeredShare', o.registeredShare], ['ipv6Share', o.ipv6Share ?? 0.2]] as const) {
    if (!(v >= 0 && v <= 1)) bad(`${n} must be in [0, 1], got ${v}`);
  }
  const m = o.meanSize ?? 620;
  if (!(m >= 60 && m <= 1514)) bad(`meanSize must be in [60, 1514], got ${m}`);
  const min = minimumPackets(o.flows, o.vpnShare);
  if (o.packets < min) bad(`packets must be at least ${min} for ${o.flows} flows (every flow needs its handshake)`);
}

/** Key of a planned flow's 5-tuple (ports 0 for portless transports), for keeping every flow distinct. */
function tupleKey(transport: string, cli: Uint8Array, cport: number, srv: Uint8Array, sport: number): string {
  return `${transport}|${cli.join('.')}|${cport}|${srv.join('.')}|${sport}`;
}

/** Plan all flows; returns them sorted by start time (index = order of first packet). */
function plan(o: SynthOptions, rng: Rng, addrs: AddressPlan, ctx: SynthContext): SynthFlow[] {
  const counts = kindCounts(o.flows, o.vpnShare);
  const kinds: FlowKind[] = [];
  for (const { kind, count } of counts) for (let i = 0; i < count; i++) kinds.push(kind);
  for (let i = kinds.length - 1; i > 0; i--) { const j = rng.int(i + 1); [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!]; }

  const ipv6Share = o.ipv6Share ?? 0.2;
  const v6 = kinds.map(() => rng.chance(ipv6Share));
  // Exactly round(share · VPN flows) registered VPN flows, chosen at random.
  const vpnIdx = kinds.map((k, i) => (k.expect === 'vpn' ? i : -1)).filter((i) => i >= 0);
  for (let i = vpnIdx.length - 1; i > 0; i--) { const j = rng.int(i + 1); [vpnIdx[i], vpnIdx[j]] = [vpnIdx[j]!, vpnIdx[i]!]; }
  const reg = new Uint8Array(kinds.length);
  const nReg = Math.round(o.registeredShare * vpnIdx.length);
  for (let i = 0; i < nReg; i++) reg[vpnIdx[i]!] = 1;

  const need = { r4: 0, r6: 0, u4: 0, u6: 0, o4: 0, o6: 0 };
  kinds.forEach((k, i) => {
    const fam = v6[i] ? 6 : 4;
    if (k.expect === 'ordinary') need[`o${fam}`]++;
    else if (reg[i] === 1) need[`r${fam}`]++;
    else need[`u${fam}`]++;
  });
  const pools = {
    r4: addrs.registered(Math.ceil(need.r4 / 2), 4), r6: addrs.registered(Math.ceil(need.r6 / 2), 6),
    u4: addrs.unregistered(Math.ceil(need.u4 / 2) + Math.ceil(need.o4 / 6), 4),
    u6: addrs.unregistered(Math.ceil(need.u6 / 2) + Math.ceil(need.o6 / 6), 6),
  };
  const ord4 = [...pools.r4, ...pools.u4], ord6 = [...pools.r6, ...pools.u6];
  const servers = new Map<string, Uint8Array[]>();
  const serverPool = (k: FlowKind, fam: 4 | 6): Uint8Array[] => {
    const key = `${k.key}/${fam}`;
    let s = servers.get(key);
    if (s === undefined) {
      const n = counts.find((c) => c.kind === k)!.count;
      s = addrs.servers(Math.max(2, Math.ceil((n * (fam === 6 ? ipv6Share : 1 - ipv6Share)) / 5)), fam);
      servers.set(key, s);
    }
    return s;
  };

  const durUs = (o.durationS ?? 120) * 1e6;
  const startUs = o.startUs ?? DEFAULT_START_US;
  const seen = new Set<string>();
  const flows: SynthFlow[] = [];
  kinds.forEach((kind, i) => {
    const fam = v6[i] ? 6 : 4;
    const pool: Client[] = kind.expect === 'ordinary' ? (fam === 4 ? ord4 : ord6) : reg[i] === 1 ? pools[`r${fam}`] : pools[`u${fam}`];
    const srvPool = serverPool(kind, fam);
    const f: SynthFlow = {
      index: i, kind, v6: fam === 6, cli: new Uint8Array(0), srv: new Uint8Array(0), cport: 0, sport: 0,
      n: kind.minPackets, i: 0, nextUs: 0, gapUs: 0, rttUs: 0, dir: 0, seqC: rng.u32(), seqS: rng.u32(),
      a: 0, b: 0, c: 0, d: 0, e: 0, f: 0, g: 0, h: 0, buf: null, host: '', registered: false, registrant: null,
      mtu: 1500, frag: null, extra: 0,
    };
    // Draw client, server and ports until the 5-tuple (or address pair for portless transports) is new.
    for (let tries = 0; ; tries++) {
      const c = pool[rng.int(pool.length)]!;
      f.cli = c.bytes; f.registrant = c.registrant; f.registered = c.registrant !== null;
      f.srv = srvPool[rng.int(srvPool.length)]!;
      kind.setup(f, rng, ctx);
      const k = tupleKey(kind.transport, f.cli, f.cport, f.srv, f.sport);
      if (!seen.has(k)) { seen.add(k); break; }
      if (tries > 1000) throw new InvalidArgumentError('cannot find distinct endpoints for every flow');
    }
    f.nextUs = startUs + rng.float() * durUs * 0.75;
    f.rttUs = rng.range(5000, 120000);
    flows.push(f);
  });

  pairDataChannels(flows, 'ike', 'esp', seen, rng);
  pairDataChannels(flows, 'pptp', 'pptp-gre', seen, rng);
  bindLookups(flows, seen, rng, ctx, startUs);

  // Packet budget: minimums first, the rest spread by heavy-tailed (Pareto α=1.3) weights per flow.
  let extra = o.packets - flows.reduce((s, f) => s + f.n, 0);
  const w = flows.map((f) => f.kind.packetWeight * Math.min(rng.pareto(1, 1.3), 2000));
  const wsum = w.reduce((s, x) => s + x, 0);
  if (wsum > 0) {
    const give = flows.map((_, i) => Math.floor((extra * w[i]!) / wsum));
    flows.forEach((f, i) => { f.n += give[i]!; extra -= give[i]!; });
  }
  for (let i = 0; extra > 0; i = (i + 1) % flows.length, extra--) flows[i]!.n++;
  for (const f of flows) f.kind.fit?.(f);

  for (const f of flows) {
    const span = Math.max(f.rttUs * 4, Math.min(startUs + durUs - f.nextUs, rng.exp(durUs / 4) + f.n * 2000));
    f.gapUs = span / f.n;
  }
  flows.sort((a, b) => a.nextUs - b.nextUs || a.index - b.index);
  flows.forEach((f, i) => { f.index = i; });
  return flows;
}

/**
 * Make most data-channel flows (ESP, PPTP's GRE) run between the same peers as a control flow (IKE, PPTP
 * control) that started shortly before, as real IPsec/PPTP sessions do. Only pairs with the same family and
 * registration status, so the planned shares and the registration truth are unchanged. GRE also takes over the
 * call ids negotiated on the control connection.
 */
function pairDataChannels(flows: SynthFlow[], control: string, data: string, seen: Set<string>, rng: Rng): void {
  // Control flows bucketed by (family, registered), handed out in order: O(flows).
  const buckets = new Map<string, SynthFlow[]>();
  for (const f of flows) {
    if (f.kind.key !== control) continue;
    const b = `${f.v6}|${f.registered}`;
    const l = buckets.get(b);
    if (l) l.push(f); else buckets.set(b, [f]);
  }
  for (const d of flows) {
    if (d.kind.key !== data || !rng.chance(0.8)) continue;
    const c = buckets.get(`${d.v6}|${d.registered}`)?.pop();
    if (c === undefined) continue;
    const k = tupleKey(d.kind.transport, c.cli, 0, c.srv, 0);
    if (seen.has(k)) continue;
    seen.delete(tupleKey(d.kind.transport, d.cli, 0, d.srv, 0));
    seen.add(k);
    d.cli = c.cli; d.srv = c.srv; d.registrant = c.registrant;
    d.nextUs = c.nextUs + c.rttUs * 6 + rng.range(0, 500000);
    if (data === 'pptp-gre') { d.a = c.a; d.b = c.b; }
  }
}

/** VPN kinds whose client commonly resolves a provider host name first. */
const LOOKED_UP: ReadonlySet<string> = new Set(['wireguard', 'openvpn-udp', 'openvpn-tcp', 'ike', 'tls-vpn-provider']);
/** Share of those VPN flows preceded by a lookup of their server (while DNS flows last). */
const LOOKUP_SHARE = 0.3;

/**
 * Make some DNS flows the lookup a VPN client does before connecting: the DNS flow moves to the VPN flow's client
 * and starts shortly before it; its first question asks a provider name and its answer returns the VPN server's
 * address (A or AAAA, same family) — the situation DNS answer binding covers (reference part 3). Only DNS flows
 * change (client, ports stay unique, start time, first question), so kind counts, shares and the registration truth
 * stay as planned; a DNS flow is ordinary whoever asks.
 */
function bindLookups(flows: SynthFlow[], seen: Set<string>, rng: Rng, ctx: SynthContext, startUs: number): void {
  const spare = { 4: [] as SynthFlow[], 6: [] as SynthFlow[] };
  for (const f of flows) if (f.kind.key === 'dns') spare[f.v6 ? 6 : 4].push(f);
  for (const v of flows) {
    if (!LOOKED_UP.has(v.kind.key) || !rng.chance(LOOKUP_SHARE)) continue;
    const d = spare[v.v6 ? 6 : 4].pop();
    if (d === undefined) continue;
    const lead = d.rttUs * 3 + rng.range(1000, 200000);
    if (v.nextUs - lead < startUs) {
      spare[v.v6 ? 6 : 4].push(d);
      continue;
    }
    const k = tupleKey(d.kind.transport, v.cli, d.cport, d.srv, d.sport);
    if (seen.has(k)) continue;
    seen.delete(tupleKey(d.kind.transport, d.cli, d.cport, d.srv, d.sport));
    seen.add(k);
    d.cli = v.cli;
    d.registered = v.registered;
    d.registrant = v.registrant;
    d.nextUs = v.nextUs - lead;
    d.host = rng.pick(ctx.vpnDomains);
    d.buf = v.srv; // the dns kind answers its first question with this address
  }
}

/** Min-heap of flow indices keyed by next timestamp (ties by index, for determinism). */
class Heap {
  private ids: Int32Array;
  private keys: Float64Array;
  size = 0;
  constructor(n: number) { this.ids = new Int32Array(n); this.keys = new Float64Array(n); }
  private less(i: number, j: number): boolean {
    const a = this.keys[i]!, b = this.keys[j]!;
    return a < b || (a === b && this.ids[i]! < this.ids[j]!);
  }
  private swap(i: number, j: number): void {
    const t = this.ids[i]!; this.ids[i] = this.ids[j]!; this.ids[j] = t;
    const k = this.keys[i]!; this.keys[i] = this.keys[j]!; this.keys[j] = k;
  }
  push(id: number, key: number): void {
    let i = this.size++;
    this.ids[i] = id; this.keys[i] = key;
    while (i > 0) { const p = (i - 1) >> 1; if (!this.less(i, p)) break; this.swap(i, p); i = p; }
  }
  pop(): number {
    const top = this.ids[0]!;
    this.size--;
    if (this.size > 0) {
      this.ids[0] = this.ids[this.size]!; this.keys[0] = this.keys[this.size]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < this.size && this.less(l, m)) m = l;
        if (r < this.size && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m); i = m;
      }
    }
    return top;
  }
}

function endpoint(b: Uint8Array, port: number, withPort: boolean): string {
  const t = addrText(b);
  return !withPort ? t : b.length === 4 ? `${t}:${port}` : `[${t}]:${port}`;
}

/**
 * Generate the capture, handing pcap bytes to `sink` in chunks of about 4 MiB (the first chunk starts with the
 * global header). Returns the truth records and the registration list.
 * @throws {InvalidArgumentError} on out-of-range options or too few packets for the flows' handshakes.
 */
export function synthesize(opts: SynthOptions, sink: (chunk: Uint8Array) => void): SynthResult {
  validate(opts);
  const rng = new Rng(opts.seed, 1);
  const pool = new Rng(opts.seed, 2).bytes(1 << 17);
  const ctx: SynthContext = {
    pool,
    vpnDomains: opts.vpnDomains !== undefined && opts.vpnDomains.length > 0 ? opts.vpnDomains : VPN_PROVIDER_DOMAINS,
    webDomains: WEB_DOMAINS,
  };
  const addrs = new AddressPlan(new Rng(opts.seed, 3));
  const flows = plan(opts, rng, addrs, ctx);
  const prng = new Rng(opts.seed, 4); // per-packet stream: independent of how planning consumed `rng`
  const truth: TruthRecord[] = flows.map((f) => {
    const ported = f.kind.transport === 'tcp' || f.kind.transport === 'udp';
    return {
      transport: f.kind.transport, src: endpoint(f.cli, f.cport, ported), dst: endpoint(f.srv, f.sport, ported),
      expect: f.kind.expect, protocol: f.kind.protocol, registered: f.registered, registrant: f.registrant,
      packets: f.n, kind: f.kind.key,
    };
  });

  const heap = new Heap(flows.length);
  for (const f of flows) heap.push(f.index, f.nextUs);
  const w = new PcapWriter({ linkType: 1 });
  const frame = new Uint8Array(65536);
  const meanSize = opts.meanSize ?? 620;
  const q0 = Math.min(0.95, Math.max(0.02, (meanSize - 180) / (1307 - 180)));
  let frameBytes = 0, fileBytes = 0, lastTs = -1, firstTs = -1, ipId = 0;
  const flush = (): void => { for (const c of w.drain()) { fileBytes += c.length; sink(c); } };

  for (let p = 0; p < opts.packets; p++) {
    const f = flows[heap.pop()]!;
    let ts = Math.round(f.nextUs);
    if (ts <= lastTs) ts = lastTs + 1;
    lastTs = ts;
    if (firstTs < 0) firstTs = ts;

    // Suggested bulk size: bimodal (small/full-size), the mix steered so the running mean tracks meanSize.
    const deficit = meanSize * p - frameBytes;
    const q = Math.min(0.97, Math.max(0.02, q0 + deficit / (meanSize * 400)));
    const target = prng.float() < q ? prng.range(1100, 1514) : prng.range(60, 300);
    const off = payloadOffset(f);
    // A path MTU below 1500 bounds bulk datagrams too: only handshakes that cannot shrink leave as fragments.
    const size = Math.min(target - off, f.mtu - (off - 14));

    let len: number, flags = 0;
    if (f.frag !== null) {
      // The next fragment of a datagram already on its way (RFC 791 §2.3; RFC 8200 §4.5).
      len = nextFragment(frame, f, f.n - f.i - 1);
      f.extra++;
    } else if (f.kind.transport === 'tcp') {
      const i = f.i, n = f.n;
      if (i === 0) { f.dir = 0; flags = TCP_SYN; len = 0; }
      else if (i === 1) { f.dir = 1; flags = TCP_SYN | TCP_ACK; len = 0; }
      else if (i === 2) { f.dir = 0; flags = TCP_ACK; len = 0; }
      else if (i >= n - 4) {
        const j = i - (n - 4);
        f.dir = j === 0 || j === 3 ? 0 : 1;
        flags = j === 0 || j === 2 ? TCP_FIN | TCP_ACK : TCP_ACK;
        len = 0;
      } else {
        len = f.kind.payload(f, i - 3, frame, off, size, prng, ctx);
        flags = len > 0 ? TCP_ACK | TCP_PSH : TCP_ACK;
      }
      const fl = writeHeaders(frame, f, len, flags, ipId);
      // SYN and FIN take one sequence number each; payload takes its length.
      const adv = len + ((flags & (TCP_SYN | TCP_FIN)) !== 0 ? 1 : 0);
      if (f.dir === 0) f.seqC = (f.seqC + adv) >>> 0; else f.seqS = (f.seqS + adv) >>> 0;
      len = fl;
    } else {
      const pl = f.kind.payload(f, f.i - f.extra, frame, off, size, prng, ctx);
      len = writeHeaders(frame, f, pl, 0, ipId);
      // Larger than the path MTU: the first fragment now, the others as the flow's next packets (as many as its
      // packet budget still allows; a kind's `fit` keeps that from cutting a datagram short).
      if (len - 14 > f.mtu) len = startFragments(frame, len, f, f.v6 ? prng.u32() : ipId, f.n - f.i - 1);
    }
    ipId = (ipId + 1) & 0xffff;
    w.packet(ts, frame.subarray(0, len));
    frameBytes += len;
    if ((p & 4095) === 4095) flush();

    f.i++;
    if (f.i < f.n) {
      // Fragments of one datagram leave back to back; handshakes and a TCP close (the packets after the first FIN)
      // take round trips, not think time.
      const rtt = f.i - f.extra < 4 || (f.kind.transport === 'tcp' && f.i > f.n - 4);
      const gap = f.frag !== null ? 1 + prng.range(0, 30) : rtt ? f.rttUs * (0.5 + prng.float()) : Math.min(MAX_GAP_US, prng.exp(f.gapUs));
      f.nextUs = ts + Math.max(1, gap);
      heap.push(f.index, f.nextUs);
    }
  }
  flush();
  return {
    packets: opts.packets, flows: flows.length, frameBytes, fileBytes, firstUs: firstTs, lastUs: lastTs,
    truth, registrations: addrs.registrations,
  };
}

/** NDJSON text of one truth record (field order fixed). */
export function formatTruth(t: TruthRecord): string {
  return JSON.stringify({
    transport: t.transport, src: t.src, dst: t.dst, expect: t.expect, protocol: t.protocol,
    registered: t.registered, registrant: t.registrant, packets: t.packets, kind: t.kind,
  });
}

/** Registration list file text: `#` header, then `CIDR,registrant` lines. */
export function formatRegistrations(regs: readonly Registration[], header: string): string {
  const lines = header.split('\n').map((l) => `# ${l}`);
  lines.push('# CIDR,registrant-id');
  for (const r of regs) lines.push(`${r.cidr},${r.registrant}`);
  return `${lines.join('\n')}\n`;
}
