/**
 * Live capture on the loopback interface with the real tcpdump, for end-to-end tests: a capture limited to the
 * test's own UDP ports on 127.0.0.1, and traffic that is WireGuard-, OpenVPN- or ordinary-shaped (spec-built by
 * test/detect/udp-vpn-builders.ts) exchanged between sockets of this process. Only loopback, only our ports,
 * bounded in count and time. tcpdump needs root or CAP_NET_RAW (CI runs as root); `captureUnavailable` says why
 * a test must skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { concat, ovpnControl, randomBytes, rng, wgInit, wgResp, type OvpnSide } from '../detect/udp-vpn-builders.js';
import { onText } from './text-stream.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Why live capture cannot run here (tcpdump missing and not installable, or no capture permission), or null. */
export function captureUnavailable(): string | null {
  const ensure = spawnSync('bash', [resolve(ROOT, 'scripts', 'ensure-tools.sh'), 'tcpdump'], { encoding: 'utf8', timeout: 900_000 });
  if (ensure.status !== 0) return `tcpdump is not installed and could not be installed (${(ensure.stderr || ensure.stdout).trim()})`;
  // A one-packet capture that times out at once tells whether we may open the interface.
  const probe = spawnSync('timeout', ['2', 'tcpdump', '-i', 'lo', '-c', '1', '-w', '/dev/null', 'udp port 9'], { encoding: 'utf8' });
  if (/permission|not permitted|Operation not permitted|You don't have/i.test(probe.stderr)) {
    return `tcpdump may not capture on lo here (needs root or CAP_NET_RAW): ${probe.stderr.trim().split('\n').pop()}`;
  }
  return null;
}

export interface Capture {
  proc: ChildProcess;
  /** The pcap stream (tcpdump -w -), unless it was handed to another process (`into`). */
  stdout: Readable | null;
  /** Stop tcpdump (SIGINT, as a user would) and wait for it to exit. */
  stop(): Promise<void>;
}

/**
 * Start `tcpdump -i lo -n -U -w - --immediate-mode udp and host 127.0.0.1 and (port …)` (or the given options with
 * that filter) and resolve once it listens.
 * `--immediate-mode`: without it libpcap hands packets over in blocks, up to ~1 s late on Linux (TPACKET_V3).
 */
export function startCapture(
  ports: readonly number[],
  options: { immediate?: boolean; args?: readonly string[]; into?: Writable; noFilter?: boolean } = {},
): Promise<Capture> {
  // `noFilter`: the interface itself selects (an NFLOG group gets only what its netfilter rule logs).
  const filter = options.noFilter ? [] : [`udp and host 127.0.0.1 and (${ports.map((p) => `port ${p}`).join(' or ')})`];
  // `args`: tcpdump's options as a caller gives them (e.g. a documented command line); the filter follows.
  const opts = options.args ?? ['-i', 'lo', '-n', '-U', '-w', '-', ...(options.immediate === false ? [] : ['--immediate-mode'])];
  const args = [...opts, ...filter];
  // `into`: tcpdump writes straight into that pipe (another process's stdin), as a shell pipeline does; read here
  // first, bytes would be buffered in this process and lost to the other one.
  const proc = spawn('tcpdump', args, { stdio: ['ignore', options.into ?? 'pipe', 'pipe'] });
  if (options.into) options.into.destroy();
  let err = '';
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`tcpdump did not start listening within 10 s: ${err}`)), 10_000);
    onText(proc.stderr!, (d) => {
      err += d;
      if (err.includes('listening on')) {
        clearTimeout(timer);
        done({
          proc,
          stdout: proc.stdout,
          stop: () => new Promise((ok) => {
            if (proc.exitCode !== null) return ok();
            proc.once('exit', () => ok());
            proc.kill('SIGINT');
          }),
        });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`tcpdump exited (${code}) before listening: ${err}`));
    });
  });
}

export type FlowKind = 'wireguard' | 'openvpn' | 'ordinary';

export interface SentFlow {
  kind: FlowKind;
  /** `127.0.0.1:port` of the client (the flow's initiator) and of the server. */
  src: string;
  dst: string;
  /** performance.now() when the datagram that completes the handshake was handed to the kernel. */
  handshakeAt: number;
}

function bind(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  return new Promise((ok, fail) => {
    s.once('error', fail);
    s.bind(0, '127.0.0.1', () => ok(s));
  });
}

function send(s: dgram.Socket, b: Uint8Array, port: number): Promise<number> {
  return new Promise((ok, fail) => s.send(b, port, '127.0.0.1', (e) => (e ? fail(e) : ok(performance.now()))));
}

/** Three server sockets (WireGuard, OpenVPN, ordinary) on 127.0.0.1, each on a free port. */
export class LoopbackPeers {
  /**
   * Client sockets stay open until close(): a port closed early may be handed to a later client, whose flow would
   * then share a tuple (or a source) with an earlier one of another kind.
   */
  private readonly clients: dgram.Socket[] = [];
  private constructor(readonly servers: Record<FlowKind, dgram.Socket>) {}
  static async open(): Promise<LoopbackPeers> {
    return new LoopbackPeers({ wireguard: await bind(), openvpn: await bind(), ordinary: await bind() });
  }
  get ports(): number[] {
    return Object.values(this.servers).map((s) => s.address().port);
  }
  close(): void {
    for (const s of [...Object.values(this.servers), ...this.clients.splice(0)]) s.close();
  }

