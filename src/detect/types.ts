/**
 * The detector contract. A detector is a pure function of a read-only {@link FlowView}: no I/O, no clocks,
 * no globals, no logging, and no allocation when nothing matches (return `null`). The last is measured for the
 * built-in detectors (test/detect/no-alloc.test.ts); on a no-match path compare 32-bit words with `eq32` rather
 * than `u32be(…) === v`, since a word returned from a call V8 did not inline is boxed in a heap number.
 *
 * The classifier calls `detect(flow)` each time a new payload-bearing packet is recorded for the flow, until a
 * verdict is final or the detector's `maxPackets` is reached. The newest packet (`flow.nPackets - 1`) exposes
 * its whole captured payload; earlier packets expose only the first bytes the flow table kept
 * (`avail(i)` tells how many).
 */

import type { FlowView } from '../flow/view.js';

// The flow view and protocol numbers live below both trace/ and detect/; re-exported for detector authors.
export { type FlowView, DIR_FWD, DIR_REV } from '../flow/view.js';
export * from '../flow/ipproto.js';

export type Strength = 'strong' | 'medium' | 'weak';

export interface Evidence {
  /** Detector (or list) id that produced the item: `wireguard`, `openvpn`, `vpn-domains`, `vpn-endpoints`… */
  readonly source: string;
  /** Protocol the item argues for: `wireguard`, `openvpn`, `ipsec`, `tailscale`, `cloudflare-warp`… */
  readonly protocol: string;
  readonly strength: Strength;
  /** Stable rule id, e.g. `wg.init`; documented in the detector's `rules`. */
  readonly rule: string;
  /** Human-readable explanation naming the bytes/sizes/list entry that matched. */
  readonly reason: string;
  /** Payload-packet index (0-based, both directions counted) the rule fired on. */
  readonly packet?: number;
  /** Byte offset in that packet's payload the rule looked at. */
  readonly offset?: number;
  /**
   * What kind of statement the item is (default `structure`): `name` (a name the flow reveals — SNI, Host,
   * certificate subject — that identifies a VPN service), `list` (an operator or provider list hit),
   * `relation` (a tie to another flow already identified). Names, lists and relations are statements about
   * the service, not about one packet's shape, so a medium one may decide alone (reference evidence table).
   */
  readonly kind?: 'structure' | 'name' | 'list' | 'relation';
}

/**
 * An ordinary application protocol recognised from a flow's first payload packet (the initiator's), by its full
 * documented opening structure: a TLS ClientHello record, an HTTP/1.x request line (not CONNECT), a DNS query on a
 * DNS port, a QUIC client Initial that decrypts and holds a ClientHello, a whole DTLS ClientHello. See opening.ts.
 */
export type Carrier = 'tls' | 'http' | 'dns' | 'quic' | 'dtls';

export interface Detector {
  /** Detector id; also the default `protocol` of its evidence. Kebab-case. */
  readonly id: string;
  /** IP protocol numbers this detector inspects; the registry dispatches on them. */
  readonly transports: readonly number[];
  /**
   * The ordinary protocols this detector's tunnel can ride, by their opening (nDPI's "guess, then dissect"): a
   * flow that opens with a recognised carrier meets only the detectors listing that carrier — a WireGuard or
   * OpenVPN flow cannot begin with a TLS ClientHello or a DNS query. `[]`: the detector needs a flow that opens
   * with none of them. Omitted: the detector sees every flow of its transports (the safe default for detectors
   * written outside this package).
   */
  readonly carriers?: readonly Carrier[];
  /** Stop calling after this many payload packets have been recorded. */
  readonly maxPackets: number;
  /** Rule id -> one-line description (documentation and README table). */
  readonly rules: Readonly<Record<string, string>>;
  /** Pure: returns evidence items, or null when nothing matches. Never throws on any bytes. */
  detect(flow: FlowView): Evidence[] | null;
  /**
   * Optional, pure and allocation-free; called only when `detect` returned null for the newest packet. True when
   * that packet's framing is one no message of this protocol has (by its documented structure, e.g. WireGuard's
   * byte 0 is 1–4 with three zero bytes after it, an OpenVPN opcode is 1–11), so the flow does not carry the
   * protocol and the detector is not called for it again. When every detector a flow meets has said so (or is
   * spent) and its name packets are seen, the flow's verdict is final without waiting for the detectors' packet
   * budget: random UDP is then final at packet 4 instead of 8 (the flow table's default record) or 24 (OpenVPN's
   * budget). Must return false whenever the bytes it needs were not captured, and for any packet a real flow of
   * the protocol can carry (keepalives, multiplexed companions such as Tailscale's disco packets on a WireGuard
   * 5-tuple); `detect` returns null for any packet it excludes (fuzz-tested). A client that sends junk ahead of
   * its handshake is deliberately obfuscating (AmneziaWG's junk packets) and out of scope: the detector whose
   * framing the junk breaks does not see that flow. Omitted: the detector is called until its budget is spent.
   */
  excludes?(flow: FlowView): boolean;
}

/** Safe byte readers over a FlowView packet: return -1 beyond the available bytes. */
export function u8(f: FlowView, i: number, k: number): number {
  return k < f.avail(i) ? f.buf(i)[f.start(i) + k]! : -1;
}
export function u16be(f: FlowView, i: number, k: number): number {
  if (k + 2 > f.avail(i)) return -1;
  const b = f.buf(i), o = f.start(i) + k;
  return (b[o]! << 8) | b[o + 1]!;
}
export function u24be(f: FlowView, i: number, k: number): number {
  if (k + 3 > f.avail(i)) return -1;
  const b = f.buf(i), o = f.start(i) + k;
  return (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
}
export function u32be(f: FlowView, i: number, k: number): number {
  if (k + 4 > f.avail(i)) return -1;
  const b = f.buf(i), o = f.start(i) + k;
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
export function u32le(f: FlowView, i: number, k: number): number {
  if (k + 4 > f.avail(i)) return -1;
  const b = f.buf(i), o = f.start(i) + k;
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
/**
 * `u32be(f, i, k) === v` as a boolean. Where a detector only compares a word, this is the form to use on its
 * no-match path: a 32-bit word returned from a call V8 did not inline is boxed in a heap number (an allocation)
 * whenever it is ≥ 2^30, as three in four words of random payload are.
 */
export function eq32(f: FlowView, i: number, k: number, v: number): boolean {
  if (k + 4 > f.avail(i)) return v === -1;
  const b = f.buf(i), o = f.start(i) + k;
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0 === v;
}
/** True when bytes [k, k+n) of packets i and j are both available and equal. */
export function sameBytes(f: FlowView, i: number, ki: number, j: number, kj: number, n: number): boolean {
  if (ki + n > f.avail(i) || kj + n > f.avail(j)) return false;
  const a = f.buf(i), b = f.buf(j), oa = f.start(i) + ki, ob = f.start(j) + kj;
  for (let x = 0; x < n; x++) if (a[oa + x] !== b[ob + x]) return false;
  return true;
}
