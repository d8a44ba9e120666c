/** STUN over UDP 3478 (RFC 8489 §5–6): Binding requests/success responses with XOR-MAPPED-ADDRESS. */
import type { Rng } from '../rng.js';
import { ephemeralPort, put16, put32, type FlowKind, type SynthContext, type SynthFlow } from './types.js';

export const STUN_MAGIC = 0x2112a442;

/** One STUN Binding message at buf[off]; `txid` 12 bytes are random per request, echoed by the response. */
export function stunMessage(buf: Uint8Array, off: number, response: boolean, f: SynthFlow, rng: Rng): number {
  put16(buf, off, response ? 0x0101 : 0x0001);
  put32(buf, off + 4, STUN_MAGIC);
  if (!response) { f.g = rng.u32(); f.h = rng.u32(); }
  put32(buf, off + 8, f.g); put32(buf, off + 12, f.h); put32(buf, off + 16, f.index);
  let len = 0;
  if (response) {
    const fam = f.v6 ? 2 : 1, alen = f.v6 ? 16 : 4;
    put16(buf, off + 20, 0x0020); put16(buf, off + 22, 4 + alen);
    buf[off + 24] = 0; buf[off + 25] = fam; put16(buf, off + 26, f.cport ^ (STUN_MAGIC >>> 16));
    for (let i = 0; i < alen; i++) buf[off + 28 + i] = f.cli[i]! ^ buf[off + 4 + i]!;
    len = 8 + alen;
  } else {
    put16(buf, off + 20, 0x8022); put16(buf, off + 22, 8); // SOFTWARE
    buf.set([0x73, 0x79, 0x6e, 0x74, 0x68, 0x2f, 0x31, 0x20], off + 24);
    len = 12;
  }
  put16(buf, off + 2, len);
  return 20 + len;
}

export const stun: FlowKind = {
  key: 'stun', transport: 'udp', expect: 'ordinary', protocol: null, minPackets: 2, packetWeight: 0.1,
  setup(f, rng) { f.cport = ephemeralPort(rng); f.sport = rng.chance(0.8) ? 3478 : 19302; },
  payload(f: SynthFlow, k: number, buf: Uint8Array, off: number, _size: number, rng: Rng, _ctx: SynthContext): number {
    f.dir = (k & 1) as 0 | 1;
    return stunMessage(buf, off, f.dir === 1, f, rng);
  },
};
