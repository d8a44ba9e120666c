/**
 * PPTP (RFC 2637): the control connection on TCP 1723 (length, message type 1, magic cookie 0x1A2B3C4D,
 * control message type: SCCRQ/SCCRP 156 B, Outgoing-Call-Request/Reply 168/32 B, Set-Link-Info, echo) and the
 * data channel as enhanced GRE (IP protocol 47, version 1, protocol 0x880B, key = payload length + call id,
 * sequence numbers, optional acknowledgement) carrying MPPE-compressed PPP.
 */
import type { Rng } from '../rng.js';
import { ephemeralPort, fillPool, put16, put32, type FlowKind, type SynthContext, type SynthFlow } from './types.js';

export const PPTP_MAGIC = 0x1a2b3c4d;
const LENS: Record<number, number> = { 1: 156, 2: 156, 7: 168, 8: 32, 15: 24, 5: 16, 6: 20 };
const enc = new TextEncoder();

function ctrl(buf: Uint8Array, off: number, type: number, f: SynthFlow): number {
  const len = LENS[type]!;
  buf.fill(0, off, off + len);
  put16(buf, off, len); put16(buf, off + 2, 1); put32(buf, off + 4, PPTP_MAGIC); put16(buf, off + 8, type);
  const b = off + 12;
  if (type === 1 || type === 2) {
    put16(buf, b, 0x0100); // protocol version 1.0
    if (type === 2) buf[b + 2] = 1; // result: OK
    put32(buf, b + 4, 3); put32(buf, b + 8, 3); put16(buf, b + 12, 0); put16(buf, b + 14, 1);
    buf.set(enc.encode(type === 1 ? 'client' : 'server'), b + 16);
    buf.set(enc.encode('synth'), b + 80);
  } else if (type === 7) {
    put16(buf, b, f.a); put16(buf, b + 2, 1); put32(buf, b + 4, 300); put32(buf, b + 8, 100000000);
    put32(buf, b + 12, 3); put32(buf, b + 16, 3); put16(buf, b + 20, 64); put16(buf, b + 22, 0);
  } else if (type === 8) {
    put16(buf, b, f.b); put16(buf, b + 2, f.a); buf[b + 4] = 1; put16(buf, b + 8, 64);
  } else if (type === 15) {
    put16(buf, b, f.b); put32(buf, b + 4, 0xffffffff); put32(buf, b + 8, 0xffffffff);
  } else {
    put32(buf, b, f.c); // echo identifier
    if (type === 6) buf[b + 4] = 1;
  }
  return len;
}

export const pptp: FlowKind = {
  key: 'pptp', transport: 'tcp', expect: 'vpn', protocol: 'pptp', minPackets: 12, packetWeight: 0.3,
  setup(f, rng) {
    f.cport = ephemeralPort(rng); f.sport = 1723;
    f.a = rng.range(1, 65535); f.b = rng.range(1, 65535); f.c = 0;
  },
  payload(f: SynthFlow, k: number, buf: Uint8Array, off: number): number {
    const seq = [1, 2, 7, 8, 15];
    let type: number;
    if (k < 5) type = seq[k]!;
    else { type = (k & 1) === 1 ? 5 : 6; if (type === 5) f.c++; }
    f.dir = type === 2 || type === 8 || type === 6 ? 1 : 0;
    return ctrl(buf, off, type, f);
  },
};

export const pptpGre: FlowKind = {
  key: 'pptp-gre', transport: 'gre', expect: 'vpn', protocol: 'pptp', minPackets: 2, packetWeight: 0.8,
  setup(f, rng) {
    f.cport = 0; f.sport = 0;
    f.a = rng.range(1, 65535); f.b = rng.range(1, 65535); // call ids: client's and server's
    f.c = 0; f.d = 0; // sequence numbers per direction
  },
  payload(f: SynthFlow, k: number, buf: Uint8Array, off: number, size: number, rng: Rng, ctx: SynthContext): number {
    f.dir = k === 0 ? 0 : k === 1 ? 1 : rng.chance(0.45) ? 0 : 1;
    const withAck = k > 0 && rng.chance(0.5);
    const hdr = withAck ? 16 : 12;
    const ppp = Math.max(8, Math.min(1400, size - hdr));
    buf[off] = 0x30; buf[off + 1] = withAck ? 0x81 : 0x01; // K and S bits; A bit; version 1
    put16(buf, off + 2, 0x880b);
    put16(buf, off + 4, ppp);
    put16(buf, off + 6, f.dir === 0 ? f.b : f.a); // the peer's call id
    put32(buf, off + 8, f.dir === 0 ? f.c++ : f.d++);
    if (withAck) put32(buf, off + 12, Math.max(0, (f.dir === 0 ? f.d : f.c) - 1));
    fillPool(buf, off + hdr, ppp, rng, ctx);
    buf[off + hdr] = 0xff; buf[off + hdr + 1] = 0x03; buf[off + hdr + 2] = 0x00; buf[off + hdr + 3] = 0xfd;
    return hdr + ppp;
  },
};
