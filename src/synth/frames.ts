/**
 * In-place Ethernet/IP/L4 header writer for `tunnelscope synth`. Unlike ../trace/frame-builder.ts (which
 * allocates and parses address text per frame, fine for fixtures), this writes headers into one reused buffer
 * around a payload the traffic kind already wrote, so 2 M packets cost no per-packet allocation.
 * Checksums stay zero, as in frame-builder (nothing downstream validates them).
 */
import type { SynthFlow } from './protocols/types.js';

export const TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_PSH = 0x08, TCP_ACK = 0x10;
const ETH_LEN = 14;

/** IP protocol number of a transport name. */
export function protoNumber(t: SynthFlow['kind']['transport']): number {
  switch (t) {
    case 'tcp': return 6;
    case 'udp': return 17;
    case 'esp': return 50;
    case 'ah': return 51;
    case 'gre': return 47;
  }
}

/** Offset of the L4 payload in the frame for this flow. */
export function payloadOffset(f: SynthFlow): number {
  const t = f.kind.transport;
  return ETH_LEN + (f.v6 ? 40 : 20) + (t === 'tcp' ? 20 : t === 'udp' ? 8 : 0);
}

/**
 * Write Ethernet, IP and TCP/UDP headers in front of a payload of `len` bytes already at
 * `buf[payloadOffset(f)]`. Returns the frame length. `ipId` is the IPv4 identification value.
 */
export function writeHeaders(buf: Uint8Array, f: SynthFlow, len: number, tcpFlags: number, ipId: number): number {
  const proto = protoNumber(f.kind.transport);
  const l4 = proto === 6 ? 20 : proto === 17 ? 8 : 0;
  const src = f.dir === 0 ? f.cli : f.srv;
  const dst = f.dir === 0 ? f.srv : f.cli;
  // Ethernet: locally administered MACs, one per side, so direction is visible at L2 too.
  buf[0] = 0x02; buf[1] = 0; buf[2] = 0; buf[3] = 0; buf[4] = 0; buf[5] = f.dir === 0 ? 2 : 1;
  buf[6] = 0x02; buf[7] = 0; buf[8] = 0; buf[9] = 0; buf[10] = 0; buf[11] = f.dir === 0 ? 1 : 2;
  let o = ETH_LEN;
  if (!f.v6) {
    buf[12] = 0x08; buf[13] = 0x00;
    const total = 20 + l4 + len;
    buf[o] = 0x45; buf[o + 1] = 0; buf[o + 2] = total >>> 8; buf[o + 3] = total;
    buf[o + 4] = ipId >>> 8; buf[o + 5] = ipId; buf[o + 6] = 0x40; buf[o + 7] = 0; // DF
    buf[o + 8] = f.dir === 0 ? 64 : 52; buf[o + 9] = proto; buf[o + 10] = 0; buf[o + 11] = 0;
    buf.set(src, o + 12); buf.set(dst, o + 16);
    o += 20;
  } else {
    buf[12] = 0x86; buf[13] = 0xdd;
    const plen = l4 + len;
    buf[o] = 0x60; buf[o + 1] = 0; buf[o + 2] = 0; buf[o + 3] = 0;
    buf[o + 4] = plen >>> 8; buf[o + 5] = plen; buf[o + 6] = proto; buf[o + 7] = f.dir === 0 ? 64 : 52;
    buf.set(src, o + 8); buf.set(dst, o + 24);
    o += 40;
  }
  const sp = f.dir === 0 ? f.cport : f.sport;
  const dp = f.dir === 0 ? f.sport : f.cport;
  if (proto === 17) {
    const ulen = 8 + len;
    buf[o] = sp >>> 8; buf[o + 1] = sp; buf[o + 2] = dp >>> 8; buf[o + 3] = dp;
    buf[o + 4] = ulen >>> 8; buf[o + 5] = ulen; buf[o + 6] = 0; buf[o + 7] = 0;
  } else if (proto === 6) {
    const seq = f.dir === 0 ? f.seqC : f.seqS;
    const ack = tcpFlags === TCP_SYN ? 0 : f.dir === 0 ? f.seqS : f.seqC;
    buf[o] = sp >>> 8; buf[o + 1] = sp; buf[o + 2] = dp >>> 8; buf[o + 3] = dp;
    buf[o + 4] = seq >>> 24; buf[o + 5] = seq >>> 16; buf[o + 6] = seq >>> 8; buf[o + 7] = seq;
    buf[o + 8] = ack >>> 24; buf[o + 9] = ack >>> 16; buf[o + 10] = ack >>> 8; buf[o + 11] = ack;
    buf[o + 12] = 5 << 4; buf[o + 13] = tcpFlags; buf[o + 14] = 0xff; buf[o + 15] = 0xff;
    buf[o + 16] = 0; buf[o + 17] = 0; buf[o + 18] = 0; buf[o + 19] = 0;
  }
  return ETH_LEN + (f.v6 ? 40 : 20) + l4 + len;
}

