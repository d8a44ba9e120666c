/** Byte builders for decoder tests: every layer written out by hand from its RFC layout. */
import ipaddr from 'ipaddr.js';
import type { RawPacket } from '../../src/trace/types.js';

export function cat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const n = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const be16 = (v: number): number[] => [(v >> 8) & 255, v & 255];
export const be32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
const addr = (s: string): number[] => ipaddr.parse(s).toByteArray();

export function udp(sp: number, dp: number, payload: Uint8Array | number[] = []): Uint8Array {
  return cat(be16(sp), be16(dp), be16(8 + payload.length), [0, 0], payload);
}

export function tcp(sp: number, dp: number, payload: Uint8Array | number[] = [], opts: { flags?: number; doffWords?: number } = {}): Uint8Array {
  const doff = opts.doffWords ?? 5;
  const hdr = new Uint8Array(Math.max(20, doff * 4));
  hdr.set([...be16(sp), ...be16(dp), 0, 0, 0, 1, 0, 0, 0, 0, doff << 4, opts.flags ?? 0x18, 0xff, 0xff]);
  return cat(hdr, payload);
}

export interface V4Opts {
  ihlWords?: number;
  id?: number;
  fragOffset?: number; // bytes, multiple of 8
  mf?: boolean;
  totalLen?: number;
}

export function ipv4(src: string, dst: string, proto: number, body: Uint8Array | number[], o: V4Opts = {}): Uint8Array {
  const ihl = o.ihlWords ?? 5;
  const hdr = new Uint8Array(Math.max(20, ihl * 4));
  const frag = ((o.fragOffset ?? 0) >> 3) | (o.mf ? 0x2000 : 0);
  hdr.set([0x40 | ihl, 0, ...be16(o.totalLen ?? hdr.length + body.length), ...be16(o.id ?? 0x1234), ...be16(frag), 64, proto, 0, 0]);
  hdr.set(addr(src), 12);
  hdr.set(addr(dst), 16);
  for (let i = 20; i < hdr.length; i++) hdr[i] = 1; // NOP options
  return cat(hdr, body);
}

/** IPv6 with an optional chain of extension headers given as [type, bytes-without-next-header-byte]. */
export function ipv6(src: string, dst: string, proto: number, body: Uint8Array | number[], ext: { type: number; raw: Uint8Array }[] = []): Uint8Array {
  const firstNh = ext.length > 0 ? ext[0]!.type : proto;
  const chain: Uint8Array[] = ext.map((e, i) => {
    const copy = e.raw.slice();
    copy[0] = i + 1 < ext.length ? ext[i + 1]!.type : proto;
    return copy;
  });
  const rest = cat(...chain, body);
  return cat([0x60, 0, 0, 0], be16(rest.length), [firstNh, 64], addr(src), addr(dst), rest);
}

/** Generic 8*(n+1)-byte extension header (hop-by-hop, routing, destination options). */
export function extHeader(type: number, lenUnits = 0): { type: number; raw: Uint8Array } {
  const raw = new Uint8Array(8 * (lenUnits + 1));
  raw[1] = lenUnits;
  if (type === 43) raw[2] = 0; // routing type 0, segments left 0
  return { type, raw };
}

export function fragHeader(offsetBytes: number, more: boolean, id: number): { type: number; raw: Uint8Array } {
  return { type: 44, raw: Uint8Array.from([0, 0, ...be16(offsetBytes | (more ? 1 : 0)), ...be32(id)]) };
}

export const MAC_A = [2, 0, 0, 0, 0, 1];
export const MAC_B = [2, 0, 0, 0, 0, 2];

export function eth(etherType: number, payload: Uint8Array | number[], tags: { tpid: number; id: number }[] = []): Uint8Array {
  return cat(MAC_A, MAC_B, ...tags.map((t) => [...be16(t.tpid), ...be16(t.id)]), be16(etherType), payload);
}

export function gre(protoType: number, payload: Uint8Array | number[], opts: { key?: number; seq?: number; csum?: boolean; version?: number } = {}): Uint8Array {
  let flags = 0;
  const extra: number[] = [];
  if (opts.csum) {
    flags |= 0x80;
    extra.push(0, 0, 0, 0);
  }
  if (opts.key !== undefined) {
    flags |= 0x20;
    extra.push(...be32(opts.key));
  }
  if (opts.seq !== undefined) {
    flags |= 0x10;
    extra.push(...be32(opts.seq));
  }
  return cat([flags, opts.version ?? 0], be16(protoType), extra, payload);
}

