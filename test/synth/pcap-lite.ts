/**
 * A tiny, independent classic-pcap + Ethernet/IPv4/IPv6/TCP/UDP parser for the synth tests: it validates
 * framing (magic, record lengths add up to the file length) without using the project's reader, so the
 * generator is checked against a second implementation. IP fragments (IPv4 MF/offset, IPv6 Fragment header) are
 * joined naively (a map per datagram, concatenated when the pieces cover it); the joined datagram takes the place
 * of its first fragment and counts its fragments in `frames`.
 */

export interface LitePacket {
  no: number;
  tsUs: number;
  v6: boolean;
  proto: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  tcpFlags: number;
  seq: number;
  ack: number;
  /** L4 payload (TCP/UDP) or IP payload (others). */
  payload: Uint8Array;
  /** Bytes of the record(s): the frame, or the sum of its fragments' frames. */
  frameLen: number;
  /** Capture records this packet came in: 1, or its number of fragments. */
  frames: number;
}

interface Piece { off: number; data: Uint8Array; more: boolean }
interface Pending { no: number; tsUs: number; v6: boolean; proto: number; src: string; dst: string; pieces: Piece[]; frameLen: number }

/** The datagram's data when its pieces cover it exactly (sorted, contiguous, the last without MF), else null. */
function joined(pieces: Piece[]): Uint8Array | null {
  const ps = [...pieces].sort((a, b) => a.off - b.off);
  let at = 0;
  for (const p of ps) {
    if (p.off !== at) return null;
    at += p.data.length;
  }
  if (ps[ps.length - 1]!.more) return null;
  const out = new Uint8Array(at);
  for (const p of ps) out.set(p.data, p.off);
  return out;
}

function ip4(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}
function ip6(b: Uint8Array, o: number): string {
  const g: string[] = [];
  for (let i = 0; i < 8; i++) g.push(((b[o + 2 * i]! << 8) | b[o + 2 * i + 1]!).toString(16));
  return g.join(':');
}