/** Bytes of data per fragment at the flow's MTU: a multiple of 8 (RFC 791 §3.1, RFC 8200 §4.5). */
function fragmentData(f: SynthFlow): number {
  return ((f.mtu - (f.v6 ? 48 : 20)) >> 3) << 3;
}

/**
 * Write into `buf` the next fragment of the datagram in `f.frag`: the Ethernet header, the IP header (IPv4: total
 * length, identification, MF and offset, DF clear; IPv6: payload length and a Fragment header after the fixed
 * header) and the slice of the datagram's data. `last`: no packet of the flow's budget remains after this one, so
 * the datagram's remaining fragments are never sent. Returns the frame length.
 */
function writeFragment(buf: Uint8Array, f: SynthFlow, last: boolean): number {
  const st = f.frag!;
  const hdr = f.v6 ? 40 : 20;
  const data = st.frame.subarray(ETH_LEN + hdr, st.len);
  const n = Math.min(fragmentData(f), data.length - st.next);
  const more = st.next + n < data.length;
  buf.set(st.frame.subarray(0, ETH_LEN + hdr), 0);
  const o = ETH_LEN;
  let p: number;
  if (!f.v6) {
    const total = 20 + n;
    buf[o + 2] = total >>> 8; buf[o + 3] = total;
    buf[o + 4] = st.id >>> 8; buf[o + 5] = st.id;
    const fw = (st.next >>> 3) | (more ? 0x2000 : 0);
    buf[o + 6] = fw >>> 8; buf[o + 7] = fw;
    p = o + 20;
  } else {
    const plen = 8 + n;
    buf[o + 4] = plen >>> 8; buf[o + 5] = plen;
    buf[o + 6] = 44; // Fragment header
    const q = o + 40;
    buf[q] = st.frame[o + 6]!; buf[q + 1] = 0;
    const fo = st.next | (more ? 1 : 0);
    buf[q + 2] = fo >>> 8; buf[q + 3] = fo;
    buf[q + 4] = st.id >>> 24; buf[q + 5] = st.id >>> 16; buf[q + 6] = st.id >>> 8; buf[q + 7] = st.id;
    p = q + 8;
  }
  buf.set(data.subarray(st.next, st.next + n), p);
  st.next += n;
  if (!more || last) f.frag = null;
  return p + n;
}

/**
 * The whole frame in `buf[0, len)` exceeds the flow's MTU: keep it in `f.frag` and write its first fragment into
 * `buf` (identification `id`); `remaining` packets of the flow's budget follow. Returns the first fragment's length.
 */
export function startFragments(buf: Uint8Array, len: number, f: SynthFlow, id: number, remaining: number): number {
  f.frag = { frame: buf.slice(0, len), len, next: 0, id: f.v6 ? id >>> 0 : id & 0xffff };
  return writeFragment(buf, f, remaining === 0);
}

/** The next fragment of `f.frag` into `buf`; `remaining` packets of the flow's budget follow. Returns its length. */
export function nextFragment(buf: Uint8Array, f: SynthFlow, remaining: number): number {
  return writeFragment(buf, f, remaining === 0);
}
