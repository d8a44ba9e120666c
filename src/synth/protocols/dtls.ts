/**
 * WebRTC-like media (RFC 8842 shape): STUN connectivity check, DTLS 1.2 ClientHello/ServerHello (RFC 6347
 * §4.1/§4.2.2, version 0xFEFD, epoch/sequence, message_seq and fragment fields), then SRTP (RTP v2 header).
 * Ordinary traffic that merely looks tunnel-like.
 */
import type { Rng } from '../rng.js';
import { stunMessage } from './stun.js';
import { clamp, ephemeralPort, fillPool, put16, put24, put32, type FlowKind, type SynthContext, type SynthFlow } from './types.js';

function dtlsHandshake(buf: Uint8Array, off: number, type: number, rng: Rng, ctx: SynthContext): number {
  const bodyLen = type === 1 ? 120 : 80;
  buf[off] = 22; put16(buf, off + 1, 0xfefd); put16(buf, off + 3, 0); put16(buf, off + 5, 0); put32(buf, off + 7, 0);
  put16(buf, off + 11, 12 + bodyLen);
  const h = off + 13;
  buf[h] = type; put24(buf, h + 1, bodyLen); put16(buf, h + 4, 0); put24(buf, h + 6, 0); put24(buf, h + 9, bodyLen);
  fillPool(buf, h + 12, bodyLen, rng, ctx);
  put16(buf, h + 12, 0xfefd); // client_version / server_version
  return 13 + 12 + bodyLen;
}

export const dtls: FlowKind = {
  key: 'webrtc-dtls', transport: 'udp', expect: 'ordinary', protocol: null, minPackets: 4, packetWeight: 0.8,
  setup(f, rng) { f.cport = ephemeralPort(rng); f.sport = rng.range(10000, 60000); f.a = rng.u32(); f.b = rng.int(65536); f.c = rng.u32(); },
  payload(f: SynthFlow, k: number, buf: Uint8Array, off: number, size: number, rng: Rng, ctx: SynthContext): number {
    if (k < 2) { f.dir = k as 0 | 1; return stunMessage(buf, off, k === 1, f, rng); }
    if (k < 4) { f.dir = (k - 2) as 0 | 1; return dtlsHandshake(buf, off, k === 2 ? 1 : 2, rng, ctx); }
    f.dir = rng.chance(0.5) ? 0 : 1;
    const len = clamp(size, 40, 1200);
    fillPool(buf, off + 12, len - 12, rng, ctx);
    buf[off] = 0x80; buf[off + 1] = 111; put16(buf, off + 2, (f.b = (f.b + 1) & 0xffff));
    put32(buf, off + 4, (f.c = (f.c + 960) >>> 0)); put32(buf, off + 8, f.a + f.dir);
    return len;
  },
};
