/**
 * Packet decoder: link layer -> IP -> transport, opening tunnels, into a reusable PacketView.
 * Owns: the order of layers, tunnel nesting (depth cap, fall back to the carrier when the inner packet is not
 * decodable) and the per-reason counters. Layer details live in decode-link.ts, decode-ip.ts and
 * decode-tunnel.ts.
 * Never: throws on any bytes, reads past the captured bytes, or allocates per packet.
 */
import { u16be } from './bytes.js';
import { linkToIp, nflogPayloadEnd } from './decode-link.js';
import { ipToView } from './decode-ip.js';
import { DECODE_REASONS, OK, R_IP_BAD_VERSION } from './decode-reasons.js';
import { pptpInner, tunnelInner, type TunnelCursor } from './decode-tunnel.js';
import { DOUBLE, ENCAP_NAMES, ENCAP_NONE, LINKTYPE_NFLOG, type PacketView, type RawPacket } from './types.js';
import { checkKnownOptions, checkOptions, describeValue, InvalidArgumentError, numberOption } from '../errors.js';

export { DECODE_REASONS } from './decode-reasons.js';

export interface DecodeStats {
  /** Packets for which `decode` returned true. */
  decoded: number;
  /** Packets rejected, by reason (`unknown-linktype`, `non-ip`, `ipv4-bad-ihl`, `truncated-l4`, …). */
  malformed: Record<string, number>;
  /**
   * Packets decoded as their carrier because the tunnel inside could not be opened, by reason:
   * `<encap>-inner` (e.g. `gtp-inner`: the inner packet is cut or malformed) or `too-deep` (nesting cap hit;
   * the deepest decoded level is reported). These packets are also counted in `decoded`.
   */
  fallback: Record<string, number>;
}

export interface DecoderOptions {
  /** Tunnels opened inside one another at most (default 4). 0 disables decapsulation. */
  maxTunnelDepth?: number;
  /**
   * Which 802.1Q/802.1ad tag `PacketView.vlan` reports when a frame carries several (QinQ, or a tagged frame
   * inside VXLAN/GRE): `'inner'` (default) = the last tag on the way to the innermost IP header, which is what
   * nDPI reports and what the corpus truth's `vlan` field holds; `'outer'` = the first tag on the wire.
   */
  vlan?: 'inner' | 'outer';
}

const EMPTY = new Uint8Array(0);
const FALLBACK_KEYS: readonly string[] = ENCAP_NAMES.map((n) => (n === null ? 'none' : `${n}-inner`));
const TOO_DEEP = 'too-deep';

/** A reusable zeroed view for `Decoder.decode`. */
export function newPacketView(): PacketView {
  // Fields that can hold numbers beyond a small integer start as DOUBLE (-0). Started as 0, the first microsecond
  // time, 32-bit address or SPI above 2^31 mid-run changed the view's shape, and every optimised function that had
  // seen it (decode, ipv4, the flow table's add and track, ...) was thrown away at once: 7 "wrong map" deopts in a
  // fresh classify of the merged corpus trace, whose first captures carry small timestamps and 10/8 addresses.
  return {
    data: EMPTY,
    tsUs: DOUBLE,
    wireLen: DOUBLE,
    vlan: -1,
    encap: ENCAP_NONE,
    ipVersion: 4,
    l3Off: 0,
    srcOff: 0,
    dstOff: 0,
    addrData: null,
    src4: DOUBLE,
    dst4: DOUBLE,
    proto: 0,
    srcPort: 0,
    dstPort: 0,
    spi: DOUBLE,
    tcpFlags: 0,
    payloadOff: 0,
    payloadLen: 0,
    payloadWireLen: DOUBLE,
    isFragment: false,
    fragOffset: 0,
    fragId: DOUBLE,
    moreFragments: false,
    fragDataOff: 0,
    fragDataLen: 0,
  };
}

/**
 * @example
 * const dec = new Decoder(); const view = newPacketView();
 * readCaptureBuffer(bytes, 'x.pcap', (raw) => { if (dec.decode(raw, view)) table.add(view); else table.tick(raw.tsUs); });
 */
export class Decoder {
  readonly stats: DecodeStats = { decoded: 0, malformed: {}, fallback: {} };
  private readonly maxDepth: number;
  private readonly innerVlan: boolean;
  private readonly cur: TunnelCursor = { kind: 0, end: 0 };

  /** @throws {InvalidArgumentError} options that are not an object, a depth that is not an integer 0–64, a vlan other than 'inner' or 'outer' */
  constructor(opts: DecoderOptions = {}) {
    // A depth of NaN or -1 turned decapsulation off without a word, 'outer ' read the inner tag.
    checkOptions('decoder', opts);
    checkKnownOptions('decoder', opts, ['maxTunnelDepth', 'vlan']);
    this.maxDepth = numberOption('decoder: maxTunnelDepth', opts.maxTunnelDepth, 4, 0, 64, true);
    const vlan: unknown = opts.vlan ?? 'inner';
    if (vlan !== 'inner' && vlan !== 'outer') throw new InvalidArgumentError(`decoder: vlan must be 'inner' or 'outer', got ${describeValue(vlan)}`);
    this.innerVlan = vlan === 'inner';
  }