/** GTP-U G-PDU (or another message type); `ext` = extension headers as content bytes (length-padded). */
export function gtpu(payload: Uint8Array, opts: { type?: number; seq?: number; ext?: number[][] } = {}): Uint8Array {
  const hasExt = (opts.ext?.length ?? 0) > 0;
  const hasOpt = hasExt || opts.seq !== undefined;
  let flags = 0x30;
  if (opts.seq !== undefined) flags |= 0x02;
  if (hasExt) flags |= 0x04;
  const optional: number[] = [];
  if (hasOpt) optional.push(...be16(opts.seq ?? 0), 0, hasExt ? 0x85 : 0);
  const exts: number[] = [];
  (opts.ext ?? []).forEach((content, i, all) => {
    const total = Math.ceil((content.length + 2) / 4) * 4;
    const e = new Array<number>(total).fill(0);
    e[0] = total / 4;
    content.forEach((c, j) => (e[1 + j] = c));
    e[total - 1] = i + 1 < all.length ? 0x85 : 0;
    exts.push(...e);
  });
  const body = cat(optional, exts, payload);
  return cat([flags, opts.type ?? 0xff], be16(body.length), be32(0xdeadbeef), body);
}

export function vxlan(innerEth: Uint8Array, flags = 0x08): Uint8Array {
  return cat([flags, 0, 0, 0, 0, 0, 42, 0], innerEth);
}

/**
 * Geneve header (RFC 8926 §3.4): version 0, option length, O/C flags, protocol type, VNI, then the options (each
 * class (2), type (1), length in 4-byte units (1), data) and the inner frame. `optLenWords` overrides the length.
 */
export function geneve(inner: Uint8Array, protocol: number, opts: { options?: number[][]; flags?: number; optLenWords?: number; version?: number } = {}): Uint8Array {
  const options = (opts.options ?? []).map((data) => cat([0x01, 0x08, 0x01, data.length / 4], data));
  const optBytes = options.reduce((n, o) => n + o.length, 0);
  const len = opts.optLenWords ?? optBytes / 4;
  return cat([((opts.version ?? 0) << 6) | len, opts.flags ?? 0, protocol >> 8, protocol & 255, 0, 0x13, 0x88, 0], ...options, inner);
}

/** VXLAN-GPE header: flags (I and P by default), byte 1, next protocol (1 IPv4, 2 IPv6, 3 Ethernet), VNI 7; then `inner`. */
export function vxlanGpe(inner: Uint8Array, next: number, flags = 0x0c, b1 = 0): Uint8Array {
  return cat([flags, b1, 0, next, 0, 0, 7, 0], inner);
}

/**
 * One NFLOG attribute (libpcap's nflog.h): length including its 4-byte header and type, in the writer's byte order
 * (`le`), the value, and padding to 4 bytes.
 */
export function nflogAttr(type: number, value: ArrayLike<number>, le: boolean): number[] {
  const len = 4 + value.length;
  const head = le ? [len & 255, len >> 8, type & 255, type >> 8] : [len >> 8, len & 255, type >> 8, type & 255];
  return [...head, ...Array.from(value), ...new Array<number>((4 - (len % 4)) % 4).fill(0)];
}

/**
 * A pf log header (struct pfloghdr): `length` (61 on current BSDs), the address family, interface em0, zeros;
 * it occupies `length` rounded up to 4 bytes.
 */
export function pflogHeader(af: number, length = 61): number[] {
  const h = new Array<number>((length + 3) & ~3).fill(0);
  h[0] = length;
  h[1] = af;
  h.splice(4, 4, ...Buffer.from('em0\0'));
  return h;
}

/** CAPWAP data header (HLEN 2 words unless given), T bit and WBID, then the payload. */
export function capwap(payload: Uint8Array, opts: { native?: boolean; wbid?: number; hlenWords?: number; preamble?: number } = {}): Uint8Array {
  const hlen = opts.hlenWords ?? 2;
  const hdr = new Uint8Array(hlen * 4);
  hdr[0] = opts.preamble ?? 0;
  hdr[1] = hlen << 3;
  hdr[2] = ((opts.wbid ?? 1) << 1) | (opts.native ? 1 : 0);
  return cat(hdr, payload);
}

/** 802.11 data frame (optionally QoS, 4-address) with LLC/SNAP and an EtherType. */
export function wlanData(etherType: number, payload: Uint8Array, opts: { qos?: boolean; fourAddr?: boolean; swapFc?: boolean } = {}): Uint8Array {
  const fc0 = 0x08 | (opts.qos ? 0x80 : 0);
  const fc1 = opts.fourAddr ? 0x03 : 0x01;
  const fc = opts.swapFc ? [fc1, fc0] : [fc0, fc1];
  const hdr = cat(fc, [0, 0], MAC_A, MAC_B, MAC_A, [0, 0], opts.fourAddr ? MAC_B : [], opts.qos ? [0, 0] : []);
  return cat(hdr, [0xaa, 0xaa, 0x03, 0, 0, 0], be16(etherType), payload);
}

export function raw(frame: Uint8Array, linkType: number, pad: { before?: number; after?: number; fill?: number } = {}): RawPacket {
  const before = pad.before ?? 0;
  const data = new Uint8Array(before + frame.length + (pad.after ?? 0)).fill(pad.fill ?? 0);
  data.set(frame, before);
  return { data, offset: before, capLen: frame.length, wireLen: frame.length, tsUs: 1, linkType };
}
