/**
 * Builds Ethernet/IP/TCP/UDP frames from parts: for test fixtures and `tunnelscope synth`. Not on any hot
 * path. Checksums are left zero (nothing downstream validates them).
 */
import ipaddr from 'ipaddr.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../flow/ipproto.js';
import { CidrError, checkOptions, describeValue, InvalidArgumentError, numberOption } from '../errors.js';

export interface FrameSpec {
  src: string;
  dst: string;
  /** IP protocol number (6, 17, 50, 47…). */
  proto: number;
  srcPort?: number;
  dstPort?: number;
  /** TCP flags byte (default ACK|PSH when there is payload, else ACK). */
  tcpFlags?: number;
  seq?: number;
  ack?: number;
  payload?: Uint8Array;
  /** 802.1Q VLAN id (Ethernet only). */
  vlan?: number;
  /** 'eth' (default) or 'raw' (no link header, LINKTYPE_RAW). */
  link?: 'eth' | 'raw';
  ttl?: number;
  ipId?: number;
}

export const TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08, TCP_ACK = 0x10;

const cache = new Map<string, { v: 4 | 6; bytes: number[] }>();
function addr(text: string): { v: 4 | 6; bytes: number[] } {
  let a = cache.get(text);
  if (!a) {
    if (typeof text !== 'string') throw new InvalidArgumentError(`buildFrame: an address must be a string, got ${describeValue(text)}`);
    if (!ipaddr.isValid(text)) throw new CidrError('TS_INVALID_IP', text, 'buildFrame: invalid IP address');
    const p = ipaddr.parse(text);
    a = { v: p.kind() === 'ipv4' ? 4 : 6, bytes: p.toByteArray() };
    if (cache.size > 10000) cache.clear();
    cache.set(text, a);
  }
  return a;
}

/** L4 header (TCP/UDP) + payload, or the bare payload for other protocols. */
function l4(spec: FrameSpec): Uint8Array {
  const payload = spec.payload ?? new Uint8Array(0);
  if (spec.proto === IPPROTO_UDP) {
    const out = new Uint8Array(8 + payload.length);
    const len = out.length;
    out[0] = (spec.srcPort ?? 0) >> 8; out[1] = (spec.srcPort ?? 0) & 255;
    out[2] = (spec.dstPort ?? 0) >> 8; out[3] = (spec.dstPort ?? 0) & 255;
    out[4] = len >> 8; out[5] = len & 255;
    out.set(payload, 8);
    return out;
  }
  if (spec.proto === IPPROTO_TCP) {
    const out = new Uint8Array(20 + payload.length);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, spec.srcPort ?? 0);
    dv.setUint16(2, spec.dstPort ?? 0);
    dv.setUint32(4, (spec.seq ?? 1) >>> 0);
    dv.setUint32(8, (spec.ack ?? 0) >>> 0);
    out[12] = 5 << 4;
    out[13] = spec.tcpFlags ?? (payload.length > 0 ? TCP_ACK | TCP_PSH : TCP_ACK);
    dv.setUint16(14, 65535);
    out.set(payload, 20);
    return out;
  }
  return payload;
}

/**
 * A spec's numbers are written into fixed-width header fields: one out of range would wrap (port 70000 becomes
 * 4464, a 70000-byte UDP payload a datagram whose length fields say 4470) and the frame would say something other
 * than what was asked. Refused instead.
 */
function checkSpec(spec: FrameSpec): void {
  checkOptions('buildFrame', spec);
  numberOption('buildFrame: proto', spec.proto, undefined, 0, 255, true);
  for (const [name, max] of [['srcPort', 0xffff], ['dstPort', 0xffff], ['tcpFlags', 0xff], ['seq', 0xffffffff], ['ack', 0xffffffff], ['vlan', 0xfff], ['ttl', 0xff], ['ipId', 0xffff]] as const) {
    if (spec[name] !== undefined) numberOption(`buildFrame: ${name}`, spec[name], undefined, 0, max, true);
  }
  if (spec.payload !== undefined && !(spec.payload instanceof Uint8Array)) throw new InvalidArgumentError(`buildFrame: payload must be a Uint8Array (or Buffer), got ${describeValue(spec.payload)}`);
  if (spec.link !== undefined && spec.link !== 'eth' && spec.link !== 'raw') throw new InvalidArgumentError(`buildFrame: link must be 'eth' or 'raw', got ${describeValue(spec.link)}`);
}

/** The IP packet (v4 or v6 by the address family of `src`). */
export function buildIpPacket(spec: FrameSpec): Uint8Array {
  checkSpec(spec);
  const s = addr(spec.src), d = addr(spec.dst);
  if (s.v !== d.v) throw new InvalidArgumentError(`buildFrame: address families differ: ${spec.src} ${spec.dst}`);
  const body = l4(spec);
  // IPv4's total length and IPv6's payload length (and UDP's length) are 16-bit fields.
  const most = s.v === 4 ? 0xffff - 20 : 0xffff;
  if (body.length > most) throw new InvalidArgumentError(`buildFrame: ${body.length} bytes after the IPv${s.v} header do not fit its length field (at most ${most})`);
  if (s.v === 4) {
    const out = new Uint8Array(20 + body.length);
    const dv = new DataView(out.buffer);
    out[0] = 0x45;
    dv.setUint16(2, out.length);
    dv.setUint16(4, spec.ipId ?? 0);
    out[8] = spec.ttl ?? 64;
    out[9] = spec.proto;
    out.set(s.bytes, 12);
    out.set(d.bytes, 16);
    out.set(body, 20);
    return out;
  }
  const out = new Uint8Array(40 + body.length);
  const dv = new DataView(out.buffer);
  out[0] = 0x60;
  dv.setUint16(4, body.length);
  out[6] = spec.proto;
  out[7] = spec.ttl ?? 64;
  out.set(s.bytes, 8);
  out.set(d.bytes, 24);
  out.set(body, 40);
  return out;
}

/** A whole frame for the chosen link type. */
export function buildFrame(spec: FrameSpec): Uint8Array {
  const ip = buildIpPacket(spec);
  if (spec.link === 'raw') return ip;
  const vlanLen = spec.vlan !== undefined ? 4 : 0;
  const out = new Uint8Array(14 + vlanLen + ip.length);
  out.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1], 0);
  let o = 12;
  if (spec.vlan !== undefined) {
    out[o] = 0x81; out[o + 1] = 0x00;
    out[o + 2] = (spec.vlan >> 8) & 0x0f; out[o + 3] = spec.vlan & 255;
    o += 4;
  }
  const ethType = ip[0]! >> 4 === 4 ? 0x0800 : 0x86dd;
  out[o] = ethType >> 8; out[o + 1] = ethType & 255;
  out.set(ip, o + 2);
  return out;
}