  /**
   * Fill `out` from `raw`. Returns false (and counts the reason in `stats.malformed`) when the packet is not a
   * decodable IP packet; `out` is then unspecified. Never throws. O(header bytes).
   */
  decode(raw: RawPacket, out: PacketView): boolean {
    const b = raw.data;
    const off = raw.offset;
    let end = off + raw.capLen;
    if (end > b.length) end = b.length;
    out.data = b;
    out.tsUs = raw.tsUs;
    out.wireLen = raw.wireLen;
    out.vlan = -1;
    out.encap = ENCAP_NONE;
    const l3 = linkToIp(out, raw.linkType, b, off, end, this.innerVlan);
    if (l3 < 0) return this.fail(-l3);
    const nflog = raw.linkType === LINKTYPE_NFLOG;
    if (nflog) end = nflogPayloadEnd(b, l3, end);
    const r = this.fromIp(out, b, l3, end);
    if (r !== OK) return this.fail(r);
    // An NFLOG record's length is the log message's, not the packet's: a rule's copy range cuts the packet and
    // attributes follow it. The packet's own length is its IP header's (0: unknown, e.g. offloaded, keep the record's).
    if (nflog) {
      const ipLen = b[l3]! >> 4 === 4 ? u16be(b, l3 + 2) : u16be(b, l3 + 4) + 40;
      if (ipLen > 0) out.wireLen = l3 - off + ipLen;
    }
    this.stats.decoded++;
    return true;
  }

  /**
   * Decode an IP datagram that did not come from a link layer — one the flow table reassembled from fragments
   * (reassembly.ts) — into `out`, opening tunnels as `decode` does. `vlan` and `encap` are the context of the level
   * the fragments were found at. Counts tunnel fallbacks but neither `decoded` nor `malformed` (the fragments were
   * counted when they were decoded). The caller sets `out.tsUs` and `out.wireLen`. Returns false when the datagram
   * is not decodable. Never throws; O(header bytes).
   */
  decodeDatagram(out: PacketView, b: Uint8Array, off: number, end: number, vlan: number, encap: number): boolean {
    out.data = b;
    out.vlan = vlan;
    out.encap = encap;
    return this.fromIp(out, b, off, end) === OK;
  }

  /** IP header at `l3` (captured bytes up to `end`), then tunnels inside it, innermost decodable level wins. */
  private fromIp(out: PacketView, b: Uint8Array, l3: number, end: number): number {
    let r = ipToView(out, b, l3, end);
    if (r !== OK) return r;
    let outerL3 = l3;
    let outerEnd = end;
    for (let depth = 0; ; depth++) {
      const cur = this.cur;
      const vlan = out.vlan; // an inner Ethernet header may set it; restored if we fall back
      const encap = out.encap;
      const inner = tunnelInner(out, b, cur, this.innerVlan);
      if (inner === -1) {
        out.vlan = vlan;
        break;
      }
      if (depth >= this.maxDepth) {
        this.count(TOO_DEEP);
        out.vlan = vlan;
        break;
      }
      r = inner >= 0 ? ipToView(out, b, inner, cur.end) : R_IP_BAD_VERSION;
      if (r !== OK) {
        // Describe the carrier again: it decoded before, so it decodes the same way now.
        this.count(FALLBACK_KEYS[cur.kind]!);
        ipToView(out, b, outerL3, outerEnd);
        out.vlan = vlan;
        out.encap = encap;
        break;
      }
      out.encap = cur.kind;
      outerL3 = inner;
      outerEnd = cur.end;
    }
    return OK;
  }

  /**
   * PPTP's data channel is a flow of its own (GRE, proto 47) and `decode` never replaces it by its payload.
   * When that payload is an unencrypted, uncompressed PPP frame carrying IP (rare: MPPE encrypts it as a
   * rule), this fills `inner` with the carried IP packet (`encap` = 'pptp', VLAN and time of `outer`) so a
   * caller may track it too. Returns false, touching nothing counted, otherwise. Never throws; O(header bytes).
   * @param outer a view `decode` just returned true for (same `data`)
   */
  decodeInner(outer: PacketView, inner: PacketView): boolean {
    const b = outer.data;
    const cur = this.cur;
    const off = pptpInner(outer, b, cur);
    if (off < 0) return false;
    inner.data = b;
    inner.tsUs = outer.tsUs;
    inner.wireLen = outer.wireLen;
    inner.vlan = outer.vlan;
    if (ipToView(inner, b, off, cur.end) !== OK) return false;
    inner.encap = cur.kind;
    return true;
  }

  private fail(reason: number): false {
    const key = DECODE_REASONS[reason]!;
    const m = this.stats.malformed;
    m[key] = (m[key] ?? 0) + 1;
    return false;
  }

  private count(key: string): void {
    const f = this.stats.fallback;
    f[key] = (f[key] ?? 0) + 1;
  }
}