export function parsePcap(buf: Uint8Array): { linkType: number; packets: LitePacket[]; records: number } {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 24) throw new Error('short header');
  if (dv.getUint32(0, true) !== 0xa1b2c3d4) throw new Error('bad magic');
  if (dv.getUint16(4, true) !== 2 || dv.getUint16(6, true) !== 4) throw new Error('bad version');
  const linkType = dv.getUint32(20, true);
  const packets: LitePacket[] = [];
  const pending = new Map<string, Pending>();
  let records = 0;
  let o = 24;
  while (o < buf.length) {
    const no = records++;
    if (o + 16 > buf.length) throw new Error(`truncated record header at ${o}`);
    const sec = dv.getUint32(o, true), usec = dv.getUint32(o + 4, true);
    const cap = dv.getUint32(o + 8, true), wire = dv.getUint32(o + 12, true);
    if (usec >= 1e6) throw new Error(`usec out of range at ${o}`);
    if (cap !== wire) throw new Error(`cap != wire at ${o}`);
    if (o + 16 + cap > buf.length) throw new Error(`truncated record at ${o}`);
    const f = buf.subarray(o + 16, o + 16 + cap);
    const et = (f[12]! << 8) | f[13]!;
    let p = 14, proto: number, src: string, dst: string, end: number;
    const v6 = et === 0x86dd;
    if (et === 0x0800) {
      if ((f[p]! >> 4) !== 4) throw new Error('bad v4');
      const hl = (f[p]! & 15) * 4;
      end = p + ((f[p + 2]! << 8) | f[p + 3]!);
      proto = f[p + 9]!; src = ip4(f, p + 12); dst = ip4(f, p + 16);
      p += hl;
    } else if (v6) {
      end = p + 40 + ((f[p + 4]! << 8) | f[p + 5]!);
      proto = f[p + 6]!; src = ip6(f, p + 8); dst = ip6(f, p + 24);
      p += 40;
    } else throw new Error(`ethertype ${et}`);
    if (end !== f.length) throw new Error(`IP length ${end} != frame ${f.length} at record ${no}`);
    const tsUs = sec * 1e6 + usec;
    // Fragments: kept until their datagram is whole, then parsed as one packet at the first fragment's place.
    let frag: { id: string; off: number; more: boolean } | null = null;
    if (!v6) {
      const fw = (f[14 + 6]! << 8) | f[14 + 7]!;
      if ((fw & 0x3fff) !== 0) frag = { id: `4|${src}|${dst}|${proto}|${(f[18]! << 8) | f[19]!}`, off: (fw & 0x1fff) * 8, more: (fw & 0x2000) !== 0 };
    } else if (proto === 44) {
      const fo = (f[p + 2]! << 8) | f[p + 3]!;
      frag = { id: `6|${src}|${dst}|${(((f[p + 4]! << 24) | (f[p + 5]! << 16) | (f[p + 6]! << 8) | f[p + 7]!) >>> 0)}`, off: fo & 0xfff8, more: (fo & 1) !== 0 };
      proto = f[p]!;
      p += 8;
    }
    let data = f.subarray(p, end);
    let frames = 1, frameLen = cap, at = no, firstTs = tsUs;
    if (frag !== null) {
      let d = pending.get(frag.id);
      if (!d) pending.set(frag.id, (d = { no, tsUs, v6, proto, src, dst, pieces: [], frameLen: 0 }));
      d.pieces.push({ off: frag.off, data, more: frag.more });
      d.frameLen += cap;
      const whole = joined(d.pieces);
      o += 16 + cap;
      if (whole === null) continue;
      pending.delete(frag.id);
      data = whole;
      frames = d.pieces.length;
      frameLen = d.frameLen;
      at = d.no;
      firstTs = d.tsUs;
      proto = d.proto;
    } else o += 16 + cap;
    const g = data;
    let q = 0;
    let sport = 0, dport = 0, tcpFlags = 0, seq = 0, ack = 0;
    if (proto === 6) {
      sport = (g[q]! << 8) | g[q + 1]!; dport = (g[q + 2]! << 8) | g[q + 3]!;
      seq = ((g[q + 4]! << 24) | (g[q + 5]! << 16) | (g[q + 6]! << 8) | g[q + 7]!) >>> 0;
      ack = ((g[q + 8]! << 24) | (g[q + 9]! << 16) | (g[q + 10]! << 8) | g[q + 11]!) >>> 0;
      tcpFlags = g[q + 13]!;
      q += (g[q + 12]! >> 4) * 4;
    } else if (proto === 17) {
      sport = (g[q]! << 8) | g[q + 1]!; dport = (g[q + 2]! << 8) | g[q + 3]!;
      if (((g[q + 4]! << 8) | g[q + 5]!) !== g.length - q) throw new Error('UDP length mismatch');
      q += 8;
    }
    packets.push({ no: at, tsUs: firstTs, v6, proto, src, dst, sport, dport, tcpFlags, seq, ack, payload: g.subarray(q), frameLen, frames });
  }
  if (pending.size > 0) throw new Error(`${pending.size} datagram(s) never complete`);
  packets.sort((a, b) => a.no - b.no);
  return { linkType, packets, records };
}

/** Compact full-form IPv6 text the way RFC 5952 does (for comparing with the truth). */
export function canon6(full: string): string {
  const g = full.split(':').map((x) => parseInt(x, 16));
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const h = g.map((x) => x!.toString(16));
  if (best < 0) return h.join(':');
  return `${h.slice(0, best).join(':')}::${h.slice(best + bestLen).join(':')}`;
}

/** Endpoint text as the truth writes it. */
export function endpointText(p: LitePacket, side: 'src' | 'dst'): string {
  const ip = p.v6 ? canon6(p[side]) : p[side];
  if (p.proto !== 6 && p.proto !== 17) return ip;
  const port = side === 'src' ? p.sport : p.dport;
  return p.v6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

const TRANSPORT: Record<number, string> = { 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 51: 'ah' };

/** Direction-free flow key: transport + sorted endpoints. */
export function flowKey(transport: string, a: string, b: string): string {
  return a < b ? `${transport}|${a}|${b}` : `${transport}|${b}|${a}`;
}
export function packetFlowKey(p: LitePacket): string {
  return flowKey(TRANSPORT[p.proto] ?? String(p.proto), endpointText(p, 'src'), endpointText(p, 'dst'));
}