  /**
   * One flow of `kind` from a fresh client socket: WireGuard initiation + response echoing the sender index, or
   * OpenVPN (tls-auth, 20-byte HMAC) client hard reset + server reset echoing the session id — each decides at its
   * second packet — then `extra` data datagrams each way; ordinary: random-byte datagrams both ways.
   */
  async flow(kind: FlowKind, seed: number, extra = 2): Promise<SentFlow> {
    const r = rng(seed);
    const client = await bind();
    this.clients.push(client);
    const server = this.servers[kind];
    const sport = server.address().port;
    const cport = client.address().port;
    const back = (b: Uint8Array): Promise<number> => send(server, b, cport);
    let handshakeAt: number;
    if (kind === 'wireguard') {
      const sender = (r() * 2 ** 32) >>> 0;
      await send(client, wgInit(sender, r), sport);
      handshakeAt = await back(wgResp((r() * 2 ** 32) >>> 0, sender, r));
    } else if (kind === 'openvpn') {
      const mode = { kind: 'A' as const, hmac: 20 };
      const c: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: 0x6a2f1c40 };
      const s: OvpnSide = { sid: randomBytes(8, r), replay: 1, netTime: 0x6a2f1c41 };
      const none = new Uint8Array(0);
      await send(client, ovpnControl(0x38, mode, c, [], null, 0, none, r), sport);
      handshakeAt = await back(ovpnControl(0x40, mode, s, [0], c.sid, 0, none, r));
    } else {
      await send(client, randomBytes(120, r), sport);
      handshakeAt = await back(randomBytes(200, r));
    }
    for (let i = 0; i < extra; i++) {
      await send(client, concat(new Uint8Array([0x40 + i]), randomBytes(90, r)), sport);
      await back(concat(new Uint8Array([0x40 + i]), randomBytes(90, r)));
    }
    return { kind, src: `127.0.0.1:${cport}`, dst: `127.0.0.1:${sport}`, handshakeAt };
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A flow's key in {@link VerdictWatch.arrived}: its two ends (a source alone may be reused by a later flow). */
export const flowKey = (f: { readonly src?: unknown; readonly dst?: unknown }): string => `${String(f.src)} > ${String(f.dst)}`;

/** NDJSON lines of a `classify - --emit verdicts` process as they arrive, keyed by {@link flowKey}. */
export interface VerdictWatch {
  arrived: Map<string, { at: number; o: Record<string, unknown> }>;
  stderr(): string;
  exit: Promise<number | null>;
}

export function watchVerdicts(cli: ChildProcess): VerdictWatch {
  const arrived = new Map<string, { at: number; o: Record<string, unknown> }>();
  let rest = '';
  let err = '';
  onText(cli.stdout!, (d) => {
    const at = performance.now();
    const parts = (rest + d).split('\n');
    rest = parts.pop()!;
    for (const l of parts) {
      if (l === '') continue;
      const o = JSON.parse(l) as Record<string, unknown>;
      arrived.set(flowKey(o), { at, o });
    }
  });
  onText(cli.stderr!, (d) => (err += d));
  return { arrived, stderr: () => err, exit: new Promise((ok) => cli.once('exit', ok)) };
}

/**
 * Checks every sent flow against what arrived — a VPN flow's verdict line (label, protocol, decided at its second
 * packet, its server), no line for an ordinary flow — and returns each VPN verdict's delay after its handshake.
 */
export function verdictDelays(sent: readonly SentFlow[], w: VerdictWatch, expectFn: (v: unknown, msg?: string) => { toBeUndefined(): void; toBeDefined(): void; toMatchObject(o: object): void }): number[] {
  const delays: number[] = [];
  for (const f of sent) {
    const a = w.arrived.get(flowKey(f));
    if (f.kind === 'ordinary') {
      expectFn(a, `ordinary ${f.src} printed`).toBeUndefined();
      continue;
    }
    expectFn(a, `verdict line for ${f.kind} ${f.src}; stderr: ${w.stderr()}`).toBeDefined();
    expectFn(a!.o).toMatchObject({ event: 'verdict', label: 'unregistered_vpn', protocol: f.kind, decidedAtPacket: 2, dst: f.dst });
    delays.push(a!.at - f.handshakeAt);
  }
  return delays;
}

/**
 * Warm-up, then the flows to measure: one WireGuard flow whose verdict must arrive (the CLI starts — lists, JIT —
 * while the capture already runs; the bound is for a running capture), then `count` flows cycling through `kinds`
 * (seeds from `seed`), 40 ms apart, and 1.2 s for the last verdicts. Returns the measured flows.
 */
export async function sendFlows(
  peers: LoopbackPeers, w: VerdictWatch, kinds: readonly FlowKind[], count: number, seed: number,
  expectFn: (v: unknown, msg?: string) => { toBe(x: unknown): void },
): Promise<SentFlow[]> {
  const warm = await peers.flow('wireguard', 1);
  for (let i = 0; i < 300 && !w.arrived.has(flowKey(warm)); i++) await sleep(50);
  expectFn(w.arrived.has(flowKey(warm)), `warm-up verdict; stderr: ${w.stderr()}`).toBe(true);
  const sent: SentFlow[] = [];
  for (let i = 0; i < count; i++) {
    sent.push(await peers.flow(kinds[i % kinds.length]!, seed + i));
    await sleep(40);
  }
  await sleep(1200);
  return sent;
}
