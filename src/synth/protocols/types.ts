/**
 * Contract between the synthetic-trace scheduler (../generate.ts) and one traffic kind: the kind picks ports and
 * per-flow state once, then writes the payload of each packet in place into the frame buffer. Kinds never touch
 * headers below L4 payload (TCP handshake/teardown belongs to the scheduler) and never allocate per packet
 * beyond what their protocol's handshake needs.
 */
import type { Rng } from '../rng.js';

export type Transport = 'tcp' | 'udp' | 'esp' | 'ah' | 'gre';

/** One synthetic flow. Mutable, owned by the scheduler; `a`..`h` and `buf` are free state for the kind. */
export interface SynthFlow {
  index: number;
  kind: FlowKind;
  v6: boolean;
  /** Client (initiator) and server address bytes (4 or 16). */
  cli: Uint8Array;
  srv: Uint8Array;
  cport: number;
  sport: number;
  /** Total packets this flow will emit, and packets emitted so far. */
  n: number;
  i: number;
  nextUs: number;
  /** Mean gap between bulk packets, and the handshake round-trip time (µs). */
  gapUs: number;
  rttUs: number;
  /** Direction of the packet being written: 0 client→server, 1 server→client (set by the kind). */
  dir: 0 | 1;
  /** TCP sequence numbers of client and server (next byte to send). */
  seqC: number;
  seqS: number;
  /** Free per-kind state. */
  a: number; b: number; c: number; d: number; e: number; f: number; g: number; h: number;
  buf: Uint8Array | null;
  host: string;
  registered: boolean;
  registrant: string | null;
  /**
   * Path MTU in bytes of IP packet (default 1500): a UDP datagram larger than it leaves as IP fragments (RFC 791
   * §2.3 for IPv4; for IPv6 the sender fragments, RFC 8200 §4.5). A kind may lower it in `setup`.
   */
  mtu: number;
  /** The datagram being sent as fragments (one fragment per scheduled packet), or null. */
  frag: FragState | null;
  /** Fragments sent beyond the first of each datagram: a kind's payload index is `i - extra`. */
  extra: number;
}

/** A datagram on its way out in fragments: its whole frame and the next fragment's offset in its data. */
export interface FragState {
  frame: Uint8Array;
  len: number;
  /** Offset of the next fragment's first byte in the fragmentable part (after the fixed IP header). */
  next: number;
  /** IPv4 identification (16 bits) or IPv6 Fragment header identification (32 bits). */
  id: number;
}

/** Data every kind may read: name lists and a random byte pool for bulk payloads. */
export interface SynthContext {
  /** Random bytes (>= 64 KiB + 2 KiB) for encrypted-looking payloads: copy slices, never mutate. */
  pool: Uint8Array;
  /** VPN-provider domains (for TLS SNI of provider endpoints). */
  vpnDomains: readonly string[];
  /** Ordinary web domains. */
  webDomains: readonly string[];
}

export interface FlowKind {
  /** Mix key (also the `kind` shown in the summary). */
  key: string;
  transport: Transport;
  expect: 'vpn' | 'ordinary';
  /** Protocol named in the truth (null for ordinary traffic). */
  protocol: string | null;
  /** Minimum packets of a flow, including TCP handshake (3) and FIN teardown (4). */
  minPackets: number;
  /** Relative weight of this kind's flows when the packet budget is spread (1 = typical). */
  packetWeight: number;
  /** Choose ports and per-flow state. */
  setup(f: SynthFlow, rng: Rng, ctx: SynthContext): void;
  /**
   * Called once the flow's packet budget `f.n` is known: drop whatever the flow cannot afford (datagrams sent as
   * fragments take one packet per fragment).
   */
  fit?(f: SynthFlow): void;
  /**
   * Write the payload of the k-th payload packet (k = 0, 1, …; TCP handshake/teardown excluded) at `buf[off]`,
   * set `f.dir`, and return the payload length (0 = pure ACK for TCP). `size` is a suggested payload size for
   * bulk packets (the scheduler steers the mean frame size with it).
   */
  payload(f: SynthFlow, k: number, buf: Uint8Array, off: number, size: number, rng: Rng, ctx: SynthContext): number;
}

/** Copy `len` encrypted-looking bytes from the pool. */
export function fillPool(buf: Uint8Array, off: number, len: number, rng: Rng, ctx: SynthContext): void {
  if (len <= 0) return;
  const start = rng.int(ctx.pool.length - len);
  buf.set(ctx.pool.subarray(start, start + len), off);
}

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8; b[o + 1] = v;
}
export function put24(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 16; b[o + 1] = v >>> 8; b[o + 2] = v;
}
export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24; b[o + 1] = v >>> 16; b[o + 2] = v >>> 8; b[o + 3] = v;
}
export function put32le(b: Uint8Array, o: number, v: number): void {
  b[o] = v; b[o + 1] = v >>> 8; b[o + 2] = v >>> 16; b[o + 3] = v >>> 24;
}
/** An ephemeral client port (IANA dynamic range). */
export function ephemeralPort(rng: Rng): number {
  return rng.range(49152, 65535);
}
/** Clamp a suggested size into [lo, hi]. */
export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
